package identity

import (
	"context"
	"time"
)

// App is one application of the catalogue (Kazoo's master apps, the
// apps_store): the Monster UI apps an account may install. The catalogue
// is global; a system admin fills it.
type App struct {
	ID   string // 32 lowercase hex
	Name string // the app's short name ("voip", "accounts"), unique
	// Doc is the catalogue document as a JSON object: i18n, tags, icon,
	// screenshots, api_url, source_url, author, version, license, price,
	// urls, phase, extends, masqueradable, published.
	Doc      []byte
	Created  time.Time
	Modified time.Time
}

// AppFile is an image of a catalogue app: its icon (Name "icon") or a
// screenshot (Name "screenshot/<n>", n counted from 0).
type AppFile struct {
	Name        string
	ContentType string
	Data        []byte
}

// AppInstall is an app installed on an account: who of its users may use
// it. Doc is the install record as a JSON object (allowed_users "all",
// "admins" or "specific", users, name).
type AppInstall struct {
	AccountID string
	AppID     string
	Doc       []byte
	Created   time.Time
	Modified  time.Time
}

// Catalogue bounds: the whole catalogue is read on every apps_store list.
const (
	MaxApps        = 500
	MaxAppFiles    = 21 // an icon and 20 screenshots
	MaxAppFileSize = 2 << 20
)

// Errors of the apps store.
var (
	ErrAppNameTaken    = uniqueErr("name", "App name already in use")
	ErrAppInstalled    = &Error{Code: EConflict, Message: "Application already installed"}
	ErrTooManyApps     = &Error{Code: EConflict, Message: "the catalogue is full"}
	ErrAppNotInstalled = &Error{Code: ENotFound, Message: "Application is not installed"}
)

// AppsStore keeps the app catalogue, the apps installed on each account
// and the apps an ancestor has blacklisted for an account.
type AppsStore interface {
	// PutApp creates or replaces the catalogue app a.ID with its files
	// (files replace every earlier file of the app), setting Created and
	// Modified. It returns ErrAppNameTaken when another app has a.Name and
	// ErrTooManyApps when a new app would pass MaxApps.
	PutApp(ctx context.Context, a *App, files []AppFile) error
	// App returns one catalogue app, ErrNotFound when unknown.
	App(ctx context.Context, id string) (*App, error)
	// Apps returns the whole catalogue in name order.
	Apps(ctx context.Context) ([]*App, error)
	// DeleteApp removes an app from the catalogue with its files and every
	// install of it, exactly once.
	DeleteApp(ctx context.Context, id string) error
	// AppFile returns one file of an app, ErrNotFound when it has none so
	// named.
	AppFile(ctx context.Context, appID, name string) (*AppFile, error)

	// AppInstalls returns the apps installed on the account, in app id
	// order, ErrNotFound for an unknown account.
	AppInstalls(ctx context.Context, accountID string) ([]*AppInstall, error)
	// InstallApp records in (setting Created and Modified). It returns
	// ErrNotFound for an unknown account or app and ErrAppInstalled when
	// the app is installed already.
	InstallApp(ctx context.Context, in *AppInstall) error
	// UpdateAppInstall replaces the record of an installed app,
	// ErrAppNotInstalled when the app is not installed on the account.
	UpdateAppInstall(ctx context.Context, in *AppInstall) error
	// UninstallApp removes the app from the account exactly once
	// (ErrAppNotInstalled after).
	UninstallApp(ctx context.Context, accountID, appID string) error

	// AppBlacklist returns the ids of the apps blacklisted for the
	// account (nil for none), ErrNotFound for an unknown account.
	AppBlacklist(ctx context.Context, accountID string) ([]string, error)
	// SetAppBlacklist replaces the account's blacklist, ErrNotFound for an
	// unknown account.
	SetAppBlacklist(ctx context.Context, accountID string, appIDs []string) error
}

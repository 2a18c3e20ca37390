package identity

import (
	"context"
	"time"
)

// Alert is a message shown to an account's users (Kazoo's alerts): a
// system admin or an ancestor posts it, the account's admins clear it.
type Alert struct {
	ID        string
	AccountID string
	// Doc is the alert as a JSON object: title, message, from, to,
	// category, level, metadata, expiration_date.
	Doc []byte
	// ExpiresAt hides the alert from lists once passed; zero never.
	ExpiresAt time.Time
	Created   time.Time
}

// MaxAlerts bounds the alerts one account holds, so that no caller can
// grow an account's list without limit.
const MaxAlerts = 1000

// ErrTooManyAlerts is the refusal of an alert beyond MaxAlerts.
var ErrTooManyAlerts = &Error{Code: EConflict, Message: "the account holds too many alerts"}

// AlertStore keeps each account's alerts.
type AlertStore interface {
	// CreateAlert stores a (a.ID set when empty, Created from the Store's
	// clock). It returns ErrNotFound for an unknown account and
	// ErrTooManyAlerts when the account holds MaxAlerts already.
	CreateAlert(ctx context.Context, a *Alert) error
	// Alert returns one alert of the account, ErrNotFound when the
	// account has no such alert.
	Alert(ctx context.Context, accountID, id string) (*Alert, error)
	// Alerts lists the account's alerts in id order, expired ones
	// included (the caller filters them by its clock).
	Alerts(ctx context.Context, accountID string, p Page) (items []*Alert, next string, err error)
	// DeleteAlert removes one alert exactly once.
	DeleteAlert(ctx context.Context, accountID, id string) error
}

package identity

import (
	"context"
	"strings"
	"time"
)

// Whitelabel is an account's branding (Kazoo's whitelabel document): the
// name, texts and links Monster UI and the portal show to the people who
// sign in through the account's domain. The Store keeps the document as
// JSON text; crossbar validates it against Kazoo's whitelabel schema.
type Whitelabel struct {
	AccountID string
	// Domain is the host name the branding is served for, lower-case; ""
	// when the account claims none. No two accounts claim one domain.
	Domain   string
	Doc      []byte // a JSON object of the public fields, domain included
	Revision string
	Created  time.Time
	Modified time.Time
}

// WhitelabelFile is one binary of a branding: its logo, icon or welcome
// text, with the content type it is served with.
type WhitelabelFile struct {
	ContentType string
	Data        []byte
	Modified    time.Time
}

// Names of a branding's files.
const (
	WhitelabelLogo    = "logo"
	WhitelabelIcon    = "icon"
	WhitelabelWelcome = "welcome"
)

// ErrDomainTaken reports a whitelabel domain another account claims.
var ErrDomainTaken = uniqueErr("domain", "White label domain is already in use")

// NormalizeDomain returns domain as branding stores and looks it up:
// lower-case, without a trailing dot. It returns "" for anything that is
// not a plain DNS host name (letters, digits, hyphens and dots, labels of
// 1 to 63 characters, 253 characters at most), which matches no branding.
func NormalizeDomain(domain string) string {
	d := strings.TrimSuffix(strings.ToLower(domain), ".")
	if d == "" || len(d) > 253 {
		return ""
	}
	for _, label := range strings.Split(d, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return ""
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return ""
			}
		}
	}
	return d
}

// WhitelabelStore keeps each account's branding and its files. It is what
// the crossbar whitelabel API and the portal read.
type WhitelabelStore interface {
	// Whitelabel returns the account's own branding, ErrNotFound when it
	// has none or the account does not exist. Callers that want what an
	// account inherits walk its Tree from the nearest ancestor up.
	Whitelabel(ctx context.Context, accountID string) (*Whitelabel, error)
	// WhitelabelByDomain returns the branding that claims domain (compared
	// after NormalizeDomain), ErrNotFound when none does.
	WhitelabelByDomain(ctx context.Context, domain string) (*Whitelabel, error)
	// SetWhitelabel creates or replaces w.AccountID's branding (its files
	// are kept) and sets Revision, Created and Modified. It returns
	// ErrNotFound for an unknown account, ErrDomainTaken when another
	// account claims w.Domain, and ErrConflict when create is true and the
	// account already has a branding.
	SetWhitelabel(ctx context.Context, w *Whitelabel, create bool) error
	// DeleteWhitelabel removes the account's branding with its files,
	// exactly once (ErrNotFound after).
	DeleteWhitelabel(ctx context.Context, accountID string) error
	// WhitelabelFile returns one file of the account's branding,
	// ErrNotFound when it has no such file.
	WhitelabelFile(ctx context.Context, accountID, name string) (*WhitelabelFile, error)
	// SetWhitelabelFile stores (replaces) one file of an existing branding,
	// ErrNotFound when the account has no branding, and sets f.Modified.
	SetWhitelabelFile(ctx context.Context, accountID, name string, f *WhitelabelFile) error
}

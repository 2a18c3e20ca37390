package identity

import (
	"context"
	"strings"
	"time"
)

// WebSession is a person signed in to the web portal (or to the OAuth
// login page, which shares it). The session id lives only in the person's
// cookie; the Store keeps its SHA-256, so that a copy of the database
// cannot be replayed as a cookie.
type WebSession struct {
	ID        string // public handle, shown on the sessions page and used to revoke
	Hash      []byte // SHA-256 of the cookie's session id; unique
	AccountID string
	UserID    string
	Created   time.Time // the Store's clock
	LastSeen  time.Time // Created, then moved by TouchWebSession
	ExpiresAt time.Time // the absolute end, whatever the activity
	ClientIP  string    // where the session was created
	UserAgent string
}

// Active reports whether s may still be used at now: before its absolute
// end and, when idle is not zero, used within the last idle.
func (s *WebSession) Active(now time.Time, idle time.Duration) bool {
	if !now.Before(s.ExpiresAt) {
		return false
	}
	return idle <= 0 || now.Sub(s.LastSeen) < idle
}

// Limits of the descriptive fields of a WebSession.
const (
	MaxWebSessionUserAgent = 512
	MaxWebSessionClientIP  = 64
)

// Validate checks what a Store needs of a new session: ids, a hash, an
// end, and descriptive fields of bounded length without NUL bytes (which
// PostgreSQL's text cannot hold; the web layer cleans them out first).
func (s *WebSession) Validate() error {
	v := Violations{}
	if !ValidID(s.ID) {
		v.Add("id", "pattern", Violation{Message: "invalid id"})
	}
	if len(s.Hash) == 0 {
		v.Add("hash", "required", Violation{Message: "Field is required but missing"})
	}
	if s.AccountID == "" || s.UserID == "" {
		v.Add("user_id", "required", Violation{Message: "Field is required but missing"})
	}
	if s.ExpiresAt.IsZero() {
		v.Add("expires_at", "required", Violation{Message: "Field is required but missing"})
	}
	for _, f := range []struct {
		name, value string
		max         int
	}{{"user_agent", s.UserAgent, MaxWebSessionUserAgent}, {"client_ip", s.ClientIP, MaxWebSessionClientIP}} {
		if len(f.value) > f.max {
			v.Add(f.name, "maxLength", Violation{Message: "String is too long", Target: f.max})
		} else if strings.IndexByte(f.value, 0) >= 0 {
			v.Add(f.name, "pattern", Violation{Message: "String must not contain NUL"})
		}
	}
	return v.Err()
}

// MaxWebSessionsPerUser bounds WebSessions: a listing, never a scan.
const MaxWebSessionsPerUser = 200

// WebSessionStore holds web sessions. Its writes are the exception to the
// Store's write contract, as RecordKeyUse is: they change no Revision and
// append no Event, because a session is read from the database on every
// request (so every node sees a sign-out at once) and no cache depends on
// it. Audit rows for sign-in and sign-out are the caller's.
type WebSessionStore interface {
	// CreateWebSession stores s for an existing user of s.AccountID (else
	// ErrNotFound) and sets s.Created and s.LastSeen from the Store's clock.
	// It returns the EInvalid error of s.Validate, and an EConflict error
	// for a duplicate ID or Hash.
	CreateWebSession(ctx context.Context, s *WebSession) error
	// WebSessionByHash returns the session whose Hash is hash, expired or
	// not (the caller judges with Active); an empty hash finds nothing.
	WebSessionByHash(ctx context.Context, hash []byte) (*WebSession, error)
	// TouchWebSession sets LastSeen of the session whose Hash is hash to
	// at, when at is later than the stored value. A missing session is
	// ErrNotFound.
	TouchWebSession(ctx context.Context, hash []byte, at time.Time) error
	// DeleteWebSession removes the session id of the user. It succeeds
	// exactly once however many callers race; after that ErrNotFound.
	DeleteWebSession(ctx context.Context, accountID, userID, id string) error
	// DeleteUserWebSessions removes every session of the user but the one
	// whose ID is except ("" keeps none) and returns how many it removed.
	DeleteUserWebSessions(ctx context.Context, accountID, userID, except string) (int, error)
	// WebSessions lists the user's sessions, newest first, at most
	// MaxWebSessionsPerUser of them.
	WebSessions(ctx context.Context, accountID, userID string) ([]*WebSession, error)
	// PruneWebSessions deletes the sessions whose ExpiresAt is at or before
	// before, and returns how many.
	PruneWebSessions(ctx context.Context, before time.Time) (int, error)
}

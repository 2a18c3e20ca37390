package identity

import "time"

// EventKind says what an Event is about.
type EventKind string

// Event kinds.
const (
	EventAccount    EventKind = "account"     // ID is an account id
	EventUser       EventKind = "user"        // ID is a user id
	EventAPIKey     EventKind = "api_key"     // ID is an API key id
	EventToken      EventKind = "token"       // ID is a token's jti
	EventSigningKey EventKind = "signing_key" // ID is a kid
)

// Event is one entry of the change feed. Every Store write that can change
// what a cached token, account or key means appends one in the same
// transaction, so that each server process can follow the feed and drop
// what it cached. Events are kept at least as long as the longest token
// lifetime.
type Event struct {
	Seq  int64
	Kind EventKind
	ID   string
	// Cutoff, when non-zero, revokes: tokens of ID issued at or before it
	// are refused. For EventToken, the token with jti ID is refused until
	// Expires.
	Cutoff  time.Time
	Expires time.Time
	Created time.Time
}

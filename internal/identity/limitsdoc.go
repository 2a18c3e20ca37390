package identity

import "context"

// LimitsDocStore keeps each account's Kazoo limits document (trunks,
// prepay, ...) as the JSON text a client posted. audian has no telephony:
// it stores and returns the document and enforces none of it.
type LimitsDocStore interface {
	// LimitsDoc returns the account's limits document, nil when it has
	// none, ErrNotFound for an unknown account.
	LimitsDoc(ctx context.Context, accountID string) ([]byte, error)
	// SetLimitsDoc stores doc (a JSON object) as the account's limits,
	// ErrNotFound for an unknown account. The document goes with its
	// account.
	SetLimitsDoc(ctx context.Context, accountID string, doc []byte) error
}

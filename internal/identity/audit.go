package identity

import (
	"context"
	"time"
)

// AuditEntry is one record of the audit log: who did what to which
// account, from where, and whether it worked. It never holds a secret:
// actors and targets are ids, never keys, passwords or tokens.
type AuditEntry struct {
	Seq       int64     // assigned by the Store, increasing
	Time      time.Time // the Store's clock
	AccountID string    // the account the event concerns; "" when unknown (a login with an unknown key)
	ActorKind string    // AuditActorUser, AuditActorKey or "" for an anonymous caller
	Actor     string    // the user id or API key id of ActorKind
	Action    string    // e.g. "api_auth", "users.create", "token.revoke"
	Outcome   string    // AuditSuccess or AuditFailure
	// TargetKind and TargetID name the record the action changed. A Store
	// fills them, when the entry leaves them empty, from the first event of
	// the write that is not a revocation (or else its first event).
	TargetKind string
	TargetID   string
	// Reason says in general terms why an action failed ("invalid
	// credentials"), as the error reply does.
	Reason    string
	ClientIP  string
	UserAgent string
	RequestID string
}

// Audit outcomes and actor kinds.
const (
	AuditSuccess = "success"
	AuditFailure = "failure"

	AuditActorUser = "user"
	AuditActorKey  = "api_key"
)

// AuditRead lets an admin read its accounts' audit logs.
const AuditRead Permission = "audit:read"

// AuditFilter narrows an audit listing. Zero fields match everything.
type AuditFilter struct {
	From   time.Time // entries at or after From
	To     time.Time // entries at or before To
	Actor  string    // the Actor id
	Action string
	// Unattributed adds the entries that concern no account (failed logins
	// with an unknown credential) to the listing; only system accounts see
	// them.
	Unattributed bool
}

type auditKey struct{}

// WithAudit returns ctx carrying e. Every Store write that appends a
// change-feed Event and runs with such a context also appends e to the
// audit log in the same transaction, so that a change and its record
// commit or roll back together. The Store sets Seq and Time, Outcome to
// AuditSuccess when empty, and the target when empty.
func WithAudit(ctx context.Context, e AuditEntry) context.Context {
	return context.WithValue(ctx, auditKey{}, &e)
}

// AuditFrom returns the entry WithAudit put in ctx.
func AuditFrom(ctx context.Context) (AuditEntry, bool) {
	e, _ := ctx.Value(auditKey{}).(*AuditEntry)
	if e == nil {
		return AuditEntry{}, false
	}
	return *e, true
}

// WithoutAudit returns ctx with no audit entry, for writes that are not
// changes a person made (rate-limit buckets, failure counters).
func WithoutAudit(ctx context.Context) context.Context {
	if _, ok := AuditFrom(ctx); !ok {
		return ctx
	}
	return context.WithValue(ctx, auditKey{}, (*AuditEntry)(nil))
}

// AuditTarget returns the target a Store records for a write whose events
// are evs: the first event that does not revoke (a replacement's new key,
// not the old one it ends), or else the first event.
func AuditTarget(evs []Event) (kind EventKind, id string) {
	for _, e := range evs {
		if e.Cutoff.IsZero() {
			return e.Kind, e.ID
		}
	}
	if len(evs) > 0 {
		return evs[0].Kind, evs[0].ID
	}
	return "", ""
}

// AuditStore is the audit log. It is append-only: nothing changes or
// removes an entry but retention pruning.
type AuditStore interface {
	// AppendAudit appends e outside any other write: logins, failed
	// attempts, anything that changes no row. The Store sets Seq and Time,
	// and Outcome to AuditSuccess when empty.
	AppendAudit(ctx context.Context, e AuditEntry) error
	// Audit lists the entries of accountID that match f, oldest first.
	// Page.After is the decimal Seq of the previous page's last entry.
	Audit(ctx context.Context, accountID string, f AuditFilter, p Page) (items []AuditEntry, next string, err error)
	// PruneAudit deletes the entries recorded before before (retention)
	// and returns how many.
	PruneAudit(ctx context.Context, before time.Time) (int, error)
}

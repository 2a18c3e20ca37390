package audian

import (
	"context"
	"iter"
	"strconv"
	"time"
)

// AuditEntry is one line of an account's audit log.
type AuditEntry struct {
	ID        string `json:"id"`
	Timestamp string `json:"timestamp"` // RFC 3339 with fractions
	Created   int64  `json:"created"`   // Gregorian seconds
	AccountID string `json:"account_id"`
	// Action is "<resource>.<verb>" ("users.create", "api_auth", ...).
	Action string `json:"action"`
	// Outcome is "success", "failure" or "denied".
	Outcome    string `json:"outcome"`
	ClientIP   string `json:"client_ip"`
	RequestID  string `json:"request_id"`
	ActorType  string `json:"actor_type,omitempty"`
	ActorID    string `json:"actor_id,omitempty"`
	TargetType string `json:"target_type,omitempty"`
	TargetID   string `json:"target_id,omitempty"`
	Reason     string `json:"reason,omitempty"`
	UserAgent  string `json:"user_agent,omitempty"`
}

// AuditQuery narrows an audit listing; zero fields do not filter.
type AuditQuery struct {
	Actor    string // a user or key id
	Action   string
	From, To time.Time // inclusive, whole seconds
	PageSize int
}

// AuditService reads audit logs: /v2/accounts/{id}/audit.
type AuditService struct{ c *Client }

// List lists account's audit log, oldest first.
func (s *AuditService) List(ctx context.Context, account string, q AuditQuery) iter.Seq2[AuditEntry, error] {
	o := &ListOptions{PageSize: q.PageSize, Filters: map[string]string{}}
	if q.Actor != "" {
		o.Filters["actor"] = q.Actor
	}
	if q.Action != "" {
		o.Filters["action"] = q.Action
	}
	if !q.From.IsZero() {
		o.Filters["created_from"] = strconv.FormatInt(q.From.Unix()+GregorianOffset, 10)
	}
	if !q.To.IsZero() {
		o.Filters["created_to"] = strconv.FormatInt(q.To.Unix()+GregorianOffset, 10)
	}
	return list[AuditEntry](s.c, ctx, func(ctx context.Context) (string, error) {
		return s.c.pathIn(ctx, account, "audit")
	}, o.query())
}

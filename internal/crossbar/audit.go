package crossbar

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/audian/audian/internal/identity"
)

// Audit actions that the generic naming (auditAction) would get wrong.
var auditActions = map[string]string{
	"PUT /v2/accounts/{account_id}/api_key":                  "api_key.replace",
	"GET /v2/accounts/{account_id}/api_key":                  "api_key.create", // the first read creates the key
	"DELETE /v2/token_auth":                                  "token.revoke",
	"PUT /v2/accounts/{account_id}/api_keys/{key_id}/rotate": "api_keys.rotate",
	"DELETE /v2/accounts/{account_id}/api_keys/{key_id}":     "api_keys.revoke",
	"PUT /v2/auth/signing_keys/rotate":                       "signing_keys.rotate",
}

// auditAction names what a request does for the audit log:
// "<resource>.<verb>", the resource being the last fixed segment of the
// route ("users" for /v2/accounts/{account_id}/users/{user_id}) and the
// verb create (PUT), update (POST, PATCH), delete or read. New routes are
// named without a change here.
func auditAction(r *http.Request) string {
	key := r.Method + " " + r.Pattern
	if a, ok := auditActions[key]; ok {
		return a
	}
	resource := ""
	for _, seg := range strings.Split(strings.Trim(r.Pattern, "/"), "/") {
		if seg != "" && seg != "v2" && !strings.HasPrefix(seg, "{") {
			resource = seg
		}
	}
	verb := "read"
	switch r.Method {
	case http.MethodPut:
		verb = "create"
	case http.MethodPost, http.MethodPatch:
		verb = "update"
	case http.MethodDelete:
		verb = "delete"
	}
	return resource + "." + verb
}

// maxUserAgent bounds what the log keeps of a client's User-Agent.
const maxUserAgent = 256

// auditEntry returns the entry of call c for action: who (the caller's
// user, else its API key), where from, and the account concerned.
func auditEntry(c *call, action string) identity.AuditEntry {
	ua := c.r.UserAgent()
	if len(ua) > maxUserAgent {
		ua = ua[:maxUserAgent]
	}
	e := identity.AuditEntry{Action: action, ClientIP: c.info.ClientIP, UserAgent: ua, RequestID: c.info.ID}
	switch {
	case c.target != nil:
		e.AccountID = c.target.acct.ID
	case c.p != nil:
		e.AccountID = c.p.AccountID
	}
	if c.p != nil {
		switch {
		case c.p.UserID != "":
			e.ActorKind, e.Actor = identity.AuditActorUser, c.p.UserID
		case c.p.KeyID != "":
			e.ActorKind, e.Actor = identity.AuditActorKey, c.p.KeyID
		}
	}
	return e
}

// audit makes every Store write of a call record itself in the audit
// log, in the write's own transaction; on a public route the actor is
// anonymous. GETs are left out, as they do not write (a GET that does
// sets its own entry), so that the hot path pays nothing.
func (a *API) audit(c *call) {
	if c.r.Method == http.MethodGet {
		return
	}
	c.ctx = identity.WithAudit(c.ctx, auditEntry(c, auditAction(c.r)))
}

// listAudit lists the account's audit log (GET
// /v2/accounts/{id}/audit), oldest first, filtered by actor, action, and
// created_from and created_to in Gregorian seconds as every Crossbar list
// (listfilter.go validates them and also applies them to the rendered
// "created"; passing them to the store as well keeps a sparse page from
// scanning the whole log). A system account's log also holds the entries
// that concern no account (attempts with an unknown credential).
func (a *API) listAudit(c *call) (*reply, error) {
	q := c.r.URL.Query()
	f := identity.AuditFilter{Actor: q.Get("actor"), Action: q.Get("action"), Unattributed: c.target.acct.System}
	if n, err := strconv.ParseInt(q.Get("created_from"), 10, 64); err == nil && n > 0 {
		f.From = time.Unix(n-gregorianOffset, 0)
	}
	if n, err := strconv.ParseInt(q.Get("created_to"), 10, 64); err == nil && n > 0 {
		// Whole seconds, inclusive: the entries of second n all match.
		f.To = time.Unix(n-gregorianOffset, 0).Add(time.Second - time.Millisecond)
	}
	id := c.target.acct.ID
	return listReply(c, func(p identity.Page) ([]identity.AuditEntry, string, error) {
		return a.store.Audit(c.ctx, id, f, p)
	}, renderAuditEntry)
}

func renderAuditEntry(e identity.AuditEntry) any {
	d := map[string]any{
		"id":         strconv.FormatInt(e.Seq, 10),
		"timestamp":  e.Time.UTC().Format(time.RFC3339Nano),
		"created":    gregorian(e.Time),
		"account_id": e.AccountID,
		"action":     e.Action,
		"outcome":    e.Outcome,
		"client_ip":  e.ClientIP,
		"request_id": e.RequestID,
	}
	for k, v := range map[string]string{
		"actor_type": e.ActorKind, "actor_id": e.Actor, "target_type": e.TargetKind, "target_id": e.TargetID,
		"reason": e.Reason, "user_agent": e.UserAgent,
	} {
		if v != "" {
			d[k] = v
		}
	}
	return d
}

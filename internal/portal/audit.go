package portal

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/audian/audian/internal/identity"
	"github.com/audian/audian/internal/web"
)

// Bounds of the audit page: it shows the newest entries matching the
// filters, reading at most auditScan entries of the (ascending) log.
const (
	auditShown = 200
	auditScan  = 20_000
	// auditDefaultDays is the window shown when no start date is given.
	auditDefaultDays = 30
)

type auditFilter struct {
	Action, Actor, From, To, Outcome string
}

type auditRow struct {
	identity.AuditEntry
	ActorName  string // a username, or "key “name”"
	TargetName string
}

type auditData struct {
	Entries   []auditRow
	Filter    auditFilter
	Users     []*identity.User
	Truncated bool
	Actions   []string
}

// auditActions are offered in the action filter; any other action can
// still be typed.
var auditActions = []string{
	"portal.sign_in", "portal.sign_out", "user_auth", "api_auth",
	"api_keys.create", "api_keys.rotate", "api_keys.revoke", "api_key.replace",
	"users.create", "users.update", "users.delete", "token.revoke", "portal.sessions.delete",
}

func (p *Portal) auditPage(w http.ResponseWriter, r *http.Request, s *web.Session) error {
	q := r.URL.Query()
	f := auditFilter{
		Action: strings.TrimSpace(q.Get("action")), Actor: q.Get("actor"),
		From: q.Get("from"), To: q.Get("to"), Outcome: q.Get("outcome"),
	}
	if len(f.Action) > 128 {
		f.Action = f.Action[:128]
	}
	filter := identity.AuditFilter{Action: f.Action, Unattributed: s.Account.System}
	if identity.ValidID(f.Actor) {
		filter.Actor = f.Actor
	} else {
		f.Actor = ""
	}
	if t, err := time.Parse("2006-01-02", f.From); err == nil {
		filter.From = t
	} else {
		f.From = ""
		filter.From = p.now().Add(-auditDefaultDays * 24 * time.Hour)
	}
	if t, err := time.Parse("2006-01-02", f.To); err == nil {
		filter.To = t.Add(24*time.Hour - time.Millisecond)
	} else {
		f.To = ""
	}
	if f.Outcome != identity.AuditSuccess && f.Outcome != identity.AuditFailure {
		f.Outcome = ""
	}

	var entries []identity.AuditEntry
	truncated := false
	page := identity.Page{Size: identity.MaxPageSize}
	for scanned := 0; scanned < auditScan; {
		items, next, err := p.store.Audit(r.Context(), s.Account.ID, filter, page)
		if err != nil {
			return err
		}
		scanned += len(items)
		for _, e := range items {
			if f.Outcome == "" || e.Outcome == f.Outcome {
				entries = append(entries, e)
			}
		}
		if len(entries) > auditShown {
			entries = entries[len(entries)-auditShown:]
			truncated = true
		}
		if next == "" {
			break
		}
		page.After = next
	}
	slices.Reverse(entries)

	users, _, err := p.store.Users(r.Context(), s.Account.ID, identity.Page{Size: identity.MaxPageSize})
	if err != nil {
		return err
	}
	// Ids become names a person recognises: users, and the account's
	// keys (revoked ones too, which the log still mentions).
	names := map[string]string{}
	for _, u := range users {
		names[u.ID] = u.Username
	}
	keys, _, err := p.store.APIKeys(r.Context(), s.Account.ID, identity.Page{Size: identity.MaxPageSize})
	if err != nil {
		return err
	}
	for _, k := range keys {
		names[k.ID] = "key “" + k.Name + "”"
	}
	rows := make([]auditRow, 0, len(entries))
	for _, e := range entries {
		rows = append(rows, auditRow{AuditEntry: e, ActorName: names[e.Actor], TargetName: names[e.TargetID]})
	}
	pg := p.page(r, s, "Audit log", "/audit")
	pg.Data = auditData{Entries: rows, Filter: f, Users: users, Truncated: truncated, Actions: auditActions}
	return p.render(w, r, "audit", pg)
}

package portal

import (
	"net/http"

	"github.com/audian/audian/internal/identity"
	"github.com/audian/audian/internal/web"
)

type sessionRow struct {
	*identity.WebSession
	Current bool
}

type sessionsData struct {
	Sessions    []sessionRow
	TokensAfter string
}

// sessionsPage lists the person's portal sessions and says since when
// its API tokens are valid.
func (p *Portal) sessionsPage(w http.ResponseWriter, r *http.Request, s *web.Session) error {
	list, err := p.store.WebSessions(r.Context(), s.Account.ID, s.User.ID)
	if err != nil {
		return err
	}
	now := p.now()
	d := sessionsData{}
	for _, ws := range list {
		if !ws.Active(now, 0) {
			continue
		}
		d.Sessions = append(d.Sessions, sessionRow{WebSession: ws, Current: ws.ID == s.ID})
	}
	if !s.User.TokensValidAfter.IsZero() {
		d.TokensAfter = s.User.TokensValidAfter.UTC().Format("2 Jan 2006 15:04 UTC")
	}
	pg := p.page(r, s, "Sessions", "/sessions")
	pg.Notice = notice(r)
	pg.Data = d
	return p.render(w, r, "sessions", pg)
}

// revokeSession signs one of the person's sessions out, on every node.
func (p *Portal) revokeSession(w http.ResponseWriter, r *http.Request, s *web.Session) error {
	id := r.PathValue("session_id")
	if !identity.ValidID(id) {
		return identity.ErrNotFound
	}
	ctx, cancel := p.audited(w, r, s, "portal.sessions.delete")
	defer cancel()
	if err := p.store.DeleteWebSession(ctx, s.Account.ID, s.User.ID, id); err != nil {
		return err
	}
	e := p.auditEntry(w, r, s, "portal.sessions.delete")
	e.TargetKind, e.TargetID = "web_session", id
	p.appendAudit(ctx, e)
	if id == s.ID {
		p.web.End(w, r, nil)
		http.Redirect(w, r, web.SignInPath, http.StatusSeeOther)
		return nil
	}
	return redirect(w, r, "/sessions", "session-ended")
}

// revokeTokens ends every token issued to the person so far (user_auth
// tokens and those of its keys' logins share the user's cutoff), and with
// them every other session; this browser gets a fresh session.
func (p *Portal) revokeTokens(w http.ResponseWriter, r *http.Request, s *web.Session) error {
	ctx, cancel := p.audited(w, r, s, "token.revoke")
	defer cancel()
	now := p.now()
	u, err := p.store.UpdateUser(ctx, s.Account.ID, s.User.ID, func(u *identity.User) error {
		u.TokensValidAfter = now
		return nil
	})
	if err != nil {
		return err
	}
	if err := p.restart(w, r, s, u); err != nil {
		return err
	}
	p.syncAfter(ctx)
	return redirect(w, r, "/sessions", "tokens")
}

package portal

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/audian/audian/internal/identity"
	"github.com/audian/audian/internal/manage"
	"github.com/audian/audian/internal/web"
)

// Settings → API Keys: named keys, shown once; rotation with a grace
// period; revocation; and, for admins, the account's Kazoo key. The rules
// are the API's (internal/crossbar/namedkeys.go): an admin manages every
// named key of the account, a plain user the keys it created, and no key
// can do more than its creator.

// maxKeysListed bounds the keys page.
const maxKeysListed = 500

// keyRow is one key of the list.
type keyRow struct {
	ID, Name, Prefix string
	Scopes           []string
	CIDRs            []string
	Created          time.Time
	LastUsed         time.Time
	LastUsedIP       string
	Expires          time.Time
	AgeDays          int
	RotationDue      bool
	Expired          bool
	Mine             bool
}

// shownSecret is what the page shows once after a create or rotate. It
// travels from the POST to the page in the session's sealed flash.
type shownSecret struct {
	Name     string `json:"name"`
	Prefix   string `json:"prefix"`
	Secret   string `json:"secret"`
	Rotated  bool   `json:"rotated,omitempty"`
	OldUntil string `json:"old_until,omitempty"` // when the replaced key stops
	Account  bool   `json:"account,omitempty"`   // the account's Kazoo key
}

// keyForm is the create form, echoed back when it has errors.
type keyForm struct {
	Name    string
	Scopes  []string
	Expires string
	CIDRs   string
	Errors  map[string]string
}

type keysData struct {
	Keys     []keyRow
	Shown    *shownSecret
	Form     keyForm
	Scopes   []scopeGroup
	Expiries []option
	Admin    bool
	Policy   int // rotation policy in days
}

type scopeGroup struct {
	Resource    string
	Read, Write string
}

type option struct{ Value, Label string }

var expiryOptions = []option{
	{"", "Never"}, {"30", "In 30 days"}, {"90", "In 90 days"}, {"180", "In 180 days"}, {"365", "In 1 year"},
}

func scopeGroups() []scopeGroup {
	out := make([]scopeGroup, 0, len(identity.ScopeResources))
	for _, r := range identity.ScopeResources {
		out = append(out, scopeGroup{Resource: r, Read: r + ":read", Write: r + ":write"})
	}
	return out
}

// mayManage reports whether s may see and change k: an admin any named key
// of the account, a plain user the keys it created.
func mayManage(s *web.Session, k *identity.APIKey) bool {
	return s.Admin() || k.CreatedBy == s.User.ID
}

// listKeys returns the named keys s may manage, newest first.
func (p *Portal) listKeys(r *http.Request, s *web.Session) ([]keyRow, error) {
	now := p.now()
	var rows []keyRow
	page := identity.Page{Size: identity.MaxPageSize}
	for len(rows) < maxKeysListed {
		items, next, err := p.store.APIKeys(r.Context(), s.Account.ID, page)
		if err != nil {
			return nil, err
		}
		for _, k := range items {
			if k.Kind != identity.KeyKindNamed || !k.RevokedAt.IsZero() || !mayManage(s, k) {
				continue
			}
			rows = append(rows, keyRow{
				ID: k.ID, Name: k.Name, Prefix: k.Prefix, Scopes: k.Scopes, CIDRs: k.AllowedCIDRs,
				Created: k.Created, LastUsed: k.LastUsedAt, LastUsedIP: k.LastUsedIP, Expires: k.ExpiresAt,
				AgeDays:     int(now.Sub(k.Created).Hours() / 24),
				RotationDue: k.RotationDue(now, p.cfg.KeyRotation),
				Expired:     !k.Live(now),
				Mine:        k.CreatedBy == s.User.ID,
			})
		}
		if next == "" {
			break
		}
		page.After = next
	}
	slices.SortFunc(rows, func(a, b keyRow) int { return b.Created.Compare(a.Created) })
	return rows, nil
}

func (p *Portal) keysPage(w http.ResponseWriter, r *http.Request, s *web.Session) error {
	return p.renderKeys(w, r, s, http.StatusOK, keyForm{})
}

func (p *Portal) renderKeys(w http.ResponseWriter, r *http.Request, s *web.Session, status int, form keyForm) error {
	rows, err := p.listKeys(r, s)
	if err != nil {
		return err
	}
	d := keysData{Keys: rows, Form: form, Scopes: scopeGroups(), Expiries: expiryOptions, Admin: s.Admin(),
		Policy: int(p.cfg.KeyRotation.Hours() / 24)}
	if v, ok := p.web.TakeFlash(w, r, s); ok {
		var shown shownSecret
		if json.Unmarshal([]byte(v), &shown) == nil && !shown.Account {
			d.Shown = &shown
		}
	}
	pg := p.page(r, s, "API Keys", "/settings/api-keys")
	pg.Notice = notice(r)
	if len(form.Errors) > 0 {
		pg.Error = "The key was not created: check the fields marked below."
	}
	pg.Data = d
	p.tmpl.Render(w, r, status, "keys", pg)
	return nil
}

// parseKeyForm reads and checks the create form.
func (p *Portal) parseKeyForm(r *http.Request) (f keyForm, scopes, cidrs []string, expires time.Time) {
	f = keyForm{
		Name:    strings.TrimSpace(r.PostForm.Get("name")),
		Scopes:  r.PostForm["scope"],
		Expires: r.PostForm.Get("expires"),
		CIDRs:   strings.TrimSpace(r.PostForm.Get("allowed_cidrs")),
		Errors:  map[string]string{},
	}
	switch n := utf8.RuneCountInString(f.Name); {
	case n == 0:
		f.Errors["name"] = "Give the key a name, so that you can recognise it later."
	case n > manage.MaxKeyName || !utf8.ValidString(f.Name) || strings.ContainsFunc(f.Name, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		f.Errors["name"] = "Use at most " + strconv.Itoa(manage.MaxKeyName) + " printable characters."
	}
	if len(f.Scopes) > 0 {
		var err error
		if scopes, err = identity.ValidateScopes("scopes", f.Scopes); err != nil {
			f.Errors["scopes"] = "Choose scopes from the list."
		}
	}
	if f.Expires != "" {
		days, err := strconv.Atoi(f.Expires)
		if err != nil || !slices.ContainsFunc(expiryOptions, func(o option) bool { return o.Value == f.Expires }) {
			f.Errors["expires"] = "Choose an expiry from the list."
		} else {
			expires = p.now().Add(time.Duration(days) * 24 * time.Hour).UTC()
		}
	}
	if f.CIDRs != "" {
		list := strings.FieldsFunc(f.CIDRs, func(r rune) bool { return r == ',' || r == '\n' || r == '\r' || r == ' ' || r == '\t' })
		if len(list) > manage.MaxKeyCIDRs {
			f.Errors["allowed_cidrs"] = "List at most " + strconv.Itoa(manage.MaxKeyCIDRs) + " addresses or ranges."
		} else if out, err := manage.CanonicalCIDRs(list); err != nil {
			f.Errors["allowed_cidrs"] = "Each entry must be an IP address or a CIDR range, such as 203.0.113.0/24."
		} else {
			cidrs = out
		}
	}
	return f, scopes, cidrs, expires
}

// createKey makes a named key and shows its secret once, on the page the
// browser is redirected to: never in a URL, never stored but as a hash.
func (p *Portal) createKey(w http.ResponseWriter, r *http.Request, s *web.Session) error {
	form, scopes, cidrs, expires := p.parseKeyForm(r)
	if len(form.Errors) > 0 {
		return p.renderKeys(w, r, s, http.StatusBadRequest, form)
	}
	if !principal(s).MayGrant(scopes) {
		return identity.ErrForbidden
	}
	k, secret := manage.NewNamedKey(s.Account.ID, form.Name, scopes, cidrs, s.User.ID, expires)
	ctx, cancel := p.audited(w, r, s, "api_keys.create")
	defer cancel()
	if err := p.store.CreateAPIKey(ctx, k); err != nil {
		return err
	}
	p.syncAfter(ctx)
	if err := p.flash(w, s, shownSecret{Name: k.Name, Prefix: k.Prefix, Secret: secret}); err != nil {
		return err
	}
	return redirect(w, r, "/settings/api-keys", "")
}

func (p *Portal) flash(w http.ResponseWriter, s *web.Session, v shownSecret) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return p.web.SetFlash(w, s, string(b))
}

// namedKey loads the live (unrevoked) named key of the path that s may
// manage; any other is not found, so that ids of other people's keys
// reveal nothing.
func (p *Portal) namedKey(r *http.Request, s *web.Session) (*identity.APIKey, error) {
	id := r.PathValue("key_id")
	if !identity.ValidID(id) {
		return nil, identity.ErrNotFound
	}
	k, err := p.store.APIKey(r.Context(), s.Account.ID, id)
	if err != nil {
		return nil, err
	}
	if k.Kind != identity.KeyKindNamed || !k.RevokedAt.IsZero() || !mayManage(s, k) {
		return nil, identity.ErrNotFound
	}
	return k, nil
}

// graceOptions are the grace periods a rotation offers, in seconds.
var graceOptions = []option{
	{"0", "No grace: the old key stops working now"},
	{"3600", "1 hour"},
	{"86400", "24 hours"},
	{"604800", "7 days"},
}

type keyActionData struct {
	Key   keyRow
	Grace []option
}

func (p *Portal) keyActionPage(w http.ResponseWriter, r *http.Request, s *web.Session, name, title string) error {
	k, err := p.namedKey(r, s)
	if err != nil {
		return err
	}
	now := p.now()
	pg := p.page(r, s, title, "/settings/api-keys")
	pg.Data = keyActionData{Key: keyRow{ID: k.ID, Name: k.Name, Prefix: k.Prefix, Scopes: k.Scopes, Created: k.Created,
		Expires: k.ExpiresAt, LastUsed: k.LastUsedAt, Expired: !k.Live(now), RotationDue: k.RotationDue(now, p.cfg.KeyRotation),
		AgeDays: int(now.Sub(k.Created).Hours() / 24)}, Grace: graceOptions}
	return p.render(w, r, name, pg)
}

func (p *Portal) rotateKeyPage(w http.ResponseWriter, r *http.Request, s *web.Session) error {
	return p.keyActionPage(w, r, s, "rotate", "Rotate key")
}

func (p *Portal) revokeKeyPage(w http.ResponseWriter, r *http.Request, s *web.Session) error {
	return p.keyActionPage(w, r, s, "revoke", "Revoke key")
}

// rotateKey replaces a key by a new one, shown once; the old one keeps
// working for the chosen grace.
func (p *Portal) rotateKey(w http.ResponseWriter, r *http.Request, s *web.Session) error {
	secs, err := strconv.Atoi(r.PostForm.Get("grace"))
	if err != nil || secs < 0 || time.Duration(secs)*time.Second > manage.MaxGrace {
		return identity.Invalid("grace", "enum", "Choose how long the old key keeps working.")
	}
	grace := time.Duration(secs) * time.Second
	old, err := p.namedKey(r, s)
	if err != nil {
		return err
	}
	now := p.now()
	if !old.Live(now) {
		return identity.Errorf(identity.EConflict, "This key has expired; create a new one instead.")
	}
	if !principal(s).MayGrant(old.Scopes) {
		return identity.ErrForbidden
	}
	ctx, cancel := p.audited(w, r, s, "api_keys.rotate")
	defer cancel()
	k, secret, until, err := manage.RotateNamedKey(ctx, p.store, old, grace, now)
	if err != nil {
		return err
	}
	p.syncAfter(ctx)
	shown := shownSecret{Name: k.Name, Prefix: k.Prefix, Secret: secret, Rotated: true}
	if grace > 0 {
		shown.OldUntil = until.UTC().Format("2 Jan 2006 15:04 UTC")
	}
	if err := p.flash(w, s, shown); err != nil {
		return err
	}
	return redirect(w, r, "/settings/api-keys", "")
}

// revokeKey revokes a key at once, with every token it issued.
func (p *Portal) revokeKey(w http.ResponseWriter, r *http.Request, s *web.Session) error {
	if _, err := p.namedKey(r, s); err != nil {
		return err
	}
	ctx, cancel := p.audited(w, r, s, "api_keys.revoke")
	defer cancel()
	now := p.now()
	_, err := p.store.UpdateAPIKey(ctx, s.Account.ID, r.PathValue("key_id"), func(k *identity.APIKey) error {
		if !k.RevokedAt.IsZero() {
			return identity.ErrNotFound
		}
		k.RevokedAt = now
		return nil
	})
	if err != nil {
		return err
	}
	p.syncAfter(ctx)
	return redirect(w, r, "/settings/api-keys", "revoked")
}

type accountKeyData struct {
	Key    string // the account's Kazoo key, readable back by admins by design
	Prefix string
	New    bool // just regenerated
}

// accountKeyPage shows the account's Kazoo-style key to an admin, as GET
// /v2/accounts/{id}/api_key does.
func (p *Portal) accountKeyPage(w http.ResponseWriter, r *http.Request, s *web.Session) error {
	d := accountKeyData{}
	if v, ok := p.web.TakeFlash(w, r, s); ok {
		var shown shownSecret
		if json.Unmarshal([]byte(v), &shown) == nil && shown.Account {
			d.New = true
		}
	}
	k, err := p.store.AccountKey(r.Context(), s.Account.ID)
	switch {
	case identity.ErrorCode(err) == identity.ENotFound:
	case err != nil:
		return err
	default:
		secret, err := p.sealer.Open(k.Sealed, []byte(k.ID))
		if err != nil {
			return err
		}
		d.Key, d.Prefix = string(secret), k.Prefix
	}
	pg := p.page(r, s, "Account API key", "/settings/api-keys")
	pg.Data = d
	if d.New {
		pg.Notice = "A new account key was made. The previous one, and every token it issued, no longer works."
	}
	return p.render(w, r, "accountkey", pg)
}

// regenerateAccountKey replaces the account key; the old one stops at once.
func (p *Portal) regenerateAccountKey(w http.ResponseWriter, r *http.Request, s *web.Session) error {
	k, _, err := manage.NewAccountKey(p.sealer, s.Account.ID, s.User.ID)
	if err != nil {
		return err
	}
	ctx, cancel := p.audited(w, r, s, "api_key.replace")
	defer cancel()
	if err := p.store.ReplaceAccountKey(ctx, k); err != nil {
		return err
	}
	p.syncAfter(ctx)
	if err := p.flash(w, s, shownSecret{Account: true}); err != nil {
		return err
	}
	return redirect(w, r, "/settings/account-key", "")
}

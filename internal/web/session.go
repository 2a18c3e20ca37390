package web

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/audian/audian/internal/clientaddr"

	"github.com/audian/audian/internal/identity"
)

// Cookie names. The __Host- prefix makes the browser refuse the cookie
// unless it is Secure, has Path=/ and no Domain, so that neither a sibling
// subdomain nor a plain-HTTP page can plant or overwrite it.
const (
	SessionCookie = "__Host-audian_session"
	// csrfCookie carries the token of forms shown before sign-in (the
	// sign-in form itself), so that a third-party page cannot sign a
	// victim in to the attacker's account.
	csrfCookie  = "__Host-audian_csrf"
	flashCookie = "__Host-audian_flash"
	// CSRFField is the name of the hidden form field holding the token.
	CSRFField = "csrf_token"
)

// Default timeouts of a session.
const (
	DefaultIdleTimeout     = 30 * time.Minute
	DefaultAbsoluteTimeout = 12 * time.Hour
	// touchEvery bounds the writes of an active session: LastSeen moves
	// at most this often, which makes the idle end this much coarse.
	touchEvery = time.Minute
	// writeTimeout bounds the session writes done detached from the client.
	writeTimeout = 5 * time.Second
)

// rawIDLen is the length of a session id as the cookie carries it: 32
// random bytes in unpadded base64url.
const rawIDLen = 43

// Config holds the web layer's settings.
type Config struct {
	// IdleTimeout ends a session not used for this long; AbsoluteTimeout
	// ends it this long after sign-in, however active. Zero means the
	// defaults.
	IdleTimeout     time.Duration
	AbsoluteTimeout time.Duration
	// TrustedProxies are the addresses whose X-Forwarded-For is believed.
	TrustedProxies []netip.Prefix
	// Brand returns the account's whitelabel name and logo; nil, or an
	// empty Name, shows "Audian".
	Brand func(ctx context.Context, accountID string) Brand
	// BrandForHost returns the branding of the host name a signed-out
	// visitor asked for; nil shows "Audian".
	BrandForHost func(ctx context.Context, host string) Brand
}

// Store is what the web layer needs of identity.Store.
type Store interface {
	identity.WebSessionStore
	Account(ctx context.Context, id string) (*identity.Account, error)
	User(ctx context.Context, accountID, id string) (*identity.User, error)
}

// Web manages sessions and renders pages.
type Web struct {
	cfg   Config
	store Store
	now   func() time.Time
	log   *slog.Logger
}

// New returns the web layer. now and log may be nil.
func New(cfg Config, store Store, now func() time.Time, log *slog.Logger) *Web {
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.AbsoluteTimeout <= 0 {
		cfg.AbsoluteTimeout = DefaultAbsoluteTimeout
	}
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Web{cfg: cfg, store: store, now: now, log: log}
}

// Session is the signed-in person of one request.
type Session struct {
	ID        string // the public handle of the stored session
	Created   time.Time
	ExpiresAt time.Time
	Account   *identity.Account
	User      *identity.User
	raw       string // the cookie's session id; never stored, never logged
}

// Admin reports whether the person administers the account.
func (s *Session) Admin() bool { return s.User.PrivLevel == identity.RoleAdmin }

// CSRFToken is the token every form of this session carries: an HMAC of
// the session id, so that it needs no storage and is worthless without
// the cookie it belongs to.
func (s *Session) CSRFToken() string { return derive(s.raw, "audian csrf") }

// LogValue keeps the session id out of any log line.
func (s *Session) LogValue() slog.Value {
	return slog.GroupValue(slog.String("id", s.ID), slog.String("user_id", s.User.ID))
}

// derive returns HMAC-SHA256(raw, purpose) in base64url.
func derive(raw, purpose string) string {
	m := hmac.New(sha256.New, []byte(raw))
	m.Write([]byte(purpose))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func hashID(raw string) []byte {
	h := sha256.Sum256([]byte(raw))
	return h[:]
}

func newRawID() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("web: crypto/rand failed: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// Start signs u in: it stores a new session and sets its cookie. A new id
// every time, never one the browser brought, so that no one can fix a
// victim's session id in advance. The write is detached from the client,
// so that a dropped connection cannot leave a half-made sign-in.
func (w *Web) Start(rw http.ResponseWriter, r *http.Request, acct *identity.Account, u *identity.User) (*Session, error) {
	raw := newRawID()
	now := w.now()
	ws := &identity.WebSession{
		ID:        identity.NewID(),
		Hash:      hashID(raw),
		AccountID: acct.ID,
		UserID:    u.ID,
		ExpiresAt: now.Add(w.cfg.AbsoluteTimeout),
		ClientIP:  clean(w.ClientIP(r), identity.MaxWebSessionClientIP),
		UserAgent: clean(r.UserAgent(), identity.MaxWebSessionUserAgent),
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), writeTimeout)
	defer cancel()
	if err := w.store.CreateWebSession(ctx, ws); err != nil {
		return nil, err
	}
	w.trim(ctx, acct.ID, u.ID)
	http.SetCookie(rw, &http.Cookie{
		Name: SessionCookie, Value: raw, Path: "/", MaxAge: int(w.cfg.AbsoluteTimeout / time.Second),
		Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode,
	})
	clearCookie(rw, csrfCookie)
	return &Session{ID: ws.ID, Created: ws.Created, ExpiresAt: ws.ExpiresAt, Account: acct, User: u, raw: raw}, nil
}

// MaxSessionsPerUser bounds the sessions a user keeps: a new sign-in past
// it ends the oldest, so that signing in in a loop cannot grow the table.
const MaxSessionsPerUser = 50

// trim ends the user's sessions beyond the newest MaxSessionsPerUser.
func (w *Web) trim(ctx context.Context, accountID, userID string) {
	list, err := w.store.WebSessions(ctx, accountID, userID)
	if err != nil {
		w.log.Warn("listing web sessions failed", "error", err.Error())
		return
	}
	for _, old := range list[min(len(list), MaxSessionsPerUser):] {
		if err := w.store.DeleteWebSession(ctx, accountID, userID, old.ID); err != nil && identity.ErrorCode(err) != identity.ENotFound {
			w.log.Warn("ending an old web session failed", "error", err.Error())
		}
	}
}

// Session returns the request's session, or nil when there is none that
// may still be used. It reads the database every time (see the package
// comment); an ended session's row is removed on the way.
func (w *Web) Session(r *http.Request) (*Session, error) {
	c, err := r.Cookie(SessionCookie)
	if err != nil || len(c.Value) != rawIDLen {
		return nil, nil
	}
	ctx := r.Context()
	hash := hashID(c.Value)
	ws, err := w.store.WebSessionByHash(ctx, hash)
	if identity.ErrorCode(err) == identity.ENotFound {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	now := w.now()
	if !ws.Active(now, w.cfg.IdleTimeout) {
		w.end(r, ws.AccountID, ws.UserID, ws.ID)
		return nil, nil
	}
	u, err := w.store.User(ctx, ws.AccountID, ws.UserID)
	if identity.ErrorCode(err) == identity.ENotFound {
		return nil, nil // the row went with the user
	} else if err != nil {
		return nil, err
	}
	// A disabled user, or one whose tokens were cut off after this
	// sign-in (a password or role change, a disable through the API), is
	// signed out everywhere: the same rule that refuses the user's tokens.
	if !u.Enabled || ws.Created.Before(u.TokensValidAfter) {
		w.end(r, ws.AccountID, ws.UserID, ws.ID)
		return nil, nil
	}
	acct, err := w.store.Account(ctx, ws.AccountID)
	if identity.ErrorCode(err) == identity.ENotFound {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	// A disabled account, or one below a disabled ancestor, suspends the
	// session (identity.AccountUsable, the rule tokens and logins follow)
	// without ending it: enabling the account again resumes it.
	if ok, err := identity.AccountUsable(ctx, acct, w.store.Account); err != nil {
		return nil, err
	} else if !ok {
		return nil, nil
	}
	if now.Sub(ws.LastSeen) >= touchEvery {
		tctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), writeTimeout)
		if err := w.store.TouchWebSession(tctx, hash, now); err != nil && identity.ErrorCode(err) != identity.ENotFound {
			w.log.Warn("touching a web session failed", "error", err.Error())
		}
		cancel()
	}
	return &Session{ID: ws.ID, Created: ws.Created, ExpiresAt: ws.ExpiresAt, Account: acct, User: u, raw: c.Value}, nil
}

// End signs s out: its row is deleted, on every node at once, and its
// cookie cleared.
func (w *Web) End(rw http.ResponseWriter, r *http.Request, s *Session) {
	clearCookie(rw, SessionCookie)
	clearCookie(rw, flashCookie)
	if s != nil {
		w.end(r, s.Account.ID, s.User.ID, s.ID)
	}
}

// end deletes a session, detached from the client: a sign-out must happen
// even when the browser goes away.
func (w *Web) end(r *http.Request, accountID, userID, id string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), writeTimeout)
	defer cancel()
	if err := w.store.DeleteWebSession(ctx, accountID, userID, id); err != nil && identity.ErrorCode(err) != identity.ENotFound {
		w.log.Warn("ending a web session failed", "error", err.Error())
	}
}

// EndUserSessions ends every session of the user but the one whose ID is
// keep ("" ends them all): after a password change, a disable, a reset.
func (w *Web) EndUserSessions(ctx context.Context, accountID, userID, keep string) (int, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), writeTimeout)
	defer cancel()
	return w.store.DeleteUserWebSessions(ctx, accountID, userID, keep)
}

func clearCookie(rw http.ResponseWriter, name string) {
	http.SetCookie(rw, &http.Cookie{Name: name, Value: "", Path: "/", MaxAge: -1, Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode})
}

// FormToken returns the CSRF token for a form of this request: the
// session's, or before sign-in one kept in its own cookie (set here when
// missing).
func (w *Web) FormToken(rw http.ResponseWriter, r *http.Request, s *Session) string {
	if s != nil {
		return s.CSRFToken()
	}
	if c, err := r.Cookie(csrfCookie); err == nil && len(c.Value) == rawIDLen {
		return derive(c.Value, "audian pre-session csrf")
	}
	raw := newRawID()
	http.SetCookie(rw, &http.Cookie{Name: csrfCookie, Value: raw, Path: "/", MaxAge: 3600,
		Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	return derive(raw, "audian pre-session csrf")
}

// ErrCSRF refuses a form without the right token.
var ErrCSRF = &identity.Error{Code: identity.EForbidden, Message: "form token missing or invalid"}

// CheckCSRF checks a POST of s (nil before sign-in): it must come from
// this origin when the browser says where it comes from, and carry the
// token of FormToken in its CSRFField. The comparison is constant-time.
// The form must be parsed already (r.ParseForm).
func (w *Web) CheckCSRF(r *http.Request, s *Session) error {
	// Sec-Fetch-Site is the browser's own word on where the form came
	// from; Origin serves older browsers ("null" says nothing: browsers
	// send it under some referrer policies and from sandboxed frames).
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" {
		if site != "same-origin" && site != "none" {
			return ErrCSRF
		}
	} else if o := r.Header.Get("Origin"); o != "" && o != "null" && o != "https://"+r.Host && o != "http://"+r.Host {
		return ErrCSRF
	}
	var want string
	if s != nil {
		want = s.CSRFToken()
	} else if c, err := r.Cookie(csrfCookie); err == nil && len(c.Value) == rawIDLen {
		want = derive(c.Value, "audian pre-session csrf")
	}
	got := r.PostForm.Get(CSRFField)
	if want == "" || got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		return ErrCSRF
	}
	return nil
}

// SetFlash hands value to the next page this session loads, once: it is
// sealed with a key derived from the session id and carried in a short-
// lived cookie, so that it appears neither in a URL, nor in the database,
// nor on another node's memory, and a reload no longer shows it.
func (w *Web) SetFlash(rw http.ResponseWriter, s *Session, value string) error {
	aead, err := flashAEAD(s.raw)
	if err != nil {
		return err
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return err
	}
	sealed := aead.Seal(nonce, nonce, []byte(value), []byte(s.ID))
	http.SetCookie(rw, &http.Cookie{Name: flashCookie, Value: base64.RawURLEncoding.EncodeToString(sealed), Path: "/",
		MaxAge: 120, Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	return nil
}

// TakeFlash returns the value SetFlash left for this session and clears it.
func (w *Web) TakeFlash(rw http.ResponseWriter, r *http.Request, s *Session) (string, bool) {
	c, err := r.Cookie(flashCookie)
	if err != nil {
		return "", false
	}
	clearCookie(rw, flashCookie)
	if s == nil || len(c.Value) > 4096 {
		return "", false
	}
	sealed, err := base64.RawURLEncoding.DecodeString(c.Value)
	if err != nil {
		return "", false
	}
	aead, err := flashAEAD(s.raw)
	if err != nil || len(sealed) < aead.NonceSize() {
		return "", false
	}
	plain, err := aead.Open(nil, sealed[:aead.NonceSize()], sealed[aead.NonceSize():], []byte(s.ID))
	if err != nil {
		return "", false
	}
	return string(plain), true
}

func flashAEAD(raw string) (cipher.AEAD, error) {
	m := hmac.New(sha256.New, []byte(raw))
	m.Write([]byte("audian flash"))
	block, err := aes.NewCipher(m.Sum(nil))
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// ClientIP returns the client's address, believing X-Forwarded-For only
// from trusted proxies, as the API does.
func (w *Web) ClientIP(r *http.Request) string {
	return clientaddr.Resolve(r, w.cfg.TrustedProxies)
}

// clean makes a client-supplied string storable: valid UTF-8, no control
// characters (NUL included), at most max bytes.
func clean(s string, max int) string {
	s = strings.ToValidUTF8(s, "")
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
	for len(s) > max {
		_, size := utf8.DecodeLastRuneInString(s)
		s = s[:len(s)-size]
	}
	return s
}

// Package oauth is audian's OAuth 2.0 and OpenID Connect provider. The
// protocol is zitadel/oidc's op package; this package adapts it to
// identity.Store (storage.go) and to audian's tokens:
//
//   - Access tokens are audian JWTs from the token key ring, with
//     method "oauth", the granting user's account, user and role, the
//     granted scopes, and the grant id (or, for client credentials, the
//     application id) as key_id. /v2 verifies them like any other token,
//     so they can do exactly what the scopes allow within the user's
//     reach, and removing the user, the application or the grant revokes
//     them on every node through the change feed's cutoffs.
//   - ID tokens are signed by the same key ring, so the provider's JWKS is
//     /.well-known/jwks.json.
//   - Refresh tokens are opaque, stored hashed, rotated on every use; a
//     rotated token that comes back revokes its whole family.
//   - Authorization codes are opaque, stored hashed, live 60 s and work
//     once; a second use revokes what the first issued.
//
// The flow of a browser: /oauth/authorize (library) -> /oauth/login
// (login.go: sign-in through the portal, then consent) ->
// /oauth/authorize/callback (library) -> the client's redirect URI.
package oauth

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/audian/audian/internal/identity"
	"github.com/audian/audian/internal/web"
)

// Tokens issues and verifies audian tokens (internal/token).
type Tokens interface {
	Issue(c identity.Claims, lifetime time.Duration) (string, identity.Claims, error)
	Verify(raw string) (*identity.Claims, error)
	JWKS() []byte
	SigningKey() (kid, alg string, key crypto.Signer)
}

// Config configures the provider.
type Config struct {
	// Issuer is the public URL, byte for byte what discovery reports and
	// ID tokens carry.
	Issuer              string
	AccessTokenLifetime time.Duration // default 1h
	CodeLifetime        time.Duration // default 60s
	RefreshLifetime     time.Duration // default 30 days
	LoginLifetime       time.Duration // how long a person has to sign in and consent, default 10 min
	DeviceLifetime      time.Duration // default 10 min
}

// Deps are the provider's collaborators.
type Deps struct {
	Store  identity.Store
	Tokens Tokens
	// Web is the portal's session layer; nil turns the browser pages (and
	// so the code and device flows) off.
	Web *web.Web
	// Sync brings this node up to date with the change feed after a
	// revocation, so that the revoked token fails here at once.
	Sync   func(context.Context) error
	Logger *slog.Logger
	Now    func() time.Time
	// Gate decides whether an account may be used (enabled, and every
	// ancestor too); nil applies the rule with ancestors read from Store.
	Gate identity.AccountGate
}

// Provider serves the OAuth endpoints.
type Provider struct {
	cfg     Config
	store   identity.Store
	tokens  Tokens
	web     *web.Web
	pages   *web.Templates
	syncFn  func(context.Context) error
	gate    identity.AccountGate
	log     *slog.Logger
	now     func() time.Time
	op      *op.Provider
	storage *storage
	issuer  atomic.Pointer[string]
}

// Paths of the endpoints, below the issuer.
const (
	pathAuthorize  = "/oauth/authorize"
	pathToken      = "/oauth/token"
	pathIntrospect = "/oauth/introspect"
	pathUserinfo   = "/oauth/userinfo"
	pathRevoke     = "/oauth/revoke"
	pathEndSession = "/oauth/end_session"
	pathDevice     = "/oauth/device_authorization"
	pathLogin      = "/oauth/login"
	pathKeys       = "/.well-known/jwks.json"
	pathDevicePage = "/device"
)

// storeGate applies the account rule with every ancestor read from the
// store.
type storeGate struct{ s identity.Store }

func (g storeGate) AccountUsable(ctx context.Context, a *identity.Account) (bool, error) {
	return identity.AccountUsable(ctx, a, g.s.Account)
}

// accountUsable reports whether tokens may be issued for the account: it
// exists, and neither it nor any ancestor is disabled. A failure to find
// out is a "no": a token is never issued on a guess.
func (p *Provider) accountUsable(ctx context.Context, id string) bool {
	acct, err := p.store.Account(ctx, id)
	if err != nil {
		return false
	}
	ok, err := p.gate.AccountUsable(ctx, acct)
	return err == nil && ok
}

// New returns the provider.
func New(cfg Config, d Deps) (*Provider, error) {
	if cfg.AccessTokenLifetime == 0 {
		cfg.AccessTokenLifetime = time.Hour
	}
	if cfg.CodeLifetime == 0 {
		cfg.CodeLifetime = 60 * time.Second
	}
	if cfg.RefreshLifetime == 0 {
		cfg.RefreshLifetime = 30 * 24 * time.Hour
	}
	if cfg.LoginLifetime == 0 {
		cfg.LoginLifetime = 10 * time.Minute
	}
	if cfg.DeviceLifetime == 0 {
		cfg.DeviceLifetime = 10 * time.Minute
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Sync == nil {
		d.Sync = func(context.Context) error { return nil }
	}
	if d.Gate == nil {
		d.Gate = storeGate{d.Store}
	}
	p := &Provider{cfg: cfg, store: d.Store, tokens: d.Tokens, web: d.Web, syncFn: d.Sync, gate: d.Gate, log: d.Logger, now: d.Now}
	p.storage = &storage{p: p}
	if d.Web != nil {
		var err error
		if p.pages, err = d.Web.Parse(templateFS, nil, "templates/*.html"); err != nil {
			return nil, fmt.Errorf("oauth templates: %w", err)
		}
	}
	opCfg := &op.Config{
		CodeMethodS256:          true,
		AuthMethodPost:          true,
		AuthMethodPrivateKeyJWT: true,
		GrantTypeRefreshToken:   true,
		SupportedScopes:         identity.OAuthScopes(),
		DeviceAuthorization: op.DeviceAuthorizationConfig{
			Lifetime:     cfg.DeviceLifetime,
			PollInterval: 5 * time.Second,
			UserFormPath: pathDevicePage,
			UserCode:     op.UserCodeBase20,
		},
	}
	var err error
	issuer := func(bool) (op.IssuerFromRequest, error) {
		return func(*http.Request) string { return p.Issuer() }, nil
	}
	if cfg.Issuer != "" {
		if err := p.SetIssuer(cfg.Issuer); err != nil {
			return nil, err
		}
	}
	p.op, err = op.NewProvider(opCfg, p.storage, issuer,
		op.WithCrypto(tokenCrypto{p}),
		op.WithCustomEndpoints(op.NewEndpoint(pathAuthorize), op.NewEndpoint(pathToken), op.NewEndpoint(pathUserinfo),
			op.NewEndpoint(pathRevoke), op.NewEndpoint(pathEndSession), op.NewEndpoint(pathKeys)),
		op.WithCustomIntrospectionEndpoint(op.NewEndpoint(pathIntrospect)),
		op.WithCustomDeviceAuthorizationEndpoint(op.NewEndpoint(pathDevice)),
		op.WithLogger(d.Logger),
	)
	if err != nil {
		return nil, err
	}
	return p, nil
}

// SetIssuer sets the issuer, for a server that learns its address after
// New (a listen port of 0). Call it before serving.
func (p *Provider) SetIssuer(issuer string) error {
	if err := op.ValidateIssuer(issuer, false); err != nil {
		return fmt.Errorf("oauth issuer %q: %w", issuer, err)
	}
	p.issuer.Store(&issuer)
	return nil
}

// Issuer returns the issuer.
func (p *Provider) Issuer() string {
	if s := p.issuer.Load(); s != nil {
		return *s
	}
	return ""
}

// Mount registers the provider's routes. The token key ring's JWKS is
// served by the server itself at /.well-known/jwks.json.
func (p *Provider) Mount(mux *http.ServeMux) {
	h := p.withInfo(p.op)
	disc := p.withInfo(http.HandlerFunc(p.discovery))
	mux.Handle("GET /.well-known/openid-configuration", disc)
	mux.Handle("GET /.well-known/oauth-authorization-server", disc)
	for _, path := range []string{pathAuthorize, pathAuthorize + "/callback", pathToken, pathIntrospect, pathUserinfo,
		pathRevoke, pathEndSession, pathDevice} {
		mux.Handle(path, h)
	}
	p.mountPages(mux) // login.go
}

// discovery serves the provider metadata, both as OpenID Connect
// discovery and as RFC 8414 metadata (one document fits both). The
// library's document lists what the library can do; this one lists what
// audian offers: the code flow only, and none of the implicit, password
// or JWT bearer grants.
func (p *Provider) discovery(w http.ResponseWriter, r *http.Request) {
	d := op.CreateDiscoveryConfig(op.ContextWithIssuer(r.Context(), p.Issuer()), p.op, p.storage)
	d.ResponseTypesSupported = []string{string(oidc.ResponseTypeCode)}
	d.ResponseModesSupported = []string{"query"}
	d.GrantTypesSupported = []oidc.GrantType{oidc.GrantTypeCode, oidc.GrantTypeRefreshToken,
		oidc.GrantTypeClientCredentials, oidc.GrantTypeDeviceCode}
	d.CodeChallengeMethodsSupported = []oidc.CodeChallengeMethod{oidc.CodeChallengeMethodS256}
	d.ScopesSupported = identity.OAuthScopes()
	d.CheckSessionIframe = ""
	w.Header().Set("Cache-Control", "public, max-age=300")
	op.Discover(w, d)
}

func (p *Provider) sync(ctx context.Context) {
	if err := p.syncFn(ctx); err != nil {
		p.log.Warn("following the change feed after an OAuth revocation failed", "error", err.Error())
	}
}

func (p *Provider) client(app *identity.OAuthApp) *client {
	return &client{app: app, loginPath: pathLogin, idTTL: p.cfg.AccessTokenLifetime}
}

// noScope stands in for an empty scope list in a token: a token's nil
// scopes mean "whatever the role allows", which an OAuth token must never
// be given by accident.
const noScope = "none"

// issue mints the access token of a token request and returns it with its
// claims and the grant it was issued under ("" for client credentials).
func (p *Provider) issue(ctx context.Context, req op.TokenRequest) (string, identity.Claims, string, error) {
	var scopes []string
	c := identity.Claims{Method: identity.MethodOAuth}
	grantID := ""
	switch r := req.(type) {
	case *clientRequest:
		app, err := p.storage.app(ctx, r.clientID)
		if err != nil {
			return "", c, "", err
		}
		if !p.accountUsable(ctx, app.AccountID) {
			return "", c, "", oidc.ErrInvalidClient()
		}
		// Only admins register applications (crossbar oauthapps.go), so an
		// application acting for itself is an admin of its account,
		// limited to its scopes.
		c.AccountID, c.KeyID, c.PrivLevel = app.AccountID, app.ID, identity.RoleAdmin
		scopes = r.scopes
	case *authRequest, *refreshRequest, *op.DeviceAuthorizationState:
		accountID, userID, ok := splitSubject(req.GetSubject())
		if !ok {
			return "", c, "", oidc.ErrInvalidGrant()
		}
		clientID := clientOf(req)
		if !p.accountUsable(ctx, accountID) {
			return "", c, "", oidc.ErrInvalidGrant().WithDescription("account disabled")
		}
		u, err := p.store.User(ctx, accountID, userID)
		if err != nil || !u.Enabled {
			return "", c, "", oidc.ErrInvalidGrant().WithDescription("user disabled")
		}
		g, err := p.store.OAuthGrant(ctx, userID, clientID)
		if err != nil {
			return "", c, "", oidc.ErrInvalidGrant().WithDescription("authorization revoked")
		}
		// A token carries what was asked and granted, never more than the
		// grant holds now (a user may have narrowed it).
		for _, sc := range req.GetScopes() {
			if slices.Contains(g.Scopes, sc) {
				scopes = append(scopes, sc)
			}
		}
		c.AccountID, c.OwnerID, c.PrivLevel, c.KeyID = accountID, userID, u.PrivLevel, g.ID
		if c.PrivLevel == "" {
			c.PrivLevel = identity.RoleUser
		}
		grantID = g.ID
	default:
		return "", c, "", oidc.ErrUnsupportedGrantType()
	}
	c.Scopes = slices.Clone(scopes)
	if len(c.Scopes) == 0 {
		c.Scopes = []string{noScope}
	}
	raw, claims, err := p.tokens.Issue(c, p.cfg.AccessTokenLifetime)
	if err != nil {
		return "", c, "", oidc.ErrServerError().WithParent(err)
	}
	return raw, claims, grantID, nil
}

// verify checks an OAuth access token, and when clientID is set, that it
// was issued to that client.
func (p *Provider) verify(ctx context.Context, raw, clientID string) (*identity.Claims, error) {
	c, err := p.tokens.Verify(raw)
	if err != nil {
		return nil, err
	}
	if c.Method != identity.MethodOAuth {
		return nil, errors.New("not an OAuth token")
	}
	if clientID == "" {
		return c, nil
	}
	if c.OwnerID == "" {
		if c.KeyID != clientID {
			return nil, errors.New("token of another client")
		}
		return c, nil
	}
	g, err := p.store.OAuthGrant(ctx, c.OwnerID, clientID)
	if err != nil || g.ID != c.KeyID {
		return nil, errors.New("token of another client")
	}
	return c, nil
}

// tokenCrypto is the library's Crypto. The library "encrypts" two things:
// an auth request id into a code, and "<token id>:<subject>" into a
// bearer token. Here a code is a fresh random secret (stored hashed by
// SaveAuthCode), and the token id already is the signed audian token. In
// reverse, an audian OAuth token decrypts to itself and its subject.
type tokenCrypto struct{ p *Provider }

func (t tokenCrypto) Encrypt(s string) (string, error) {
	if tok, _, ok := strings.Cut(s, ":"); ok {
		return tok, nil
	}
	return newSecret("acd_"), nil
}

func (t tokenCrypto) Decrypt(s string) (string, error) {
	c, err := t.p.tokens.Verify(s)
	if err != nil {
		return "", err
	}
	if c.Method != identity.MethodOAuth {
		return "", errors.New("not an OAuth token")
	}
	sub := c.KeyID
	if c.OwnerID != "" {
		sub = userSubject(c.AccountID, c.OwnerID)
	}
	return s + ":" + sub, nil
}

// reqInfo is what the audit log records of an OAuth request.
type reqInfo struct{ ip, userAgent, id string }

type infoKey struct{}

func requestInfo(ctx context.Context) *reqInfo {
	i, _ := ctx.Value(infoKey{}).(*reqInfo)
	return i
}

// withInfo puts the request's audit details in its context.
func (p *Provider) withInfo(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil {
			host = r.RemoteAddr
		}
		ua := r.UserAgent()
		if len(ua) > 256 {
			ua = ua[:256]
		}
		info := &reqInfo{ip: host, userAgent: ua, id: w.Header().Get("X-Request-Id")}
		h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), infoKey{}, info)))
	})
}

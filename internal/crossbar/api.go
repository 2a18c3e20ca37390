// Package crossbar serves audian's /v2 JSON API, wire-compatible with Kazoo
// Crossbar v2 (see spec/api.md). Every route is listed in routes; every
// protected route runs the same pipeline (authenticate, resolve the account
// in the path, check reach, check permission) before its handler; every
// failure is written by one function from one table (errors.go).
package crossbar

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"sort"
	"strings"
	"time"

	"github.com/audian/audian/internal/identity"
)

// TokenService issues and verifies auth tokens (internal/token).
type TokenService interface {
	Issue(c identity.Claims, lifetime time.Duration) (string, identity.Claims, error)
	Verify(raw string) (*identity.Claims, error)
	JWKS() []byte
	KeyIDs() []string
	PublicKeyPEM(kid string) (string, bool)
}

// Sealer encrypts the account API key for readback (internal/credential).
type Sealer interface {
	Seal(plaintext, ad []byte) ([]byte, error)
	Open(ciphertext, ad []byte) ([]byte, error)
	Lookup(purpose string, data []byte) string
}

// PasswordHasher hashes and checks passwords (internal/credential).
type PasswordHasher interface {
	Hash(password string) (string, error)
	Verify(phc, password string) bool
	Burn(password string)
}

// Limiter takes l.Cost tokens from the bucket named key, of l.Burst
// tokens refilled at l.Rate per second. It reports the tokens left, and
// when ok is false how long until the request could pass.
type Limiter interface {
	Take(ctx context.Context, key string, l identity.RateLimit) (remaining int, retryAfter time.Duration, ok bool)
}

// Config holds the API's settings.
type Config struct {
	Version        string
	Node           string // 22 characters, as Kazoo's node
	MaxBodyBytes   int64
	TokenLifetime  time.Duration
	RateCost       int     // tokens per request; 0 disables limiting
	RateBurst      int     // bucket size, reported while limiting is off
	RatePerSecond  float64 // bucket refill; accounts may override all three (ratelimits.go)
	CORSOrigin     string
	TrustedProxies []netip.Prefix
	RealmSuffix    string
	// PasswordMinLength applies to passwords set through the API.
	PasswordMinLength int
	// ResetLifetime is how long a password reset token works; 0 means
	// DefaultResetLifetime.
	ResetLifetime time.Duration
	// KeyRotation is the age past which a named API key is rotation_due;
	// 0 turns the policy off. KeyRotationMandatory refuses such keys at
	// api_auth (namedkeys.go).
	KeyRotation          time.Duration
	KeyRotationMandatory bool
	// UploadMaxBytes bounds a whitelabel logo, icon or welcome text;
	// 0 means DefaultUploadMaxBytes.
	UploadMaxBytes int64
}

// Deps are the collaborators of the API.
type Deps struct {
	Store   identity.Store
	Tokens  TokenService
	Sealer  Sealer
	Hasher  PasswordHasher
	Limiter Limiter
	// Door checks every credential (door.go).
	Door LoginDoor
	// Notifier delivers password reset tokens (notify.go); nil delivers
	// none (each reset is dropped with a warning).
	Notifier Notifier
	// Sync brings this process up to date with the change feed. Handlers
	// call it after a write so that the caller's next request, on this
	// node, already sees the write (its tokens revoked, its caches fresh).
	Sync   func(context.Context) error
	Logger *slog.Logger
	Now    func() time.Time
}

// API is the /v2 HTTP API.
type API struct {
	cfg      Config
	store    identity.Store
	tokens   TokenService
	sealer   Sealer
	hasher   PasswordHasher
	limiter  Limiter
	sync     func(context.Context) error
	log      *slog.Logger
	now      func() time.Time
	accounts *feedCache[*cachedAccount]
	// restrictions caches token restrictions per account (restrictions.go).
	restrictions *feedCache[restrictions]
	door         LoginDoor
	limits       *limitCache
	// notifier and recoveries serve password recovery (recovery.go).
	notifier   Notifier
	recoveries *recoveries
	// keyUses collects API key uses between flushes (namedkeys.go).
	keyUses *keyUses
}

// New returns the API.
func New(cfg Config, d Deps) *API {
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 1 << 20
	}
	if cfg.TokenLifetime <= 0 {
		cfg.TokenLifetime = time.Hour
	}
	if cfg.CORSOrigin == "" {
		cfg.CORSOrigin = "*"
	}
	if cfg.RealmSuffix == "" {
		cfg.RealmSuffix = "sip.audian.local"
	}
	if cfg.UploadMaxBytes <= 0 {
		cfg.UploadMaxBytes = DefaultUploadMaxBytes
	}
	if cfg.PasswordMinLength == 0 {
		cfg.PasswordMinLength = 8
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.ResetLifetime <= 0 {
		cfg.ResetLifetime = DefaultResetLifetime
	}
	if d.Notifier == nil {
		d.Notifier = noNotifier{}
	}
	if d.Sync == nil {
		d.Sync = func(context.Context) error { return nil }
	}
	a := &API{
		cfg: cfg, store: d.Store, tokens: d.Tokens, sealer: d.Sealer, hasher: d.Hasher,
		limiter: d.Limiter, sync: d.Sync, log: d.Logger, now: d.Now,
		accounts:     newAccountCache(d.Store, 100_000),
		restrictions: newRestrictionCache(d.Store, 100_000),
		door:         d.Door, limits: newLimitCache(d.Store, d.Logger),
		notifier: d.Notifier, recoveries: newRecoveries(64),
		keyUses: newKeyUses(),
	}
	return a
}

// Mount registers every route of the API on mux, and answers any path no
// one else claims with a Crossbar 404. Mounting on the server's own mux,
// rather than nesting a second one, keeps route matching to one lookup.
func (a *API) Mount(mux *http.ServeMux) {
	for _, rt := range a.routes() {
		mux.Handle(rt.path, a.dispatch(rt))
	}
	mux.Handle("/", http.HandlerFunc(a.notFound))
}

// Apply drops what the API cached about the subject of a change-feed event.
func (a *API) Apply(e identity.Event) {
	if e.Kind == identity.EventAccount {
		a.accounts.invalidate(e.ID)
		a.restrictions.invalidate(e.ID)
		a.limits.invalidate()
	}
}

// access says which pipeline a route runs.
type access int

const (
	public  access = iota // no credentials; any presented token is ignored
	authed                // a valid token, no account in the path
	account               // a valid token reaching the {account_id} in the path
)

// endpoint is one method of one route.
type endpoint struct {
	access access
	perm   identity.Permission
	// self names the path value that, when equal to the caller's user id,
	// makes the request about the caller's own user record.
	self string
	// own lets a plain user call the endpoint in its own account, the
	// handler keeping it to what it created (its named API keys).
	own bool
	h   handler
}

type route struct {
	path    string
	methods map[string]endpoint
}

// routes is every route of the API, with who may call it.
func (a *API) routes() []route {
	const acct = "/v2/accounts/{account_id}"
	return []route{
		{"/v2/api_auth", map[string]endpoint{
			"PUT": {access: public, h: a.apiAuth},
		}},
		{"/v2/user_auth", map[string]endpoint{
			"PUT": {access: public, h: a.userAuth},
		}},
		{"/v2/user_auth/recovery", map[string]endpoint{
			"PUT":  {access: public, h: a.requestRecovery},
			"POST": {access: public, h: a.completeRecovery},
		}},
		{"/v2/auth", map[string]endpoint{
			"PUT": {access: authed, perm: identity.TokensRead, h: a.refreshToken},
		}},
		{"/v2/auth/tokeninfo", map[string]endpoint{
			"GET":  {access: public, h: a.tokenInfoGet},
			"POST": {access: public, h: a.tokenInfoPost},
		}},
		{"/v2/auth/keys", map[string]endpoint{
			"GET": {access: authed, perm: identity.KeysRead, h: a.signingKeyIDs},
		}},
		{"/v2/auth/keys/{kid}", map[string]endpoint{
			"GET": {access: authed, perm: identity.KeysRead, h: a.signingKey},
		}},
		{"/v2/auth/signing_keys/rotate", map[string]endpoint{
			"PUT": {access: authed, perm: identity.KeysWrite, h: a.rotateSigningKey},
		}},
		{"/v2/token_auth", map[string]endpoint{
			// Any valid token may read and revoke itself, whatever its scopes:
			// giving up a credential must never need a permission.
			"GET":    {access: authed, h: a.tokenInfo},
			"DELETE": {access: authed, h: a.revokeToken},
		}},
		{acct, map[string]endpoint{
			"GET":    {access: account, perm: identity.AccountsRead, h: a.getAccount},
			"PUT":    {access: account, perm: identity.AccountsWrite, h: a.createChild},
			"POST":   {access: account, perm: identity.AccountsWrite, h: a.replaceAccount},
			"PATCH":  {access: account, perm: identity.AccountsWrite, h: a.patchAccount},
			"DELETE": {access: account, perm: identity.AccountsWrite, h: a.deleteAccount},
		}},
		{"/v2/accounts", map[string]endpoint{
			"PUT": {access: authed, perm: identity.AccountsWrite, h: a.createOwnChild},
		}},
		{acct + "/children", map[string]endpoint{
			"GET": {access: account, perm: identity.AccountsRead, h: a.children},
		}},
		{acct + "/descendants", map[string]endpoint{
			"GET": {access: account, perm: identity.AccountsRead, h: a.descendants},
		}},
		{acct + "/parents", map[string]endpoint{
			"GET": {access: account, perm: identity.AccountsRead, h: a.parents},
		}},
		{acct + "/siblings", map[string]endpoint{
			"GET": {access: account, perm: identity.AccountsRead, h: a.siblings},
		}},
		{acct + "/tree", map[string]endpoint{
			"GET": {access: account, perm: identity.AccountsRead, h: a.tree},
		}},
		{acct + "/token_restrictions", map[string]endpoint{
			"GET":    {access: account, perm: identity.RestrictionsRead, h: a.getRestrictions},
			"POST":   {access: account, perm: identity.RestrictionsWrite, h: a.setRestrictions},
			"DELETE": {access: account, perm: identity.RestrictionsWrite, h: a.deleteRestrictions},
		}},
		{acct + "/api_key", map[string]endpoint{
			"GET": {access: account, perm: identity.KeysRead, h: a.getAccountKey},
			"PUT": {access: account, perm: identity.KeysWrite, h: a.newAccountKey},
		}},
		{acct + "/api_keys", map[string]endpoint{
			"GET": {access: account, perm: identity.KeysRead, own: true, h: a.listNamedKeys},
			"PUT": {access: account, perm: identity.KeysWrite, own: true, h: a.createNamedKey},
		}},
		{acct + "/api_keys/{key_id}", map[string]endpoint{
			"GET":    {access: account, perm: identity.KeysRead, own: true, h: a.getNamedKey},
			"PATCH":  {access: account, perm: identity.KeysWrite, own: true, h: a.patchNamedKey},
			"DELETE": {access: account, perm: identity.KeysWrite, own: true, h: a.revokeNamedKey},
		}},
		{acct + "/api_keys/{key_id}/rotate", map[string]endpoint{
			"PUT": {access: account, perm: identity.KeysWrite, own: true, h: a.rotateNamedKey},
		}},
		{acct + "/access_tokens", map[string]endpoint{
			"PUT": {access: account, perm: identity.TokensWrite, h: a.createAccessToken},
		}},
		{acct + "/audit", map[string]endpoint{
			"GET": {access: account, perm: identity.AuditRead, h: a.listAudit},
		}},
		{acct + "/rate_limits", map[string]endpoint{
			"GET":    {access: account, perm: identity.RateLimitsRead, h: a.getRateLimits},
			"POST":   {access: account, perm: identity.RateLimitsWrite, h: a.setRateLimits},
			"DELETE": {access: account, perm: identity.RateLimitsWrite, h: a.deleteRateLimits},
		}},
		{acct + "/users", map[string]endpoint{
			"GET": {access: account, perm: identity.UsersRead, h: a.listUsers},
			"PUT": {access: account, perm: identity.UsersWrite, h: a.createUser},
		}},
		{acct + "/users/{user_id}", map[string]endpoint{
			"GET":    {access: account, perm: identity.UsersRead, self: "user_id", h: a.getUser},
			"POST":   {access: account, perm: identity.UsersWrite, self: "user_id", h: a.replaceUser},
			"PATCH":  {access: account, perm: identity.UsersWrite, self: "user_id", h: a.patchUser},
			"DELETE": {access: account, perm: identity.UsersWrite, h: a.deleteUser},
		}},
		{acct + "/oauth_apps", map[string]endpoint{
			"GET": {access: account, perm: identity.KeysRead, h: a.listOAuthApps},
			"PUT": {access: account, perm: identity.KeysWrite, h: a.createOAuthApp},
		}},
		{acct + "/oauth_apps/{app_id}", map[string]endpoint{
			"GET":    {access: account, perm: identity.KeysRead, h: a.getOAuthApp},
			"PATCH":  {access: account, perm: identity.KeysWrite, h: a.patchOAuthApp},
			"DELETE": {access: account, perm: identity.KeysWrite, h: a.deleteOAuthApp},
		}},
		{acct + "/oauth_apps/{app_id}/rotate", map[string]endpoint{
			"PUT": {access: account, perm: identity.KeysWrite, h: a.rotateOAuthSecret},
		}},
		{acct + "/users/{user_id}/oauth_grants", map[string]endpoint{
			"GET": {access: account, perm: identity.UsersRead, self: "user_id", h: a.listOAuthGrants},
		}},
		{acct + "/users/{user_id}/oauth_grants/{grant_id}", map[string]endpoint{
			"DELETE": {access: account, perm: identity.UsersWrite, self: "user_id", h: a.deleteOAuthGrant},
		}},
		{"/v2/openapi.json", map[string]endpoint{
			"GET": {access: public, h: a.openAPI},
		}},
		// Monster UI's modules (whitelabel.go, apps.go, monster.go).
		{acct + "/whitelabel", map[string]endpoint{
			"GET":    {access: account, perm: identity.AccountsRead, h: a.getWhitelabel},
			"PUT":    {access: account, perm: identity.AccountsWrite, h: a.putWhitelabel},
			"POST":   {access: account, perm: identity.AccountsWrite, h: a.postWhitelabel},
			"DELETE": {access: account, perm: identity.AccountsWrite, h: a.deleteWhitelabel},
		}},
		{acct + "/whitelabel/logo", map[string]endpoint{
			"GET":  {access: account, perm: identity.AccountsRead, h: a.whitelabelFile(identity.WhitelabelLogo)},
			"POST": {access: account, perm: identity.AccountsWrite, h: a.setWhitelabelFile(identity.WhitelabelLogo)},
		}},
		{acct + "/whitelabel/icon", map[string]endpoint{
			"GET":  {access: account, perm: identity.AccountsRead, h: a.whitelabelFile(identity.WhitelabelIcon)},
			"POST": {access: account, perm: identity.AccountsWrite, h: a.setWhitelabelFile(identity.WhitelabelIcon)},
		}},
		{acct + "/whitelabel/welcome", map[string]endpoint{
			"GET":  {access: account, perm: identity.AccountsRead, h: a.whitelabelFile(identity.WhitelabelWelcome)},
			"POST": {access: account, perm: identity.AccountsWrite, h: a.setWhitelabelFile(identity.WhitelabelWelcome)},
		}},
		{"/v2/whitelabel/{domain}", map[string]endpoint{
			"GET": {access: public, h: a.whitelabelByDomain},
		}},
		{"/v2/whitelabel/{domain}/logo", map[string]endpoint{
			"GET": {access: public, h: a.whitelabelFileByDomain(identity.WhitelabelLogo)},
		}},
		{"/v2/whitelabel/{domain}/icon", map[string]endpoint{
			"GET": {access: public, h: a.whitelabelFileByDomain(identity.WhitelabelIcon)},
		}},
		{"/v2/whitelabel/{domain}/welcome", map[string]endpoint{
			"GET": {access: public, h: a.whitelabelFileByDomain(identity.WhitelabelWelcome)},
		}},
		{"/v2/apps_store", map[string]endpoint{
			"PUT": {access: authed, perm: identity.AccountsWrite, h: a.putCatalogueApp},
		}},
		{"/v2/apps_store/{app_id}", map[string]endpoint{
			"DELETE": {access: authed, perm: identity.AccountsWrite, h: a.deleteCatalogueApp},
		}},
		{acct + "/apps_store", map[string]endpoint{
			"GET": {access: account, perm: identity.AccountsRead, h: a.listApps},
		}},
		{acct + "/apps_store/blacklist", map[string]endpoint{
			"GET":  {access: account, perm: identity.AccountsRead, h: a.getBlacklist},
			"POST": {access: account, perm: identity.AccountsWrite, h: a.setBlacklist},
		}},
		{acct + "/apps_store/{app_id}", map[string]endpoint{
			"GET":    {access: account, perm: identity.AccountsRead, h: a.getApp},
			"PUT":    {access: account, perm: identity.AccountsWrite, h: a.installApp},
			"POST":   {access: account, perm: identity.AccountsWrite, h: a.updateApp},
			"DELETE": {access: account, perm: identity.AccountsWrite, h: a.uninstallApp},
		}},
		{acct + "/apps_store/{app_id}/icon", map[string]endpoint{
			"GET": {access: public, h: a.appFile},
		}},
		{acct + "/apps_store/{app_id}/screenshot/{n}", map[string]endpoint{
			"GET": {access: public, h: a.appFile},
		}},
		{acct + "/alerts", map[string]endpoint{
			"GET": {access: account, perm: identity.AccountsRead, h: a.listAlerts},
			"PUT": {access: account, perm: identity.AccountsWrite, h: a.createAlert},
		}},
		{acct + "/alerts/{alert_id}", map[string]endpoint{
			"GET":    {access: account, perm: identity.AccountsRead, h: a.getAlert},
			"DELETE": {access: account, perm: identity.AccountsWrite, h: a.deleteAlert},
		}},
		{acct + "/limits", map[string]endpoint{
			"GET":  {access: account, perm: identity.AccountsRead, h: a.getLimits},
			"POST": {access: account, perm: identity.AccountsWrite, h: a.setLimits},
		}},
		{acct + "/ledgers", map[string]endpoint{
			"GET": {access: account, perm: identity.AccountsRead, h: a.ledgers},
		}},
		{acct + "/ledgers/total", map[string]endpoint{
			"GET": {access: account, perm: identity.AccountsRead, h: a.ledgersTotal},
		}},
		{acct + "/ledgers/{ledger_id}", map[string]endpoint{
			"GET": {access: account, perm: identity.AccountsRead, h: a.ledgerEntries},
		}},
	}
}

// dispatch answers a route: CORS preflight, 405 with Allow, or the
// endpoint's pipeline. Method checks come before authentication, as in
// Kazoo, because route names are public.
func (a *API) dispatch(rt route) http.Handler {
	verbs := make([]string, 0, len(rt.methods)+1)
	for m := range rt.methods {
		verbs = append(verbs, m)
	}
	verbs = append(verbs, "OPTIONS")
	sort.Strings(verbs)
	allow := strings.Join(verbs, ", ")
	eps := make(map[string]http.Handler, len(rt.methods))
	for m, ep := range rt.methods {
		eps[m] = a.pipeline(ep)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.cors(w, r)
		if h, ok := eps[r.Method]; ok {
			h.ServeHTTP(w, r)
			return
		}
		if r.Method == http.MethodOptions {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusOK)
			return
		}
		w.Header().Set("Allow", allow)
		a.fail(w, r, nil, &identity.Error{Code: identity.EMethodNotAllowed, Message: "method not allowed"})
	})
}

func (a *API) notFound(w http.ResponseWriter, r *http.Request) {
	a.cors(w, r)
	if r.Method == http.MethodOptions {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		return
	}
	a.fail(w, r, nil, &identity.Error{Code: identity.ENotFound, Message: "not found"})
}

const (
	corsMethods = "GET, PUT, POST, PATCH, DELETE, OPTIONS"
	// corsHeaders is Kazoo's list (api_util:get_cors_headers) plus
	// x-request-id and authorization, which audian also reads.
	corsHeaders = "content-type, depth, user-agent, x-http-method-override, x-file-size, x-requested-with, if-modified-since, x-file-name, cache-control, x-auth-token, x-kazoo-cluster-id, if-match, x-request-id, authorization"
	corsExpose  = "content-type, x-auth-token, x-request-id, location, etag"
)

// cors adds Kazoo's CORS headers to cross-origin requests and preflights.
func (a *API) cors(w http.ResponseWriter, r *http.Request) {
	if header(r, "Origin") == "" && r.Method != http.MethodOptions {
		return
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", a.cfg.CORSOrigin)
	h.Set("Access-Control-Allow-Methods", corsMethods)
	h.Set("Access-Control-Allow-Headers", corsHeaders)
	h.Set("Access-Control-Expose-Headers", corsExpose)
	h.Set("Access-Control-Max-Age", "86400")
	if a.cfg.CORSOrigin != "*" {
		h.Add("Vary", "Origin")
	}
}

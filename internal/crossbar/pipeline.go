package crossbar

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/audian/audian/internal/clientaddr"

	"github.com/audian/audian/internal/identity"
	"github.com/audian/audian/internal/login"
)

// handler serves one endpoint once the pipeline has authenticated and
// authorized the call. It returns an error rather than writing one.
type handler func(c *call) (*reply, error)

// call is one request on its way through the pipeline.
type call struct {
	w     http.ResponseWriter
	r     *http.Request
	ctx   context.Context
	info  *RequestInfo
	now   time.Time
	token string              // the presented token, once verified
	p     *identity.Principal // nil on public routes; else &principal
	// principal holds the caller, in the call itself: one allocation per
	// request fewer on the hot path.
	principal identity.Principal
	target    *cachedAccount // the {account_id} of the path
	tokens    tokensInfo
	limited   bool
}

// pipeline runs the fixed security steps for ep, in order: rate limit,
// authenticate, resolve the account in the path, check reach, check
// permission. No handler can skip one.
func (a *API) pipeline(ep endpoint) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := &call{w: w, r: r, ctx: r.Context(), info: infoOf(w, r), now: a.now()}
		if c.info == nil {
			c.info = &RequestInfo{ID: newRequestID()}
			w.Header().Set("X-Request-ID", c.info.ID)
		}
		c.info.ClientIP = a.clientIP(r)
		if err := a.steps(c, ep); err != nil {
			a.fail(w, r, c, err)
			return
		}
		a.audit(c)
		rep, err := ep.h(c)
		if err != nil {
			a.fail(w, r, c, err)
			return
		}
		a.respond(c, rep)
	})
}

func (a *API) steps(c *call, ep endpoint) error {
	if err := checkRequestLine(c.r); err != nil {
		return err
	}
	pathAccount := c.r.PathValue("account_id")
	if err := a.rateLimit(c, pathAccount); err != nil {
		return err
	}
	if ep.access == public {
		return nil
	}
	raw := presentedToken(c.r)
	p := &c.principal
	if err := a.authenticate(c.ctx, raw, header(c.r, "X-Auth-Account-Id"), c.info.ClientIP, p); err != nil {
		return err
	}
	c.p, c.token = p, raw
	c.info.AccountID = p.AccountID
	if ep.access == authed {
		if ep.perm != "" && !p.Can(ep.perm, false) {
			return identity.ErrRoleForbidden
		}
		return a.restrict(c)
	}
	target, err := a.resolveAccount(c.ctx, p, pathAccount)
	if err != nil {
		return err
	}
	c.target = target
	c.info.AccountID = target.acct.ID
	ownAccount := p.UserID != "" && target.acct.ID == p.AccountID
	self := ownAccount && (ep.own || ep.self != "" && c.r.PathValue(ep.self) == p.UserID)
	if !p.Can(ep.perm, self) {
		return identity.ErrRoleForbidden
	}
	return a.restrict(c)
}

// header returns the first value of the header with the canonical name
// key. http.Header.Get canonicalizes its argument on every call, which
// shows on the hot path; these names are constants, written canonical.
func header(r *http.Request, key string) string {
	if v := r.Header[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// presentedToken returns the token of X-Auth-Token, or of an
// Authorization Bearer header.
func presentedToken(r *http.Request) string {
	if t := header(r, "X-Auth-Token"); t != "" {
		return t
	}
	if h := header(r, "Authorization"); len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

// authenticate turns a presented token into the Principal p. Every failure is
// a 401 that says only in general terms what went wrong.
func (a *API) authenticate(ctx context.Context, raw, accountHeader, clientIP string, p *identity.Principal) error {
	if raw == "" {
		return identity.ErrMissingCreds
	}
	claims, err := a.tokens.Verify(raw)
	if err != nil {
		return unauthorized(err)
	}
	if accountHeader != "" && accountHeader != claims.AccountID {
		return identity.ErrUnauthorized
	}
	if len(claims.CIDRs) > 0 && !login.AddressAllowed(clientIP, claims.CIDRs) {
		// A key bound to addresses binds its tokens too: a token copied off
		// an allowed host is useless elsewhere.
		return errTokenAddress
	}
	acct, err := a.accounts.get(ctx, claims.AccountID)
	if identity.ErrorCode(err) == identity.ENotFound {
		return identity.ErrTokenRevoked
	} else if err != nil {
		return err
	}
	if ok, err := a.AccountUsable(ctx, acct.acct); err != nil {
		return err
	} else if !ok {
		// A disabled account, or one under a disabled ancestor: its tokens
		// are suspended until the account is enabled again.
		return identity.ErrTokenRevoked
	}
	*p = identity.Principal{
		AccountID: claims.AccountID,
		UserID:    claims.OwnerID,
		KeyID:     claims.KeyID,
		TokenID:   claims.ID,
		Method:    claims.Method,
		Role:      claims.PrivLevel,
		Scopes:    claims.Scopes,
		CIDRs:     claims.CIDRs,
		SessionID: claims.SessionID,
		AuthTime:  time.Unix(claims.AuthTime, 0),
		System:    acct.acct.System,
		IssuedAt:  time.Unix(claims.IssuedAt, 0),
		ExpiresAt: time.Unix(claims.ExpiresAt, 0),
	}
	if p.Role == "" {
		p.Role = identity.RoleUser
	}
	return nil
}

var errTokenAddress = &identity.Error{Code: identity.EUnauthorized, Message: "token not allowed from this address"}

// unauthorized keeps the public part of a token failure and drops
// anything else, so that a verifier's internal error never reaches a body.
func unauthorized(err error) error {
	for _, known := range []*identity.Error{identity.ErrTokenExpired, identity.ErrTokenRevoked, identity.ErrInvalidToken} {
		if errors.Is(err, known) {
			return known
		}
	}
	if identity.ErrorCode(err) == identity.EUnauthorized {
		return err
	}
	return &identity.Error{Code: identity.EUnauthorized, Message: "invalid token", Err: err}
}

// resolveAccount loads the {account_id} of the path and checks that p
// reaches it. Callers outside the system account cannot tell a missing
// account from one outside their reach: both are 403.
func (a *API) resolveAccount(ctx context.Context, p *identity.Principal, id string) (*cachedAccount, error) {
	denied := identity.ErrOutsideReach
	if p.System {
		denied = identity.ErrNotFound
	}
	if !identity.ValidID(id) {
		return nil, denied
	}
	target, err := a.accounts.get(ctx, id)
	if identity.ErrorCode(err) == identity.ENotFound {
		return nil, denied
	} else if err != nil {
		return nil, err
	}
	if !p.Reaches(target.acct) {
		return nil, identity.ErrOutsideReach
	}
	return target, nil
}

// rateLimit takes the request's cost from the bucket of its client
// address (an IPv6 client by its /64, login.AddressKey). The raw
// {account_id} of the path has not been checked yet, so it must not
// choose the bucket: a random id per request would get a fresh bucket
// each time. Only an account with an override of its own, which therefore
// exists, gets buckets apart (its override's size, per client address).
func (a *API) rateLimit(c *call, pathAccount string) error {
	if a.limiter == nil {
		return nil
	}
	l, override := a.limitFor(c.ctx, pathAccount)
	if l.Cost == 0 {
		// Limiting is off: report a full bucket, as Kazoo does with a
		// cost of 0, without touching the limiter.
		c.tokens = tokensInfo{Remaining: l.Burst}
		c.limited = true
		return nil
	}
	key := login.AddressKey(c.info.ClientIP) + "/"
	if override {
		key += pathAccount
	}
	remaining, retry, ok := a.limiter.Take(c.ctx, key, l)
	c.tokens = tokensInfo{Consumed: l.Cost, Remaining: remaining}
	c.limited = true
	if !ok {
		c.tokens.Consumed = 0
		return &identity.Error{Code: identity.ETooManyRequests, Message: "too many requests", RetryAfter: retry}
	}
	return nil
}

// clientIP is the peer address, or the last untrusted hop of
// X-Forwarded-For when the peer is a configured proxy.
func (a *API) clientIP(r *http.Request) string {
	return clientaddr.Resolve(r, a.cfg.TrustedProxies)
}

// respond writes a successful reply in the Crossbar envelope.
func (a *API) respond(c *call, rep *reply) {
	if rep.raw != nil {
		writeRaw(c.w, rep)
		return
	}
	if rep.file != nil {
		respondFile(c, rep.file)
		return
	}
	env := envelope{
		Status:    "success",
		Data:      rep.data,
		AuthToken: c.token,
		RequestID: c.info.ID,
		Revision:  rep.revision,
		Node:      a.cfg.Node,
		Timestamp: timestamp(c.now),
		Version:   a.cfg.Version,
		Metadata:  &struct{}{},
	}
	if rep.authToken != "" {
		env.AuthToken = rep.authToken
	}
	if c.limited {
		env.Tokens = &c.tokens
	}
	if rep.list {
		if rep.pageSize > 0 {
			env.PageSize = &rep.pageSize
		}
		env.StartKey, env.NextStartKey = rep.startKey, rep.nextKey
	}
	if env.AuthToken != "" || rep.secret {
		// Every reply that carries a token or a secret, and only those,
		// forbids caching: a shared or browser cache must never hold a
		// credential (RFC 9111 §5.2.2.5; RFC 6749 §5.1).
		c.w.Header()["Cache-Control"] = noStore
	}
	if rep.location != "" {
		c.w.Header().Set("Location", rep.location)
	}
	if rep.etag != "" {
		c.w.Header()["Etag"] = []string{rep.etag}
	}
	code := rep.status
	if code == 0 {
		code = http.StatusOK
	}
	writeJSON(c.w, code, &env)
}

// StatusClientClosed is the status recorded for a request whose client
// disconnected before the reply (nginx's 499).
const StatusClientClosed = 499

// clientClosed reports whether err is the request's own cancellation: the
// client disconnected, and the failure is an internal one or the
// cancellation itself.
func clientClosed(r *http.Request, code identity.Code, err error) bool {
	if r.Context().Err() == nil {
		return false
	}
	return code == identity.EInternal || code == identity.EUnavailable || errors.Is(err, context.Canceled)
}

// noStore is the Cache-Control value of replies with credentials; len ==
// cap, so a handler appending to it gets a copy.
var noStore = []string{"no-store"}

// fail writes err as a Crossbar error reply. It is the only place that
// turns an error into a status; unexpected errors are logged with the
// request id and answered without their cause.
func (a *API) fail(w http.ResponseWriter, r *http.Request, c *call, err error) {
	code := identity.ErrorCode(err)
	message, ok := messages[code]
	if !ok {
		code, message = identity.EInternal, messages[identity.EInternal]
	}
	st := struct {
		code    int
		message string
	}{code.HTTPStatus(), message}
	info := infoOf(w, r)
	if c != nil {
		info = c.info
	}
	if info == nil {
		info = &RequestInfo{ID: newRequestID()}
		w.Header().Set("X-Request-ID", info.ID)
	}
	if wait := identity.ErrorRetryAfter(err); wait > 0 && (code == identity.ETooManyRequests || code == identity.EUnavailable) {
		// Whole seconds, at least 1: a client told 0 would retry at once.
		secs := (wait + time.Second - 1) / time.Second
		w.Header().Set("Retry-After", strconv.Itoa(max(int(secs), 1)))
	}
	if clientClosed(r, code, err) {
		// The client went away, and the work it started failed because its
		// context ended: nothing is wrong with the server, and there is no
		// one to answer. 499 (nginx's "client closed request") keeps it
		// apart from 500 in the access log and the metrics.
		a.log.InfoContext(r.Context(), "client closed the request", "request_id", info.ID, "error", err.Error())
		w.WriteHeader(StatusClientClosed)
		return
	}
	if code == identity.EInternal || code == identity.EUnavailable {
		a.log.ErrorContext(r.Context(), "request failed", "request_id", info.ID, "error", err.Error())
	}
	env := envelope{
		Status:    "error",
		Error:     strconv.Itoa(st.code),
		Message:   st.message,
		Data:      errorData(err),
		RequestID: info.ID,
		Node:      a.cfg.Node,
		Timestamp: timestamp(a.now()),
	}
	if c != nil && c.limited {
		env.Tokens = &c.tokens
	}
	writeJSON(w, st.code, &env)
}

// RequestInfo carries what the request log line needs from the API.
type RequestInfo struct {
	ID        string
	AccountID string
	ClientIP  string
}

type infoKey struct{}

// NewRequestInfo returns the RequestInfo of r, using the client's
// X-Request-ID when it is well-formed. The server hands it to the API
// through its ResponseWriter (see InfoCarrier) rather than the request's
// context, which would copy the request on every call.
func NewRequestInfo(r *http.Request) *RequestInfo {
	id := header(r, "X-Request-Id")
	if !validRequestID(id) {
		id = newRequestID()
	}
	return &RequestInfo{ID: id}
}

// InfoCarrier is a ResponseWriter that carries its request's RequestInfo.
type InfoCarrier interface {
	RequestInfo() *RequestInfo
}

// WithRequestInfo returns r with a RequestInfo in its context, for callers
// whose ResponseWriter is not an InfoCarrier.
func WithRequestInfo(r *http.Request) (*http.Request, *RequestInfo) {
	info := NewRequestInfo(r)
	return r.WithContext(context.WithValue(r.Context(), infoKey{}, info)), info
}

// Info returns the RequestInfo of ctx, or nil.
func Info(ctx context.Context) *RequestInfo {
	info, _ := ctx.Value(infoKey{}).(*RequestInfo)
	return info
}

// infoOf finds the RequestInfo of a request: on its ResponseWriter, else
// in its context; nil when the server set none.
func infoOf(w http.ResponseWriter, r *http.Request) *RequestInfo {
	if c, ok := w.(InfoCarrier); ok {
		return c.RequestInfo()
	}
	return Info(r.Context())
}

func validRequestID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		b := s[i]
		if !(b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '_' || b == '.' || b == '-') {
			return false
		}
	}
	return true
}

// newRequestID returns a 32-hex request id: a random per-process prefix
// and a counter. Request ids must be unique, not unguessable, and one is
// made for every request, so they cost no system call.
func newRequestID() string {
	var b [16]byte
	copy(b[:8], requestIDPrefix[:])
	binary.BigEndian.PutUint64(b[8:], requestIDCounter.Add(1))
	return hex.EncodeToString(b[:])
}

var (
	requestIDPrefix = func() (p [8]byte) {
		_, _ = rand.Read(p[:])
		return p
	}()
	requestIDCounter atomic.Uint64
)

package audian

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// maxReply bounds what the client reads of one reply.
const maxReply = 32 << 20

// renewBefore is how long before its exp the client replaces a token, so
// that a request never leaves with a token about to expire in flight.
const renewBefore = time.Minute

// Client talks to one audian server. It is safe for concurrent use.
type Client struct {
	base *url.URL
	hc   *http.Client
	now  func() time.Time
	ua   string

	apiKey                      string
	account, username, password string
	caPEM                       []byte

	mu      sync.Mutex
	token   string
	exp     time.Time // zero when unknown
	session *Session  // the login data of the last authentication

	// Accounts, Users, Keys, Tokens and Audit group the API's resources.
	Accounts *AccountsService
	Users    *UsersService
	Keys     *KeysService
	Tokens   *TokensService
	Audit    *AuditService
	// Restrictions holds token restrictions and rate limits.
	Restrictions *RestrictionsService
	// OAuth manages OAuth applications and users' grants.
	OAuth *OAuthService
}

// Option configures a Client.
type Option func(*Client) error

// WithAPIKey authenticates with an API key (PUT /v2/api_auth).
func WithAPIKey(key string) Option {
	return func(c *Client) error { c.apiKey = key; return nil }
}

// WithCredentials authenticates as a user of the named account (PUT
// /v2/user_auth).
func WithCredentials(accountName, username, password string) Option {
	return func(c *Client) error {
		c.account, c.username, c.password = accountName, username, password
		return nil
	}
}

// WithToken uses an existing auth token. Alone, the client cannot renew
// it; with WithAPIKey or WithCredentials, those renew it.
func WithToken(token string) Option {
	return func(c *Client) error { c.setToken(token); return nil }
}

// WithHTTPClient sends requests with hc instead of a client of its own.
// WithCACert, given too, changes hc's transport.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) error { c.hc = hc; return nil }
}

// WithCACert trusts the PEM certificates in pem (a self-signed server's
// certificate, or a private CA) in addition to the system's roots.
func WithCACert(pem []byte) Option {
	return func(c *Client) error {
		if len(pem) == 0 {
			return errors.New("audian: empty CA certificate")
		}
		c.caPEM = pem
		return nil
	}
}

// WithClock sets the clock the client compares token expiry with
// (default time.Now), for a machine whose clock is known to be off.
func WithClock(now func() time.Time) Option {
	return func(c *Client) error { c.now = now; return nil }
}

// WithUserAgent sets the User-Agent of every request.
func WithUserAgent(ua string) Option {
	return func(c *Client) error { c.ua = ua; return nil }
}

// NewClient returns a client of the server at baseURL (such as
// "https://auth.example.com:8443"; a trailing /v2 is accepted).
func NewClient(baseURL string, opts ...Option) (*Client, error) {
	u, err := url.Parse(strings.TrimSpace(baseURL))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("audian: base URL %q: want http(s)://host[:port]", baseURL)
	}
	u.Path = strings.TrimSuffix(strings.TrimSuffix(u.Path, "/"), "/v2")
	u.RawQuery, u.Fragment = "", ""
	c := &Client{base: u, now: time.Now, ua: "audian-go"}
	for _, o := range opts {
		if err := o(c); err != nil {
			return nil, err
		}
	}
	if c.hc == nil {
		c.hc = &http.Client{Timeout: 30 * time.Second}
	}
	if c.caPEM != nil {
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(c.caPEM) {
			return nil, errors.New("audian: the CA certificate holds no PEM certificate")
		}
		tr := http.DefaultTransport.(*http.Transport).Clone()
		switch old := c.hc.Transport.(type) {
		case nil:
		case *http.Transport:
			tr = old.Clone()
		default:
			return nil, errors.New("audian: WithCACert needs the HTTP client's Transport to be an *http.Transport; set RootCAs on yours instead")
		}
		if tr.TLSClientConfig == nil {
			tr.TLSClientConfig = &tls.Config{}
		}
		tr.TLSClientConfig.RootCAs = pool
		hc := *c.hc
		hc.Transport = tr
		c.hc = &hc
	}
	c.Accounts = &AccountsService{c}
	c.Users = &UsersService{c}
	c.Keys = &KeysService{c}
	c.Tokens = &TokensService{c}
	c.Audit = &AuditService{c}
	c.Restrictions = &RestrictionsService{c}
	c.OAuth = &OAuthService{c}
	return c, nil
}

// BaseURL is the server's base URL, without /v2.
func (c *Client) BaseURL() string { return c.base.String() }

// canLogin reports whether the client holds credentials to get a token.
func (c *Client) canLogin() bool { return c.apiKey != "" || c.username != "" }

// Login authenticates now, replacing any token held, and returns the
// login data (account id and name, user id).
func (c *Client) Login(ctx context.Context) (*Session, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.loginLocked(ctx); err != nil {
		return nil, err
	}
	s := *c.session
	return &s, nil
}

// Token returns a valid token, authenticating when the client has none
// or the one it has is about to expire.
func (c *Client) Token(ctx context.Context) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.tokenLocked(ctx)
}

// AccountID is the id of the account the client is logged in to.
func (c *Client) AccountID(ctx context.Context) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, err := c.tokenLocked(ctx); err != nil {
		return "", err
	}
	if c.session != nil && c.session.AccountID != "" {
		return c.session.AccountID, nil
	}
	return "", errors.New("audian: the token names no account")
}

func (c *Client) tokenLocked(ctx context.Context) (string, error) {
	if c.token != "" && (c.exp.IsZero() || c.now().Before(c.exp.Add(-renewBefore)) || !c.canLogin()) {
		return c.token, nil
	}
	if !c.canLogin() {
		return "", errors.New("audian: no credentials: use WithAPIKey, WithCredentials or WithToken")
	}
	if err := c.loginLocked(ctx); err != nil {
		return "", err
	}
	return c.token, nil
}

// loginLocked exchanges the client's credentials for a token.
func (c *Client) loginLocked(ctx context.Context) error {
	var path string
	var data map[string]any
	switch {
	case c.apiKey != "":
		path, data = "/v2/api_auth", map[string]any{"api_key": c.apiKey}
	case c.username != "":
		path, data = "/v2/user_auth", map[string]any{"account_name": c.account, "username": c.username, "password": c.password}
	default:
		return errors.New("audian: no credentials to log in with: use WithAPIKey or WithCredentials")
	}
	var s Session
	env, err := c.send(ctx, http.MethodPut, path, nil, Request{Data: data}, &s, "")
	if err != nil {
		return err
	}
	if env.AuthToken == "" {
		return errors.New("audian: the server issued no token")
	}
	c.setToken(env.AuthToken)
	c.session = &s
	return nil
}

// setToken adopts token, reading its expiry and account from the JWT
// payload without verifying it: the server verifies, the client only
// needs to know when to renew.
func (c *Client) setToken(token string) {
	c.token, c.exp = token, time.Time{}
	var claims struct {
		Exp       int64  `json:"exp"`
		AccountID string `json:"account_id"`
		OwnerID   string `json:"owner_id"`
	}
	if parts := strings.Split(token, "."); len(parts) == 3 {
		if raw, err := base64.RawURLEncoding.DecodeString(parts[1]); err == nil && json.Unmarshal(raw, &claims) == nil {
			if claims.Exp > 0 {
				c.exp = time.Unix(claims.Exp, 0)
			}
			if c.session == nil || c.session.AccountID != claims.AccountID {
				c.session = &Session{AccountID: claims.AccountID, OwnerID: claims.OwnerID}
			}
		}
	}
}

// forget drops token if it is still the one held, so that the next call
// authenticates again.
func (c *Client) forget(token string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.token == token {
		c.token, c.exp = "", time.Time{}
	}
}

// call sends an authenticated request. When the server answers 401 and
// the client can log in, it logs in again and retries once: the token
// may have been revoked, or the server's clock may be ahead.
func (c *Client) call(ctx context.Context, method, path string, q url.Values, body, out any) (*Envelope, error) {
	tok, err := c.Token(ctx)
	if err != nil {
		return nil, err
	}
	env, err := c.send(ctx, method, path, q, body, out, tok)
	if errors.Is(err, ErrUnauthorized) && c.canLogin() {
		c.forget(tok)
		if tok, err = c.Token(ctx); err != nil {
			return nil, err
		}
		env, err = c.send(ctx, method, path, q, body, out, tok)
	}
	return env, err
}

// send makes one request and decodes the reply's data into out.
func (c *Client) send(ctx context.Context, method, path string, q url.Values, body, out any, token string) (*Envelope, error) {
	u := *c.base
	u.Path = strings.TrimSuffix(u.Path, "/") + path
	u.RawQuery = q.Encode()
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("audian: encoding the request: %w", err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return nil, fmt.Errorf("audian: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.ua)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("X-Auth-Token", token)
	}
	res, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("audian: %s %s: %w", method, path, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, maxReply))
	if err != nil {
		return nil, fmt.Errorf("audian: %s %s: reading the reply: %w", method, path, err)
	}
	env := &Envelope{}
	if res.StatusCode >= 400 {
		var data map[string]any
		env.Data = &data
		if json.Unmarshal(raw, env) != nil {
			env.Data = nil
		}
		e := &Error{StatusCode: res.StatusCode, Message: env.Message, Data: data, RequestID: env.RequestID}
		if e.RequestID == "" {
			e.RequestID = res.Header.Get("X-Request-ID")
		}
		if s, err := strconv.Atoi(res.Header.Get("Retry-After")); err == nil && s >= 0 {
			e.RetryAfter = time.Duration(s) * time.Second
		}
		return env, e
	}
	if out != nil {
		env.Data = out
	}
	if err := json.Unmarshal(raw, env); err != nil {
		return nil, fmt.Errorf("audian: %s %s: the reply is not a Crossbar envelope: %w", method, path, err)
	}
	return env, nil
}

// account resolves "" to the client's own account.
func (c *Client) accountPath(ctx context.Context, id string) (string, error) {
	if id == "" {
		var err error
		if id, err = c.AccountID(ctx); err != nil {
			return "", err
		}
	}
	return "/v2/accounts/" + url.PathEscape(id), nil
}

package login

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/audian/audian/internal/credential"
	"github.com/audian/audian/internal/identity"
)

// fakeClock is a settable clock.
type fakeClock struct{ t time.Time }

func (c *fakeClock) Now() time.Time { return c.t }

// fakeHasher "hashes" p as "h:"+p and counts evaluations. When gate is
// set, every evaluation waits for it.
type fakeHasher struct {
	evals atomic.Int64
	gate  chan struct{}
}

func (h *fakeHasher) eval() {
	h.evals.Add(1)
	if h.gate != nil {
		<-h.gate
	}
}
func (h *fakeHasher) Verify(phc, pw string) bool { h.eval(); return phc == "h:"+pw }
func (h *fakeHasher) Burn(string)                { h.eval() }

type fakeSealer struct{}

func (fakeSealer) Lookup(purpose string, data []byte) string { return purpose + ":" + string(data) }

// fakeGuard records calls; wait and err are what Check answers.
type fakeGuard struct {
	mu        sync.Mutex
	wait      time.Duration
	err       error
	fails     []string
	successes []string
}

func (g *fakeGuard) Check(ctx context.Context, ip, ident string) (time.Duration, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.wait, g.err
}

func (g *fakeGuard) Fail(ctx context.Context, ip, ident string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	g.fails = append(g.fails, ip+"|"+ident)
	return nil
}

func (g *fakeGuard) Succeed(ctx context.Context, ip, ident string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	g.successes = append(g.successes, ip+"|"+ident)
	return nil
}

// fakeStore holds accounts, users and keys in maps, and fails any call
// whose context is done, as a real store does.
type fakeStore struct {
	mu       sync.Mutex
	accounts map[string]*identity.Account
	users    map[string]*identity.User // by account id + "/" + username
	keys     map[string]*identity.APIKey
	audit    []identity.AuditEntry
	err      error // returned by every read when set
}

func (s *fakeStore) read(ctx context.Context) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return s.err
}

func (s *fakeStore) AccountsByName(ctx context.Context, name string) ([]*identity.Account, error) {
	if err := s.read(ctx); err != nil {
		return nil, err
	}
	var out []*identity.Account
	for _, a := range s.accounts {
		if identity.NormalizeName(a.Name) == identity.NormalizeName(name) {
			out = append(out, a)
		}
	}
	return out, nil
}

func (s *fakeStore) AccountByRealm(ctx context.Context, realm string) (*identity.Account, error) {
	if err := s.read(ctx); err != nil {
		return nil, err
	}
	for _, a := range s.accounts {
		if a.Realm == realm {
			return a, nil
		}
	}
	return nil, identity.ErrNotFound
}

func (s *fakeStore) Account(ctx context.Context, id string) (*identity.Account, error) {
	if err := s.read(ctx); err != nil {
		return nil, err
	}
	if a, ok := s.accounts[id]; ok {
		return a, nil
	}
	return nil, identity.ErrNotFound
}

func (s *fakeStore) User(ctx context.Context, accountID, id string) (*identity.User, error) {
	if err := s.read(ctx); err != nil {
		return nil, err
	}
	for _, u := range s.users {
		if u.AccountID == accountID && u.ID == id {
			return u, nil
		}
	}
	return nil, identity.ErrNotFound
}

func (s *fakeStore) UserByUsername(ctx context.Context, accountID, username string) (*identity.User, error) {
	if err := s.read(ctx); err != nil {
		return nil, err
	}
	if u, ok := s.users[accountID+"/"+username]; ok {
		return u, nil
	}
	return nil, identity.ErrNotFound
}

func (s *fakeStore) UserByCredentialLookup(ctx context.Context, accountID, method, lookup string) (*identity.User, error) {
	if err := s.read(ctx); err != nil {
		return nil, err
	}
	for _, u := range s.users {
		if u.AccountID == accountID && method == MethodMD5 && u.Credentials.MD5Lookup == lookup {
			return u, nil
		}
	}
	return nil, identity.ErrNotFound
}

func (s *fakeStore) APIKeyByHash(ctx context.Context, hash []byte) (*identity.APIKey, error) {
	if err := s.read(ctx); err != nil {
		return nil, err
	}
	if k, ok := s.keys[string(hash)]; ok {
		return k, nil
	}
	return nil, identity.ErrNotFound
}

func (s *fakeStore) AppendAudit(ctx context.Context, e identity.AuditEntry) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if _, ok := identity.AuditFrom(ctx); ok {
		return errors.New("a login's audit row must not ride on the request's entry")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.audit = append(s.audit, e)
	return nil
}

func (s *fakeStore) outcomes() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, e := range s.audit {
		out = append(out, e.Action+" "+e.Outcome+" "+e.Reason)
	}
	return out
}

// fixture is a door over an account "Acme" (realm acme.example) with an
// enabled user "alice", a disabled user "carol", and a disabled account
// "Gone" with a user "dave"; every password is "pw".
type fixture struct {
	door   *Door
	store  *fakeStore
	hasher *fakeHasher
	guard  *fakeGuard
	clock  *fakeClock
}

func newFixture(t *testing.T, cfg Config) *fixture {
	t.Helper()
	acme := &identity.Account{ID: "acme", Name: "Acme", Realm: "acme.example", Enabled: true}
	gone := &identity.Account{ID: "gone", Name: "Gone", Realm: "gone.example"}
	user := func(acct, id, name string, enabled bool) *identity.User {
		return &identity.User{ID: id, AccountID: acct, Username: name, Enabled: enabled, PrivLevel: identity.RoleUser,
			Credentials: identity.Credentials{Password: "h:pw", MD5Lookup: "md5:d1g", MD5Hash: "h:d1g"}}
	}
	s := &fakeStore{
		accounts: map[string]*identity.Account{"acme": acme, "gone": gone},
		users: map[string]*identity.User{
			"acme/alice": user("acme", "u1", "alice", true),
			"acme/carol": user("acme", "u2", "carol", false),
			"gone/dave":  user("gone", "u3", "dave", true),
		},
		keys: map[string]*identity.APIKey{},
	}
	s.users["acme/carol"].Credentials.MD5Lookup = "md5:other"
	f := &fixture{store: s, hasher: &fakeHasher{}, guard: &fakeGuard{}, clock: &fakeClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}}
	f.door = New(cfg, Deps{Store: s, Hasher: f.hasher, Sealer: fakeSealer{}, Guard: f.guard, Now: f.clock.Now})
	return f
}

var at = Attempt{ClientIP: "198.51.100.7", UserAgent: "test", RequestID: "r1", Face: "user_auth"}

func TestPassword(t *testing.T) {
	for _, tt := range []struct {
		name      string
		in        PasswordLogin
		guardWait time.Duration
		guardErr  error
		storeErr  error
		wantCode  identity.Code
		wantEvals int64
		wantAudit []string
		wantRetry bool
	}{
		{"right password", PasswordLogin{AccountName: "acme", Username: "alice", Password: "pw"}, 0, nil, nil, "", 1, []string{"user_auth success "}, false},
		{"by realm", PasswordLogin{Realm: "acme.example", Username: "alice", Password: "pw"}, 0, nil, nil, "", 1, []string{"user_auth success "}, false},
		{"wrong password", PasswordLogin{AccountName: "Acme", Username: "alice", Password: "nope"}, 0, nil, nil, identity.EUnauthorized, 1, []string{"user_auth failure invalid credentials"}, false},
		{"unknown user burns", PasswordLogin{AccountName: "Acme", Username: "zed", Password: "pw"}, 0, nil, nil, identity.EUnauthorized, 1, []string{"user_auth failure invalid credentials"}, false},
		{"unknown account burns", PasswordLogin{AccountName: "Nowhere", Username: "alice", Password: "pw"}, 0, nil, nil, identity.EUnauthorized, 1, []string{"user_auth failure invalid credentials"}, false},
		{"disabled user verified then refused", PasswordLogin{AccountName: "Acme", Username: "carol", Password: "pw"}, 0, nil, nil, identity.EUnauthorized, 1, []string{"user_auth failure invalid credentials"}, false},
		{"disabled account verified then refused", PasswordLogin{AccountName: "Gone", Username: "dave", Password: "pw"}, 0, nil, nil, identity.EUnauthorized, 1, []string{"user_auth failure invalid credentials"}, false},
		{"guard says wait: no hash", PasswordLogin{AccountName: "Acme", Username: "alice", Password: "pw"}, 3 * time.Second, nil, nil, identity.ETooManyRequests, 0, []string{"user_auth failure too many attempts"}, true},
		{"guard down: fail closed", PasswordLogin{AccountName: "Acme", Username: "alice", Password: "pw"}, 0, errors.New("db down"), nil, identity.EUnavailable, 0, nil, true},
		{"store down: 503, not 500", PasswordLogin{AccountName: "Acme", Username: "alice", Password: "pw"}, 0, nil, errors.New("db down"), identity.EUnavailable, 0, nil, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, Config{})
			f.guard.wait, f.guard.err, f.store.err = tt.guardWait, tt.guardErr, tt.storeErr
			got, err := f.door.Password(context.Background(), at, tt.in)
			if code := identity.ErrorCode(err); code != tt.wantCode {
				t.Fatalf("code %q (%v), want %q", code, err, tt.wantCode)
			}
			if err == nil && (got.User == nil || got.Account == nil) {
				t.Fatal("success without a user and account")
			}
			if err != nil && tt.wantCode == identity.EUnauthorized && err != identity.ErrUnauthorized {
				t.Errorf("error %v, want exactly ErrUnauthorized", err)
			}
			if n := f.hasher.evals.Load(); n != tt.wantEvals {
				t.Errorf("%d argon2id evaluations, want %d", n, tt.wantEvals)
			}
			if (identity.ErrorRetryAfter(err) >= time.Second) != tt.wantRetry {
				t.Errorf("RetryAfter %v, want set: %v", identity.ErrorRetryAfter(err), tt.wantRetry)
			}
			if diff := cmp.Diff(tt.wantAudit, f.store.outcomes()); diff != "" {
				t.Errorf("audit (-want +got):\n%s", diff)
			}
			wantFails := 0
			if tt.wantCode == identity.EUnauthorized {
				wantFails = 1
			}
			if len(f.guard.fails) != wantFails {
				t.Errorf("guard counted %d failures, want %d", len(f.guard.fails), wantFails)
			}
		})
	}
}

func TestDigest(t *testing.T) {
	f := newFixture(t, Config{})
	in := DigestLogin{Method: MethodMD5, Digest: "D1G", AccountName: "Acme"}
	got, err := f.door.Digest(context.Background(), at, in)
	if err != nil || got.User.ID != "u1" {
		t.Fatalf("digest login: %v %v", got, err)
	}
	in.Method = "sha1"
	if _, err := f.door.Digest(context.Background(), at, in); err != identity.ErrUnauthorized {
		t.Fatalf("unknown method: %v", err)
	}
	if n := f.hasher.evals.Load(); n != 2 {
		t.Errorf("%d evaluations for two attempts, want 2", n)
	}
	// A digest hides the username: the guard counts per account.
	if want := UserIdentity("name:"+identity.NormalizeName("Acme"), ""); f.guard.fails[0] != AddressKey(at.ClientIP)+"|"+want {
		t.Errorf("guard identity %q, want %q", f.guard.fails[0], want)
	}
}

// TestDetachedFromClient: a context canceled before the door is entered
// (a client that hung up or half-closed) still gets its credential checked
// when a slot is free, and its guard count and audit row written.
func TestDetachedFromClient(t *testing.T) {
	for _, pw := range []string{"pw", "wrong"} {
		f := newFixture(t, Config{})
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := f.door.Password(ctx, at, PasswordLogin{AccountName: "Acme", Username: "alice", Password: pw})
		if pw == "pw" && err != nil {
			t.Errorf("right password, canceled client: %v", err)
		}
		if pw != "pw" && err != identity.ErrUnauthorized {
			t.Errorf("wrong password, canceled client: %v", err)
		}
		if len(f.store.outcomes()) != 1 || len(f.guard.fails)+len(f.guard.successes) != 1 {
			t.Errorf("password %q: audit %v, guard %v/%v: want one of each", pw, f.store.outcomes(), f.guard.fails, f.guard.successes)
		}
	}
}

// TestHashingSlots: with one slot busy, an attempt waits HashWait and is
// refused with 429 and Retry-After; one whose client leaves while waiting
// costs no hash but is counted and audited.
func TestHashingSlots(t *testing.T) {
	f := newFixture(t, Config{HashConcurrency: 1, HashWait: 50 * time.Millisecond})
	f.hasher.gate = make(chan struct{})
	first := make(chan error, 1)
	go func() {
		_, err := f.door.Password(context.Background(), at, PasswordLogin{AccountName: "Acme", Username: "alice", Password: "pw"})
		first <- err
	}()
	for f.hasher.evals.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	_, err := f.door.Password(context.Background(), at, PasswordLogin{AccountName: "Acme", Username: "alice", Password: "pw"})
	if identity.ErrorCode(err) != identity.ETooManyRequests || identity.ErrorRetryAfter(err) < time.Second {
		t.Errorf("no slot: %v (retry %v), want 429 with RetryAfter", err, identity.ErrorRetryAfter(err))
	}
	ctx, cancel := context.WithCancel(context.Background())
	gone := make(chan error, 1)
	go func() {
		_, err := f.door.Password(ctx, at, PasswordLogin{AccountName: "Acme", Username: "alice", Password: "pw"})
		gone <- err
	}()
	time.Sleep(10 * time.Millisecond)
	cancel()
	if err := <-gone; err != identity.ErrUnauthorized {
		t.Errorf("client gone while waiting: %v, want ErrUnauthorized", err)
	}
	close(f.hasher.gate)
	if err := <-first; err != nil {
		t.Errorf("the attempt holding the slot: %v", err)
	}
	if n := f.hasher.evals.Load(); n != 1 {
		t.Errorf("%d evaluations, want 1: refused and abandoned attempts must cost none", n)
	}
	want := []string{"user_auth failure abandoned before verification", "user_auth success "}
	if diff := cmp.Diff(want, f.store.outcomes()); diff != "" {
		t.Errorf("audit (-want +got):\n%s", diff)
	}
	if len(f.guard.fails) != 1 {
		t.Errorf("guard failures %v, want the abandoned attempt", f.guard.fails)
	}
}

func TestAPIKey(t *testing.T) {
	named := credential.NewNamedKey()
	account := credential.NewAccountKey()
	for _, tt := range []struct {
		name     string
		secret   string
		key      identity.APIKey
		cfg      Config
		ip       string
		wantErr  error
		wantUser bool
	}{
		{"account key", account, identity.APIKey{Kind: identity.KeyKindAccount}, Config{}, "", nil, false},
		{"named key", named, identity.APIKey{Kind: identity.KeyKindNamed}, Config{}, "", nil, false},
		{"named key of a plain user acts as the user", named, identity.APIKey{Kind: identity.KeyKindNamed, CreatedBy: "u1"}, Config{}, "", nil, true},
		{"creator disabled", named, identity.APIKey{Kind: identity.KeyKindNamed, CreatedBy: "u2"}, Config{}, "", identity.ErrUnauthorized, false},
		{"expired", named, identity.APIKey{Kind: identity.KeyKindNamed, ExpiresAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}, Config{}, "", identity.ErrUnauthorized, false},
		{"revoked", account, identity.APIKey{Kind: identity.KeyKindAccount, RevokedAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}, Config{}, "", identity.ErrUnauthorized, false},
		{"rotation overdue", named, identity.APIKey{Kind: identity.KeyKindNamed, Created: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}, Config{KeyRotation: 90 * 24 * time.Hour, KeyRotationMandatory: true}, "", ErrKeyOverdue, false},
		{"outside its cidrs", named, identity.APIKey{Kind: identity.KeyKindNamed, AllowedCIDRs: []string{"10.0.0.0/8"}}, Config{}, "", ErrKeyAddress, false},
		{"inside its cidrs", named, identity.APIKey{Kind: identity.KeyKindNamed, AllowedCIDRs: []string{"10.0.0.0/8"}}, Config{}, "10.1.2.3", nil, false},
		{"malformed", "not a key", identity.APIKey{}, Config{}, "", identity.ErrUnauthorized, false},
		{"unknown", credential.NewAccountKey(), identity.APIKey{}, Config{}, "", identity.ErrUnauthorized, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, tt.cfg)
			k := tt.key
			k.ID, k.AccountID = "k1", "acme"
			f.store.keys[string(credential.HashKey(tt.secret))] = &k
			if tt.name == "unknown" {
				clear(f.store.keys)
			}
			a := at
			a.Face = "api_auth"
			if tt.ip != "" {
				a.ClientIP = tt.ip
			}
			got, err := f.door.APIKey(context.Background(), a, tt.secret)
			if err != tt.wantErr {
				t.Fatalf("error %v, want %v", err, tt.wantErr)
			}
			if f.hasher.evals.Load() != 0 {
				t.Error("an API key cost an argon2id evaluation")
			}
			if err == nil {
				if got.Key.ID != "k1" || got.Account.ID != "acme" || (got.Owner != nil) != tt.wantUser {
					t.Errorf("login %+v", got)
				}
				if len(f.guard.successes) != 1 {
					t.Error("success not reported to the guard")
				}
				return
			}
			if len(f.guard.fails) != 1 || len(f.store.outcomes()) != 1 {
				t.Errorf("failure: guard %v audit %v, want one of each", f.guard.fails, f.store.outcomes())
			}
		})
	}
}

func TestAddressKey(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"198.51.100.7", "198.51.100.7"},
		{"::ffff:198.51.100.7", "198.51.100.7"},
		{"2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"},
		{"2001:db8:1:2:ffff::1", "2001:db8:1:2::/64"},
		{"fe80::1%eth0", "fe80::/64"},
		{"not an address", "not an address"},
	} {
		if got := AddressKey(tt.in); got != tt.want {
			t.Errorf("AddressKey(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

package login

import (
	"context"
	"log/slog"
	"runtime"
	"time"

	"github.com/audian/audian/internal/identity"
)

// Attempt is what the door knows about who is knocking. Each face builds
// it from its own request.
type Attempt struct {
	ClientIP  string // client address as the server resolved it (trusted proxies applied)
	UserAgent string
	RequestID string
	Face      string // audit action: "user_auth", "api_auth", "portal.sign_in", "oauth.login"
}

// PasswordLogin is a username and password, with what the person typed to
// name their account: the realm, else the name (else a phone number, which
// audian never matches).
type PasswordLogin struct{ AccountName, Realm, Username, Password, Phone string }

// DigestLogin is Kazoo's user_auth credentials: Method "md5" or "sha", and
// Digest the lower-case hex md5 or sha1 of lower(username):password.
type DigestLogin struct{ Method, Digest, AccountName, Realm, Phone string }

// UserLogin is a successful password or digest login.
type UserLogin struct {
	Account *identity.Account
	User    *identity.User
}

// KeyLogin is a successful API key login.
type KeyLogin struct {
	Account *identity.Account
	Key     *identity.APIKey
	// Owner is the user a named key acts as: its creator when that creator
	// is not an admin (such a key can do no more than its user). nil for
	// an admin's key and for the account key.
	Owner *identity.User
}

// Digest methods.
const (
	MethodMD5 = "md5"
	MethodSHA = "sha"
)

// Hasher checks passwords with argon2id (internal/credential). Burn costs
// what a Verify costs, for attempts with no hash to verify.
type Hasher interface {
	Verify(phc, password string) bool
	Burn(password string)
}

// Sealer derives the lookup key of a Kazoo digest (internal/credential).
type Sealer interface {
	Lookup(purpose string, data []byte) string
}

// Guard slows down credential guessing (internal/ratelimit.Guard): Check
// before verifying a credential, then Fail or Succeed. ip is the address
// key (AddressKey), ident the login target (UserIdentity, KeyIdentity).
type Guard interface {
	Check(ctx context.Context, ip, ident string) (time.Duration, error)
	Fail(ctx context.Context, ip, ident string) error
	Succeed(ctx context.Context, ip, ident string) error
}

// Store is what the door reads and the audit log it appends to
// (identity.Store).
type Store interface {
	AccountsByName(ctx context.Context, name string) ([]*identity.Account, error)
	AccountByRealm(ctx context.Context, realm string) (*identity.Account, error)
	Account(ctx context.Context, id string) (*identity.Account, error)
	User(ctx context.Context, accountID, id string) (*identity.User, error)
	UserByUsername(ctx context.Context, accountID, username string) (*identity.User, error)
	UserByCredentialLookup(ctx context.Context, accountID, method, lookup string) (*identity.User, error)
	APIKeyByHash(ctx context.Context, hash []byte) (*identity.APIKey, error)
	AppendAudit(ctx context.Context, e identity.AuditEntry) error
}

// Config holds the door's settings. Zero values take the defaults.
type Config struct {
	// HashConcurrency bounds the argon2id evaluations running at once;
	// default runtime.NumCPU(). Each costs the hash's memory (19 MiB with
	// the default parameters), so this bounds what a login flood costs.
	HashConcurrency int
	// HashWait is how long an attempt waits for a hashing slot before it
	// is refused with 429; default DefaultHashWait.
	HashWait time.Duration
	// Timeout bounds the work of one attempt once it is detached from the
	// client (lookups, verification, the guard and audit writes); default
	// DefaultTimeout.
	Timeout time.Duration
	// KeyRotation is the age past which a named API key is due for
	// rotation; with KeyRotationMandatory such keys are refused.
	KeyRotation          time.Duration
	KeyRotationMandatory bool
}

// Defaults of Config.
const (
	DefaultHashWait = 2 * time.Second
	DefaultTimeout  = 10 * time.Second
)

// Deps are the door's collaborators. Guard may be nil (no guessing
// protection, for tests of other things only).
type Deps struct {
	Store  Store
	Hasher Hasher
	Sealer Sealer
	Guard  Guard
	// RecoveryGuard throttles password recovery requests; nil turns that
	// off.
	RecoveryGuard Guard
	// Gate decides whether an account may be used (enabled, and every
	// ancestor enabled); crossbar's API answers from its account cache.
	// nil applies identity.AccountUsable with ancestors read from Store.
	Gate   identity.AccountGate
	Logger *slog.Logger
	Now    func() time.Time
}

// Door checks credentials for every face.
type Door struct {
	cfg    Config
	store  Store
	hasher Hasher
	sealer Sealer
	guard  Guard
	// recovery throttles password recovery requests.
	recovery Guard
	gate     identity.AccountGate
	log      *slog.Logger
	now      func() time.Time
	slots    chan struct{}
}

// New returns the door.
func New(cfg Config, d Deps) *Door {
	if cfg.HashConcurrency <= 0 {
		cfg.HashConcurrency = runtime.NumCPU()
	}
	if cfg.HashWait <= 0 {
		cfg.HashWait = DefaultHashWait
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Gate == nil {
		d.Gate = storeGate{d.Store}
	}
	return &Door{
		cfg: cfg, store: d.Store, hasher: d.Hasher, sealer: d.Sealer, guard: d.Guard,
		recovery: d.RecoveryGuard, gate: d.Gate,
		log: d.Logger, now: d.Now, slots: make(chan struct{}, cfg.HashConcurrency),
	}
}

// storeGate applies the account rule with every ancestor read from the
// store.
type storeGate struct{ s Store }

func (g storeGate) AccountUsable(ctx context.Context, a *identity.Account) (bool, error) {
	return identity.AccountUsable(ctx, a, g.s.Account)
}

// Errors of the door besides identity.ErrUnauthorized.
var (
	// errThrottled is a guard refusal; each use copies it to set
	// RetryAfter.
	errThrottled = identity.Error{Code: identity.ETooManyRequests, Message: "too many requests"}
	// errGuardDown refuses an attempt the guard cannot vouch for: without
	// its counters, guessing would be unbounded.
	errGuardDown = identity.Error{Code: identity.EUnavailable, Message: "login temporarily unavailable"}
)

func retryError(base identity.Error, wait time.Duration, cause error) error {
	e := base
	e.RetryAfter = max(wait, time.Second)
	e.Err = cause
	return &e
}

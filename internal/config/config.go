// Package config holds audian's settings: defaults, then an optional TOML
// file, then AUDIAN_* environment variables, then command-line flags, each
// overriding the one before.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// Config is every setting of audian serve.
type Config struct {
	DataDir       string        `toml:"data_dir"`
	Listen        string        `toml:"listen"`
	Database      string        `toml:"database"`
	TLSCert       string        `toml:"tls_cert"`
	TLSKey        string        `toml:"tls_key"`
	InsecureHTTP  bool          `toml:"insecure_http"`
	KEKFile       string        `toml:"kek_file"`
	KEK           string        `toml:"-"` // only from AUDIAN_KEK, never a file or flag
	TokenLifetime time.Duration `toml:"token_lifetime"`
	// SessionLifetime bounds refreshing: no token descending from a login
	// lives past the login plus this.
	SessionLifetime time.Duration `toml:"session_lifetime"`
	// TokenAlg is the algorithm of the signing keys this process generates:
	// RS256, ES256 or EdDSA.
	TokenAlg       string        `toml:"token_alg"`
	MaxBodyBytes   int64         `toml:"max_body_bytes"`
	RateBurst      int           `toml:"rate_burst"`
	RatePerSecond  float64       `toml:"rate_per_second"`
	RateCost       int           `toml:"rate_cost"`
	CORSOrigin     string        `toml:"cors_origin"`
	TrustedProxies []string      `toml:"trusted_proxies"`
	RealmSuffix    string        `toml:"realm_suffix"`
	LogLevel       string        `toml:"log_level"`
	Node           string        `toml:"node"`
	FeedInterval   time.Duration `toml:"feed_interval"`
	AuditRetention time.Duration `toml:"audit_retention"`
	// KeyRotationDays is the age in days past which a named API key is
	// rotation_due (0: never); KeyRotationMandatory refuses such keys.
	KeyRotationDays      int  `toml:"key_rotation_days"`
	KeyRotationMandatory bool `toml:"key_rotation_mandatory"`
	// SigningKeyRotation rotates the token-signing key when the newest is
	// older than this; 0 leaves rotation to the operator.
	SigningKeyRotation time.Duration `toml:"signing_key_rotation"`
	// MetricsListen is the address of /metrics and /debug/pprof/, apart
	// from the public port; "" serves neither.
	MetricsListen string `toml:"metrics_listen"`
	// PublicURL is the URL clients reach the server at: the OAuth issuer,
	// byte for byte. Empty means https://localhost:<listen port>.
	PublicURL string `toml:"public_url"`
	// LoginHashConcurrency bounds the password hashes computed at once (0:
	// the number of CPUs); LoginHashWait is how long a login waits for one
	// before a 429.
	LoginHashConcurrency int           `toml:"login_hash_concurrency"`
	LoginHashWait        time.Duration `toml:"login_hash_wait"`
	// PortalIdleTimeout ends a portal session unused for this long;
	// PortalSessionLifetime ends it this long after sign-in.
	PortalIdleTimeout     time.Duration `toml:"portal_idle_timeout"`
	PortalSessionLifetime time.Duration `toml:"portal_session_lifetime"`
	// ResetOutbox is the 0600 file password reset tokens are appended to
	// (default DATA_DIR/outbox.jsonl) unless SMTPAddr is set, in which
	// case they are mailed. SMTPPassword comes only from
	// AUDIAN_SMTP_PASSWORD.
	ResetOutbox  string `toml:"reset_outbox"`
	SMTPAddr     string `toml:"smtp_addr"`
	SMTPFrom     string `toml:"smtp_from"`
	SMTPUsername string `toml:"smtp_username"`
	SMTPPassword string `toml:"-"`
	// WhitelabelMaxBytes bounds an uploaded whitelabel logo, icon or
	// welcome text.
	WhitelabelMaxBytes int64 `toml:"whitelabel_max_bytes"`
}

// Default returns the defaults: everything under ./audian-data, HTTPS on
// :8443, SQLite.
func Default() Config {
	return Config{
		DataDir:         "audian-data",
		Listen:          ":8443",
		TokenLifetime:   time.Hour,
		SessionLifetime: 24 * time.Hour,
		TokenAlg:        "RS256",
		MaxBodyBytes:    1 << 20,
		RateBurst:       100,
		RatePerSecond:   10,
		RateCost:        1,
		CORSOrigin:      "*",
		RealmSuffix:     "sip.audian.local",
		LogLevel:        "info",
		FeedInterval:    250 * time.Millisecond,
		AuditRetention:  365 * 24 * time.Hour,
		KeyRotationDays: 90,
		MetricsListen:   "127.0.0.1:9443",
		LoginHashWait:   2 * time.Second,

		PortalIdleTimeout:     30 * time.Minute,
		PortalSessionLifetime: 12 * time.Hour,
		WhitelabelMaxBytes:    1 << 20,
	}
}

// setting is one setting as a flag and an environment variable.
type setting struct {
	name  string // flag name; the variable is AUDIAN_ + upper(name with - as _)
	usage string
	bind  func(fs *flag.FlagSet, c *Config, usage string)
}

func (s setting) env() string {
	return "AUDIAN_" + strings.ToUpper(strings.ReplaceAll(s.name, "-", "_"))
}

var settings = []setting{
	{"data-dir", "directory for the SQLite database, TLS certificate and key-encryption key", func(fs *flag.FlagSet, c *Config, u string) { fs.StringVar(&c.DataDir, "data-dir", c.DataDir, u) }},
	{"listen", "address to serve on", func(fs *flag.FlagSet, c *Config, u string) { fs.StringVar(&c.Listen, "listen", c.Listen, u) }},
	{"database", "database DSN: a SQLite file path, or postgres://... for PostgreSQL (default DATA_DIR/audian.db)", func(fs *flag.FlagSet, c *Config, u string) { fs.StringVar(&c.Database, "database", c.Database, u) }},
	{"tls-cert", "TLS certificate (PEM); default: a self-signed one in DATA_DIR/tls", func(fs *flag.FlagSet, c *Config, u string) { fs.StringVar(&c.TLSCert, "tls-cert", c.TLSCert, u) }},
	{"tls-key", "TLS private key (PEM) for --tls-cert", func(fs *flag.FlagSet, c *Config, u string) { fs.StringVar(&c.TLSKey, "tls-key", c.TLSKey, u) }},
	{"insecure-http", "serve plain HTTP (only behind a proxy that terminates TLS)", func(fs *flag.FlagSet, c *Config, u string) {
		fs.BoolVar(&c.InsecureHTTP, "insecure-http", c.InsecureHTTP, u)
	}},
	{"kek-file", "key-encryption key file (32 random bytes, base64); created if missing (default DATA_DIR/kek); AUDIAN_KEK overrides", func(fs *flag.FlagSet, c *Config, u string) { fs.StringVar(&c.KEKFile, "kek-file", c.KEKFile, u) }},
	{"token-lifetime", "auth token lifetime, 15m to 24h", func(fs *flag.FlagSet, c *Config, u string) {
		fs.DurationVar(&c.TokenLifetime, "token-lifetime", c.TokenLifetime, u)
	}},
	{"session-lifetime", "how long after a login its tokens can be refreshed (15m..24h)", func(fs *flag.FlagSet, c *Config, u string) {
		fs.DurationVar(&c.SessionLifetime, "session-lifetime", c.SessionLifetime, u)
	}},
	{"token-alg", "algorithm of new token-signing keys: RS256, ES256 or EdDSA; takes effect at the next signing-key rotation", func(fs *flag.FlagSet, c *Config, u string) {
		fs.StringVar(&c.TokenAlg, "token-alg", c.TokenAlg, u)
	}},
	{"max-body-bytes", "request body limit in bytes", func(fs *flag.FlagSet, c *Config, u string) {
		fs.Int64Var(&c.MaxBodyBytes, "max-body-bytes", c.MaxBodyBytes, u)
	}},
	{"rate-burst", "rate limit bucket size per client address and account", func(fs *flag.FlagSet, c *Config, u string) { fs.IntVar(&c.RateBurst, "rate-burst", c.RateBurst, u) }},
	{"rate-per-second", "rate limit refill per second", func(fs *flag.FlagSet, c *Config, u string) {
		fs.Float64Var(&c.RatePerSecond, "rate-per-second", c.RatePerSecond, u)
	}},
	{"rate-cost", "tokens each request costs; 0 turns rate limiting off", func(fs *flag.FlagSet, c *Config, u string) { fs.IntVar(&c.RateCost, "rate-cost", c.RateCost, u) }},
	{"cors-origin", "Access-Control-Allow-Origin value", func(fs *flag.FlagSet, c *Config, u string) {
		fs.StringVar(&c.CORSOrigin, "cors-origin", c.CORSOrigin, u)
	}},
	{"trusted-proxies", "comma-separated addresses or CIDRs whose X-Forwarded-For is trusted", func(fs *flag.FlagSet, c *Config, u string) {
		fs.Func("trusted-proxies", u, func(s string) error { c.TrustedProxies = splitList(s); return nil })
	}},
	{"realm-suffix", "suffix of generated account realms", func(fs *flag.FlagSet, c *Config, u string) {
		fs.StringVar(&c.RealmSuffix, "realm-suffix", c.RealmSuffix, u)
	}},
	{"log-level", "debug, info, warn or error", func(fs *flag.FlagSet, c *Config, u string) { fs.StringVar(&c.LogLevel, "log-level", c.LogLevel, u) }},
	{"node", "node name reported in replies (default: derived from the host name)", func(fs *flag.FlagSet, c *Config, u string) { fs.StringVar(&c.Node, "node", c.Node, u) }},
	{"audit-retention", "how long the audit log keeps an entry; 0 keeps entries forever", func(fs *flag.FlagSet, c *Config, u string) {
		fs.DurationVar(&c.AuditRetention, "audit-retention", c.AuditRetention, u)
	}},
	{"feed-interval", "how often to poll the database for changes made by other processes", func(fs *flag.FlagSet, c *Config, u string) {
		fs.DurationVar(&c.FeedInterval, "feed-interval", c.FeedInterval, u)
	}},
	{"key-rotation-days", "age in days past which a named API key is reported rotation_due; 0 turns the policy off", func(fs *flag.FlagSet, c *Config, u string) {
		fs.IntVar(&c.KeyRotationDays, "key-rotation-days", c.KeyRotationDays, u)
	}},
	{"key-rotation-mandatory", "refuse named API keys older than key-rotation-days at api_auth", func(fs *flag.FlagSet, c *Config, u string) {
		fs.BoolVar(&c.KeyRotationMandatory, "key-rotation-mandatory", c.KeyRotationMandatory, u)
	}},
	{"signing-key-rotation", "rotate the token-signing key when the newest is older than this (e.g. 720h); 0 turns automatic rotation off", func(fs *flag.FlagSet, c *Config, u string) {
		fs.DurationVar(&c.SigningKeyRotation, "signing-key-rotation", c.SigningKeyRotation, u)
	}},
	{"metrics-listen", "address of /metrics and /debug/pprof/ (plain HTTP, keep it private); empty or off turns both off", func(fs *flag.FlagSet, c *Config, u string) {
		fs.StringVar(&c.MetricsListen, "metrics-listen", c.MetricsListen, u)
	}},
	{"public-url", "URL clients reach the server at, the OAuth issuer (default https://localhost:<listen port>)", func(fs *flag.FlagSet, c *Config, u string) {
		fs.StringVar(&c.PublicURL, "public-url", c.PublicURL, u)
	}},
	{"login-hash-concurrency", "password hashes (argon2id, 19 MiB each) computed at once; 0 means the number of CPUs", func(fs *flag.FlagSet, c *Config, u string) {
		fs.IntVar(&c.LoginHashConcurrency, "login-hash-concurrency", c.LoginHashConcurrency, u)
	}},
	{"login-hash-wait", "how long a login waits for a hashing slot before it is refused with 429", func(fs *flag.FlagSet, c *Config, u string) {
		fs.DurationVar(&c.LoginHashWait, "login-hash-wait", c.LoginHashWait, u)
	}},
	{"portal-idle-timeout", "sign a portal session out after this long without a request", func(fs *flag.FlagSet, c *Config, u string) {
		fs.DurationVar(&c.PortalIdleTimeout, "portal-idle-timeout", c.PortalIdleTimeout, u)
	}},
	{"portal-session-lifetime", "sign a portal session out this long after sign-in, however active", func(fs *flag.FlagSet, c *Config, u string) {
		fs.DurationVar(&c.PortalSessionLifetime, "portal-session-lifetime", c.PortalSessionLifetime, u)
	}},
	{"whitelabel-max-bytes", "size limit in bytes of an uploaded whitelabel logo, icon or welcome text", func(fs *flag.FlagSet, c *Config, u string) {
		fs.Int64Var(&c.WhitelabelMaxBytes, "whitelabel-max-bytes", c.WhitelabelMaxBytes, u)
	}},
}

// Flags registers every setting on fs, bound to c. Set c's earlier layers
// (defaults, file, environment) before calling it: the current values
// become the flags' defaults, so --help shows what is in force.
func Flags(fs *flag.FlagSet, c *Config) {
	for _, s := range settings {
		s.bind(fs, c, s.usage+" ["+s.env()+"]")
	}
}

// Load builds the configuration for args: defaults, the TOML file named
// by AUDIAN_CONFIG or --config, the environment, then the flags. extra
// adds a command's own flags. The returned FlagSet has been parsed.
func Load(name string, args []string, getenv func(string) string, out io.Writer, extra ...func(*flag.FlagSet)) (Config, *flag.FlagSet, error) {
	c := Default()
	path := getenv("AUDIAN_CONFIG")
	for i, a := range args {
		if v, ok := strings.CutPrefix(a, "--config="); ok {
			path = v
		} else if (a == "--config" || a == "-config") && i+1 < len(args) {
			path = args[i+1]
		}
	}
	if path != "" {
		if _, err := toml.DecodeFile(path, &c); err != nil {
			return c, nil, fmt.Errorf("config file %s: %w", path, err)
		}
	}
	if err := c.applyEnv(getenv); err != nil {
		return c, nil, err
	}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(out)
	fs.String("config", path, "TOML configuration file [AUDIAN_CONFIG]")
	Flags(fs, &c)
	for _, add := range extra {
		add(fs)
	}
	if err := fs.Parse(args); err != nil {
		return c, fs, err
	}
	return c, fs, nil
}

// applyEnv reads AUDIAN_* variables by parsing them as the flags would.
func (c *Config) applyEnv(getenv func(string) string) error {
	fs := flag.NewFlagSet("env", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	Flags(fs, c)
	var errs []error
	for _, s := range settings {
		if v := getenv(s.env()); v != "" {
			if err := fs.Set(s.name, v); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", s.env(), err))
			}
		}
	}
	c.KEK = getenv("AUDIAN_KEK")
	c.SMTPPassword = getenv("AUDIAN_SMTP_PASSWORD")
	return errors.Join(errs...)
}

// Resolve fills the settings that default to paths under DataDir.
func (c *Config) Resolve() {
	if c.Database == "" {
		c.Database = filepath.Join(c.DataDir, "audian.db")
	}
	if c.KEKFile == "" {
		c.KEKFile = filepath.Join(c.DataDir, "kek")
	}
	if c.ResetOutbox == "" {
		c.ResetOutbox = filepath.Join(c.DataDir, "outbox.jsonl")
	}
}

// MetricsAddr is the address of the metrics listener, "" for none. "off"
// also turns it off, since an empty AUDIAN_METRICS_LISTEN means unset.
func (c *Config) MetricsAddr() string {
	if c.MetricsListen == "off" {
		return ""
	}
	return c.MetricsListen
}

// Postgres reports whether Database selects PostgreSQL: a postgres:// or
// postgresql:// URL, or a libpq key=value connection string.
func (c *Config) Postgres() bool {
	return postgresURL(c.Database) || keyValueDSN(c.Database)
}

func postgresURL(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// schemeRE matches the start of any URL ("mysql://", "postgress://",
// "file://"): a database that is not PostgreSQL's must not silently
// become a SQLite file of that name.
var schemeRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*://`)

// libpqKeys are the connection parameters a key=value connection string
// starts with (libpq's "Parameter Key Words").
var libpqKeys = map[string]bool{
	"host": true, "hostaddr": true, "port": true, "dbname": true, "user": true, "password": true,
	"passfile": true, "sslmode": true, "sslcert": true, "sslkey": true, "sslrootcert": true,
	"sslpassword": true, "connect_timeout": true, "application_name": true, "options": true,
	"service": true, "target_session_attrs": true, "search_path": true, "pool_max_conns": true,
}

// keyValueDSN reports whether dsn is a libpq key=value connection string:
// it starts with a known parameter key word followed by "=". A file path
// never does, unless someone names a database file "host=x".
func keyValueDSN(dsn string) bool {
	key, _, ok := strings.Cut(strings.TrimSpace(dsn), "=")
	return ok && libpqKeys[strings.TrimSpace(key)]
}

// checkDatabase reports a database setting that is neither PostgreSQL's
// nor a file path. The message shows the setting redacted.
func checkDatabase(dsn string) error {
	if postgresURL(dsn) || keyValueDSN(dsn) || !schemeRE.MatchString(dsn) {
		return nil
	}
	return fmt.Errorf("database %q is not supported: use postgres://..., postgresql://..., a key=value PostgreSQL connection string, or a SQLite file path", RedactDSN(dsn))
}

// Validate reports every problem with c at once.
func (c *Config) Validate() error {
	var errs []error
	if c.DataDir == "" {
		errs = append(errs, errors.New("data-dir must not be empty"))
	}
	if c.Listen == "" {
		errs = append(errs, errors.New("listen must not be empty"))
	}
	if err := checkDatabase(c.Database); err != nil {
		errs = append(errs, err)
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		errs = append(errs, errors.New("tls-cert and tls-key go together"))
	}
	if c.TokenLifetime < 15*time.Minute || c.TokenLifetime > 24*time.Hour {
		errs = append(errs, fmt.Errorf("token-lifetime %s is outside 15m..24h", c.TokenLifetime))
	}
	if c.SessionLifetime < 15*time.Minute || c.SessionLifetime > 24*time.Hour {
		errs = append(errs, fmt.Errorf("session-lifetime %s is outside 15m..24h", c.SessionLifetime))
	}
	switch c.TokenAlg {
	case "RS256", "ES256", "EdDSA":
	default:
		errs = append(errs, fmt.Errorf("token-alg %q is not RS256, ES256 or EdDSA", c.TokenAlg))
	}
	if c.MaxBodyBytes < 1024 {
		errs = append(errs, errors.New("max-body-bytes must be at least 1024"))
	}
	if c.RateCost < 0 || c.RateBurst < 1 || c.RatePerSecond <= 0 {
		errs = append(errs, errors.New("rate-cost must be >= 0, rate-burst >= 1, rate-per-second > 0"))
	}
	if _, err := c.Proxies(); err != nil {
		errs = append(errs, err)
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("log-level %q is not debug, info, warn or error", c.LogLevel))
	}
	if c.AuditRetention < 0 {
		errs = append(errs, errors.New("audit-retention must not be negative"))
	}
	if c.FeedInterval < 10*time.Millisecond || c.FeedInterval > 5*time.Second {
		errs = append(errs, errors.New("feed-interval must be within 10ms..5s"))
	}
	if c.KeyRotationDays < 0 || c.KeyRotationDays > 3650 {
		errs = append(errs, errors.New("key-rotation-days must be within 0..3650"))
	}
	if c.KeyRotationMandatory && c.KeyRotationDays == 0 {
		errs = append(errs, errors.New("key-rotation-mandatory needs key-rotation-days above 0"))
	}
	// Port 0 picks a free port for each listener, so only a fixed port can
	// collide.
	if c.MetricsListen != "" && c.MetricsListen == c.Listen && !strings.HasSuffix(c.Listen, ":0") {
		errs = append(errs, errors.New("metrics-listen must differ from listen: metrics and pprof stay off the public port"))
	}
	if c.SigningKeyRotation != 0 && c.SigningKeyRotation < time.Hour {
		errs = append(errs, errors.New("signing-key-rotation must be 0 (off) or at least 1h"))
	}
	if c.PublicURL != "" {
		u, err := url.Parse(c.PublicURL)
		if err != nil || u.Scheme != "https" || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(u.Path, "/") {
			errs = append(errs, errors.New("public-url must be an https URL without query, fragment or trailing slash"))
		}
	}
	if c.LoginHashConcurrency < 0 || c.LoginHashConcurrency > 1024 {
		errs = append(errs, errors.New("login-hash-concurrency must be within 0..1024"))
	}
	if c.SMTPAddr != "" && c.SMTPFrom == "" {
		errs = append(errs, errors.New("smtp-from is required with smtp-addr"))
	}
	if c.LoginHashWait < 10*time.Millisecond || c.LoginHashWait > time.Minute {
		errs = append(errs, errors.New("login-hash-wait must be within 10ms..1m"))
	}
	if c.PortalIdleTimeout < time.Minute || c.PortalIdleTimeout > 24*time.Hour {
		errs = append(errs, errors.New("portal-idle-timeout must be within 1m..24h"))
	}
	if c.PortalSessionLifetime < c.PortalIdleTimeout || c.PortalSessionLifetime > 30*24*time.Hour {
		errs = append(errs, errors.New("portal-session-lifetime must be within portal-idle-timeout..720h"))
	}
	if c.WhitelabelMaxBytes < 1024 || c.WhitelabelMaxBytes > 16<<20 {
		errs = append(errs, errors.New("whitelabel-max-bytes must be within 1024..16777216"))
	}
	return errors.Join(errs...)
}

// Issuer returns PublicURL, or https://localhost:<port> of the address
// the server listens on.
func (c *Config) Issuer(listening string) string {
	if c.PublicURL != "" {
		return c.PublicURL
	}
	_, port, err := net.SplitHostPort(listening)
	if err != nil {
		port = "8443"
	}
	return "https://localhost:" + port
}

// Proxies parses TrustedProxies.
func (c *Config) Proxies() ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range c.TrustedProxies {
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
			continue
		}
		addr, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("trusted-proxies: %q is neither an address nor a CIDR", s)
		}
		out = append(out, netip.PrefixFrom(addr, addr.BitLen()))
	}
	return out, nil
}

// String describes c with secrets redacted: the KEK, and a password in
// the database DSN.
func (c Config) String() string {
	kek := ""
	if c.KEK != "" {
		kek = "<redacted>"
	}
	return fmt.Sprintf("data_dir=%s listen=%s database=%s tls_cert=%s insecure_http=%t kek_file=%s kek=%s token_lifetime=%s max_body_bytes=%d rate=%d/%g/s cost=%d",
		c.DataDir, c.Listen, RedactDSN(c.Database), c.TLSCert, c.InsecureHTTP, c.KEKFile, kek, c.TokenLifetime, c.MaxBodyBytes, c.RateBurst, c.RatePerSecond, c.RateCost)
}

// RedactDSN hides every password a database setting may hold: the
// password of a URL's user information, password and sslpassword
// parameters of its query, and password and sslpassword of a key=value
// connection string, quoted or not.
func RedactDSN(dsn string) string {
	if keyValueDSN(dsn) {
		return kvPasswordRE.ReplaceAllString(dsn, "${1}<redacted>")
	}
	scheme, rest, ok := strings.Cut(dsn, "://")
	if !ok {
		return dsn
	}
	// The user information ends at the last "@" (a password may hold
	// unescaped "@", "/" or "?"), and is redacted after its first ":".
	if at := strings.LastIndex(rest, "@"); at >= 0 {
		if name, _, hasPw := strings.Cut(rest[:at], ":"); hasPw {
			rest = name + ":<redacted>" + rest[at:]
		}
	}
	return scheme + "://" + queryPasswordRE.ReplaceAllString(rest, "${1}<redacted>")
}

// queryPasswordRE matches a password parameter of a URL's query.
var queryPasswordRE = regexp.MustCompile(`([?&](?:ssl)?password=)[^&#]*`)

// kvPasswordRE matches password=value in a key=value connection string,
// the value bare or single-quoted with backslash escapes.
var kvPasswordRE = regexp.MustCompile(`((?:^|\s)(?:ssl)?password\s*=\s*)('(?:[^'\\]|\\.)*'?|\S*)`)

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

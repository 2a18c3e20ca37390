package identity

import "time"

// API key kinds.
const (
	// KeyKindAccount is Kazoo's single per-account key, readable back by
	// admins through GET /v2/accounts/{id}/api_key (so it is also kept
	// sealed under the key-encryption key).
	KeyKindAccount = "account"
	// KeyKindNamed is a key created under Settings -> API Keys: shown once,
	// only its hash kept.
	KeyKindNamed = "named"
)

// APIKey is the stored form of an API key. The secret itself is never
// stored: Hash finds it, Sealed (account keys only) lets an admin read it.
type APIKey struct {
	ID           string
	AccountID    string
	Kind         string
	Name         string
	Prefix       string // the first characters of the secret, to recognise it
	Hash         []byte // SHA-256 of the secret
	Sealed       []byte // AES-GCM ciphertext of the secret; account keys only
	Scopes       []string
	AllowedCIDRs []string
	CreatedBy    string // user id, "" when created by bootstrap or an API key
	Created      time.Time
	ExpiresAt    time.Time // zero: never
	RevokedAt    time.Time // zero: live; tokens minted by it die with it
	LastUsedAt   time.Time
	LastUsedIP   string
	Revision     string
}

// Live reports whether the key may authenticate at now.
func (k *APIKey) Live(now time.Time) bool {
	if !k.RevokedAt.IsZero() && !now.Before(k.RevokedAt) {
		return false
	}
	return k.ExpiresAt.IsZero() || now.Before(k.ExpiresAt)
}

// SigningKey is one key of the token-signing key ring. Several processes
// share the ring through the database; the private half is sealed under the
// key-encryption key every process is given and the database never holds.
type SigningKey struct {
	ID        string // the JWT "kid"
	Algorithm string // "RS256", ...
	Public    []byte // PKIX DER
	Sealed    []byte // sealed PKCS#8 DER of the private key
	Created   time.Time
	// RetiredAt is when the key stopped signing; it keeps verifying until
	// RetiredAt plus the longest token lifetime. Zero: still signing.
	RetiredAt time.Time
}

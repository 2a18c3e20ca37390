package token

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/audian/audian/internal/identity"
)

// algorithm is the only signature algorithm audian issues and accepts. It
// is a constant rather than read from tokens, which is what makes "alg":
// "none" and HS256-with-the-public-key attacks impossible.
const algorithm = "RS256"

// rsaBits is the signing key size the spec asks for: what Kazoo clients
// expect, at about 0.7 ms per signature.
const rsaBits = 2048

// key is one signing key as this process knows it.
type key struct {
	id      string
	created time.Time
	retired time.Time // zero: still signing
	pub     *rsa.PublicKey
	pubDER  []byte
	// until is when the key stops verifying, Unix ns: its retirement plus
	// the longest token lifetime plus leeway, or never (math.MaxInt64).
	until int64
}

func (k *key) verifies(nowNs int64) bool { return nowNs < k.until }

// ring is an immutable snapshot of the key ring. Reload builds a new one
// and swaps it in, so Issue and Verify read it without locking.
type ring struct {
	keys    map[string]*key
	ordered []*key // newest first, by Created then ID
	current *key   // the key that signs; never nil in an installed ring
	signer  jose.Signer
	priv    *rsa.PrivateKey // current's private half, for SigningKey
}

// newer orders keys newest first: by Created, then by ID, so that every
// process looking at the same rows chooses the same signing key.
func newer(a, b *key) int {
	if c := b.created.Compare(a.created); c != 0 {
		return c
	}
	return cmp.Compare(b.id, a.id)
}

// load reads the key ring from the store. It returns a nil ring and no
// error when no stored key can sign, so that the caller makes one.
func (s *Service) load(ctx context.Context) (*ring, error) {
	stored, err := s.ks.SigningKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("token: reading signing keys: %w", err)
	}
	r := &ring{keys: make(map[string]*key, len(stored))}
	for _, sk := range stored {
		if sk == nil || sk.Algorithm != algorithm {
			// A key for another algorithm (a later setting) can neither
			// sign nor verify what this process accepts.
			continue
		}
		pub, err := x509.ParsePKIXPublicKey(sk.Public)
		if err != nil {
			return nil, fmt.Errorf("token: signing key %s: public key: %w", sk.ID, err)
		}
		rsaPub, ok := pub.(*rsa.PublicKey)
		if !ok {
			return nil, fmt.Errorf("token: signing key %s: public key is %T, want RSA", sk.ID, pub)
		}
		k := &key{id: sk.ID, created: sk.Created, retired: sk.RetiredAt, pub: rsaPub, pubDER: bytes.Clone(sk.Public), until: math.MaxInt64}
		if !sk.RetiredAt.IsZero() {
			k.until = saturatingNs(sk.RetiredAt.Add(s.cfg.MaxLifetime + s.cfg.Leeway))
		}
		r.keys[k.id] = k
		r.ordered = append(r.ordered, k)
	}
	slices.SortFunc(r.ordered, newer)
	for _, k := range r.ordered {
		if k.retired.IsZero() {
			r.current = k
			break
		}
	}
	if r.current == nil {
		return nil, nil
	}
	// Only the signing key's private half is opened. Failing here is
	// almost always a key-encryption key that differs from the one the
	// key was sealed under on another node, which must stop this node
	// rather than let it mint a key of its own and split the cluster.
	var sealed []byte
	for _, sk := range stored {
		if sk != nil && sk.ID == r.current.id {
			sealed = sk.Sealed
		}
	}
	der, err := s.sealer.Open(sealed, []byte(r.current.id))
	if err != nil {
		return nil, fmt.Errorf("token: signing key %s does not decrypt; is the key-encryption key the same on every node? %w", r.current.id, err)
	}
	priv, err := x509.ParsePKCS8PrivateKey(der)
	clear(der)
	if err != nil {
		return nil, fmt.Errorf("token: signing key %s: private key: %w", r.current.id, err)
	}
	rsaPriv, ok := priv.(*rsa.PrivateKey)
	if !ok || !rsaPriv.PublicKey.Equal(r.current.pub) {
		return nil, fmt.Errorf("token: signing key %s: private key does not match its public key", r.current.id)
	}
	r.priv = rsaPriv
	r.signer, err = jose.NewSigner(
		jose.SigningKey{Algorithm: algorithm, Key: jose.JSONWebKey{Key: rsaPriv, KeyID: r.current.id, Algorithm: algorithm}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return nil, fmt.Errorf("token: signing key %s: %w", r.current.id, err)
	}
	return r, nil
}

// generate makes a new RSA key, seals its private half under the
// key-encryption key with the kid as associated data (so a sealed key
// copied onto another row does not open), and stores it.
func (s *Service) generate(ctx context.Context) (*identity.SigningKey, error) {
	priv, err := rsa.GenerateKey(rand.Reader, rsaBits)
	if err != nil {
		return nil, fmt.Errorf("token: generating signing key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("token: encoding signing key: %w", err)
	}
	pub, err := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("token: encoding signing key: %w", err)
	}
	sk := &identity.SigningKey{ID: identity.NewID(), Algorithm: algorithm, Public: pub, Created: s.cfg.Now()}
	sk.Sealed, err = s.sealer.Seal(der, []byte(sk.ID))
	clear(der)
	if err != nil {
		return nil, fmt.Errorf("token: sealing signing key: %w", err)
	}
	if err := s.ks.AddSigningKey(ctx, sk); err != nil {
		return nil, fmt.Errorf("token: storing signing key: %w", err)
	}
	return sk, nil
}

// Reload re-reads the key ring from the store; the change feed calls it on
// EventSigningKey. When no stored key can sign (an empty database, or
// every key retired) it generates one. Processes that do so at the same
// time each add a key and then all sign with the newest, by Created then
// ID; the others stay in the ring and keep verifying. On error the
// previous ring stays in use.
func (s *Service) Reload(ctx context.Context) error {
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	r, err := s.load(ctx)
	if err == nil && r == nil {
		if _, err = s.generate(ctx); err == nil {
			r, err = s.load(ctx)
		}
		if err == nil && r == nil {
			err = errors.New("token: no usable signing key after generating one")
		}
	}
	if err != nil {
		return err
	}
	old := s.ring.Swap(r)
	if old != nil && shrinks(old, r) {
		// Cached entries carry the verification deadline of the key that
		// signed them; a key removed or retired earlier than they assumed
		// would otherwise keep verifying from the cache.
		s.cache.clear()
	}
	return nil
}

// shrinks reports whether some key of old verifies for less time, or not
// at all, in r.
func shrinks(old, r *ring) bool {
	for id, k := range old.keys {
		if nk, ok := r.keys[id]; !ok || nk.until < k.until || !nk.pub.Equal(k.pub) {
			return true
		}
	}
	return false
}

// Rotate makes a new key the signing key and retires the others as of now.
// Retired keys keep verifying for MaxLifetime (plus leeway), so tokens they
// signed stay valid until they expire. The new key is stored before the
// old ones are retired, so that the ring never lacks a signing key.
func (s *Service) Rotate(ctx context.Context) (kid string, err error) {
	sk, err := s.generate(ctx)
	if err != nil {
		return "", err
	}
	now := s.cfg.Now()
	stored, err := s.ks.SigningKeys(ctx)
	if err != nil {
		return "", fmt.Errorf("token: reading signing keys: %w", err)
	}
	for _, old := range stored {
		if old == nil || old.ID == sk.ID || !old.RetiredAt.IsZero() {
			continue
		}
		_, err := s.ks.UpdateSigningKey(ctx, old.ID, func(k *identity.SigningKey) error {
			if k.RetiredAt.IsZero() {
				k.RetiredAt = now
			}
			return nil
		})
		if err != nil && !errors.Is(err, identity.ErrNotFound) {
			return "", fmt.Errorf("token: retiring signing key %s: %w", old.ID, err)
		}
	}
	if err := s.Reload(ctx); err != nil {
		return "", err
	}
	return sk.ID, nil
}

// verifying returns the keys that still verify at now, newest first.
func (s *Service) verifying() []*key {
	nowNs := s.cfg.Now().UnixNano()
	var ks []*key
	for _, k := range s.ring.Load().ordered {
		if k.verifies(nowNs) {
			ks = append(ks, k)
		}
	}
	return ks
}

// JWKS returns the JSON Web Key Set of every key that still verifies, for
// /.well-known/jwks.json: relying parties that verify audian tokens
// themselves need retired keys too until their last token expires.
func (s *Service) JWKS() []byte {
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{}}
	for _, k := range s.verifying() {
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: k.pub, KeyID: k.id, Algorithm: algorithm, Use: "sig"})
	}
	b, err := json.Marshal(set)
	if err != nil {
		// Marshalling an RSA public key cannot fail; an empty set is the
		// safe answer if it ever does.
		return []byte(`{"keys":[]}`)
	}
	return b
}

// KeyIDs returns the ids of the keys that still verify, newest first.
func (s *Service) KeyIDs() []string {
	var ids []string
	for _, k := range s.verifying() {
		ids = append(ids, k.id)
	}
	return ids
}

// PublicKeyPEM returns the PEM "PUBLIC KEY" (PKIX) of a key that still
// verifies, for GET /v2/auth/keys/{kid}.
func (s *Service) PublicKeyPEM(kid string) (string, bool) {
	k, ok := s.ring.Load().keys[kid]
	if !ok || !k.verifies(s.cfg.Now().UnixNano()) {
		return "", false
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: k.pubDER})), true
}

// saturatingNs returns t in Unix nanoseconds, clamped to the int64 range
// that UnixNano cannot represent beyond the year 2262.
func saturatingNs(t time.Time) int64 {
	switch {
	case t.Unix() >= math.MaxInt64/int64(time.Second)-1:
		return math.MaxInt64
	case t.Unix() <= math.MinInt64/int64(time.Second)+1:
		return math.MinInt64
	}
	return t.UnixNano()
}

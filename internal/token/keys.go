package token

import (
	"bytes"
	"cmp"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
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

// Signature algorithms audian issues and accepts. Which one a token uses
// is decided by the ring key its kid names, never by the token's header:
// the header's alg must merely agree with it, which is what makes "alg":
// "none" and HS256-with-the-public-key attacks impossible.
const (
	RS256 = "RS256" // RSA-2048 PKCS #1 v1.5 with SHA-256, the spec's default
	ES256 = "ES256" // ECDSA P-256 with SHA-256
	EdDSA = "EdDSA" // Ed25519
)

// Algorithms lists the algorithms a Config may name.
var Algorithms = []string{RS256, ES256, EdDSA}

// rsaBits is the RSA signing key size the spec asks for: what Kazoo
// clients expect, at about 0.7 ms per signature.
const rsaBits = 2048

// key is one signing key as this process knows it.
type key struct {
	id      string
	alg     string
	created time.Time
	retired time.Time // zero: still signing
	pub     crypto.PublicKey
	pubDER  []byte
	// header is the base64url protected header of the tokens the key signs,
	// with the separating dot: built once, so Issue only encodes claims.
	header string
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
	signer  crypto.Signer
}

// newer orders keys newest first: by Created, then by ID, so that every
// process looking at the same rows chooses the same signing key.
func newer(a, b *key) int {
	if c := b.created.Compare(a.created); c != 0 {
		return c
	}
	return cmp.Compare(b.id, a.id)
}

// publicKey checks that der is a public key of the kind alg signs with.
func publicKey(alg string, der []byte) (crypto.PublicKey, error) {
	pub, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, err
	}
	switch p := pub.(type) {
	case *rsa.PublicKey:
		if alg == RS256 && p.N.BitLen() >= 2048 {
			return p, nil
		}
	case *ecdsa.PublicKey:
		if alg == ES256 && p.Curve == elliptic.P256() {
			return p, nil
		}
	case ed25519.PublicKey:
		if alg == EdDSA {
			return p, nil
		}
	}
	return nil, fmt.Errorf("a %T is not a key for %s", pub, alg)
}

// protectedHeader returns the encoded protected header of kid's tokens.
func protectedHeader(alg, kid string) string {
	h, _ := json.Marshal(struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
		Typ string `json:"typ"`
	}{alg, kid, "JWT"})
	return b64url.EncodeToString(h) + "."
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
		if sk == nil || !slices.Contains(Algorithms, sk.Algorithm) {
			// A key for an algorithm this build does not know can neither
			// sign nor verify what this process accepts.
			continue
		}
		pub, err := publicKey(sk.Algorithm, sk.Public)
		if err != nil {
			return nil, fmt.Errorf("token: signing key %s: public key: %w", sk.ID, err)
		}
		k := &key{id: sk.ID, alg: sk.Algorithm, created: sk.Created, retired: sk.RetiredAt, pub: pub,
			pubDER: bytes.Clone(sk.Public), header: protectedHeader(sk.Algorithm, sk.ID), until: math.MaxInt64}
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
	signer, ok := priv.(crypto.Signer)
	if !ok || !publicEqual(signer.Public(), r.current.pub) {
		return nil, fmt.Errorf("token: signing key %s: private key does not match its public key", r.current.id)
	}
	r.signer = signer
	return r, nil
}

func publicEqual(a, b crypto.PublicKey) bool {
	eq, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && eq.Equal(b)
}

// generate makes a new key for the configured algorithm, seals its
// private half under the key-encryption key with the kid as associated
// data (so a sealed key copied onto another row does not open), and
// stores it.
func (s *Service) generate(ctx context.Context) (*identity.SigningKey, error) {
	var priv crypto.Signer
	var err error
	switch s.cfg.Algorithm {
	case RS256:
		priv, err = rsa.GenerateKey(rand.Reader, rsaBits)
	case ES256:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case EdDSA:
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	default:
		err = fmt.Errorf("unknown algorithm %q", s.cfg.Algorithm)
	}
	if err != nil {
		return nil, fmt.Errorf("token: generating signing key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("token: encoding signing key: %w", err)
	}
	pub, err := x509.MarshalPKIXPublicKey(priv.Public())
	if err != nil {
		return nil, fmt.Errorf("token: encoding signing key: %w", err)
	}
	sk := &identity.SigningKey{ID: identity.NewID(), Algorithm: s.cfg.Algorithm, Public: pub, Created: s.cfg.Now()}
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
		if nk, ok := r.keys[id]; !ok || nk.until < k.until || !bytes.Equal(nk.pubDER, k.pubDER) {
			return true
		}
	}
	return false
}

// Rotate makes a new key, of the configured algorithm, the signing key and
// retires the others as of now. Retired keys keep verifying for
// MaxLifetime (plus leeway), so tokens they signed stay valid until they
// expire, whatever their algorithm. The new key is stored before the old
// ones are retired, so that the ring never lacks a signing key.
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

// JWKS returns the JSON Web Key Set of every key that still verifies, each
// with its alg, for /.well-known/jwks.json: relying parties that verify
// audian tokens themselves need retired keys too until their last token
// expires, and must know which algorithm each key is for.
func (s *Service) JWKS() []byte {
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{}}
	for _, k := range s.verifying() {
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: k.pub, KeyID: k.id, Algorithm: k.alg, Use: "sig"})
	}
	b, err := json.Marshal(set)
	if err != nil {
		// Marshalling a public key of a known kind cannot fail; an empty
		// set is the safe answer if it ever does.
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

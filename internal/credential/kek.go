package credential

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// KEKLen is the length of a key-encryption key in bytes.
const KEKLen = 32

// ParseKEK decodes a key-encryption key given as text: 64 hex digits, or
// standard or URL-safe base64 (padded or not) of exactly 32 bytes.
// Surrounding whitespace is ignored. Errors never repeat the input.
func ParseKEK(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if len(s) == 2*KEKLen {
		if b, err := hex.DecodeString(s); err == nil {
			return b, nil
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		if b, err := enc.Strict().DecodeString(s); err == nil && len(b) == KEKLen {
			return b, nil
		}
	}
	return nil, errors.New("credential: key-encryption key must be 32 bytes as base64 or 64 hex digits")
}

// LoadOrCreateKEK reads the key-encryption key from the file at path. When
// the file does not exist it creates one holding a random key (base64, mode
// 0600, in a directory created with mode 0700), which suits a single node;
// several nodes must be given the same key. An existing file readable by
// group or others is refused rather than used, because whoever reads it can
// decrypt the signing keys and account keys in the database.
func LoadOrCreateKEK(path string) ([]byte, error) {
	b, err := readKEKFile(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return b, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("credential: creating key-encryption key directory: %w", err)
	}
	var key [KEKLen]byte
	mustRead(key[:])
	// O_EXCL: when two processes start at once, one creates the file and
	// the other reads what the first wrote instead of overwriting it.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return readKEKFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("credential: creating key-encryption key: %w", err)
	}
	_, err = f.WriteString(base64.StdEncoding.EncodeToString(key[:]) + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(path)
		return nil, fmt.Errorf("credential: writing key-encryption key: %w", err)
	}
	return key[:], nil
}

func readKEKFile(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	// Windows has no Unix permission bits; its ACLs are the operator's job.
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("credential: key-encryption key file %s is accessible by group or others (mode %v); chmod 600 it", path, fi.Mode().Perm())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("credential: reading key-encryption key: %w", err)
	}
	b, err := ParseKEK(string(data))
	if err != nil {
		return nil, fmt.Errorf("%w (in %s)", err, path)
	}
	return b, nil
}

// Sealer encrypts and authenticates small secrets (signing keys, account
// API keys) under sub-keys derived from the key-encryption key, and makes
// keyed lookup hashes. It is safe for concurrent use.
//
// Each purpose has its own key, derived with HKDF-SHA256, so that a value
// produced for one purpose can never be mistaken for another and the KEK
// itself is never used directly.
type Sealer struct {
	aead      cipher.AEAD
	lookupKey []byte
}

// sealVersion is the first byte of every sealed value, so that a later
// format or key rotation can tell old ciphertexts apart.
const sealVersion = 1

// NewSealer returns a Sealer for the 32-byte key-encryption key kek.
func NewSealer(kek []byte) (*Sealer, error) {
	if len(kek) != KEKLen {
		return nil, fmt.Errorf("credential: key-encryption key is %d bytes, want %d", len(kek), KEKLen)
	}
	sealKey, err := hkdf.Key(sha256.New, kek, nil, "audian seal v1", 32)
	if err != nil {
		return nil, err
	}
	lookupKey, err := hkdf.Key(sha256.New, kek, nil, "audian lookup v1", 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(sealKey)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Sealer{aead: aead, lookupKey: lookupKey}, nil
}

// Seal encrypts plaintext with AES-256-GCM under a random nonce. The
// result is a version byte, the nonce and the ciphertext with its tag.
// associatedData (for example the row id) is authenticated but not stored:
// Open must be given the same, so a sealed value copied onto another row
// does not open.
func (s *Sealer) Seal(plaintext, associatedData []byte) ([]byte, error) {
	ns := s.aead.NonceSize()
	out := make([]byte, 1+ns, 1+ns+len(plaintext)+s.aead.Overhead())
	out[0] = sealVersion
	mustRead(out[1:])
	return s.aead.Seal(out, out[1:1+ns], plaintext, associatedData), nil
}

var errOpen = errors.New("credential: sealed value does not open (wrong key, associated data or corrupted)")

// Open decrypts what Seal returned for the same associatedData. It fails,
// without detail, for any other input.
func (s *Sealer) Open(ciphertext, associatedData []byte) ([]byte, error) {
	ns := s.aead.NonceSize()
	if len(ciphertext) < 1+ns+s.aead.Overhead() || ciphertext[0] != sealVersion {
		return nil, errOpen
	}
	pt, err := s.aead.Open(nil, ciphertext[1:1+ns], ciphertext[1+ns:], associatedData)
	if err != nil {
		return nil, errOpen
	}
	return pt, nil
}

// Lookup returns the hex HMAC-SHA256 of data under a key derived for
// purpose. It indexes values that must be found by equality but never
// stored, such as the md5 and sha1 login digests: without the KEK the
// database's lookup values cannot be tested against guesses.
func (s *Sealer) Lookup(purpose string, data []byte) string {
	// The purpose is bound into the key rather than the message, so that
	// no choice of data under one purpose collides with another purpose.
	key, err := hkdf.Expand(sha256.New, s.lookupKey, "audian lookup/"+purpose, 32)
	if err != nil {
		panic("credential: hkdf: " + err.Error()) // unreachable for 32 bytes
	}
	m := hmac.New(sha256.New, key)
	m.Write(data)
	return hex.EncodeToString(m.Sum(nil))
}

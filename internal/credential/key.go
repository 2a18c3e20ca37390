package credential

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"hash/crc32"
	"strings"
)

// NamedKeyPrefix starts every named API key, so that secret scanners and
// people recognise an audian key when one leaks into a repository or a
// ticket.
const NamedKeyPrefix = "audk_"

// Lengths of the parts of a named key.
const (
	namedKeyLen     = 64
	checksumLen     = 6 // 62^6 > 2^32, so any CRC32 fits
	namedKeyBodyLen = namedKeyLen - len(NamedKeyPrefix) - checksumLen
)

// PrefixLen is how many leading characters of a secret KeyPrefix keeps: for
// a named key the fixed prefix and four random characters, for an account
// key nine hex digits. It is enough for a person to tell keys apart and far
// too little to help guess one.
const PrefixLen = 9

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// NewAccountKey returns a Kazoo account API key: 64 lowercase hex digits
// (256 random bits), the shape Kazoo clients expect.
func NewAccountKey() string {
	var b [32]byte
	mustRead(b[:])
	return hex.EncodeToString(b[:])
}

// NewNamedKey returns a named API key: NamedKeyPrefix, random base62 and a
// six-character base62 CRC32 checksum of what precedes it, 64 characters in
// all. The checksum lets CheckNamedKey reject a mistyped or truncated key
// without a database lookup; it is not a security measure. The 53 random
// base62 characters carry about 315 bits of entropy.
func NewNamedKey() string {
	var b [namedKeyLen]byte
	n := copy(b[:], NamedKeyPrefix)
	randomBase62(b[n : n+namedKeyBodyLen])
	putChecksum(b[namedKeyLen-checksumLen:], b[:namedKeyLen-checksumLen])
	return string(b[:])
}

// CheckNamedKey reports whether s is well formed as a named API key: the
// right length, prefix and alphabet, and a matching checksum. It says
// nothing about whether the key exists.
func CheckNamedKey(s string) bool {
	if len(s) != namedKeyLen || !strings.HasPrefix(s, NamedKeyPrefix) {
		return false
	}
	for i := len(NamedKeyPrefix); i < len(s); i++ {
		if base62Index(s[i]) < 0 {
			return false
		}
	}
	var want [checksumLen]byte
	putChecksum(want[:], []byte(s[:namedKeyLen-checksumLen]))
	return string(want[:]) == s[namedKeyLen-checksumLen:]
}

// HashKey returns the SHA-256 of an API key secret, the only form of it the
// database holds. A fast hash is right here, unlike for passwords, because
// the secret is random and long: there is nothing to brute-force.
func HashKey(secret string) []byte {
	sum := sha256.Sum256([]byte(secret))
	return sum[:]
}

// KeyPrefix returns the first PrefixLen characters of secret (all of it when
// shorter), stored and shown so that a person can recognise a key.
func KeyPrefix(secret string) string {
	if len(secret) <= PrefixLen {
		return secret
	}
	return secret[:PrefixLen]
}

// NewPassword returns a generated password of 20 base62 characters (about
// 119 bits), for bootstrap and for resets chosen by the server.
func NewPassword() string {
	var b [20]byte
	randomBase62(b[:])
	return string(b[:])
}

// putChecksum writes the CRC32 of data into dst as fixed-width base62, most
// significant digit first.
func putChecksum(dst, data []byte) {
	v := crc32.ChecksumIEEE(data)
	for i := len(dst) - 1; i >= 0; i-- {
		dst[i] = base62[v%62]
		v /= 62
	}
}

// randomBase62 fills dst with uniformly random base62 characters. Bytes of
// 248 and above are discarded so that the modulo introduces no bias.
func randomBase62(dst []byte) {
	var buf [64]byte
	for i := 0; i < len(dst); {
		mustRead(buf[:])
		for _, c := range buf {
			if c >= 248 { // 248 = 4*62
				continue
			}
			dst[i] = base62[c%62]
			if i++; i == len(dst) {
				break
			}
		}
	}
}

func base62Index(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'A' && c <= 'Z':
		return int(c-'A') + 10
	case c >= 'a' && c <= 'z':
		return int(c-'a') + 36
	}
	return -1
}

// mustRead fills b from crypto/rand. Since Go 1.24 crypto/rand.Read never
// returns an error (it crashes the program instead), so a failure here is
// unreachable; the panic documents that a key must never be made from a
// partial read.
func mustRead(b []byte) {
	if _, err := rand.Read(b); err != nil {
		panic("credential: crypto/rand failed: " + err.Error())
	}
}

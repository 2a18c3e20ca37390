package token

import (
	"encoding/hex"
	"time"
)

// newJTI returns a UUIDv7 (RFC 9562) for now as 32 lowercase hex digits
// without dashes: 48 bits of Unix milliseconds, then version 7, variant
// 10 and 74 random bits. The leading timestamp is what revocation cutoffs
// are compared against, with millisecond rather than iat's second
// precision, so a token minted in the second after a password change is
// not refused with the old ones.
func newJTI(now time.Time) string {
	var u [16]byte
	ms := uint64(now.UnixMilli())
	for i := range 6 {
		u[i] = byte(ms >> (40 - 8*i))
	}
	mustRead(u[6:])
	u[6] = 0x70 | u[6]&0x0f
	u[8] = 0x80 | u[8]&0x3f
	return hex.EncodeToString(u[:])
}

// IssuedAtMillis returns the issue time in Unix milliseconds encoded in a
// jti made by this package, and false when jti is not a UUIDv7 written as
// 32 lowercase hex digits. It does not allocate, because Verify calls it
// for every token.
func IssuedAtMillis(jti string) (int64, bool) {
	if len(jti) != 32 || jti[12] != '7' {
		return 0, false
	}
	switch jti[16] {
	case '8', '9', 'a', 'b':
	default:
		return 0, false
	}
	var ms int64
	for i := range len(jti) {
		c := jti[i]
		var v byte
		switch {
		case c >= '0' && c <= '9':
			v = c - '0'
		case c >= 'a' && c <= 'f':
			v = c - 'a' + 10
		default:
			return 0, false
		}
		if i < 12 {
			ms = ms<<4 | int64(v)
		}
	}
	return ms, true
}

package credential

import (
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// PasswordHasher hashes passwords with argon2id. Its parameters apply to
// new hashes only: Verify reads the parameters from each stored hash, so
// raising them never locks anyone out.
type PasswordHasher struct {
	Memory  uint32 // KiB
	Time    uint32 // passes
	Threads uint8
}

// DefaultHasher uses the minimum argon2id parameters OWASP recommends
// (19 MiB, two passes, one lane): about 20 ms per hash on a server core,
// which bounds what a login flood costs.
var DefaultHasher = PasswordHasher{Memory: 19 * 1024, Time: 2, Threads: 1}

const (
	saltLen = 16
	hashLen = 32

	// Upper bounds on the parameters Verify accepts from a stored hash, so
	// that a corrupted or planted hash cannot make one login allocate
	// gigabytes or spin for minutes.
	maxMemory  = 1 << 20 // KiB: 1 GiB
	maxTime    = 64
	maxThreads = 64
	maxSaltLen = 64
	minOutLen  = 16
	maxOutLen  = 128
)

// phc is the parsed form of an argon2id PHC string.
type phc struct {
	memory, time uint32
	threads      uint8
	salt, hash   []byte
}

var b64 = base64.RawStdEncoding

// Hash returns password hashed under h with a fresh random salt, as a PHC
// string: $argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt>$<hash>, with
// unpadded standard base64 as the reference implementation writes it.
func (h PasswordHasher) Hash(password string) (string, error) {
	if err := h.validate(); err != nil {
		return "", err
	}
	salt := make([]byte, saltLen)
	mustRead(salt)
	sum := argon2.IDKey([]byte(password), salt, h.Time, h.Memory, h.Threads, hashLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, h.Memory, h.Time, h.Threads, b64.EncodeToString(salt), b64.EncodeToString(sum)), nil
}

// Verify reports whether password matches the PHC string phc. The hash is
// recomputed with the parameters phc names, not h's, and compared in
// constant time. Any malformed or out-of-bounds phc gives false.
func (h PasswordHasher) Verify(phc, password string) bool {
	p, err := parsePHC(phc)
	if err != nil {
		return false
	}
	sum := argon2.IDKey([]byte(password), p.salt, p.time, p.memory, p.threads, uint32(len(p.hash)))
	return subtle.ConstantTimeCompare(sum, p.hash) == 1
}

// burnSalt is the fixed salt Burn hashes with; its value does not matter.
var burnSalt = make([]byte, saltLen)

// Burn spends what a Verify against a hash made by h would, and discards
// the result. Login calls it when the user does not exist or has no
// password, so that the response time does not tell an attacker which
// usernames exist.
func (h PasswordHasher) Burn(password string) {
	if h.validate() != nil {
		return
	}
	sum := argon2.IDKey([]byte(password), burnSalt, h.Time, h.Memory, h.Threads, hashLen)
	subtle.ConstantTimeCompare(sum, burnSalt)
}

func (h PasswordHasher) validate() error {
	switch {
	case h.Time < 1 || h.Time > maxTime:
		return fmt.Errorf("credential: argon2id time %d outside 1..%d", h.Time, maxTime)
	case h.Threads < 1 || h.Threads > maxThreads:
		return fmt.Errorf("credential: argon2id threads %d outside 1..%d", h.Threads, maxThreads)
	case h.Memory < 8*uint32(h.Threads) || h.Memory > maxMemory:
		return fmt.Errorf("credential: argon2id memory %d KiB outside %d..%d", h.Memory, 8*uint32(h.Threads), maxMemory)
	}
	return nil
}

var errPHC = errors.New("credential: malformed argon2id hash")

// parsePHC parses and bounds-checks an argon2id PHC string. It accepts only
// what Hash writes (and what other argon2id libraries write with the same
// layout); anything else, including argon2i/argon2d and other versions, is
// an error.
func parsePHC(s string) (*phc, error) {
	// "", "argon2id", "v=19", "m=..,t=..,p=..", salt, hash
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != "v=19" {
		return nil, errPHC
	}
	var p phc
	params := strings.Split(parts[3], ",")
	if len(params) != 3 {
		return nil, errPHC
	}
	for i, name := range [3]string{"m", "t", "p"} {
		v, ok := strings.CutPrefix(params[i], name+"=")
		if !ok || v == "" || (len(v) > 1 && v[0] == '0') {
			return nil, errPHC
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return nil, errPHC
		}
		switch name {
		case "m":
			p.memory = uint32(n)
		case "t":
			p.time = uint32(n)
		case "p":
			if n > maxThreads {
				return nil, errPHC
			}
			p.threads = uint8(n)
		}
	}
	if (PasswordHasher{Memory: p.memory, Time: p.time, Threads: p.threads}).validate() != nil {
		return nil, errPHC
	}
	var err error
	if p.salt, err = b64.Strict().DecodeString(parts[4]); err != nil || len(p.salt) < 8 || len(p.salt) > maxSaltLen {
		return nil, errPHC
	}
	if p.hash, err = b64.Strict().DecodeString(parts[5]); err != nil || len(p.hash) < minOutLen || len(p.hash) > maxOutLen {
		return nil, errPHC
	}
	return &p, nil
}

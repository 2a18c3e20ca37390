package identity

import (
	"crypto/rand"
	"encoding/hex"
	"regexp"
	"time"
)

// Account is one tenant. Accounts form a tree through ParentID; Tree holds
// the ancestors' ids, root first, so that reachability is a slice scan and
// never a walk through storage.
type Account struct {
	ID       string
	ParentID string   // "" for a root account
	Tree     []string // ancestor ids, root first; excludes ID itself
	Name     string
	Realm    string
	Timezone string
	Language string
	Enabled  bool
	// System marks a "superduper admin" account that reaches every account.
	// Only bootstrap and an existing system admin can set it.
	System bool
	// Extra holds the public fields audian does not interpret (caller_id,
	// ui_restrictions, ...) exactly as the client wrote them.
	Extra map[string]any
	// TokensValidAfter refuses every token of this account issued at or
	// before it (disable, delete). Zero means no such cutoff.
	TokensValidAfter time.Time
	Revision         string
	Created          time.Time
	Modified         time.Time
}

// IsAncestorOf reports whether a is a strict ancestor of other.
func (a *Account) IsAncestorOf(other *Account) bool {
	for _, id := range other.Tree {
		if id == a.ID {
			return true
		}
	}
	return false
}

// ChildTree returns the Tree a child of a carries.
func (a *Account) ChildTree() []string {
	tree := make([]string, 0, len(a.Tree)+1)
	tree = append(tree, a.Tree...)
	return append(tree, a.ID)
}

var realmPattern = regexp.MustCompile(`^[.\w-]+$`)

// NewID returns a fresh 32-character lowercase hex identifier, the shape of
// every Kazoo document id.
func NewID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("identity: crypto/rand failed: " + err.Error())
	}
	return hex.EncodeToString(b[:])
}

// ValidID reports whether id has the shape of an account or user id. It
// runs on every request, so it is a loop rather than a regexp.
func ValidID(id string) bool {
	if len(id) != 32 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// NewRealm returns a generated realm under suffix for accounts created
// without one.
func NewRealm(suffix string) string {
	return NewID()[:6] + "." + suffix
}

// Validate checks the fields a client may write, following Kazoo's
// accounts.json. Uniqueness is the Store's job.
func (a *Account) Validate() error {
	v := Violations{}
	switch n := len([]rune(a.Name)); {
	case n == 0:
		v.Add("name", "required", Violation{Message: "Field is required but missing"})
	case n > 128:
		v.Add("name", "maxLength", Violation{Message: "String must not be more than 128 characters", Target: 128})
	}
	if a.Realm != "" {
		if len(a.Realm) < 4 {
			v.Add("realm", "minLength", Violation{Message: "String must be at least 4 characters", Target: 4})
		} else if len(a.Realm) > 253 {
			v.Add("realm", "maxLength", Violation{Message: "String must not be more than 253 characters", Target: 253})
		} else if !realmPattern.MatchString(a.Realm) {
			v.Add("realm", "pattern", Violation{Message: "Failed to match pattern '^[.\\w-]+$'", Target: `^[.\w-]+$`})
		}
	}
	if n := len([]rune(a.Timezone)); n > 0 && n < 5 {
		v.Add("timezone", "minLength", Violation{Message: "String must be at least 5 characters", Target: 5})
	} else if n > 32 {
		v.Add("timezone", "maxLength", Violation{Message: "String must not be more than 32 characters", Target: 32})
	}
	checkExtraTypes(v, a.Extra, accountExtraTypes)
	return v.Err()
}

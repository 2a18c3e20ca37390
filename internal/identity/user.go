package identity

import (
	"net/mail"
	"time"
)

// Roles a user can hold in its account (Kazoo's priv_level).
const (
	RoleAdmin = "admin"
	RoleUser  = "user"
)

// User is a person who can log in to one account.
type User struct {
	ID                    string
	AccountID             string
	Username              string // lower-case; "" when the user cannot log in
	Email                 string
	FirstName             string
	LastName              string
	PrivLevel             string // RoleAdmin or RoleUser
	Enabled               bool
	RequirePasswordUpdate bool
	PresenceID            string
	Timezone              string
	Language              string
	Extra                 map[string]any
	Credentials           Credentials
	// TokensValidAfter refuses the user's tokens issued at or before it: set
	// on a credential or role change, on disable and on delete.
	TokensValidAfter time.Time
	Revision         string
	Created          time.Time
	Modified         time.Time
}

// Credentials are the slow hashes a user logs in with. None of them is
// ever rendered. The lookup values are keyed hashes (the key is outside the
// database) that let user_auth find a user from a Kazoo md5/sha digest
// without storing the digest itself.
type Credentials struct {
	Password   string // argon2id PHC string of the password
	MD5Lookup  string // keyed hash of md5(lower(username):password)
	MD5Hash    string // argon2id of that md5 digest
	SHA1Lookup string
	SHA1Hash   string
}

// Empty reports whether the user has no way to log in.
func (c Credentials) Empty() bool { return c.Password == "" && c.MD5Hash == "" && c.SHA1Hash == "" }

// Validate checks the client-writable fields as Kazoo's users.json does.
// Username uniqueness is the Store's job (it returns ErrUsernameTaken).
func (u *User) Validate() error {
	v := Violations{}
	for _, f := range []struct{ name, value string }{{"first_name", u.FirstName}, {"last_name", u.LastName}} {
		switch n := len([]rune(f.value)); {
		case n == 0:
			v.Add(f.name, "required", Violation{Message: "Field is required but missing"})
		case n > 128:
			v.Add(f.name, "maxLength", Violation{Message: "String must not be more than 128 characters", Target: 128})
		}
	}
	if u.Username != "" {
		if len(u.Username) > 256 {
			v.Add("username", "maxLength", Violation{Message: "String must not be more than 256 characters", Target: 256})
		} else if !validUsername(u.Username) {
			v.Add("username", "pattern", Violation{Message: "Failed to match pattern '^([+@.\\w_-]+)$'", Target: `^([+@.\w_-]+)$`})
		}
	}
	if u.Email != "" {
		if a, err := mail.ParseAddress(u.Email); err != nil || a.Address != u.Email || len(u.Email) < 3 || len(u.Email) > 254 {
			v.Add("email", "format", Violation{Message: "Field is not in the correct format", Target: "email"})
		}
	}
	if u.PrivLevel != RoleAdmin && u.PrivLevel != RoleUser {
		v.Add("priv_level", "enum", Violation{Message: "Value not found in enumerated list of values", Target: []string{RoleAdmin, RoleUser}})
	}
	checkExtraTypes(v, u.Extra, userExtraTypes)
	return v.Err()
}

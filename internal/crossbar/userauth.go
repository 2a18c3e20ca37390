package crossbar

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/audian/audian/internal/identity"
	"github.com/audian/audian/internal/login"
)

// Credential methods of user_auth. methodPassword is audian's own: the
// client sent the password itself rather than a Kazoo digest of it.
const (
	methodMD5      = login.MethodMD5
	methodSHA      = login.MethodSHA
	methodPassword = "password"
)

// userAuthRequest is a parsed PUT /v2/user_auth body.
type userAuthRequest struct {
	method   string // methodMD5, methodSHA or methodPassword
	secret   string // the lower-case hex digest, or the password
	username string // methodPassword only
	where    accountHint
}

// accountHint is what a person types to say which account they belong to.
type accountHint struct {
	name, realm, phone string
}

var (
	loginRealmRE  = regexp.MustCompile(`^[.\w-]+$`)
	loginHexRE    = regexp.MustCompile(`^[0-9a-fA-F]+$`)
	fieldRequired = identity.Violation{Message: "Field is required but missing"}
)

// schemaString reads an optional string field of data with Kazoo's schema rules:
// a string of min..max characters. A violation is added to v when the
// field is present but of the wrong type or length.
func schemaString(data map[string]any, v identity.Violations, key string, min, max int) (string, bool) {
	raw, present := data[key]
	if !present || raw == nil {
		return "", false
	}
	s, ok := raw.(string)
	if !ok {
		v.Add(key, "type", identity.Violation{Message: "Value did not match type(s): string"})
		return "", false
	}
	switch n := utf8.RuneCountInString(s); {
	case n < min:
		v.Add(key, "minLength", identity.Violation{Message: "String must be at least " + strconv.Itoa(min) + " characters", Target: min})
		return "", false
	case n > max:
		v.Add(key, "maxLength", identity.Violation{Message: "String must not be more than " + strconv.Itoa(max) + " characters", Target: max})
		return "", false
	}
	return s, true
}

// parseAccountHint reads account_name, account_realm (or realm) and
// phone_number with the limits of Kazoo's user_auth schema.
func parseAccountHint(data map[string]any, v identity.Violations) accountHint {
	var h accountHint
	h.name, _ = schemaString(data, v, "account_name", 1, 128)
	realmKey := "account_realm"
	if _, ok := data[realmKey]; !ok {
		realmKey = "realm" // read by Kazoo's code, though not in its schema
	}
	if realm, ok := schemaString(data, v, realmKey, 4, 253); ok {
		if loginRealmRE.MatchString(realm) {
			h.realm = realm
		} else {
			v.Add(realmKey, "pattern", identity.Violation{Message: "Failed to match pattern '^[.\\w_-]+$'", Target: `^[.\w_-]+$`})
		}
	}
	h.phone, _ = schemaString(data, v, "phone_number", 1, 64)
	return h
}

// parseUserAuth validates a user_auth request as Kazoo's user_auth.json
// does: credentials (a digest) with an optional method, or, for clients
// that do not pre-hash, username and password.
func parseUserAuth(data map[string]any) (userAuthRequest, error) {
	v := identity.Violations{}
	req := userAuthRequest{where: parseAccountHint(data, v)}
	_, hasCreds := data["credentials"]
	_, hasUser := data["username"]
	_, hasPass := data["password"]
	if !hasCreds && hasUser && hasPass {
		req.method = methodPassword
		req.username, _ = schemaString(data, v, "username", 1, 256)
		req.secret, _ = schemaString(data, v, "password", 1, 1024)
		return req, v.Err()
	}
	creds, ok := schemaString(data, v, "credentials", 1, 64)
	switch {
	case !hasCreds || data["credentials"] == nil:
		v.Add("credentials", "required", fieldRequired)
	case ok && !loginHexRE.MatchString(creds):
		// Not in Kazoo's schema, where such a value simply never matches;
		// refusing it early costs no argon2id evaluation and reveals
		// nothing about any account.
		v.Add("credentials", "pattern", identity.Violation{Message: "Failed to match pattern '^[0-9a-fA-F]+$'", Target: "^[0-9a-fA-F]+$"})
	}
	req.secret = strings.ToLower(creds)
	req.method = methodMD5
	if m, present := data["method"]; present && m != nil {
		switch m {
		case methodMD5, methodSHA:
			req.method = m.(string)
		default:
			v.Add("method", "enum", identity.Violation{Message: "Value not found in enumerated list of values", Target: []string{methodMD5, methodSHA}})
		}
	}
	return req, v.Err()
}

// userAuth logs a user in with Kazoo's md5/sha digest of
// lower(username):password, or with the password itself (PUT
// /v2/user_auth): parse, the login door, a token, the reply.
func (a *API) userAuth(c *call) (*reply, error) {
	data, err := a.readData(c)
	if err != nil {
		return nil, err
	}
	req, err := parseUserAuth(data)
	if err != nil {
		return nil, err
	}
	at := a.attempt(c, "user_auth")
	var in login.UserLogin
	if req.method == methodPassword {
		in, err = a.door.Password(c.ctx, at, login.PasswordLogin{
			AccountName: req.where.name, Realm: req.where.realm, Phone: req.where.phone,
			Username: req.username, Password: req.secret,
		})
	} else {
		in, err = a.door.Digest(c.ctx, at, login.DigestLogin{
			Method: req.method, Digest: req.secret,
			AccountName: req.where.name, Realm: req.where.realm, Phone: req.where.phone,
		})
	}
	if err != nil {
		return nil, err
	}
	c.info.AccountID = in.Account.ID
	return a.userLogin(c, in.Account, in.User, http.StatusCreated)
}

// attempt describes the call to the login door.
func (a *API) attempt(c *call, face string) login.Attempt {
	return login.Attempt{ClientIP: c.info.ClientIP, UserAgent: c.r.UserAgent(), RequestID: c.info.ID, Face: face}
}

// userLogin issues a user token and answers with Kazoo's login data.
func (a *API) userLogin(c *call, acct *identity.Account, u *identity.User, status int) (*reply, error) {
	token, _, err := a.tokens.Issue(identity.Claims{
		AccountID: acct.ID,
		OwnerID:   u.ID,
		Method:    identity.MethodUserAuth,
		PrivLevel: u.PrivLevel,
	}, a.cfg.TokenLifetime)
	if err != nil {
		return nil, err
	}
	d := loginData(acct, u.ID)
	if u.Language != "" {
		// Kazoo's language is the user's, else the account's.
		d["language"] = u.Language
	}
	if u.RequirePasswordUpdate {
		// Monster UI asks for a new password when it sees this.
		d["require_password_update"] = true
	}
	return &reply{status: status, data: d, revision: "automatic", authToken: token}, nil
}

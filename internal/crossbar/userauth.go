package crossbar

import (
	"context"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/audian/audian/internal/identity"
)

// Credential methods of user_auth. methodPassword is audian's own: the
// client sent the password itself rather than a Kazoo digest of it.
const (
	methodMD5      = "md5"
	methodSHA      = "sha"
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
// /v2/user_auth).
func (a *API) userAuth(c *call) (*reply, error) {
	data, err := a.readData(c)
	if err != nil {
		return nil, err
	}
	req, err := parseUserAuth(data)
	if err != nil {
		return nil, err
	}
	ident := userAuthIdentity(req)
	if err := a.loginCheck(c, ident); err != nil {
		return nil, err
	}
	u, acct, err := a.checkLogin(c.ctx, req)
	if err != nil {
		a.userAuthFailed(c, ident, req, err)
		return nil, err
	}
	c.info.AccountID = acct.ID
	rep, err := a.userLogin(c, acct, u, http.StatusCreated)
	if err == nil {
		a.loginSucceeded(c, ident, identity.AuditEntry{Action: "user_auth", AccountID: acct.ID, ActorKind: identity.AuditActorUser, Actor: u.ID})
	}
	return rep, err
}

// checkLogin finds the user req names and checks its credentials. Every
// failure is the same identity.ErrUnauthorized, and every request
// evaluates argon2id exactly once whatever the outcome (a Verify against
// the user's hash, or a Burn when there is no user to verify), so that
// neither the reply nor its timing tells an unknown account or user from
// a wrong password, a disabled user or a disabled account. Disabled users
// and accounts are verified like any other and refused afterwards for the
// same reason.
//
// Only when account names are not unique, and several accounts of one
// name each hold a user that matches the lookup, is more than one hash
// verified: each candidate is tried, as Kazoo does, until one matches.
func (a *API) checkLogin(ctx context.Context, req userAuthRequest) (*identity.User, *identity.Account, error) {
	accounts, err := a.loginAccounts(ctx, req.where)
	if err != nil {
		return nil, nil, err
	}
	verified := false
	for _, acct := range accounts {
		u, phc, err := a.loginCandidate(ctx, acct.ID, req)
		if identity.ErrorCode(err) == identity.ENotFound || (err == nil && phc == "") {
			continue
		} else if err != nil {
			return nil, nil, err
		}
		verified = true
		if !a.hasher.Verify(phc, req.secret) {
			continue
		}
		if !u.Enabled {
			return nil, nil, identity.ErrUnauthorized
		}
		if ok, err := a.AccountUsable(ctx, acct); err != nil {
			return nil, nil, err
		} else if !ok {
			return nil, nil, identity.ErrUnauthorized
		}
		return u, acct, nil
	}
	if !verified {
		a.hasher.Burn(req.secret)
	}
	return nil, nil, identity.ErrUnauthorized
}

// loginAccounts resolves what the client said about its account as Kazoo's
// find_account does: the phone number first (audian has no numbers, so it
// never matches), then the realm, then the normalized name. Nothing found
// is an empty list, not an error.
func (a *API) loginAccounts(ctx context.Context, h accountHint) ([]*identity.Account, error) {
	if h.realm != "" {
		acct, err := a.store.AccountByRealm(ctx, h.realm)
		if err == nil {
			return []*identity.Account{acct}, nil
		}
		if identity.ErrorCode(err) != identity.ENotFound {
			return nil, err
		}
	}
	if h.name == "" {
		return nil, nil
	}
	return a.store.AccountsByName(ctx, h.name)
}

// loginCandidate returns the user of accountID that req's lookup finds,
// with the hash req.secret must match.
func (a *API) loginCandidate(ctx context.Context, accountID string, req userAuthRequest) (*identity.User, string, error) {
	if req.method == methodPassword {
		u, err := a.store.UserByUsername(ctx, accountID, req.username)
		if err != nil {
			return nil, "", err
		}
		return u, u.Credentials.Password, nil
	}
	u, err := a.store.UserByCredentialLookup(ctx, accountID, req.method, a.sealer.Lookup(req.method, []byte(req.secret)))
	if err != nil {
		return nil, "", err
	}
	if req.method == methodSHA {
		return u, u.Credentials.SHA1Hash, nil
	}
	return u, u.Credentials.MD5Hash, nil
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

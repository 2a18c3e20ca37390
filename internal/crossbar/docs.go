package crossbar

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"strings"
	"time"

	"github.com/audian/audian/internal/credential"
	"github.com/audian/audian/internal/identity"
	"github.com/audian/audian/internal/manage"
)

// gregorianOffset converts Unix seconds to Kazoo's Gregorian seconds.
const gregorianOffset = 62167219200

func gregorian(t time.Time) int64 { return t.Unix() + gregorianOffset }

// serverOwned are keys a client can never write through a document, in
// addition to anything starting with "_" or "pvt_": what audian computes
// and renders itself (id, times, the hierarchy, the system flag, Kazoo's
// reseller and billing fields), and credentials. Kazoo drops them
// silently (kz_doc:public_fields, kzd_accounts' removal of
// superduper_admin, billing_mode and wnm_allow_additions), and so does
// audian: stored as custom fields they would be echoed back and could be
// mistaken for the server's own.
var serverOwned = map[string]bool{
	"id": true, "created": true, "modified": true, "superduper_admin": true, "is_reseller": true,
	"reseller_id": true, "wnm_allow_additions": true, "billing_mode": true, "api_key": true,
	"descendants_count": true, "trial_time_left": true, "notification_preference": true,
	"credentials": true, "password_hash": true, "current_password": true,
	"system": true, "tree": true, "parent_id": true, "revision": true, "account_id": true,
}

// ancestorOwned are keys only a writer above the document may set: an
// ancestor account (or a system admin) for an account, an admin for a
// user. Others' writes keep the stored value, so that an account cannot
// flag itself and a plain user cannot change the flags its admin set.
var ancestorOwned = []string{"flags"}

// keepAncestorOwned restores, in the new extra fields, the ancestor-owned
// values of old (the document before the write).
func keepAncestorOwned(extra, old map[string]any) map[string]any {
	for _, k := range ancestorOwned {
		v, had := old[k]
		switch {
		case had:
			if extra == nil {
				extra = map[string]any{}
			}
			extra[k] = v
		case extra != nil:
			delete(extra, k)
		}
	}
	if len(extra) == 0 {
		return nil
	}
	return extra
}

func private(key string) bool {
	return serverOwned[key] || strings.HasPrefix(key, "_") || strings.HasPrefix(key, "pvt_")
}

// fields reads typed fields out of a client document, recording a
// violation for each value of the wrong type. Keys it reads are removed,
// so what is left is Extra.
type fields struct {
	doc map[string]any
	v   identity.Violations
}

func newFields(doc map[string]any) *fields {
	clean := make(map[string]any, len(doc))
	for k, val := range doc {
		if !private(k) {
			clean[k] = val
		}
	}
	return &fields{doc: clean, v: identity.Violations{}}
}

// str returns the string at key; ok is false when the key is absent.
func (f *fields) str(key string) (s string, ok bool) {
	val, present := f.doc[key]
	delete(f.doc, key)
	if !present || val == nil {
		return "", false
	}
	s, isStr := val.(string)
	if !isStr {
		f.v.Add(key, "type", identity.Violation{Message: "Value did not match type(s): string"})
		return "", false
	}
	return s, true
}

func (f *fields) boolean(key string) (b bool, ok bool) {
	val, present := f.doc[key]
	delete(f.doc, key)
	if !present || val == nil {
		return false, false
	}
	b, isBool := val.(bool)
	if !isBool {
		f.v.Add(key, "type", identity.Violation{Message: "Value did not match type(s): boolean"})
		return false, false
	}
	return b, true
}

func (f *fields) extra() map[string]any {
	if len(f.doc) == 0 {
		return nil
	}
	return f.doc
}

// merge applies a PATCH: objects merge recursively, null removes a key,
// anything else replaces (RFC 7386).
func merge(dst, patch map[string]any) map[string]any {
	if dst == nil {
		dst = map[string]any{}
	}
	for k, pv := range patch {
		if pv == nil {
			delete(dst, k)
			continue
		}
		if pm, ok := pv.(map[string]any); ok {
			if dm, ok := dst[k].(map[string]any); ok {
				dst[k] = merge(dm, pm)
				continue
			}
			dst[k] = merge(nil, pm)
			continue
		}
		dst[k] = pv
	}
	return dst
}

// copyDoc deep-copies a JSON document so that a merge cannot modify a
// cached value.
func copyDoc(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	b, err := json.Marshal(m)
	if err != nil {
		return map[string]any{}
	}
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	return out
}

// accountDoc is the writable part of an account as a client sees it,
// the base a PATCH merges into.
func accountDoc(a *identity.Account) map[string]any {
	doc := copyDoc(a.Extra)
	doc["name"] = a.Name
	doc["realm"] = a.Realm
	doc["enabled"] = a.Enabled
	if a.Timezone != "" {
		doc["timezone"] = a.Timezone
	}
	if a.Language != "" {
		doc["language"] = a.Language
	}
	return doc
}

// renderAccount is the account document of a reply.
func renderAccount(a *identity.Account) map[string]any {
	doc := accountDoc(a)
	doc["id"] = a.ID
	doc["created"] = gregorian(a.Created)
	doc["superduper_admin"] = a.System
	doc["is_reseller"] = false
	doc["wnm_allow_additions"] = false
	doc["billing_mode"] = "manual"
	if len(a.Tree) > 0 {
		doc["reseller_id"] = a.Tree[0]
	}
	return doc
}

// applyAccount writes a client document onto a. enabled is honoured only
// when mayEnable (the caller is an ancestor or a system admin), as Kazoo
// does: an account cannot re-enable itself.
func applyAccount(a *identity.Account, doc map[string]any, mayEnable bool, realmSuffix string, now time.Time) error {
	f := newFields(doc)
	name, _ := f.str("name")
	a.Name = strings.TrimSpace(name)
	if realm, ok := f.str("realm"); ok {
		a.Realm = strings.ReplaceAll(realm, " ", "")
	}
	if a.Realm == "" {
		a.Realm = identity.NewRealm(realmSuffix)
	}
	a.Timezone, _ = f.str("timezone")
	a.Language, _ = f.str("language")
	if enabled, ok := f.boolean("enabled"); ok && mayEnable {
		if a.Enabled && !enabled {
			a.TokensValidAfter = now
		}
		a.Enabled = enabled
	}
	old := a.Extra
	a.Extra = f.extra()
	if !mayEnable {
		a.Extra = keepAncestorOwned(a.Extra, old)
	}
	if err := f.v.Err(); err != nil {
		return err
	}
	return a.Validate()
}

// userDoc is the writable part of a user as a client sees it.
func userDoc(u *identity.User) map[string]any {
	doc := copyDoc(u.Extra)
	set := func(k, v string) {
		if v != "" {
			doc[k] = v
		}
	}
	set("username", u.Username)
	set("email", u.Email)
	doc["first_name"] = u.FirstName
	doc["last_name"] = u.LastName
	doc["priv_level"] = u.PrivLevel
	doc["enabled"] = u.Enabled
	doc["require_password_update"] = u.RequirePasswordUpdate
	set("presence_id", u.PresenceID)
	set("timezone", u.Timezone)
	set("language", u.Language)
	return doc
}

func renderUser(u *identity.User) map[string]any {
	doc := userDoc(u)
	doc["id"] = u.ID
	return doc
}

// renderUserItem is a user in a list: Kazoo's crossbar_listing fields,
// with first_name and last_name always strings (Monster UI sorts on them).
// Fields the user never set are left out, as Kazoo's view leaves them out,
// rather than sent as "".
func renderUserItem(u *identity.User) any {
	item := map[string]any{
		"id": u.ID, "first_name": u.FirstName, "last_name": u.LastName,
		"priv_level": u.PrivLevel, "enabled": u.Enabled,
	}
	for k, v := range map[string]string{"username": u.Username, "email": u.Email,
		"presence_id": u.PresenceID, "timezone": u.Timezone} {
		if v != "" {
			item[k] = v
		}
	}
	return item
}

// userChange is what applyUser learned about credentials.
type userChange struct {
	password    string // the new password, "" if unchanged
	usernameNew bool
	roleChanged bool
	enabledOff  bool
}

// applyUser writes a client document onto u, validating it; the
// ancestor-owned fields change only when the writer is an admin. It does not
// hash the password; the caller does, after authorization.
func applyUser(u *identity.User, doc map[string]any, minPassword int, admin bool) (userChange, error) {
	var ch userChange
	f := newFields(doc)
	if username, ok := f.str("username"); ok {
		username = identity.NormalizeUsername(username)
		ch.usernameNew = username != u.Username
		u.Username = username
	}
	u.FirstName, _ = f.str("first_name")
	u.LastName, _ = f.str("last_name")
	u.Email, _ = f.str("email")
	if role, ok := f.str("priv_level"); ok {
		ch.roleChanged = role != u.PrivLevel
		u.PrivLevel = role
	}
	if enabled, ok := f.boolean("enabled"); ok {
		ch.enabledOff = u.Enabled && !enabled
		u.Enabled = enabled
	}
	if rpu, ok := f.boolean("require_password_update"); ok {
		u.RequirePasswordUpdate = rpu
	}
	u.PresenceID, _ = f.str("presence_id")
	u.Timezone, _ = f.str("timezone")
	u.Language, _ = f.str("language")
	if pw, ok := f.str("password"); ok {
		if err := credential.CheckNewPassword(pw, minPassword, u.Username); err != nil {
			f.v.Add("password", err.Rule, passwordViolation(err))
		}
		ch.password = pw
	}
	old := u.Extra
	u.Extra = f.extra()
	if !admin {
		u.Extra = keepAncestorOwned(u.Extra, old)
	}
	if ch.usernameNew && u.Username != "" && ch.password == "" {
		f.v.Add("password", "required", identity.Violation{Message: "The password must be provided when creating / updating the user name"})
	}
	if err := f.v.Err(); err != nil {
		return ch, err
	}
	return ch, u.Validate()
}

// passwordViolation is the validation violation of a refused password.
func passwordViolation(err *credential.PasswordError) identity.Violation {
	v := identity.Violation{Message: err.Message}
	if err.Target > 0 {
		v.Target = err.Target
	}
	return v
}

// setPassword stores the hashes of a new password on u.
func (a *API) setPassword(u *identity.User, password string) error {
	creds, err := manage.HashCredentials(a.sealer, a.hasher, u.Username, password)
	if err != nil {
		return err
	}
	u.Credentials = creds
	return nil
}

// listRevision is the revision of a list reply: a digest of its items,
// as Kazoo's md5 of the body.
func listRevision(items any) string {
	b, _ := json.Marshal(items)
	sum := md5.Sum(b)
	return hex.EncodeToString(sum[:])
}

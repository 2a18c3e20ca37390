package crossbar

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"

	"github.com/audian/audian/internal/identity"
)

// errRestricted is the 403 of a request a token restriction denies.
var errRestricted = &identity.Error{Code: identity.EForbidden, Message: "access denied by token restrictions"}

// restrict is the last step of the pipeline: the token restrictions of the
// caller's account (Kazoo's cb_token_restrictions). System accounts are
// never restricted. The restrictions come from a per-account cache that
// change-feed events clear, so an unrestricted request costs one map
// lookup and no query.
func (a *API) restrict(c *call) error {
	p := c.p
	if p.System {
		return nil
	}
	rs, err := a.restrictions.get(c.ctx, p.AccountID)
	if err != nil || rs == nil {
		return err
	}
	q := restrictedRequest{
		Method:      p.Method,
		PrivLevel:   p.Role,
		Verb:        c.r.Method,
		AuthAccount: p.AccountID,
		Account:     p.AccountID,
	}
	if c.target != nil {
		q.Account = c.target.acct.ID
		q.Descendant = q.Account != p.AccountID && p.Reaches(c.target.acct)
	}
	q.Endpoint, q.Args = nounOf(c.r.Pattern, c.r.PathValue)
	if !rs.allows(q) {
		return errRestricted
	}
	return nil
}

// subresources are path words that Kazoo's modules treat as arguments of
// the noun before them rather than as endpoints of their own
// (/accounts/{id}/children is accounts with arguments [id, children]).
var subresources = map[string]bool{
	"children": true, "descendants": true, "parents": true, "siblings": true, "tree": true,
	"api_key": true, "move": true, "reseller": true, "vcard": true, "photo": true, "rotate": true,
}

// nounOf splits a route pattern as Kazoo splits a path into nouns and
// returns the last noun with its arguments, path values filled in. A word
// is a noun when it is the first after /v2, or follows a path value and
// is not a subresource; a word that follows another word is an argument
// (/auth/keys/{kid} is auth with [keys, kid]).
func nounOf(pattern string, value func(string) string) (endpoint string, args []string) {
	if i := strings.IndexByte(pattern, '/'); i > 0 {
		pattern = pattern[i:] // "GET /v2/..." when routes carry their method
	}
	words := strings.Split(strings.Trim(strings.TrimPrefix(pattern, "/v2"), "/"), "/")
	last := 0
	for i := 1; i < len(words); i++ {
		w := words[i]
		if !isParam(w) && isParam(words[i-1]) && !subresources[w] {
			last = i
		}
	}
	endpoint = words[last]
	for _, w := range words[last+1:] {
		if isParam(w) {
			w = value(strings.Trim(w, "{}."))
		}
		args = append(args, w)
	}
	return endpoint, args
}

func isParam(w string) bool { return strings.HasPrefix(w, "{") }

// newRestrictionCache keeps every account's parsed restrictions, nil for
// the (usual) account without any.
func newRestrictionCache(s identity.TokenRestrictionStore, max int) *feedCache[restrictions] {
	return newFeedCache(max, func(ctx context.Context, accountID string) (restrictions, error) {
		doc, err := s.TokenRestrictions(ctx, accountID)
		if err != nil || doc == nil {
			return nil, err
		}
		var rs restrictions
		if err := json.Unmarshal(doc, &rs); err != nil {
			return nil, err
		}
		if rs == nil {
			rs = restrictions{}
		}
		return rs, nil
	})
}

// getRestrictions serves GET /v2/accounts/{id}/token_restrictions. An
// account without restrictions answers an empty document rather than 404,
// so that a client can always read, edit and post back.
func (a *API) getRestrictions(c *call) (*reply, error) {
	doc, err := a.store.TokenRestrictions(c.ctx, c.target.acct.ID)
	if err != nil {
		return nil, err
	}
	if doc == nil {
		doc = []byte(`{}`)
	}
	return &reply{data: rawJSON(`{"restrictions":` + string(doc) + `}`), revision: listRevision(string(doc))}, nil
}

// setRestrictions serves POST: {"data":{"restrictions":{...}}} replaces the
// account's restrictions.
func (a *API) setRestrictions(c *call) (*reply, error) {
	if err := mayRestrict(c); err != nil {
		return nil, err
	}
	body, err := a.readBody(c)
	if err != nil {
		return nil, err
	}
	var env struct {
		Data json.RawMessage `json:"data"`
	}
	var data struct {
		Restrictions json.RawMessage `json:"restrictions"`
	}
	if json.Unmarshal(body, &env) != nil {
		return nil, identity.Invalid("json", "invalid", "request body is not a valid JSON object")
	}
	if len(env.Data) > 0 && json.Unmarshal(env.Data, &data) != nil {
		return nil, identity.Invalid("data", "type", "Value did not match type(s): object")
	}
	raw := data.Restrictions
	if len(raw) == 0 || string(raw) == "null" {
		raw = json.RawMessage(`{}`)
	}
	var generic any
	if err := json.Unmarshal(raw, &generic); err != nil {
		return nil, identity.Invalid("restrictions", "type", "Value did not match type(s): object")
	}
	v := identity.Violations{}
	validateRestrictions(generic, v)
	if err := v.Err(); err != nil {
		return nil, err
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, raw); err != nil {
		return nil, err
	}
	var check restrictions
	if err := json.Unmarshal(compact.Bytes(), &check); err != nil {
		return nil, identity.Invalid("restrictions", "type", "Value did not match type(s): object")
	}
	if err := a.store.SetTokenRestrictions(c.ctx, c.target.acct.ID, compact.Bytes()); err != nil {
		return nil, err
	}
	if err := a.sync(c.ctx); err != nil {
		return nil, err
	}
	return a.getRestrictions(c)
}

// deleteRestrictions serves DELETE: the account's tokens are unrestricted
// again.
func (a *API) deleteRestrictions(c *call) (*reply, error) {
	if err := mayRestrict(c); err != nil {
		return nil, err
	}
	if err := a.store.SetTokenRestrictions(c.ctx, c.target.acct.ID, nil); err != nil {
		return nil, err
	}
	if err := a.sync(c.ctx); err != nil {
		return nil, err
	}
	return &reply{data: map[string]any{"restrictions": map[string]any{}}}, nil
}

// mayRestrict refuses a change of an account's own restrictions: they bind
// its tokens, so only an ancestor (or a system account) may set or lift
// them, as only an ancestor may disable an account.
func mayRestrict(c *call) error {
	if !c.p.System && c.target.acct.ID == c.p.AccountID {
		return &identity.Error{Code: identity.EForbidden, Message: "an account cannot change its own token restrictions"}
	}
	return nil
}

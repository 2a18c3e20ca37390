package crossbar

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/audian/audian/internal/identity"
)

// rawJSON is pre-rendered JSON placed in an envelope as is.
type rawJSON []byte

func (r rawJSON) MarshalJSON() ([]byte, error) { return r, nil }

// getAccount serves the hot path: the account comes from the cache with
// its document already rendered.
func (a *API) getAccount(c *call) (*reply, error) {
	t := c.target
	t.once.Do(func() {
		t.json, _ = json.Marshal(renderAccount(t.acct))
		t.etag = etag(t.acct.Revision)
	})
	return &reply{data: rawJSON(t.json), revision: t.acct.Revision, etag: t.etag}, nil
}

// mayEnable reports whether the caller may set enabled on acct: only an
// ancestor or a system admin, so an account cannot re-enable itself.
func mayEnable(p *identity.Principal, acct *identity.Account) bool {
	return p.System || acct.ID != p.AccountID
}

// createChild creates a child of the path account (PUT /v2/accounts/{id}).
func (a *API) createChild(c *call) (*reply, error) {
	doc, err := a.readData(c)
	if err != nil {
		return nil, err
	}
	parent := c.target.acct
	child := &identity.Account{
		ID:       identity.NewID(),
		ParentID: parent.ID,
		Tree:     parent.ChildTree(),
		Enabled:  true,
	}
	if err := applyAccount(child, doc, true, a.cfg.RealmSuffix, c.now); err != nil {
		return nil, err
	}
	if err := a.store.CreateAccount(c.ctx, child); err != nil {
		return nil, err
	}
	return &reply{
		status:   http.StatusCreated,
		data:     renderAccount(child),
		revision: child.Revision,
		location: "/v2/accounts/" + child.ID,
	}, nil
}

func (a *API) replaceAccount(c *call) (*reply, error) {
	doc, err := a.readData(c)
	if err != nil {
		return nil, err
	}
	return a.updateAccount(c, func(*identity.Account) map[string]any { return doc })
}

func (a *API) patchAccount(c *call) (*reply, error) {
	patch, err := a.readData(c)
	if err != nil {
		return nil, err
	}
	return a.updateAccount(c, func(cur *identity.Account) map[string]any {
		return merge(accountDoc(cur), patch)
	})
}

// updateAccount is POST and PATCH: build the new document from the
// current account, honour If-Match, validate, store.
func (a *API) updateAccount(c *call, build func(*identity.Account) map[string]any) (*reply, error) {
	ifMatch := ifMatch(c.r)
	updated, err := a.store.UpdateAccount(c.ctx, c.target.acct.ID, func(acct *identity.Account) error {
		if ifMatch != "" && ifMatch != acct.Revision {
			return identity.ErrConflict
		}
		return applyAccount(acct, build(acct), mayEnable(c.p, acct), a.cfg.RealmSuffix, c.now)
	})
	if err != nil {
		return nil, err
	}
	if err := a.sync(c.ctx); err != nil {
		return nil, err
	}
	return &reply{data: renderAccount(updated), revision: updated.Revision}, nil
}

func (a *API) deleteAccount(c *call) (*reply, error) {
	acct := c.target.acct
	if acct.ID == c.p.AccountID {
		return nil, &identity.Error{Code: identity.EForbidden, Message: "an account cannot delete itself"}
	}
	if err := a.store.DeleteAccount(c.ctx, acct.ID); err != nil {
		return nil, err
	}
	if err := a.sync(c.ctx); err != nil {
		return nil, err
	}
	doc := renderAccount(acct)
	doc["_read_only"] = map[string]any{"deleted": true}
	return &reply{data: doc, revision: acct.Revision}, nil
}

// etag is the ETag header of a document at revision.
func etag(revision string) string {
	if revision == "" {
		return ""
	}
	return strconv.Quote(revision)
}

// ifMatch returns the revision of an If-Match header, unquoted.
func ifMatch(r *http.Request) string {
	v := r.Header.Get("If-Match")
	if v == "" || v == "*" {
		return ""
	}
	if s, err := strconv.Unquote(v); err == nil {
		return s
	}
	return v
}

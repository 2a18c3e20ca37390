package crossbar

import (
	"time"

	"github.com/audian/audian/internal/identity"
)

// createOwnChild serves PUT /v2/accounts: a child of the caller's own
// account, as Kazoo does.
func (a *API) createOwnChild(c *call) (*reply, error) {
	own, err := a.accounts.get(c.ctx, c.p.AccountID)
	if err != nil {
		return nil, err
	}
	c.target = own
	return a.createChild(c)
}

// visibleTree returns tree (root-first ancestor ids) without the ancestors
// above the caller's account: a caller never learns the ids of accounts it
// cannot reach. System callers see the whole tree.
func visibleTree(p *identity.Principal, tree []string) []string {
	if p.System {
		return tree
	}
	for i, id := range tree {
		if id == p.AccountID {
			return tree[i:]
		}
	}
	return []string{}
}

// flagsOf is the account's flags array, [] when it has none.
func flagsOf(acct *identity.Account) []any {
	if f, ok := acct.Extra["flags"].([]any); ok {
		return f
	}
	return []any{}
}

// accountFilterDoc is what list filters look into for an account.
func accountFilterDoc(acct *identity.Account) (map[string]any, time.Time) {
	return renderAccount(acct), acct.Created
}

// children serves GET /v2/accounts/{id}/children: Kazoo's
// listing_by_children items {id, name, realm, descendants_count, flags}.
func (a *API) children(c *call) (*reply, error) {
	return a.childList(c, c.target.acct.ID)
}

// siblings serves GET /v2/accounts/{id}/siblings: the children of the
// account's parent, itself included, when the caller reaches that parent.
// A root account has no siblings.
func (a *API) siblings(c *call) (*reply, error) {
	acct := c.target.acct
	if acct.ParentID == "" {
		return a.childList(c, "")
	}
	parent, err := a.accounts.get(c.ctx, acct.ParentID)
	if err != nil {
		return nil, err
	}
	if !c.p.Reaches(parent.acct) {
		return nil, &identity.Error{Code: identity.EForbidden, Message: "the account's parent is outside the caller's reach"}
	}
	return a.childList(c, acct.ParentID)
}

func (a *API) childList(c *call, parentID string) (*reply, error) {
	counts := map[string]int{}
	fetch := func(p identity.Page) ([]*identity.Account, string, error) {
		if parentID == "" {
			return nil, "", nil
		}
		// One query per page counts every child's subtree from an index,
		// up to maxUnpaginated, as paginate=false would list it.
		items, next, err := a.store.ChildrenCounted(c.ctx, parentID, p, maxUnpaginated)
		if err != nil {
			return nil, "", err
		}
		accts := make([]*identity.Account, len(items))
		for i, it := range items {
			accts[i] = it.Account
			counts[it.Account.ID] = it.Descendants
		}
		return accts, next, nil
	}
	return listFiltered(c, fetch, func(acct *identity.Account) any {
		return map[string]any{
			"id": acct.ID, "name": acct.Name, "realm": acct.Realm,
			"descendants_count": counts[acct.ID], "flags": flagsOf(acct),
		}
	}, accountFilterDoc)
}

// descendants serves GET /v2/accounts/{id}/descendants: every account
// below, at any depth, as {id, name, realm, tree, flags}.
func (a *API) descendants(c *call) (*reply, error) {
	id := c.target.acct.ID
	return listFiltered(c, func(p identity.Page) ([]*identity.Account, string, error) {
		return a.store.Descendants(c.ctx, id, p)
	}, func(acct *identity.Account) any {
		return map[string]any{
			"id": acct.ID, "name": acct.Name, "realm": acct.Realm,
			"tree": visibleTree(c.p, acct.Tree), "flags": flagsOf(acct),
		}
	}, accountFilterDoc)
}

// parents serves GET /v2/accounts/{id}/parents: [{id, name}] from the
// caller's account (the root, for a system caller) down to the account's
// parent. It is empty for the caller's own account: nothing above the
// caller is ever listed.
func (a *API) parents(c *call) (*reply, error) {
	return a.ancestorList(c)
}

// tree serves GET /v2/accounts/{id}/tree: Kazoo's pvt_tree as [{id, name}],
// truncated at the caller's account, the same chain as parents.
func (a *API) tree(c *call) (*reply, error) {
	return a.ancestorList(c)
}

func (a *API) ancestorList(c *call) (*reply, error) {
	ids := c.target.acct.Tree
	if c.target.acct.ID == c.p.AccountID && !c.p.System {
		ids = nil
	} else {
		ids = visibleTree(c.p, ids)
	}
	chain := make([]*identity.Account, 0, len(ids))
	for _, id := range ids {
		anc, err := a.accounts.get(c.ctx, id)
		if err != nil {
			return nil, err
		}
		chain = append(chain, anc.acct)
	}
	return listFiltered(c, sliceFetch(chain, func(acct *identity.Account) string { return acct.ID }),
		func(acct *identity.Account) any {
			return map[string]any{"id": acct.ID, "name": acct.Name}
		}, accountFilterDoc)
}

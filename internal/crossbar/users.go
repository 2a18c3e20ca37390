package crossbar

import (
	"net/http"
	"time"

	"github.com/audian/audian/internal/identity"
)

func (a *API) listUsers(c *call) (*reply, error) {
	id := c.target.acct.ID
	return listFiltered(c, func(p identity.Page) ([]*identity.User, string, error) {
		return a.store.Users(c.ctx, id, p)
	}, renderUserItem, func(u *identity.User) (map[string]any, time.Time) { return renderUser(u), u.Created })
}

func (a *API) createUser(c *call) (*reply, error) {
	doc, err := a.readData(c)
	if err != nil {
		return nil, err
	}
	u := &identity.User{
		ID:        identity.NewID(),
		AccountID: c.target.acct.ID,
		PrivLevel: identity.RoleUser,
		Enabled:   true,
	}
	ch, err := applyUser(u, doc, a.cfg.PasswordMinLength, true)
	if err != nil {
		return nil, err
	}
	if ch.password != "" {
		if err := a.setPassword(u, ch.password); err != nil {
			return nil, err
		}
	}
	if err := a.store.CreateUser(c.ctx, u); err != nil {
		return nil, err
	}
	return &reply{
		status:   http.StatusCreated,
		data:     renderUser(u),
		revision: u.Revision,
		location: "/v2/accounts/" + u.AccountID + "/users/" + u.ID,
	}, nil
}

func (a *API) getUser(c *call) (*reply, error) {
	u, err := a.store.User(c.ctx, c.target.acct.ID, c.r.PathValue("user_id"))
	if err != nil {
		return nil, err
	}
	return &reply{data: renderUser(u), revision: u.Revision, etag: etag(u.Revision)}, nil
}

func (a *API) replaceUser(c *call) (*reply, error) {
	doc, err := a.readData(c)
	if err != nil {
		return nil, err
	}
	return a.updateUser(c, func(*identity.User) map[string]any { return doc })
}

func (a *API) patchUser(c *call) (*reply, error) {
	patch, err := a.readData(c)
	if err != nil {
		return nil, err
	}
	return a.updateUser(c, func(cur *identity.User) map[string]any {
		return merge(userDoc(cur), patch)
	})
}

// updateUser is POST and PATCH on a user. A plain user editing itself may
// not change its role or enabled flag. A change of credentials, role or
// enabled ends the user's tokens on every node.
func (a *API) updateUser(c *call, build func(*identity.User) map[string]any) (*reply, error) {
	ifMatch := ifMatch(c.r)
	admin := c.p.Role == identity.RoleAdmin
	updated, err := a.store.UpdateUser(c.ctx, c.target.acct.ID, c.r.PathValue("user_id"), func(u *identity.User) error {
		if ifMatch != "" && ifMatch != u.Revision {
			return identity.ErrConflict
		}
		wasEnabled := u.Enabled
		ch, err := applyUser(u, build(u), a.cfg.PasswordMinLength, admin)
		if err != nil {
			return err
		}
		if !admin && (ch.roleChanged || u.Enabled != wasEnabled) {
			return identity.ErrRoleForbidden
		}
		if ch.password != "" {
			if err := a.setPassword(u, ch.password); err != nil {
				return err
			}
		}
		if ch.password != "" || ch.usernameNew || ch.roleChanged || ch.enabledOff {
			u.TokensValidAfter = c.now
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := a.sync(c.ctx); err != nil {
		return nil, err
	}
	return &reply{data: renderUser(updated), revision: updated.Revision}, nil
}

func (a *API) deleteUser(c *call) (*reply, error) {
	accountID, id := c.target.acct.ID, c.r.PathValue("user_id")
	u, err := a.store.User(c.ctx, accountID, id)
	if err != nil {
		return nil, err
	}
	if err := a.store.DeleteUser(c.ctx, accountID, id); err != nil {
		return nil, err
	}
	if err := a.sync(c.ctx); err != nil {
		return nil, err
	}
	doc := renderUser(u)
	doc["_read_only"] = map[string]any{"deleted": true}
	return &reply{data: doc, revision: u.Revision}, nil
}

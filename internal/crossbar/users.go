package crossbar

import (
	"crypto/md5"
	"encoding/hex"
	"net/http"
	"time"

	"github.com/audian/audian/internal/credential"
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
		before := *u
		doc := build(u)
		ch, err := applyUser(u, doc, a.cfg.PasswordMinLength, admin)
		if err != nil {
			return err
		}
		if ch.password != "" && c.p.UserID == u.ID {
			// Whoever holds a user's token must not be able to take the
			// account over by choosing a new password: changing one's own
			// password takes the current one. An admin resetting another
			// user's password needs none.
			current, _ := doc["current_password"].(string)
			if !a.knowsPassword(&before, current) {
				return errCurrentPassword
			}
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

// errCurrentPassword refuses a change of one's own password without the
// right current one.
var errCurrentPassword = identity.Invalid("current_password", "invalid",
	"The current password is required to change your own password, and must be right")

// knowsPassword reports whether password is u's current password, by any
// credential u has: the password hash, else the Kazoo md5 digest hash a
// user imported with credentials only has. It costs one argon2id
// evaluation whatever the outcome.
func (a *API) knowsPassword(u *identity.User, password string) bool {
	switch {
	case password == "" || len(password) > 4*credential.MaxPasswordLength:
		a.hasher.Burn(password)
		return false
	case u.Credentials.Password != "":
		return a.hasher.Verify(u.Credentials.Password, password)
	case u.Credentials.MD5Hash != "":
		sum := md5.Sum([]byte(u.Username + ":" + password))
		return a.hasher.Verify(u.Credentials.MD5Hash, hex.EncodeToString(sum[:]))
	}
	a.hasher.Burn(password)
	return false
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

package crossbar

import (
	"net/http"

	"github.com/audian/audian/internal/identity"
	"github.com/audian/audian/internal/manage"
)

// getAccountKey reads back the account's Kazoo API key, creating one on
// first use (Kazoo creates it with the account).
func (a *API) getAccountKey(c *call) (*reply, error) {
	acct := c.target.acct
	k, err := a.store.AccountKey(c.ctx, acct.ID)
	if identity.ErrorCode(err) == identity.ENotFound {
		c.ctx = identity.WithAudit(c.ctx, auditEntry(c, auditAction(c.r)))
		secret, err := a.replaceAccountKey(c)
		if err != nil {
			return nil, err
		}
		return &reply{data: map[string]string{"api_key": secret}, secret: true}, nil
	} else if err != nil {
		return nil, err
	}
	secret, err := a.sealer.Open(k.Sealed, []byte(k.ID))
	if err != nil {
		return nil, err
	}
	return &reply{data: map[string]string{"api_key": string(secret)}, secret: true}, nil
}

// newAccountKey replaces the account key (PUT /v2/accounts/{id}/api_key).
// The old key stops working at once, and so do the tokens it minted.
func (a *API) newAccountKey(c *call) (*reply, error) {
	secret, err := a.replaceAccountKey(c)
	if err != nil {
		return nil, err
	}
	return &reply{status: http.StatusCreated, data: map[string]string{"api_key": secret}, secret: true}, nil
}

func (a *API) replaceAccountKey(c *call) (string, error) {
	k, secret, err := manage.NewAccountKey(a.sealer, c.target.acct.ID, c.p.UserID)
	if err != nil {
		return "", err
	}
	if err := a.store.ReplaceAccountKey(c.ctx, k); err != nil {
		return "", err
	}
	return secret, a.sync(c.ctx)
}

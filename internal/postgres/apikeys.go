package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/audian/audian/internal/identity"
)

const apiKeyCols = `id, account_id, kind, name, prefix, hash, sealed, scopes, allowed_cidrs, created_by,
	created, expires_at, revoked_at, last_used_at, last_used_ip, revision`

func scanAPIKey(row pgx.Row) (*identity.APIKey, error) {
	var k identity.APIKey
	var scopes, cidrs []byte
	var expires, revoked, used *time.Time
	if err := row.Scan(&k.ID, &k.AccountID, &k.Kind, &k.Name, &k.Prefix, &k.Hash, &k.Sealed, &scopes, &cidrs,
		&k.CreatedBy, &k.Created, &expires, &revoked, &used, &k.LastUsedIP, &k.Revision); err != nil {
		return nil, err
	}
	if err := unmarshalJSON(scopes, &k.Scopes); err != nil {
		return nil, err
	}
	if err := unmarshalJSON(cidrs, &k.AllowedCIDRs); err != nil {
		return nil, err
	}
	k.Created = normTime(k.Created)
	k.ExpiresAt, k.RevokedAt, k.LastUsedAt = fromNull(expires), fromNull(revoked), fromNull(used)
	return &k, nil
}

// normAPIKey brings the times a caller may set into stored form.
func normAPIKey(k *identity.APIKey) {
	k.ExpiresAt, k.RevokedAt, k.LastUsedAt = normTime(k.ExpiresAt), normTime(k.RevokedAt), normTime(k.LastUsedAt)
}

// prepareAPIKey readies a new key for insertion at now.
func prepareAPIKey(k *identity.APIKey, now time.Time) {
	if k.ID == "" {
		k.ID = identity.NewID()
	}
	normAPIKey(k)
	k.Revision, k.Created = nextRevision(""), now
}

func insertAPIKey(ctx context.Context, tx pgx.Tx, k *identity.APIKey) error {
	scopes, err := jsonOrNull(k.Scopes, k.Scopes == nil)
	if err != nil {
		return err
	}
	cidrs, err := jsonOrNull(k.AllowedCIDRs, k.AllowedCIDRs == nil)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `INSERT INTO api_keys (id, account_id, kind, name, prefix, hash, sealed, scopes,
		allowed_cidrs, created_by, created, expires_at, revoked_at, last_used_at, last_used_ip, revision)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`,
		k.ID, k.AccountID, k.Kind, k.Name, k.Prefix, k.Hash, k.Sealed, scopes,
		cidrs, k.CreatedBy, k.Created, nullTime(k.ExpiresAt), nullTime(k.RevokedAt), nullTime(k.LastUsedAt), k.LastUsedIP, k.Revision)
	return err
}

// CreateAPIKey stores k. A hash already stored, or a second unrevoked
// account key, is ErrConflict; a missing account is ErrNotFound.
func (db *DB) CreateAPIKey(ctx context.Context, k *identity.APIKey) (err error) {
	defer wrap(&err, "postgres: create api key")
	c := *k
	prepareAPIKey(&c, db.clock())
	err = pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		if err := insertAPIKey(ctx, tx, &c); err != nil {
			return err
		}
		return db.appendEvents(ctx, tx, identity.Event{Kind: identity.EventAPIKey, ID: c.ID})
	})
	if err != nil {
		return err
	}
	*k = c
	return nil
}

// APIKeyByHash finds a key by the SHA-256 of its secret, live or not.
func (db *DB) APIKeyByHash(ctx context.Context, hash []byte) (_ *identity.APIKey, err error) {
	defer wrap(&err, "postgres: api key by hash")
	if len(hash) == 0 {
		return nil, identity.ErrNotFound
	}
	return scanAPIKey(db.pool.QueryRow(ctx, qAPIKeyByHash, hash))
}

// APIKey returns the key id of account accountID, live or not.
func (db *DB) APIKey(ctx context.Context, accountID, id string) (_ *identity.APIKey, err error) {
	defer wrap(&err, "postgres: api key %q in account %q", id, accountID)
	return scanAPIKey(db.pool.QueryRow(ctx, qAPIKey, accountID, id))
}

// liveAccountKey selects the account's current account key: never
// revoked, even at a future instant (an account key is replaced at once,
// so a scheduled revocation means it has been superseded), and not expired
// at $2.
const liveAccountKey = `account_id = $1 AND kind = 'account' AND revoked_at IS NULL
	AND (expires_at IS NULL OR expires_at > $2)`

// The key queries of hot paths; plans_test.go checks that each is served
// by an index, with custom and generic plans alike.
const (
	qAPIKeyByHash = `SELECT ` + apiKeyCols + ` FROM api_keys WHERE hash = $1`
	qAPIKey       = `SELECT ` + apiKeyCols + ` FROM api_keys WHERE account_id = $1 AND id = $2`
	qAccountKey   = `SELECT ` + apiKeyCols + ` FROM api_keys WHERE ` + liveAccountKey + ` ORDER BY created DESC, id DESC LIMIT 1`
	qAPIKeys      = `SELECT ` + apiKeyCols + ` FROM api_keys WHERE account_id = $1 AND id > $2 ORDER BY id LIMIT $3`
)

// AccountKey returns the account's live KeyKindAccount key.
func (db *DB) AccountKey(ctx context.Context, accountID string) (_ *identity.APIKey, err error) {
	defer wrap(&err, "postgres: account key of %q", accountID)
	return scanAPIKey(db.pool.QueryRow(ctx, qAccountKey, accountID, db.clock()))
}

// ReplaceAccountKey revokes the account's unrevoked account key as of now
// and stores k as the new one. The account row is locked first so that two
// concurrent replacements queue instead of failing on the index that allows
// one unrevoked account key per account.
func (db *DB) ReplaceAccountKey(ctx context.Context, k *identity.APIKey) (err error) {
	defer wrap(&err, "postgres: replace account key of %q", k.AccountID)
	now := db.clock()
	c := *k
	c.Kind = identity.KeyKindAccount
	prepareAPIKey(&c, now)
	err = pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT 1 FROM accounts WHERE id = $1 FOR NO KEY UPDATE`, c.AccountID); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT id, revision FROM api_keys
			WHERE account_id = $1 AND kind = 'account' AND revoked_at IS NULL FOR UPDATE`, c.AccountID)
		if err != nil {
			return err
		}
		type idRev struct{ id, rev string }
		live, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (idRev, error) {
			var r idRev
			return r, row.Scan(&r.id, &r.rev)
		})
		if err != nil {
			return err
		}
		var evs []identity.Event
		for _, r := range live {
			if _, err := tx.Exec(ctx, `UPDATE api_keys SET revoked_at = $2, revision = $3 WHERE id = $1`,
				r.id, now, nextRevision(r.rev)); err != nil {
				return err
			}
			evs = append(evs, identity.Event{Kind: identity.EventAPIKey, ID: r.id, Cutoff: now})
		}
		if err := insertAPIKey(ctx, tx, &c); err != nil {
			return err
		}
		evs = append(evs, identity.Event{Kind: identity.EventAPIKey, ID: c.ID})
		return db.appendEvents(ctx, tx, evs...)
	})
	if err != nil {
		return err
	}
	*k = c
	return nil
}

// APIKeys lists an account's keys, live or not; a missing account has
// none.
func (db *DB) APIKeys(ctx context.Context, accountID string, p identity.Page) (_ []*identity.APIKey, _ string, err error) {
	defer wrap(&err, "postgres: api keys of account %q", accountID)
	limit := p.Limit()
	rows, err := db.pool.Query(ctx, qAPIKeys, accountID, p.After, limit+1)
	if err != nil {
		return nil, "", err
	}
	items, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*identity.APIKey, error) { return scanAPIKey(row) })
	if err != nil {
		return nil, "", err
	}
	items, next := pageOf(items, limit, func(k *identity.APIKey) string { return k.ID })
	return items, next, nil
}

// UpdateAPIKey applies fn to the key under a row lock. The event carries a
// Cutoff when fn moved RevokedAt, so that the key's tokens die with it.
func (db *DB) UpdateAPIKey(ctx context.Context, accountID, id string, fn func(*identity.APIKey) error) (_ *identity.APIKey, err error) {
	var k *identity.APIKey
	err = db.update(ctx, func(tx pgx.Tx) error {
		old, err := scanAPIKey(tx.QueryRow(ctx, `SELECT `+apiKeyCols+` FROM api_keys WHERE account_id = $1 AND id = $2 FOR UPDATE`, accountID, id))
		if err != nil {
			return err
		}
		oldRev, oldRevoked, oldCreated := old.Revision, old.RevokedAt, old.Created
		if err := fn(old); err != nil {
			return fnError{err}
		}
		k = old
		if k.ID != id || k.AccountID != accountID {
			return errIDChanged
		}
		normAPIKey(k)
		k.Created, k.Revision = oldCreated, nextRevision(oldRev)
		scopes, err := jsonOrNull(k.Scopes, k.Scopes == nil)
		if err != nil {
			return err
		}
		cidrs, err := jsonOrNull(k.AllowedCIDRs, k.AllowedCIDRs == nil)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE api_keys SET kind = $3, name = $4, prefix = $5, hash = $6, sealed = $7,
			scopes = $8, allowed_cidrs = $9, created_by = $10, expires_at = $11, revoked_at = $12,
			last_used_at = $13, last_used_ip = $14, revision = $15 WHERE account_id = $1 AND id = $2`,
			accountID, id, k.Kind, k.Name, k.Prefix, k.Hash, k.Sealed,
			scopes, cidrs, k.CreatedBy, nullTime(k.ExpiresAt), nullTime(k.RevokedAt),
			nullTime(k.LastUsedAt), k.LastUsedIP, k.Revision)
		if err != nil {
			return err
		}
		e := identity.Event{Kind: identity.EventAPIKey, ID: id}
		if !k.RevokedAt.Equal(oldRevoked) {
			e.Cutoff = k.RevokedAt
		}
		return db.appendEvents(ctx, tx, e)
	}, "postgres: update api key %q in account %q", id, accountID)
	if err != nil {
		return nil, err
	}
	return k, nil
}

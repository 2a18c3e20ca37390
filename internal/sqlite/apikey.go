package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/audian/audian/internal/identity"
)

const apiKeyCols = `id, account_id, kind, name, prefix, hash, sealed, scopes, allowed_cidrs, created_by, created,
	expires_at, revoked_at, last_used_at, last_used_ip, revision`

// The key queries of hot paths; plans_test.go checks that each is served
// by an index. qAccountKey spells kind out, as the partial index
// api_keys_live_account_key does, so that the index can serve it.
const (
	qAPIKeyByHash = `SELECT ` + apiKeyCols + ` FROM api_keys WHERE hash = ?`
	qAPIKey       = `SELECT ` + apiKeyCols + ` FROM api_keys WHERE account_id = ? AND id = ?`
	qAccountKey   = `SELECT ` + apiKeyCols + ` FROM api_keys WHERE account_id = ? AND kind = 'account' AND revoked_at = 0`
	qAPIKeys      = `SELECT ` + apiKeyCols + ` FROM api_keys WHERE account_id = ? AND id > ? ORDER BY id LIMIT ?`
)

// scanAPIKey reads one row of apiKeyCols.
func scanAPIKey(row scanner) (*identity.APIKey, error) {
	var (
		k                                   identity.APIKey
		scopes, cidrs                       string
		created, expires, revoked, lastUsed int64
	)
	err := row.Scan(&k.ID, &k.AccountID, &k.Kind, &k.Name, &k.Prefix, &k.Hash, &k.Sealed, &scopes, &cidrs, &k.CreatedBy,
		&created, &expires, &revoked, &lastUsed, &k.LastUsedIP, &k.Revision)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, identity.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(scopes), &k.Scopes); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(cidrs), &k.AllowedCIDRs); err != nil {
		return nil, err
	}
	k.Created, k.ExpiresAt, k.RevokedAt, k.LastUsedAt = fromMS(created), fromMS(expires), fromMS(revoked), fromMS(lastUsed)
	return &k, nil
}

// CreateAPIKey stores a new key in an existing account. A hash already in
// use, or a second live account key, is an EConflict error.
func (db *DB) CreateAPIKey(ctx context.Context, k *identity.APIKey) (err error) {
	defer wrap(&err, "sqlite.CreateAPIKey")
	return db.update(ctx, func(tx *sql.Tx) error {
		return db.createAPIKey(ctx, tx, k)
	})
}

func (db *DB) createAPIKey(ctx context.Context, tx *sql.Tx, k *identity.APIKey) error {
	if k.ID == "" {
		k.ID = identity.NewID()
	}
	found, err := exists(ctx, tx, `SELECT 1 FROM accounts WHERE id = ?`, k.AccountID)
	if err != nil {
		return err
	}
	if !found {
		return identity.ErrNotFound
	}
	scopes, err := marshal(k.Scopes)
	if err != nil {
		return err
	}
	cidrs, err := marshal(k.AllowedCIDRs)
	if err != nil {
		return err
	}
	now := db.clock()
	rev := nextRevision("")
	_, err = tx.ExecContext(ctx, `INSERT INTO api_keys (`+apiKeyCols+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		k.ID, k.AccountID, k.Kind, k.Name, k.Prefix, k.Hash, k.Sealed, scopes, cidrs, k.CreatedBy, ms(now),
		ms(k.ExpiresAt), ms(k.RevokedAt), ms(k.LastUsedAt), k.LastUsedIP, rev)
	if err != nil {
		return err
	}
	if err := appendEvent(ctx, tx, now, identity.EventAPIKey, k.ID, time.Time{}, time.Time{}); err != nil {
		return err
	}
	k.ExpiresAt, k.RevokedAt, k.LastUsedAt = norm(k.ExpiresAt), norm(k.RevokedAt), norm(k.LastUsedAt)
	k.Revision, k.Created = rev, now
	return nil
}

// APIKeyByHash finds a key by the hash of its secret, revoked or not, so
// that the caller can tell a revoked key from an unknown one.
func (db *DB) APIKeyByHash(ctx context.Context, hash []byte) (_ *identity.APIKey, err error) {
	defer wrap(&err, "sqlite.APIKeyByHash")
	return scanAPIKey(db.queryRow(ctx, qAPIKeyByHash, hash))
}

// APIKey returns the key id of accountID.
func (db *DB) APIKey(ctx context.Context, accountID, id string) (_ *identity.APIKey, err error) {
	defer wrap(&err, "sqlite.APIKey")
	return scanAPIKey(db.queryRow(ctx, qAPIKey, accountID, id))
}

// AccountKey returns the account's unrevoked account key; a unique index
// guarantees there is at most one.
func (db *DB) AccountKey(ctx context.Context, accountID string) (_ *identity.APIKey, err error) {
	defer wrap(&err, "sqlite.AccountKey")
	return scanAPIKey(db.queryRow(ctx, qAccountKey, accountID))
}

// ReplaceAccountKey revokes the live account key, if any, as of now and
// stores k as the new one, in one transaction, so that an account never has
// two live account keys nor, after a failure, none.
func (db *DB) ReplaceAccountKey(ctx context.Context, k *identity.APIKey) (err error) {
	defer wrap(&err, "sqlite.ReplaceAccountKey")
	if k.Kind == "" {
		k.Kind = identity.KeyKindAccount
	}
	if k.Kind != identity.KeyKindAccount {
		return identity.Errorf(identity.EInvalid, "ReplaceAccountKey needs an account key, not %q", k.Kind)
	}
	return db.update(ctx, func(tx *sql.Tx) error {
		old, err := scanAPIKey(tx.QueryRowContext(ctx, `SELECT `+apiKeyCols+` FROM api_keys
			WHERE account_id = ? AND kind = ? AND revoked_at = 0`, k.AccountID, identity.KeyKindAccount))
		switch {
		case errors.Is(err, identity.ErrNotFound):
		case err != nil:
			return err
		default:
			now := db.clock()
			_, err := tx.ExecContext(ctx, `UPDATE api_keys SET revoked_at = ?, revision = ? WHERE id = ?`,
				ms(now), nextRevision(old.Revision), old.ID)
			if err != nil {
				return err
			}
			if err := appendEvent(ctx, tx, now, identity.EventAPIKey, old.ID, now, time.Time{}); err != nil {
				return err
			}
		}
		return db.createAPIKey(ctx, tx, k)
	})
}

// APIKeys lists every key of accountID, of both kinds, revoked or not.
func (db *DB) APIKeys(ctx context.Context, accountID string, p identity.Page) (_ []*identity.APIKey, _ string, err error) {
	defer wrap(&err, "sqlite.APIKeys")
	after, limit := pageArgs(p)
	rows, err := db.query(ctx, qAPIKeys, accountID, after, limit)
	if err != nil {
		return nil, "", err
	}
	defer rows.Close()
	var items []*identity.APIKey
	for rows.Next() {
		k, err := scanAPIKey(rows)
		if err != nil {
			return nil, "", err
		}
		items = append(items, k)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	items, next := cut(items, p, func(k *identity.APIKey) string { return k.ID })
	return items, next, nil
}

// UpdateAPIKey applies fn to the key inside a write transaction. ID,
// AccountID, Kind, Hash and Created are the store's and are kept whatever
// fn does. A change of RevokedAt appends an event whose Cutoff is the new
// instant, so that other processes drop the key and its tokens.
func (db *DB) UpdateAPIKey(ctx context.Context, accountID, id string, fn func(*identity.APIKey) error) (_ *identity.APIKey, err error) {
	defer wrap(&err, "sqlite.UpdateAPIKey")
	var k *identity.APIKey
	err = db.update(ctx, func(tx *sql.Tx) error {
		const q = `SELECT ` + apiKeyCols + ` FROM api_keys WHERE account_id = ? AND id = ?`
		old, err := scanAPIKey(tx.QueryRowContext(ctx, q, accountID, id))
		if err != nil {
			return err
		}
		k, err = scanAPIKey(tx.QueryRowContext(ctx, q, accountID, id))
		if err != nil {
			return err
		}
		if err := fn(k); err != nil {
			return fnError{err}
		}
		k.ID, k.AccountID, k.Kind, k.Hash, k.Created = old.ID, old.AccountID, old.Kind, old.Hash, old.Created
		scopes, err := marshal(k.Scopes)
		if err != nil {
			return err
		}
		cidrs, err := marshal(k.AllowedCIDRs)
		if err != nil {
			return err
		}
		k.Revision = nextRevision(old.Revision)
		k.ExpiresAt, k.RevokedAt, k.LastUsedAt = norm(k.ExpiresAt), norm(k.RevokedAt), norm(k.LastUsedAt)
		_, err = tx.ExecContext(ctx, `UPDATE api_keys SET name = ?, prefix = ?, sealed = ?, scopes = ?, allowed_cidrs = ?,
			created_by = ?, expires_at = ?, revoked_at = ?, last_used_at = ?, last_used_ip = ?, revision = ? WHERE id = ?`,
			k.Name, k.Prefix, k.Sealed, scopes, cidrs, k.CreatedBy, ms(k.ExpiresAt), ms(k.RevokedAt), ms(k.LastUsedAt),
			k.LastUsedIP, k.Revision, id)
		if err != nil {
			return err
		}
		return appendEvent(ctx, tx, db.clock(), identity.EventAPIKey, id, changedCutoff(old.RevokedAt, k.RevokedAt), time.Time{})
	})
	if err != nil {
		return nil, err
	}
	return k, nil
}

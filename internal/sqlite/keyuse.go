package sqlite

import (
	"context"
	"database/sql"

	"github.com/audian/audian/internal/identity"
)

var _ identity.KeyUseStore = (*DB)(nil)

// RecordKeyUse stamps each key's last use where it is later than the
// stored one, in one transaction and without an event: see
// identity.KeyUseStore.
func (db *DB) RecordKeyUse(ctx context.Context, uses []identity.KeyUse) (err error) {
	defer wrap(&err, "sqlite.RecordKeyUse")
	latest := identity.LatestKeyUses(uses)
	if len(latest) == 0 {
		return ctx.Err()
	}
	return inTx(ctx, db.write, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, `UPDATE api_keys SET last_used_at = ?, last_used_ip = ?
			WHERE id = ? AND last_used_at < ?`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, u := range latest {
			at := ms(u.At)
			if _, err := stmt.ExecContext(ctx, at, u.IP, u.KeyID, at); err != nil {
				return err
			}
		}
		return nil
	})
}

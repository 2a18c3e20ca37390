package postgres

import (
	"context"
	"time"

	"github.com/audian/audian/internal/identity"
)

var _ identity.KeyUseStore = (*DB)(nil)

// RecordKeyUse stamps each key's last use where it is later than the
// stored one, in one statement and without an event: see
// identity.KeyUseStore. Deduplicating first matters: UPDATE ... FROM with
// two rows for one key would apply an arbitrary one.
func (db *DB) RecordKeyUse(ctx context.Context, uses []identity.KeyUse) (err error) {
	defer wrap(&err, "postgres: record key use")
	latest := identity.LatestKeyUses(uses)
	if len(latest) == 0 {
		return ctx.Err()
	}
	ids := make([]string, len(latest))
	ats := make([]time.Time, len(latest))
	ips := make([]string, len(latest))
	for i, u := range latest {
		ids[i], ats[i], ips[i] = u.KeyID, normTime(u.At), u.IP
	}
	_, err = db.pool.Exec(ctx, `UPDATE api_keys AS k SET last_used_at = u.at, last_used_ip = u.ip
		FROM unnest($1::text[], $2::timestamptz[], $3::text[]) AS u(id, at, ip)
		WHERE k.id = u.id AND (k.last_used_at IS NULL OR k.last_used_at < u.at)`, ids, ats, ips)
	return err
}

package main

import (
	"context"
	"time"

	"github.com/audian/audian/internal/crossbar"
	"github.com/audian/audian/internal/ratelimit"
)

// maxBuckets bounds the rate-limit buckets (or leases) one process keeps.
const maxBuckets = 1_000_000

// limiter returns the request rate limiter: buckets shared by every
// process through PostgreSQL, or kept in this process with SQLite, which
// one process serves alone.
func (m *Main) limiter() crossbar.Limiter {
	if m.pg != nil {
		return ratelimit.NewShared(m.pg, maxBuckets, nil)
	}
	return ratelimit.NewMemory(maxBuckets, nil)
}

// maintain prunes, hourly until ctx ends, what ages out: audit entries
// past the retention, idle shared buckets and idle failure counters.
func (m *Main) maintain(ctx context.Context, guard *ratelimit.Guard) {
	tick := time.NewTicker(time.Hour)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		now := time.Now()
		if keep := m.Config.AuditRetention; keep > 0 {
			if n, err := m.Store.PruneAudit(ctx, now.Add(-keep)); err != nil {
				m.Logger.Warn("pruning the audit log failed", "error", err.Error())
			} else if n > 0 {
				m.Logger.Info("pruned the audit log", "entries", n)
			}
		}
		// A bucket untouched for an hour has refilled long ago.
		if _, err := m.Store.PruneBuckets(ctx, now.Add(-time.Hour)); err != nil {
			m.Logger.Warn("pruning rate limit buckets failed", "error", err.Error())
		}
		if _, err := guard.Prune(ctx); err != nil {
			m.Logger.Warn("pruning failed login counters failed", "error", err.Error())
		}
		if _, err := m.Store.PruneWebSessions(ctx, now); err != nil {
			m.Logger.Warn("pruning ended portal sessions failed", "error", err.Error())
		}
	}
}

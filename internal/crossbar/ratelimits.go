package crossbar

import (
	"context"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/audian/audian/internal/identity"
)

// limitCache holds every per-account rate limit override in memory, so
// that choosing a request's bucket never costs a database round trip. It
// is loaded on first use and reloaded in the background whenever the
// change feed reports an account change (SetRateLimit appends one), which
// is how an override set on one process reaches the others.
type limitCache struct {
	store identity.LimitStore
	log   *slog.Logger

	state   atomic.Pointer[map[string]identity.RateLimit]
	loadMu  sync.Mutex   // one load at a time
	gen     atomic.Int64 // counts invalidations
	running atomic.Bool  // a background reload is under way
	// failedAt is when the first load last failed (unix nanoseconds):
	// requests retry at most once a second, not each one.
	failedAt atomic.Int64
}

func newLimitCache(s identity.LimitStore, log *slog.Logger) *limitCache {
	return &limitCache{store: s, log: log}
}

// get returns accountID's override. The first call loads the overrides;
// if that fails, requests run on the global limits until a load works.
func (lc *limitCache) get(ctx context.Context, accountID string) (identity.RateLimit, bool) {
	m := lc.state.Load()
	if m == nil {
		if time.Since(time.Unix(0, lc.failedAt.Load())) < time.Second {
			return identity.RateLimit{}, false
		}
		if err := lc.load(ctx); err != nil {
			lc.failedAt.Store(time.Now().UnixNano())
			return identity.RateLimit{}, false
		}
		m = lc.state.Load()
	}
	l, ok := (*m)[accountID]
	return l, ok
}

// load reads every override and publishes them.
func (lc *limitCache) load(ctx context.Context) error {
	lc.loadMu.Lock()
	defer lc.loadMu.Unlock()
	m, err := lc.store.RateLimits(identity.WithoutAudit(context.WithoutCancel(ctx)))
	if err != nil {
		lc.log.Warn("loading rate limit overrides failed", "error", err.Error())
		return err
	}
	lc.state.Store(&m)
	return nil
}

// invalidate schedules a reload. A reload that overlapped an invalidation
// runs again, so the last change is never missed.
func (lc *limitCache) invalidate() {
	lc.gen.Add(1)
	if lc.state.Load() == nil || !lc.running.CompareAndSwap(false, true) {
		return
	}
	go func() {
		for {
			g := lc.gen.Load()
			err := lc.load(context.Background())
			lc.running.Store(false)
			if err != nil || lc.gen.Load() == g || !lc.running.CompareAndSwap(false, true) {
				return
			}
		}
	}()
}

// limitFor returns the bucket parameters of requests about accountID:
// the account's override (override is true), else the global settings. It
// costs a map lookup, so limiting stays free on the hot path when the cost
// is 0.
func (a *API) limitFor(ctx context.Context, accountID string) (l identity.RateLimit, override bool) {
	if accountID != "" && a.limits != nil {
		if l, ok := a.limits.get(ctx, accountID); ok {
			return l, true
		}
	}
	return identity.RateLimit{Burst: a.cfg.RateBurst, Rate: a.cfg.RatePerSecond, Cost: a.cfg.RateCost}, false
}

// globalLimit is the limit of requests about no account with an override.
func (a *API) globalLimit(ctx context.Context) identity.RateLimit {
	l, _ := a.limitFor(ctx, "")
	return l
}

// renderLimit is the document of GET/POST rate_limits.
func renderLimit(l identity.RateLimit, override bool) map[string]any {
	return map[string]any{"burst": l.Burst, "rate": l.Rate, "cost": l.Cost, "override": override}
}

// getRateLimits shows the limits in force for the account (GET
// /v2/accounts/{id}/rate_limits): its override, or the global settings.
func (a *API) getRateLimits(c *call) (*reply, error) {
	l, err := a.store.RateLimit(c.ctx, c.target.acct.ID)
	override := err == nil
	if identity.ErrorCode(err) == identity.ENotFound {
		l = a.globalLimit(c.ctx)
	} else if err != nil {
		return nil, err
	}
	return &reply{data: renderLimit(l, override)}, nil
}

// setRateLimits sets the account's override (POST
// /v2/accounts/{id}/rate_limits). Fields left out keep the values in
// force. Only a system account's admin may: an account must not raise its
// own share of the service.
func (a *API) setRateLimits(c *call) (*reply, error) {
	if !c.p.System {
		return nil, &identity.Error{Code: identity.EForbidden, Message: "only a system administrator may change rate limits"}
	}
	doc, err := a.readData(c)
	if err != nil {
		return nil, err
	}
	id := c.target.acct.ID
	l, err := a.store.RateLimit(c.ctx, id)
	if identity.ErrorCode(err) == identity.ENotFound {
		l = a.globalLimit(c.ctx)
	} else if err != nil {
		return nil, err
	}
	v := identity.Violations{}
	number := func(key string, integer bool) (float64, bool) {
		raw, ok := doc[key]
		if !ok {
			return 0, false
		}
		f, isNum := raw.(float64)
		if !isNum || (integer && f != math.Trunc(f)) {
			msg := "Value did not match type(s): number"
			if integer {
				msg = "Value did not match type(s): integer"
			}
			v.Add(key, "type", identity.Violation{Message: msg})
			return 0, false
		}
		return f, true
	}
	if f, ok := number("burst", true); ok {
		l.Burst = int(math.Min(f, math.MaxInt32))
	}
	if f, ok := number("rate", false); ok {
		l.Rate = f
	}
	if f, ok := number("cost", true); ok {
		l.Cost = int(math.Max(math.Min(f, math.MaxInt32), math.MinInt32))
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	if err := l.Validate(); err != nil {
		return nil, err
	}
	if err := a.store.SetRateLimit(c.ctx, id, &l); err != nil {
		return nil, err
	}
	if err := a.limits.load(c.ctx); err != nil {
		return nil, err
	}
	return &reply{data: renderLimit(l, true)}, a.sync(c.ctx)
}

// deleteRateLimits removes the account's override (DELETE
// /v2/accounts/{id}/rate_limits): the global settings apply again.
func (a *API) deleteRateLimits(c *call) (*reply, error) {
	if !c.p.System {
		return nil, &identity.Error{Code: identity.EForbidden, Message: "only a system administrator may change rate limits"}
	}
	if err := a.store.SetRateLimit(c.ctx, c.target.acct.ID, nil); err != nil {
		return nil, err
	}
	if err := a.limits.load(c.ctx); err != nil {
		return nil, err
	}
	return &reply{data: renderLimit(a.globalLimit(c.ctx), false)}, a.sync(c.ctx)
}

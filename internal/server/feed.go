package server

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/audian/audian/internal/identity"
)

// EventSource is the part of identity.Store the feed reads.
type EventSource interface {
	Events(ctx context.Context, after int64, limit int) ([]identity.Event, error)
	PruneEvents(ctx context.Context, before time.Time) (int, error)
}

// Feed follows the store's change feed and hands each event to every
// subscriber (the token verifier's revocation state, the API's caches).
// It is how several processes sharing one database behave as one server:
// a change written by any of them reaches all of them within one poll.
type Feed struct {
	src      EventSource
	apply    []func(identity.Event)
	interval time.Duration
	keep     time.Duration
	log      *slog.Logger
	wake     chan struct{}

	mu    sync.Mutex // serializes polls, so events are applied in order
	after int64
}

// NewFeed returns a feed polling src every interval. Events older than
// keep are pruned; keep must exceed the longest token lifetime.
func NewFeed(src EventSource, interval, keep time.Duration, log *slog.Logger, subscribers ...func(identity.Event)) *Feed {
	return &Feed{src: src, apply: subscribers, interval: interval, keep: keep, log: log, wake: make(chan struct{}, 1)}
}

// Sync applies every event not yet applied. Handlers call it after a write
// so that the next request on this process already sees the write.
func (f *Feed) Sync(ctx context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for {
		events, err := f.src.Events(ctx, f.after, 1000)
		if err != nil {
			return err
		}
		for _, e := range events {
			for _, apply := range f.apply {
				apply(e)
			}
			f.after = e.Seq
		}
		if len(events) < 1000 {
			return nil
		}
	}
}

// Wake asks for a poll now (a PostgreSQL notification arrived).
func (f *Feed) Wake() {
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// Run polls until ctx ends, and prunes old events hourly.
func (f *Feed) Run(ctx context.Context) {
	tick := time.NewTicker(f.interval)
	defer tick.Stop()
	prune := time.NewTicker(time.Hour)
	defer prune.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-f.wake:
		case <-prune.C:
			if n, err := f.src.PruneEvents(ctx, time.Now().Add(-f.keep)); err != nil {
				f.log.Warn("pruning the change feed failed", "error", err.Error())
			} else if n > 0 {
				f.log.Debug("pruned the change feed", "events", n)
			}
		}
		if err := f.Sync(ctx); err != nil && ctx.Err() == nil {
			f.log.Warn("following the change feed failed", "error", err.Error())
		}
	}
}

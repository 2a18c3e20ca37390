package token

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/audian/audian/internal/identity"
)

// These cases pin boundaries that mutation testing (see the README's
// "Mutation check") showed no other test distinguished: moving any of
// them by one unit passed the rest of the suite.

// TestConfigLifetimeBounds: New accepts each lifetime exactly at the edge
// of its range and refuses one nanosecond outside it.
func TestConfigLifetimeBounds(t *testing.T) {
	tests := []struct {
		name                       string
		lifetime, maxLife, session time.Duration
		ok                         bool
	}{
		{"all at the minimum", MinLifetime, MinLifetime, MinLifetime, true},
		{"max lifetime below the minimum", MinLifetime, MinLifetime - time.Nanosecond, MinLifetime, false},
		{"lifetime at the max lifetime", 2 * time.Hour, 2 * time.Hour, time.Hour, true},
		{"lifetime below the minimum", MinLifetime - time.Nanosecond, time.Hour, time.Hour, false},
		{"lifetime above the max lifetime", 2*time.Hour + time.Nanosecond, 2 * time.Hour, time.Hour, false},
		{"session lifetime below the minimum", time.Hour, time.Hour, MinLifetime - time.Nanosecond, false},
		{"session lifetime at the max lifetime", time.Hour, 2 * time.Hour, 2 * time.Hour, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newClock()
			cfg := clk.config()
			cfg.Lifetime, cfg.MaxLifetime, cfg.SessionLifetime = tt.lifetime, tt.maxLife, tt.session
			_, err := New(context.Background(), seededStore(), testSealer, cfg)
			if (err == nil) != tt.ok {
				t.Fatalf("New(lifetime %s, max %s, session %s) = %v, want ok=%v", tt.lifetime, tt.maxLife, tt.session, err, tt.ok)
			}
		})
	}
}

// TestVerifyLeewayEdges: an iat or nbf exactly the leeway ahead of the
// clock is accepted, one second more is refused.
func TestVerifyLeewayEdges(t *testing.T) {
	f := newFixture(t)
	kid := f.kid()
	priv := f.privateKey(t, kid)
	now := f.clock.Now()
	edge := now.Add(f.s.cfg.Leeway).Unix()
	tests := []struct {
		name string
		key  string
		at   int64
		want error
	}{
		{"iat at the leeway", "iat", edge, nil},
		{"iat past the leeway", "iat", edge + 1, identity.ErrInvalidToken},
		{"nbf at the leeway", "nbf", edge, nil},
		{"nbf past the leeway", "nbf", edge + 1, identity.ErrInvalidToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := f.claimsMap()
			c[tt.key] = tt.at
			_, err := f.s.Verify(signWith(t, jose.RS256, priv, kid, c))
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("Verify(%s = now%+ds) = %v, want %v", tt.key, tt.at-now.Unix(), err, tt.want)
			}
		})
	}
}

// TestSaturatingNs: around the ends of the int64 nanosecond range (the
// years 1677 and 2262) the result clamps instead of wrapping, so a key
// dated far ahead never reads as long expired, nor one far back as valid.
func TestSaturatingNs(t *testing.T) {
	maxSec, minSec := int64(math.MaxInt64/int64(time.Second)), int64(math.MinInt64/int64(time.Second))
	ahead := []time.Time{
		time.Unix(0, 0),
		time.Unix(maxSec-2, 0),
		time.Unix(maxSec-1, 999_999_999),
		time.Unix(maxSec, 854_775_807), // math.MaxInt64 ns exactly
		time.Unix(maxSec, 854_775_808), // one past
		time.Unix(maxSec, 999_999_999),
		time.Unix(maxSec+1, 0),
		time.Unix(maxSec+2, 0),
		time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	for i := 1; i < len(ahead); i++ {
		if a, b := saturatingNs(ahead[i-1]), saturatingNs(ahead[i]); b < a {
			t.Errorf("saturatingNs(%v) = %d < saturatingNs(%v) = %d: wrapped", ahead[i], b, ahead[i-1], a)
		}
	}
	behind := []time.Time{
		time.Unix(0, 0),
		time.Unix(minSec+2, 0),
		time.Unix(minSec+1, 0),
		time.Unix(minSec, -854_775_808), // math.MinInt64 ns exactly
		time.Unix(minSec, -854_775_809), // one before
		time.Unix(minSec-1, 0),
		time.Unix(minSec-2, 0),
		time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	for i := 1; i < len(behind); i++ {
		if a, b := saturatingNs(behind[i-1]), saturatingNs(behind[i]); b > a {
			t.Errorf("saturatingNs(%v) = %d > saturatingNs(%v) = %d: wrapped", behind[i], b, behind[i-1], a)
		}
	}
}

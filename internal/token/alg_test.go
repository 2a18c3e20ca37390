package token

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/go-cmp/cmp"

	"github.com/audian/audian/internal/identity"
)

// newAlgFixture is newFixture with a ring whose key is of alg.
func newAlgFixture(t testing.TB, alg string) *fixture {
	t.Helper()
	if alg == RS256 {
		return newFixture(t)
	}
	f := &fixture{st: newFakeStore(), clock: newClock()}
	var err error
	if f.s, err = New(context.Background(), f.st, testSealer, Config{Now: f.clock.Now, Algorithm: alg}); err != nil {
		t.Fatal(err)
	}
	return f
}

// TestAlgorithms: each algorithm issues tokens whose header names it,
// that this service verifies, and that a relying party verifies with the
// published JWKS alone.
func TestAlgorithms(t *testing.T) {
	for _, alg := range Algorithms {
		t.Run(alg, func(t *testing.T) {
			f := newAlgFixture(t, alg)
			raw, want := f.issue(t, keyClaims())
			var h map[string]any
			if err := json.Unmarshal(mustDecodeHeader(t, raw), &h); err != nil {
				t.Fatal(err)
			}
			if h["alg"] != alg {
				t.Errorf("header alg %v, want %s", h["alg"], alg)
			}
			f.s.cache.clear()
			if _, err := f.s.Verify(raw); err != nil {
				t.Fatalf("Verify: %v", err)
			}
			var set jose.JSONWebKeySet
			if err := json.Unmarshal(f.s.JWKS(), &set); err != nil {
				t.Fatal(err)
			}
			if len(set.Keys) != 1 || set.Keys[0].Algorithm != alg {
				t.Fatalf("JWKS %s", f.s.JWKS())
			}
			tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.SignatureAlgorithm(alg)})
			if err != nil {
				t.Fatal(err)
			}
			var got identity.Claims
			if err := tok.Claims(set.Keys[0].Key, &got); err != nil {
				t.Fatalf("relying party: %v", err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("claims (-issued +independently verified):\n%s", diff)
			}
		})
	}
}

// TestRotateBetweenAlgorithms: a service configured for EdDSA rotating a
// ring that signs with RS256 makes an EdDSA key sign; the RS256 token keeps
// verifying until it expires, and the JWKS lists both keys, each with its
// alg. A token claiming the other key's algorithm is refused.
func TestRotateBetweenAlgorithms(t *testing.T) {
	f := newFixture(t)
	oldKid := f.kid()
	before, _ := f.issue(t, userClaims())
	ed, err := New(context.Background(), f.st, testSealer, Config{Now: f.clock.Now, Algorithm: EdDSA})
	if err != nil {
		t.Fatal(err)
	}
	if ed.ring.Load().current.alg != RS256 {
		t.Fatal("a service configured for EdDSA replaced the ring's signing key without a rotation")
	}
	newKid, err := ed.Rotate(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := f.s.Reload(context.Background()); err != nil { // the feed's reload on the RS256 node
		t.Fatal(err)
	}
	for name, s := range map[string]*Service{"RS256 node": f.s, "EdDSA node": ed} {
		after, _, err := s.Issue(userClaims(), 0)
		if err != nil {
			t.Fatal(err)
		}
		if h := string(mustDecodeHeader(t, after)); !strings.Contains(h, `"alg":"EdDSA"`) || !strings.Contains(h, newKid) {
			t.Errorf("%s issues after the rotation with header %s", name, h)
		}
		s.cache.clear()
		for _, raw := range []string{before, after} {
			if _, err := s.Verify(raw); err != nil {
				t.Errorf("%s: Verify after rotation: %v", name, err)
			}
		}
	}
	var set struct {
		Keys []struct{ Kid, Alg, Kty, Crv string }
	}
	if err := json.Unmarshal(ed.JWKS(), &set); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, k := range set.Keys {
		got[k.Kid] = k.Alg + "/" + k.Kty + "/" + k.Crv
	}
	if diff := cmp.Diff(map[string]string{oldKid: "RS256/RSA/", newKid: "EdDSA/OKP/Ed25519"}, got); diff != "" {
		t.Errorf("JWKS (-want +got):\n%s", diff)
	}
	// The old token stops verifying only when it expires.
	f.clock.Add(time.Hour + time.Minute)
	if _, err := ed.Verify(before); !errors.Is(err, identity.ErrTokenExpired) {
		t.Errorf("old token after its exp: %v", err)
	}
}

func TestNewRejectsUnknownAlgorithm(t *testing.T) {
	for _, alg := range []string{"HS256", "none", "PS256", "rs256"} {
		if _, err := New(context.Background(), newFakeStore(), testSealer, Config{Algorithm: alg}); err == nil {
			t.Errorf("New accepted algorithm %q", alg)
		}
	}
}

// BenchmarkIssueAlg and BenchmarkVerifyColdAlg compare the algorithms:
// issue is what api_auth pays per login, a cold verify what the first use
// of a token pays on a node that did not issue it.
func BenchmarkIssueAlg(b *testing.B) {
	for _, alg := range Algorithms {
		b.Run(alg, func(b *testing.B) {
			f := newAlgFixture(b, alg)
			c := keyClaims()
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := f.s.Issue(c, 0); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkVerifyColdAlg(b *testing.B) {
	for _, alg := range Algorithms {
		b.Run(alg, func(b *testing.B) {
			f := newAlgFixture(b, alg)
			raw := f.mustIssue(b)
			d := digestOf(raw)
			b.ReportAllocs()
			for b.Loop() {
				f.s.cache.remove(&d)
				if _, err := f.s.Verify(raw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkCacheBytesPerToken fills the verified-token cache to its
// 100,000-entry cap with distinct tokens, verified the way a node that did
// not issue them verifies them, and reports the heap each cached token
// holds (bytes/token) and the whole cache (MiB/cap).
func BenchmarkCacheBytesPerToken(b *testing.B) {
	const n = 100_000
	f := newAlgFixture(b, EdDSA)
	toks := make([]string, n)
	for i := range toks {
		c := userClaims()
		c.OwnerID = fmt.Sprintf("%032x", i) // distinct users, as in a real cache
		toks[i], _, _ = f.s.Issue(c, 0)
	}
	for b.Loop() {
		f.s.cache.clear()
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		s, err := New(context.Background(), f.st, testSealer, Config{Now: f.clock.Now, CacheSize: n})
		if err != nil {
			b.Fatal(err)
		}
		for _, raw := range toks {
			if _, err := s.Verify(raw); err != nil {
				b.Fatal(err)
			}
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		if got := s.cache.len(); got < n*9/10 {
			b.Fatalf("cache holds %d tokens, want about %d", got, n)
		}
		per := float64(after.HeapAlloc-before.HeapAlloc) / float64(s.cache.len())
		b.ReportMetric(per, "bytes/token")
		b.ReportMetric(per*n/(1<<20), "MiB/cap")
		runtime.KeepAlive(s)
	}
}

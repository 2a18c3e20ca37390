package identitytest

import (
	"sync"
	"testing"
	"time"

	"github.com/audian/audian/internal/identity"
)

// loginAddressTests cover the markers of addresses where a login
// succeeded.
var loginAddressTests = []subtest{
	{"RememberAndPrune", testLoginAddresses},
	{"ConcurrentRemember", testLoginAddressesConcurrent},
}

func testLoginAddresses(t *testing.T, s identity.Store) {
	ctx := t.Context()
	const key, other = "known:0123456789abcdef", "known:fedcba9876543210"
	past := time.Now().Add(-time.Hour)
	known, err := s.KnownLoginAddress(ctx, key, past)
	must(t, "KnownLoginAddress", err)
	if known {
		t.Fatal("an address never remembered is known")
	}
	must(t, "RememberLoginAddress", s.RememberLoginAddress(ctx, key))
	must(t, "RememberLoginAddress again", s.RememberLoginAddress(ctx, key))
	if known, err = s.KnownLoginAddress(ctx, key, past); err != nil || !known {
		t.Fatalf("remembered address: known %v, %v", known, err)
	}
	if known, err = s.KnownLoginAddress(ctx, key, time.Now().Add(time.Hour)); err != nil || known {
		t.Fatalf("a marker older than since: known %v, %v", known, err)
	}
	if known, err = s.KnownLoginAddress(ctx, other, past); err != nil || known {
		t.Fatalf("another key: known %v, %v", known, err)
	}
	n, err := s.PruneLoginAddresses(ctx, past)
	must(t, "PruneLoginAddresses", err)
	if n != 0 {
		t.Errorf("pruned %d fresh markers", n)
	}
	n, err = s.PruneLoginAddresses(ctx, time.Now().Add(time.Hour))
	must(t, "PruneLoginAddresses", err)
	if n != 1 {
		t.Errorf("pruned %d markers, want 1", n)
	}
	if known, _ = s.KnownLoginAddress(ctx, key, past); known {
		t.Error("a pruned marker is still known")
	}
}

func testLoginAddressesConcurrent(t *testing.T, s identity.Store) {
	ctx := t.Context()
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- s.RememberLoginAddress(ctx, "known:race")
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		must(t, "concurrent RememberLoginAddress", err)
	}
	if known, err := s.KnownLoginAddress(ctx, "known:race", time.Now().Add(-time.Minute)); err != nil || !known {
		t.Fatalf("after concurrent remembers: known %v, %v", known, err)
	}
}

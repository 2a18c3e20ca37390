package manage_test

import (
	"net/netip"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/audian/audian/internal/credential"
	"github.com/audian/audian/internal/identity"
	"github.com/audian/audian/internal/manage"
	"github.com/audian/audian/internal/sqlite"
)

func TestCanonicalCIDRs(t *testing.T) {
	tests := []struct {
		name string
		in   []string
		want []string
		err  bool
	}{
		{"Address", []string{"203.0.113.7"}, []string{"203.0.113.7/32"}, false},
		{"Masked", []string{"10.1.2.3/8"}, []string{"10.0.0.0/8"}, false},
		{"IPv6", []string{"2001:db8::1"}, []string{"2001:db8::1/128"}, false},
		{"Mapped", []string{"::ffff:192.0.2.1", "::ffff:192.0.2.0/120"}, []string{"192.0.2.0/24", "192.0.2.1/32"}, false},
		{"Duplicates", []string{"10.0.0.0/8", "10.9.9.9/8"}, []string{"10.0.0.0/8"}, false},
		{"Junk", []string{"10.0.0.0/8", "example.com"}, nil, true},
		{"Empty", nil, []string{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := manage.CanonicalCIDRs(tt.in)
			if (err != nil) != tt.err {
				t.Fatalf("err = %v, want error %v", err, tt.err)
			}
			if !tt.err {
				if d := cmp.Diff(tt.want, got); d != "" {
					t.Errorf("(-want +got):\n%s", d)
				}
			}
		})
	}
}

// FuzzCanonicalCIDRs checks that whatever is accepted is a canonical
// prefix that parses back to itself, so that the address check and the
// stored form agree.
func FuzzCanonicalCIDRs(f *testing.F) {
	for _, s := range []string{"10.0.0.1", "10.0.0.0/8", "::1", "::ffff:1.2.3.4/128", "fe80::1%eth0", "1.2.3.4/33"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out, err := manage.CanonicalCIDRs([]string{s})
		if err != nil {
			return
		}
		for _, c := range out {
			p, err := netip.ParsePrefix(c)
			if err != nil || p.Masked().String() != c || p.Addr().Is4In6() {
				t.Fatalf("%q became %q, not canonical", s, c)
			}
		}
	})
}

func TestRotateNamedKey(t *testing.T) {
	ctx := t.Context()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "m.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	acct := &identity.Account{ID: identity.NewID(), Name: "Rot", Realm: "rot.test", Enabled: true}
	if err := db.CreateAccount(ctx, acct); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	far := now.Add(365 * 24 * time.Hour)
	tests := []struct {
		name        string
		grace       time.Duration
		expires     time.Time // the old key's expiry at creation
		wantOldLive bool      // just after the rotation
		wantNewExp  time.Time
	}{
		{"NoGrace", 0, time.Time{}, false, time.Time{}},
		{"DayGrace", 24 * time.Hour, time.Time{}, true, time.Time{}},
		{"ExpiryCarriesOver", time.Hour, far, true, far},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old, secret := manage.NewNamedKey(acct.ID, "k", []string{"keys:read"}, []string{"10.0.0.0/8"}, "", tt.expires)
			if err := db.CreateAPIKey(ctx, old); err != nil {
				t.Fatal(err)
			}
			k, newSecret, until, err := manage.RotateNamedKey(ctx, db, old, tt.grace, now)
			if err != nil {
				t.Fatal(err)
			}
			if newSecret == secret || credential.KeyPrefix(newSecret) != k.Prefix {
				t.Error("the new key's secret is the old one or does not match its prefix")
			}
			if !slices.Equal(k.Scopes, old.Scopes) || !slices.Equal(k.AllowedCIDRs, old.AllowedCIDRs) || k.Name != old.Name {
				t.Error("the new key lost the old one's name, scopes or addresses")
			}
			if !k.ExpiresAt.Equal(tt.wantNewExp) {
				t.Errorf("new key expires %v, want %v", k.ExpiresAt, tt.wantNewExp)
			}
			if !until.Equal(now.Add(tt.grace)) {
				t.Errorf("old key ends %v, want %v", until, now.Add(tt.grace))
			}
			got, err := db.APIKey(ctx, acct.ID, old.ID)
			if err != nil {
				t.Fatal(err)
			}
			if live := got.Live(now.Add(time.Millisecond)); live != tt.wantOldLive {
				t.Errorf("old key live just after = %v, want %v", live, tt.wantOldLive)
			}
			if got.Live(until.Add(time.Millisecond)) {
				t.Error("old key still live after its grace")
			}
		})
	}
}

package clientaddr

import (
	"net/http"
	"net/netip"
	"testing"
)

func TestResolve(t *testing.T) {
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	tests := []struct {
		name    string
		peer    string
		xff     []string
		trusted []netip.Prefix
		want    string
	}{
		{"no proxies: the peer, header ignored", "203.0.113.7:443", []string{"198.51.100.1"}, nil, "203.0.113.7"},
		{"untrusted peer: header ignored", "203.0.113.7:443", []string{"198.51.100.1"}, proxies, "203.0.113.7"},
		{"trusted peer: last hop", "10.1.2.3:443", []string{"198.51.100.1"}, proxies, "198.51.100.1"},
		{"spoofed left hops are not believed", "10.1.2.3:443", []string{"1.1.1.1, 198.51.100.1"}, proxies, "198.51.100.1"},
		{"chain of proxies walked from the right", "10.1.2.3:443", []string{"198.51.100.1, 10.9.9.9"}, proxies, "198.51.100.1"},
		{"several header lines joined", "10.1.2.3:443", []string{"1.1.1.1", "198.51.100.1"}, proxies, "198.51.100.1"},
		{"garbage hop stops the walk", "10.1.2.3:443", []string{"198.51.100.1, not-an-ip"}, proxies, "10.1.2.3"},
		{"only proxies: the leftmost proxy", "10.1.2.3:443", []string{"10.4.4.4"}, proxies, "10.4.4.4"},
		{"IPv4-mapped peer is trusted", "[::ffff:10.1.2.3]:443", []string{"198.51.100.1"}, proxies, "198.51.100.1"},
		{"IPv6 loopback proxy", "[::1]:443", []string{"2001:db8::1"}, proxies, "2001:db8::1"},
		{"no header from a proxy", "10.1.2.3:443", nil, proxies, "10.1.2.3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &http.Request{RemoteAddr: tt.peer, Header: http.Header{}}
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := Resolve(r, tt.trusted); got != tt.want {
				t.Errorf("Resolve = %q, want %q", got, tt.want)
			}
		})
	}
}

// FuzzResolve: whatever the header says, the answer is the peer or an
// address the header held, never anything else.
func FuzzResolve(f *testing.F) {
	f.Add("198.51.100.1, 10.0.0.1")
	f.Add(" ,,::1,")
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	f.Fuzz(func(t *testing.T, xff string) {
		r := &http.Request{RemoteAddr: "10.0.0.2:1", Header: http.Header{"X-Forwarded-For": {xff}}}
		got := Resolve(r, proxies)
		if got == "10.0.0.2" {
			return
		}
		if _, err := netip.ParseAddr(got); err != nil {
			t.Fatalf("Resolve = %q: not an address", got)
		}
	})
}

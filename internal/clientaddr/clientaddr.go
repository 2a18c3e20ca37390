// Package clientaddr finds the address a request came from. Every face
// (the /v2 API, the portal, OAuth) keys its rate limits, login guard and
// audit rows by that address, so there is one rule, here: a fix to it
// fixes every face.
package clientaddr

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Resolve returns the peer address of r, or, when the peer is one of the
// trusted proxies, the last hop of X-Forwarded-For that is not itself a
// trusted proxy. The header is read from the right: every hop to the left
// of the first untrusted one was written by someone the server cannot
// believe, so a client cannot choose its own address by sending the
// header. A hop that does not parse ends the walk at the hop before it.
func Resolve(r *http.Request, trusted []netip.Prefix) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	if len(trusted) == 0 {
		return host
	}
	addr, err := netip.ParseAddr(host)
	if err != nil || !isTrusted(trusted, addr) {
		return host
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		hop, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		if !isTrusted(trusted, hop) {
			return hop.String()
		}
		host = hop.String()
	}
	return host
}

func isTrusted(prefixes []netip.Prefix, addr netip.Addr) bool {
	addr = addr.Unmap()
	for _, p := range prefixes {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

package httpx

import (
	"net/http"
	"net/netip"
	"strings"
)

// ClientIP returns the address a request came from. X-Forwarded-For is
// believed only when the direct peer is a trusted proxy; then the client is
// the rightmost address in the header that is not itself a trusted proxy,
// since everything left of it may have been forged by the client. This one
// rule attributes API authentication failures, dashboard sign-in attempts
// and metered requests alike.
func ClientIP(r *http.Request, trusted []netip.Prefix) string {
	addr, ok := peerAddr(r.RemoteAddr)
	if !ok {
		// Not an ip:port (a unix socket, or a test that set something
		// else): the whole string is the best identity there is.
		return r.RemoteAddr
	}
	if !isTrusted(addr, trusted) {
		return addr.String()
	}
	hops := r.Header.Values("X-Forwarded-For")
	for i := len(hops) - 1; i >= 0; i-- {
		parts := strings.Split(hops[i], ",")
		for j := len(parts) - 1; j >= 0; j-- {
			hop, err := netip.ParseAddr(strings.TrimSpace(parts[j]))
			if err != nil {
				// A garbled entry ends what can be trusted: the last
				// address a trusted proxy vouched for is the client.
				return addr.String()
			}
			addr = hop.Unmap()
			if !isTrusted(addr, trusted) {
				return addr.String()
			}
		}
	}
	return addr.String()
}

// peerAddr parses a RemoteAddr: "ip:port", or a bare IP.
func peerAddr(s string) (netip.Addr, bool) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap(), true
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap(), true
	}
	return netip.Addr{}, false
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

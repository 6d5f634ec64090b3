package httpapi

import (
	"net/http"
	"net/netip"
	"strings"
)

// clientIP returns the address a request came from. X-Forwarded-For is
// believed only when the direct peer is a trusted proxy; then the client is
// the rightmost address in the header that is not itself a trusted proxy,
// since everything left of it may have been forged by the client.
func (s *Server) clientIP(r *http.Request) string {
	peer, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		// Not an ip:port (a unix socket, or a test that set something
		// else): the whole string is the best identity there is.
		return r.RemoteAddr
	}
	addr := peer.Addr().Unmap()
	if !s.trustedProxy(addr) {
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
			if !s.trustedProxy(addr) {
				return addr.String()
			}
		}
	}
	return addr.String()
}

func (s *Server) trustedProxy(a netip.Addr) bool {
	for _, p := range s.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

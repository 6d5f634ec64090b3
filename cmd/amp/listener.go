package main

import (
	"crypto/subtle"
	"net"
	"net/http"
	"net/netip"
	"sync"
)

// limitListener caps the connections a server holds: at most max in all,
// at most perIP from one client address. Past the total, Accept waits for
// a connection to close (new clients queue in the kernel's backlog); past
// a client's share, its new connection is closed at once, so that one
// client holding idle keep-alive connections cannot take every slot (and
// file descriptor) from the others. Addresses in exempt (trusted reverse
// proxies, whose connections carry many clients) have no share of their
// own, only the total.
type limitListener struct {
	net.Listener
	sem    chan struct{} // a token per connection held
	done   chan struct{} // closed by Close: Accept stops waiting
	once   sync.Once
	perIP  int
	exempt []netip.Prefix
	// refused counts connections closed for their address's share, for
	// tests and logs.
	mu      sync.Mutex
	byIP    map[netip.Addr]int
	refused int
}

func newLimitListener(ln net.Listener, max, perIP int, exempt []netip.Prefix) *limitListener {
	return &limitListener{
		Listener: ln, sem: make(chan struct{}, max), done: make(chan struct{}),
		perIP: perIP, exempt: exempt, byIP: make(map[netip.Addr]int),
	}
}

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		select {
		case l.sem <- struct{}{}:
		case <-l.done:
			return nil, net.ErrClosed
		}
		c, err := l.Listener.Accept()
		if err != nil {
			<-l.sem
			return nil, err
		}
		ip := remoteAddr(c)
		if !l.take(ip) {
			c.Close()
			<-l.sem
			continue
		}
		return &limitConn{Conn: &framedConn{Conn: c}, l: l, ip: ip}, nil
	}
}

// take counts a connection of ip, unless ip has its share already.
func (l *limitListener) take(ip netip.Addr) bool {
	if !ip.IsValid() || l.isExempt(ip) {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.byIP[ip] >= l.perIP {
		l.refused++
		return false
	}
	l.byIP[ip]++
	return true
}

func (l *limitListener) release(ip netip.Addr) {
	if ip.IsValid() && !l.isExempt(ip) {
		l.mu.Lock()
		if l.byIP[ip]--; l.byIP[ip] <= 0 {
			delete(l.byIP, ip)
		}
		l.mu.Unlock()
	}
	<-l.sem
}

func (l *limitListener) isExempt(ip netip.Addr) bool {
	for _, p := range l.exempt {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

func (l *limitListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return l.Listener.Close()
}

// remoteAddr is the connection's peer address, unmapped (an IPv4 client of
// a dual-stack socket counts as itself), or the zero Addr if unknown.
func remoteAddr(c net.Conn) netip.Addr {
	if ta, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		if a, ok := netip.AddrFromSlice(ta.IP); ok {
			return a.Unmap()
		}
	}
	return netip.Addr{}
}

// limitConn gives its slot back when closed, once.
type limitConn struct {
	net.Conn
	l    *limitListener
	ip   netip.Addr
	once sync.Once
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.l.release(c.ip) })
	return err
}

// requireBearer serves h only to requests carrying Authorization: Bearer
// token, compared in constant time; others get 401.
func requireBearer(token string, h http.Handler) http.Handler {
	want := []byte("Bearer " + token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := []byte(r.Header.Get("Authorization"))
		if subtle.ConstantTimeCompare(got, want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="metrics"`)
			http.Error(w, "metrics need Authorization: Bearer <token>", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}

package webhook

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// MaxURLBytes bounds an endpoint's URL.
const MaxURLBytes = 2048

// ErrForbiddenTarget is returned when a delivery would reach an address the
// guard refuses.
var ErrForbiddenTarget = errors.New("webhook: target address is not public")

// cgnat is the shared address space of RFC 6598, which netip does not
// count as private but which is no more public.
var cgnat = netip.MustParsePrefix("100.64.0.0/10")

// PublicAddr reports whether a delivery may be sent to addr when private
// targets are not allowed: not loopback, private (RFC 1918, fc00::/7),
// link-local (which holds cloud metadata services, 169.254.169.254),
// multicast, unspecified or carrier-grade NAT space. IPv4-mapped IPv6
// addresses are judged as IPv4.
func PublicAddr(addr netip.Addr) bool {
	addr = addr.Unmap()
	switch {
	case !addr.IsValid(), addr.IsLoopback(), addr.IsPrivate(), addr.IsLinkLocalUnicast(),
		addr.IsLinkLocalMulticast(), addr.IsInterfaceLocalMulticast(), addr.IsMulticast(),
		addr.IsUnspecified(), cgnat.Contains(addr):
		return false
	case addr.Is4() && addr.As4()[0] == 0: // 0.0.0.0/8: "this network"
		return false
	}
	return true
}

// CheckURL validates an endpoint URL: absolute http or https, a host, no
// credentials, at most MaxURLBytes; https only when requireHTTPS. A host
// given as an IP address must be public unless allowPrivate. Host names
// are judged when a delivery connects (dialControl), because what a name
// resolves to can change after the check.
func CheckURL(raw string, requireHTTPS, allowPrivate bool) (*url.URL, error) {
	if len(raw) > MaxURLBytes {
		return nil, fmt.Errorf("the URL is longer than %d bytes", MaxURLBytes)
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "" {
		return nil, errors.New("the URL must be absolute, such as https://example.com/amp-events")
	}
	switch u.Scheme {
	case "https":
	case "http":
		if requireHTTPS {
			return nil, errors.New("a live-mode endpoint must use https")
		}
	default:
		return nil, errors.New("the URL's scheme must be https or http")
	}
	if u.User != nil {
		return nil, errors.New("the URL must not carry credentials; authenticate deliveries by their signature")
	}
	if u.Fragment != "" {
		return nil, errors.New("the URL must not have a fragment")
	}
	host := u.Hostname()
	if strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		if !allowPrivate {
			return nil, errors.New("the URL's host is this machine; the server refuses private targets")
		}
	}
	if addr, err := netip.ParseAddr(host); err == nil && !allowPrivate && !PublicAddr(addr) {
		return nil, errors.New("the URL's address is private, loopback or link-local; the server refuses such targets")
	}
	return u, nil
}

// dialControl refuses, at connect time, an address that is not public. It
// runs after name resolution, for every address tried, so a name that
// resolves to an internal address (DNS rebinding included) is refused too.
func dialControl(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: %s", ErrForbiddenTarget, address)
	}
	if !PublicAddr(ap.Addr()) {
		return fmt.Errorf("%w: %s", ErrForbiddenTarget, ap.Addr())
	}
	return nil
}

// newDialer returns the dialer of deliveries: guarded unless allowPrivate.
func newDialer(allowPrivate bool) func(ctx context.Context, network, addr string) (net.Conn, error) {
	d := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	if !allowPrivate {
		d.Control = dialControl
	}
	return d.DialContext
}

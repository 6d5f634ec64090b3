package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// getStatus GETs url with an optional bearer token and returns the status
// and body.
func getStatus(t *testing.T, u, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", u, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := (&http.Client{Timeout: hostileTimeout}).Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

var metricsLineRE = regexp.MustCompile(`metrics on (http://\S+)`)

// TestMetricsNotPublic: /metrics shows every tenant's activity, so the
// API's address does not serve it without a token; --metrics-addr serves
// it apart and --metrics-token requires a bearer token.
func TestMetricsNotPublic(t *testing.T) {
	t.Run("Default", func(t *testing.T) {
		s := startServe(t, nil, t.TempDir())
		if st, _ := getStatus(t, s.URL+"/metrics", ""); st != http.StatusNotFound {
			t.Errorf("GET /metrics on the API's address: HTTP %d, want 404", st)
		}
	})
	const token = "metrics-token-0123456789"
	t.Run("Token", func(t *testing.T) {
		s := startServe(t, nil, t.TempDir(), "--metrics-token", token)
		if st, _ := getStatus(t, s.URL+"/metrics", ""); st != http.StatusUnauthorized {
			t.Errorf("without the token: HTTP %d, want 401", st)
		}
		if st, _ := getStatus(t, s.URL+"/metrics", token+"x"); st != http.StatusUnauthorized {
			t.Errorf("with a wrong token: HTTP %d, want 401", st)
		}
		if st, body := getStatus(t, s.URL+"/metrics", token); st != http.StatusOK || !strings.Contains(body, "amp_") {
			t.Errorf("with the token: HTTP %d, %.200s", st, body)
		}
	})
	t.Run("OwnAddress", func(t *testing.T) {
		s := startServe(t, nil, t.TempDir(), "--metrics-addr", "127.0.0.1:0")
		m := metricsLineRE.FindStringSubmatch(s.Stdout.String())
		if m == nil {
			t.Fatalf("no metrics address printed:\n%s", s.Stdout.String())
		}
		if st, body := getStatus(t, m[1], ""); st != http.StatusOK || !strings.Contains(body, "amp_") {
			t.Errorf("GET %s: HTTP %d, %.200s", m[1], st, body)
		}
		if st, _ := getStatus(t, s.URL+"/metrics", ""); st != http.StatusNotFound {
			t.Errorf("GET /metrics on the API's address: HTTP %d, want 404", st)
		}
	})
}

// dialFrom opens a connection to the server from a loopback address of
// its own (Linux answers on all of 127.0.0.0/8), so that one test can play
// several clients.
func dialFrom(t *testing.T, base, from string) net.Conn {
	t.Helper()
	u, _ := url.Parse(base)
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: hostileTimeout}
	c, err := d.Dial("tcp", u.Host)
	if err != nil {
		t.Fatalf("dial from %s: %v", from, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// roundTrip sends one keep-alive request on c and reads its answer; the
// connection stays open, idle, afterwards.
func roundTrip(c net.Conn, r *bufio.Reader) (int, error) {
	c.SetDeadline(time.Now().Add(hostileTimeout))
	defer c.SetDeadline(time.Time{})
	if _, err := fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: amp\r\n\r\n"); err != nil {
		return 0, err
	}
	res, err := http.ReadResponse(r, nil)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode, nil
}

// TestConnectionCaps: one client's idle keep-alive connections are capped
// (--max-conns-per-ip), so other clients are still served; past the total
// (--max-conns) new connections wait until one closes.
func TestConnectionCaps(t *testing.T) {
	s := startServe(t, nil, t.TempDir(), "--max-conns", "5", "--max-conns-per-ip", "3")
	type conn struct {
		c net.Conn
		r *bufio.Reader
	}
	open := func(from string) conn {
		c := dialFrom(t, s.URL, from)
		return conn{c, bufio.NewReader(c)}
	}
	// A greedy client holds its three idle connections.
	var greedy []conn
	for i := range 3 {
		c := open("127.0.0.1")
		if st, err := roundTrip(c.c, c.r); err != nil || st != 200 {
			t.Fatalf("greedy connection %d: %d, %v", i+1, st, err)
		}
		greedy = append(greedy, c)
	}
	// Its fourth is closed at once, unanswered.
	extra := open("127.0.0.1")
	if st, err := roundTrip(extra.c, extra.r); err == nil {
		t.Fatalf("a fourth connection from the greedy client was answered (HTTP %d), want it closed", st)
	}
	// Another client is served beside it, on two connections.
	other := []conn{open("127.0.0.2"), open("127.0.0.2")}
	for i, c := range other {
		if st, err := roundTrip(c.c, c.r); err != nil || st != 200 {
			t.Fatalf("other client's connection %d: %d, %v", i+1, st, err)
		}
	}
	// Five connections are held: a sixth client's waits to be accepted,
	// and is served once one of the greedy client's closes.
	late := open("127.0.0.3")
	late.c.SetDeadline(time.Now().Add(hostileTimeout))
	if _, err := fmt.Fprintf(late.c, "GET /healthz HTTP/1.1\r\nHost: amp\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	greedy[0].c.Close()
	res, err := http.ReadResponse(late.r, nil)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("the waiting client: %v, %v", res, err)
	}
	res.Body.Close()
}

// TestContentLengthWithTransferEncoding: a request with both headers is
// refused with 400 and its connection closed (RFC 9112 §6.1), also when it
// follows other requests on a keep-alive connection; chunked requests
// alone, and Content-Length alone, are served and keep it open.
func TestContentLengthWithTransferEncoding(t *testing.T) {
	s := startServe(t, nil, t.TempDir())
	c := dialFrom(t, s.URL, "127.0.0.1")
	r := bufio.NewReader(c)
	c.SetDeadline(time.Now().Add(hostileTimeout))
	send := func(req string) *http.Response {
		t.Helper()
		if _, err := io.WriteString(c, req); err != nil {
			t.Fatal(err)
		}
		res, err := http.ReadResponse(r, nil)
		if err != nil {
			t.Fatalf("no response: %v", err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res
	}
	body := `{"userId":"u","task":"t"}`
	chunked := fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", len(body), body)
	// Content-Length alone, then chunked alone: answered (401: no key), the
	// connection kept.
	if res := send("POST /v1/context HTTP/1.1\r\nHost: amp\r\nContent-Type: application/json\r\nContent-Length: " +
		fmt.Sprint(len(body)) + "\r\n\r\n" + body); res.StatusCode != 401 || res.Close {
		t.Fatalf("Content-Length alone: HTTP %d, close %v", res.StatusCode, res.Close)
	}
	if res := send("POST /v1/context HTTP/1.1\r\nHost: amp\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" +
		chunked); res.StatusCode != 401 || res.Close {
		t.Fatalf("chunked alone: HTTP %d, close %v", res.StatusCode, res.Close)
	}
	// Both: 400, and the server closes the connection.
	res := send("POST /v1/context HTTP/1.1\r\nHost: amp\r\nContent-Type: application/json\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked)
	if res.StatusCode != http.StatusBadRequest || !res.Close {
		t.Fatalf("both headers: HTTP %d, close %v; want 400 and close", res.StatusCode, res.Close)
	}
	if n, err := r.Read(make([]byte, 1)); err == nil {
		t.Fatalf("the connection stays open after the refusal (read %d bytes)", n)
	}
}

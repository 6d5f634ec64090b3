package redis_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"

	goredis "github.com/redis/go-redis/v9"

	"github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/internal/metrics"
	"github.com/amp-protocol/amp/internal/redis"
)

// redisURL returns AMP_TEST_REDIS_URL or skips the test.
func redisURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("AMP_TEST_REDIS_URL")
	if u == "" {
		t.Skip("AMP_TEST_REDIS_URL not set: Redis-backed limits not tested (scripts/redis-test-server.sh start prints one; .ci/run starts it)")
	}
	return u
}

// testPrefix is a key prefix of one test, so that tests share one server
// without seeing each other's keys; the keys are deleted when it ends.
func testPrefix(t testing.TB, url string) string {
	t.Helper()
	b := make([]byte, 6)
	rand.Read(b)
	prefix := "amptest:" + hex.EncodeToString(b) + ":"
	t.Cleanup(func() {
		o, err := goredis.ParseURL(url)
		if err != nil {
			t.Error(err)
			return
		}
		rdb := goredis.NewClient(o)
		defer rdb.Close()
		ctx := context.Background()
		iter := rdb.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			rdb.Del(ctx, iter.Val())
		}
		if err := iter.Err(); err != nil {
			t.Errorf("delete test keys: %v", err)
		}
	})
	return prefix
}

// open returns a Client of the test server (or of url if given) with a
// caller clock and a prefix of the test's own.
func open(t testing.TB, url, prefix string, opts ...redis.Option) *redis.Client {
	t.Helper()
	all := append([]redis.Option{redis.WithPrefix(prefix), redis.WithCallerClock(), redis.WithMetrics(metrics.New())}, opts...)
	c, err := redis.Open(url, all...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// rawClient returns a plain go-redis client of url, to inspect keys.
func rawClient(t testing.TB, url string) *goredis.Client {
	t.Helper()
	o, err := goredis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	rdb := goredis.NewClient(o)
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

// proxy is a TCP proxy in front of Redis that a test can cut and restore,
// to make Redis unreachable for one client without stopping the server.
type proxy struct {
	t      testing.TB
	ln     net.Listener
	target string

	mu    sync.Mutex
	cut   bool
	conns []net.Conn
	wg    sync.WaitGroup
}

func newProxy(t testing.TB, redisURL string) *proxy {
	t.Helper()
	o, err := goredis.ParseURL(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{t: t, ln: ln, target: o.Addr}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(func() {
		ln.Close()
		p.setCut(true)
		p.wg.Wait()
	})
	return p
}

// url is the proxy's redis:// URL, on the database of the real one.
func (p *proxy) url(redisURL string) string {
	o, _ := goredis.ParseURL(redisURL)
	return "redis://" + p.ln.Addr().String() + "/" + strconv.Itoa(o.DB)
}

func (p *proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.cut {
			p.mu.Unlock()
			c.Close()
			continue
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			p.mu.Unlock()
			c.Close()
			continue
		}
		p.conns = append(p.conns, c, up)
		p.mu.Unlock()
		p.wg.Add(2)
		go func() { defer p.wg.Done(); io.Copy(up, c); up.Close() }()
		go func() { defer p.wg.Done(); io.Copy(c, up); c.Close() }()
	}
}

// setCut cuts every connection and refuses new ones (true), or lets new
// ones through again (false).
func (p *proxy) setCut(cut bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = cut
	if cut {
		for _, c := range p.conns {
			c.Close()
		}
		p.conns = nil
	}
}

func TestOpenRejectsBadURL(t *testing.T) {
	for _, u := range []string{"", "postgres://x", "redis//x", "http://127.0.0.1:6379"} {
		if _, err := redis.Open(u); err == nil {
			t.Errorf("Open(%q): got nil error, want one", u)
		}
	}
	c, err := redis.Open("redis://:s3cret@127.0.0.1:1/0")
	if err != nil {
		t.Fatalf("Open of a valid URL: %v", err)
	}
	c.Close()
	if _, err := redis.Open("redis://:s3cret@127.0.0.1:1/notadb"); err == nil {
		t.Error("Open with a bad db: got nil error")
	} else if strings.Contains(err.Error(), "s3cret") {
		t.Errorf("the error quotes the password: %v", err)
	}
}

func account(plan string) *amp.Account {
	return &amp.Account{ID: "acct_" + plan, Name: plan, Plan: amp.Plan(plan)}
}

func apiKey(mode string, rateLimit int) *amp.APIKey {
	return &amp.APIKey{ID: "key_" + mode, AccountID: "acct", Mode: amp.Mode(mode), RateLimit: rateLimit}
}

// storeErrors reads the amp_store_errors_total counter of op in m.
func storeErrors(t testing.TB, m *metrics.Metrics, op string) float64 {
	t.Helper()
	mfs, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "amp_store_errors_total" {
			continue
		}
		for _, mt := range mf.GetMetric() {
			for _, l := range mt.GetLabel() {
				if l.GetName() == "op" && l.GetValue() == op {
					return mt.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

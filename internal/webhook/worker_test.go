package webhook_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/internal/sqlite"
	"github.com/amp-protocol/amp/internal/testclock"
	"github.com/amp-protocol/amp/internal/webhook"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// receiver is a test HTTP server that records deliveries and answers with
// the status its handler picks.
type receiver struct {
	*httptest.Server
	mu       sync.Mutex
	got      []delivery
	status   atomic.Int32
	inFlight atomic.Int32
	peak     atomic.Int32
	hold     chan struct{} // when not nil, each request waits for it
}

type delivery struct {
	header http.Header
	body   []byte
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{}
	r.status.Store(http.StatusNoContent)
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		n := r.inFlight.Add(1)
		defer r.inFlight.Add(-1)
		for {
			p := r.peak.Load()
			if n <= p || r.peak.CompareAndSwap(p, n) {
				break
			}
		}
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.got = append(r.got, delivery{header: req.Header.Clone(), body: body})
		hold := r.hold
		r.mu.Unlock()
		if hold != nil {
			<-hold
		}
		w.WriteHeader(int(r.status.Load()))
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) deliveries() []delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]delivery(nil), r.got...)
}

type fixture struct {
	db    *sqlite.DB
	clock *testclock.Clock
	w     *webhook.Worker
	ep    *amp.WebhookEndpoint
}

func newFixture(t *testing.T, url string, cfg webhook.Config) *fixture {
	t.Helper()
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "amp.db"), sqlite.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ctx := t.Context()
	if err := db.CreateAccount(ctx, &amp.Account{ID: "acct_1", Name: "a", Plan: amp.PlanStarter, CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	ep := &amp.WebhookEndpoint{ID: "we_1", AccountID: "acct_1", Mode: amp.ModeTest, URL: url,
		EventTypes: []amp.EventType{amp.EventKeyQuarantined}, Secret: "whsec_current", CreatedAt: t0, UpdatedAt: t0}
	if err := db.CreateWebhookEndpoint(ctx, ep); err != nil {
		t.Fatal(err)
	}
	clock := testclock.New(t0)
	cfg.Store, cfg.Now = db, clock.Now
	if cfg.Jitter == nil {
		cfg.Jitter = func() float64 { return 0.5 } // a factor of exactly 1
	}
	w, err := webhook.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{db: db, clock: clock, w: w, ep: ep}
}

func (f *fixture) enqueue(t *testing.T, id string) *amp.WebhookDelivery {
	t.Helper()
	now := f.clock.Now()
	body, _ := json.Marshal(map[string]any{"id": id, "type": amp.EventKeyQuarantined, "data": map[string]any{"keyId": "key_1"}})
	ev := &amp.WebhookEvent{ID: id, AccountID: "acct_1", Mode: amp.ModeTest, Type: amp.EventKeyQuarantined, Payload: body, CreatedAt: now}
	d := &amp.WebhookDelivery{ID: "whd_" + id, EventID: id, EndpointID: f.ep.ID, AccountID: "acct_1", Mode: amp.ModeTest,
		EventType: ev.Type, Status: amp.DeliveryPending, NextAttemptAt: now, CreatedAt: now}
	if _, err := f.db.EnqueueEvent(t.Context(), ev, []*amp.WebhookDelivery{d}); err != nil {
		t.Fatal(err)
	}
	return d
}

func (f *fixture) tick(t *testing.T) int {
	t.Helper()
	n, err := f.w.Tick(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func (f *fixture) delivery(t *testing.T, id string) *amp.WebhookDelivery {
	t.Helper()
	d, err := f.db.WebhookDelivery(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestDeliverySigned(t *testing.T) {
	rcv := newReceiver(t)
	f := newFixture(t, rcv.URL, webhook.Config{AllowPrivate: true})
	// A roll in its grace period: both secrets sign.
	f.ep.PreviousSecret, f.ep.Secret = f.ep.Secret, "whsec_rolled"
	f.ep.PreviousSecretExpiresAt = new(t0.Add(time.Hour))
	if err := f.db.UpdateWebhookEndpoint(t.Context(), f.ep); err != nil {
		t.Fatal(err)
	}
	f.enqueue(t, "evt_1")
	if n := f.tick(t); n != 1 {
		t.Fatalf("Tick claimed %d, want 1", n)
	}
	got := rcv.deliveries()
	if len(got) != 1 {
		t.Fatalf("receiver got %d deliveries, want 1", len(got))
	}
	h := got[0].header
	if h.Get("AMP-Event-Id") != "evt_1" || h.Get("AMP-Event-Type") != "key.quarantined" || h.Get("AMP-Delivery-Attempt") != "1" {
		t.Fatalf("headers: %v", h)
	}
	sig := h.Get(webhook.SignatureHeader)
	want := fmt.Sprintf("t=%d,v1=%s,v1=%s", t0.Unix(), webhook.Sign("whsec_rolled", t0, got[0].body), webhook.Sign("whsec_current", t0, got[0].body))
	if sig != want {
		t.Fatalf("AMP-Signature = %q, want %q", sig, want)
	}
	for _, secret := range []string{"whsec_rolled", "whsec_current"} {
		if err := webhook.Verify(sig, got[0].body, secret, 5*time.Minute, t0.Add(time.Minute)); err != nil {
			t.Errorf("Verify with %s: %v", secret, err)
		}
	}
	d := f.delivery(t, "whd_evt_1")
	if d.Status != amp.DeliverySucceeded || d.Attempts != 1 || d.LastStatus != http.StatusNoContent || d.LastError != "" {
		t.Fatalf("delivery after success: %+v", d)
	}
	log, err := f.db.DeliveryAttempts(t.Context(), d.ID)
	if err != nil || len(log) != 1 || log[0].Status != http.StatusNoContent {
		t.Fatalf("delivery log: %v %+v", err, log)
	}
	// After the grace, only the new secret signs.
	f.clock.Advance(2 * time.Hour)
	f.enqueue(t, "evt_2")
	f.tick(t)
	got = rcv.deliveries()
	if sig := got[1].header.Get(webhook.SignatureHeader); sig != fmt.Sprintf("t=%d,v1=%s", f.clock.Now().Unix(), webhook.Sign("whsec_rolled", f.clock.Now(), got[1].body)) {
		t.Fatalf("after the grace, AMP-Signature = %q", sig)
	}
}

func TestRetryScheduleAndGiveUp(t *testing.T) {
	rcv := newReceiver(t)
	rcv.status.Store(http.StatusServiceUnavailable)
	// A breaker that never opens, to see the backoff alone.
	f := newFixture(t, rcv.URL, webhook.Config{AllowPrivate: true, Breaker: webhook.BreakerConfig{Failures: 1 << 30}})
	f.enqueue(t, "evt_1")
	var waits []time.Duration
	for range 40 {
		if f.tick(t) != 1 {
			t.Fatalf("the delivery was not due after %d attempts", len(waits))
		}
		d := f.delivery(t, "whd_evt_1")
		if d.Status == amp.DeliveryFailed {
			break
		}
		if d.Status != amp.DeliveryPending || d.LastStatus != http.StatusServiceUnavailable || d.LastError != "HTTP 503" {
			t.Fatalf("after a 503: %+v", d)
		}
		wait := d.NextAttemptAt.Sub(f.clock.Now())
		waits = append(waits, wait)
		// Not due a moment before its time; due at it.
		f.clock.Set(d.NextAttemptAt.Add(-time.Millisecond))
		if n := f.tick(t); n != 0 {
			t.Fatal("a delivery was attempted before its retry time")
		}
		f.clock.Set(d.NextAttemptAt)
	}
	want := time.Duration(webhook.DefaultFirstRetry)
	for i, w := range waits {
		if w != want {
			t.Fatalf("wait %d = %v, want %v (waits %v)", i+1, w, want, waits)
		}
		want = min(2*want, webhook.DefaultMaxRetry)
	}
	d := f.delivery(t, "whd_evt_1")
	if d.Status != amp.DeliveryFailed {
		t.Fatalf("after %d attempts the delivery is %s, want failed", d.Attempts, d.Status)
	}
	last := *d.LastAttemptAt
	if last.After(t0.Add(webhook.DefaultRetryFor)) || last.Add(webhook.DefaultMaxRetry*5/4).Before(t0.Add(webhook.DefaultRetryFor)) {
		t.Fatalf("the last attempt, at %v, is not within one retry of the 3-day window's end", last.Sub(t0))
	}
	log, _ := f.db.DeliveryAttempts(t.Context(), d.ID)
	if len(log) != d.Attempts || len(log) != len(waits)+1 {
		t.Fatalf("%d log entries, %d attempts, %d waits", len(log), d.Attempts, len(waits))
	}
	if n := len(rcv.deliveries()); n != d.Attempts {
		t.Fatalf("the receiver saw %d attempts, the log says %d", n, d.Attempts)
	}
}

func TestJitterSpreadsRetries(t *testing.T) {
	rcv := newReceiver(t)
	rcv.status.Store(http.StatusInternalServerError)
	for _, c := range []struct {
		j    float64
		want time.Duration
	}{{0, 22500 * time.Millisecond}, {0.999999, 37499985 * time.Microsecond}} {
		f := newFixture(t, rcv.URL, webhook.Config{AllowPrivate: true, Jitter: func() float64 { return c.j }})
		f.enqueue(t, "evt_1")
		f.tick(t)
		d := f.delivery(t, "whd_evt_1")
		if got := d.NextAttemptAt.Sub(t0); got.Round(time.Millisecond) != c.want.Round(time.Millisecond) {
			t.Errorf("jitter %v: first retry after %v, want %v", c.j, got, c.want)
		}
	}
}

func TestCircuitOpensAndCloses(t *testing.T) {
	rcv := newReceiver(t)
	rcv.status.Store(http.StatusInternalServerError)
	cfg := webhook.Config{AllowPrivate: true, Breaker: webhook.BreakerConfig{Failures: 3, Cooldown: time.Minute, MaxCooldown: 4 * time.Minute}}
	f := newFixture(t, rcv.URL, cfg)
	for i := range 3 {
		f.enqueue(t, fmt.Sprintf("evt_%d", i))
	}
	f.tick(t) // three failures: the circuit opens
	if s := f.w.Circuit(f.ep.ID, f.clock.Now()); s != webhook.StateOpen {
		t.Fatalf("after 3 failures the circuit is %s, want open", s)
	}
	// While open, a due delivery is held back without an attempt.
	f.enqueue(t, "evt_held")
	f.tick(t)
	held := f.delivery(t, "whd_evt_held")
	if held.Attempts != 0 || !held.NextAttemptAt.Equal(t0.Add(time.Minute)) {
		t.Fatalf("a delivery while open: %+v, want no attempt and a retry when the cooldown ends", held)
	}
	seen := len(rcv.deliveries())
	if seen != 3 {
		t.Fatalf("the receiver saw %d attempts, want 3", seen)
	}
	// The cooldown ends: one trial; it fails and the circuit reopens for
	// twice as long.
	f.clock.Set(t0.Add(time.Minute))
	if s := f.w.Circuit(f.ep.ID, f.clock.Now()); s != webhook.StateHalfOpen {
		t.Fatalf("after the cooldown the circuit is %s, want half_open", s)
	}
	f.tick(t)
	if n := len(rcv.deliveries()) - seen; n != 1 {
		t.Fatalf("half-open let %d attempts through, want 1 trial", n)
	}
	if s := f.w.Circuit(f.ep.ID, f.clock.Now()); s != webhook.StateOpen {
		t.Fatalf("after a failed trial the circuit is %s, want open", s)
	}
	if s := f.w.Circuit(f.ep.ID, t0.Add(time.Minute+119*time.Second)); s != webhook.StateOpen {
		t.Fatalf("the reopened circuit closed before twice the cooldown: %s", s)
	}
	// The endpoint recovers: the next trial succeeds and closes it; the
	// held deliveries go out.
	rcv.status.Store(http.StatusOK)
	f.clock.Set(t0.Add(3 * time.Minute))
	f.tick(t)
	if s := f.w.Circuit(f.ep.ID, f.clock.Now()); s != webhook.StateClosed {
		t.Fatalf("after a successful trial the circuit is %s, want closed", s)
	}
	f.clock.Advance(time.Hour)
	for f.tick(t) > 0 {
	}
	for _, id := range []string{"evt_0", "evt_1", "evt_2", "evt_held"} {
		if d := f.delivery(t, "whd_"+id); d.Status != amp.DeliverySucceeded {
			t.Errorf("%s: %s after the endpoint recovered", id, d.Status)
		}
	}
}

func TestPrivateTargetsRefusedByDefault(t *testing.T) {
	rcv := newReceiver(t)
	f := newFixture(t, rcv.URL, webhook.Config{})
	f.enqueue(t, "evt_1")
	f.tick(t)
	d := f.delivery(t, "whd_evt_1")
	if d.Status != amp.DeliveryPending || d.Attempts != 1 || d.LastStatus != 0 {
		t.Fatalf("delivery to loopback: %+v", d)
	}
	if len(rcv.deliveries()) != 0 {
		t.Fatal("a delivery reached a loopback address without AllowPrivate")
	}
	if want := "not public"; !strings.Contains(d.LastError, want) {
		t.Fatalf("LastError = %q, want it to say %q", d.LastError, want)
	}
}

func TestRedirectNotFollowed(t *testing.T) {
	rcv := newReceiver(t)
	redirect := httptest.NewServer(http.RedirectHandler(rcv.URL, http.StatusFound))
	t.Cleanup(redirect.Close)
	f := newFixture(t, redirect.URL, webhook.Config{AllowPrivate: true})
	f.enqueue(t, "evt_1")
	f.tick(t)
	d := f.delivery(t, "whd_evt_1")
	if d.Status != amp.DeliveryPending || d.LastStatus != http.StatusFound || len(rcv.deliveries()) != 0 {
		t.Fatalf("a redirect was followed or taken for success: %+v", d)
	}
}

func TestConcurrencyBounded(t *testing.T) {
	rcv := newReceiver(t)
	rcv.hold = make(chan struct{})
	f := newFixture(t, rcv.URL, webhook.Config{AllowPrivate: true, Concurrency: 3})
	for i := range 9 {
		f.enqueue(t, fmt.Sprintf("evt_%d", i))
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for f.tick(t) > 0 {
		}
	}()
	// Release requests one at a time; at most 3 are ever in flight.
	for range 9 {
		rcv.hold <- struct{}{}
	}
	<-done
	if p := rcv.peak.Load(); p > 3 || p < 1 {
		t.Fatalf("peak concurrency %d, want at most 3", p)
	}
	if n := len(rcv.deliveries()); n != 9 {
		t.Fatalf("%d deliveries, want 9", n)
	}
}

func TestTimeoutBoundsAnAttempt(t *testing.T) {
	rcv := newReceiver(t)
	rcv.hold = make(chan struct{})
	t.Cleanup(func() { close(rcv.hold) })
	f := newFixture(t, rcv.URL, webhook.Config{AllowPrivate: true, Timeout: 50 * time.Millisecond})
	f.enqueue(t, "evt_1")
	f.tick(t)
	d := f.delivery(t, "whd_evt_1")
	if d.Status != amp.DeliveryPending || d.LastStatus != 0 || !strings.Contains(d.LastError, "deadline") && !strings.Contains(d.LastError, "timeout") {
		t.Fatalf("a hung receiver: %+v", d)
	}
}

func TestRunStopsOnShutdown(t *testing.T) {
	rcv := newReceiver(t)
	f := newFixture(t, rcv.URL, webhook.Config{AllowPrivate: true, PollInterval: time.Millisecond})
	f.enqueue(t, "evt_1")
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- f.w.Run(ctx) }()
	for len(rcv.deliveries()) == 0 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestVerify(t *testing.T) {
	body := []byte(`{"id":"evt_1"}`)
	h := webhook.Signature([]string{"whsec_a"}, t0, body)
	for _, c := range []struct {
		name   string
		header string
		body   []byte
		secret string
		now    time.Time
		want   error
	}{
		{"valid", h, body, "whsec_a", t0.Add(4 * time.Minute), nil},
		{"wrong secret", h, body, "whsec_b", t0, webhook.ErrNoSignature},
		{"body changed", h, []byte(`{"id":"evt_2"}`), "whsec_a", t0, webhook.ErrNoSignature},
		{"too old", h, body, "whsec_a", t0.Add(6 * time.Minute), webhook.ErrOutsideWindow},
		{"from the future", h, body, "whsec_a", t0.Add(-6 * time.Minute), webhook.ErrOutsideWindow},
		{"no timestamp", "v1=abc", body, "whsec_a", t0, webhook.ErrBadHeader},
		{"garbage", "nonsense", body, "whsec_a", t0, webhook.ErrBadHeader},
		{"timestamp changed", fmt.Sprintf("t=%d,v1=%s", t0.Unix()+1, webhook.Sign("whsec_a", t0, body)), body, "whsec_a", t0, webhook.ErrNoSignature},
	} {
		if err := webhook.Verify(c.header, c.body, c.secret, 5*time.Minute, c.now); !errors.Is(err, c.want) {
			t.Errorf("%s: Verify = %v, want %v", c.name, err, c.want)
		}
	}
}

func TestCheckURL(t *testing.T) {
	for _, c := range []struct {
		url                string
		https, private, ok bool
	}{
		{"https://example.com/hook", true, false, true},
		{"http://example.com/hook", true, false, false},
		{"http://example.com/hook", false, false, true},
		{"https://127.0.0.1/hook", false, false, false},
		{"https://127.0.0.1/hook", false, true, true},
		{"https://169.254.169.254/latest", false, false, false},
		{"https://[::1]/x", false, false, false},
		{"https://10.1.2.3/x", false, false, false},
		{"https://100.64.0.1/x", false, false, false},
		{"https://localhost:8080/x", false, false, false},
		{"https://user:pw@example.com/x", false, false, false},
		{"ftp://example.com/x", false, false, false},
		{"/relative", false, false, false},
		{"https://example.com/" + string(make([]byte, webhook.MaxURLBytes)), false, false, false},
	} {
		_, err := webhook.CheckURL(c.url, c.https, c.private)
		if (err == nil) != c.ok {
			t.Errorf("CheckURL(%.60q, https=%v, private=%v) = %v, want ok=%v", c.url, c.https, c.private, err, c.ok)
		}
	}
	for addr, public := range map[string]bool{"8.8.8.8": true, "2606:4700::1111": true, "192.168.1.1": false, "::ffff:127.0.0.1": false, "0.1.2.3": false, "fe80::1": false, "fd00::1": false} {
		if got := webhook.PublicAddr(netip.MustParseAddr(addr)); got != public {
			t.Errorf("PublicAddr(%s) = %v, want %v", addr, got, public)
		}
	}
}

// A failed answer's body starts the delivery log's error, as one line of
// printable text, cut short: what the receiver said, for the owner.
func TestFailedAnswerSnippet(t *testing.T) {
	body := "{\"error\":\n\t\"bad signature\"}\x00\xff" + strings.Repeat("x", 1000)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	f := newFixture(t, srv.URL, webhook.Config{AllowPrivate: true})
	f.enqueue(t, "evt_1")
	f.tick(t)
	d := f.delivery(t, "whd_evt_1")
	want := `HTTP 400: {"error": "bad signature"} ` + strings.Repeat("x", 200-len("{\"error\":\n\t\"bad signature\"}\x00\xff"))
	if d.LastStatus != http.StatusBadRequest || d.LastError != want {
		t.Fatalf("after a 400 with a body: status %d, error %q; want %q", d.LastStatus, d.LastError, want)
	}
}

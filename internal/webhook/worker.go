// Package webhook delivers the events of the store's outbox to their
// endpoints: signed (Stripe-style AMP-Signature), retried with exponential
// backoff and jitter for three days, behind a circuit breaker per endpoint,
// with bounded concurrency and timeouts, and by default only to public
// addresses.
//
// Delivery is at least once. An event and its deliveries are committed
// together (amp.WebhookStore.EnqueueEvent); the worker claims due
// deliveries under a lease, sends them, and records each attempt. A worker
// killed between sending and recording leaves the delivery to be claimed
// again when the lease ends, so a receiver may see an event twice; it
// deduplicates by the event id (the AMP-Event-Id header and the body's
// "id"), which is the same on every delivery of an event.
//
// The worker holds no business rules: which endpoints receive an event is
// decided by the service when it enqueues it.
package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/amp-protocol/amp"
)

// Defaults of Config.
const (
	DefaultConcurrency  = 8
	DefaultTimeout      = 10 * time.Second
	DefaultPollInterval = time.Second
	DefaultRetryFor     = 72 * time.Hour
	DefaultFirstRetry   = 30 * time.Second
	DefaultMaxRetry     = 6 * time.Hour
)

// maxResponseBytes is how much of an answer is read; the rest is dropped.
const maxResponseBytes = 64 << 10

// maxSnippetBytes is how much of a failed answer's body the delivery log
// keeps, after its status, to tell the owner what the receiver said.
const maxSnippetBytes = 200

// maxErrorBytes bounds the error text kept in the delivery log.
const maxErrorBytes = 500

// Config wires a Worker.
type Config struct {
	Store  amp.WebhookStore
	Logger *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Jitter returns a number in [0, 1) that spreads retries; a
	// math/rand/v2 source when nil.
	Jitter func() float64
	// Client sends deliveries; when nil, one whose dialer refuses
	// non-public addresses unless AllowPrivate, that follows no redirect
	// and ignores proxy settings (a proxy would bypass the guard).
	Client *http.Client
	// AllowPrivate lets deliveries reach loopback, private and link-local
	// addresses: for tests and for receivers on an internal network the
	// operator trusts.
	AllowPrivate bool
	// Concurrency bounds deliveries in flight; DefaultConcurrency when 0.
	Concurrency int
	// Timeout bounds one attempt, connection to last byte; DefaultTimeout
	// when 0.
	Timeout time.Duration
	// PollInterval is how often the outbox is polled; DefaultPollInterval
	// when 0.
	PollInterval time.Duration
	// RetryFor is how long after its event a delivery is retried;
	// DefaultRetryFor when 0.
	RetryFor time.Duration
	// FirstRetry and MaxRetry shape the backoff: the nth retry waits
	// FirstRetry·2^(n-1), at most MaxRetry, ±25% jitter.
	FirstRetry, MaxRetry time.Duration
	// Breaker tunes the circuit breaker; DefaultBreaker's value for each
	// zero field.
	Breaker BreakerConfig
}

// Worker delivers the outbox. Run owns its goroutines; Start and Close run
// it in the background in the server's one style of background work.
type Worker struct {
	stop context.CancelFunc // set by Start
	done chan struct{}

	store   amp.WebhookStore
	log     *slog.Logger
	now     func() time.Time
	jitter  func() float64
	client  *http.Client
	sem     chan struct{}
	timeout time.Duration
	poll    time.Duration
	retry   time.Duration
	first   time.Duration
	maxWait time.Duration
	lease   time.Duration
	batch   int
	breaker *breakers
}

// New returns a Worker for cfg.
func New(cfg Config) (*Worker, error) {
	if cfg.Store == nil {
		return nil, errors.New("webhook: Store is required")
	}
	w := &Worker{
		store: cfg.Store, log: cfg.Logger, now: cfg.Now, jitter: cfg.Jitter, client: cfg.Client,
		timeout: cfg.Timeout, poll: cfg.PollInterval, retry: cfg.RetryFor, first: cfg.FirstRetry, maxWait: cfg.MaxRetry,
	}
	if w.log == nil {
		w.log = slog.New(slog.DiscardHandler)
	}
	if w.now == nil {
		w.now = time.Now
	}
	if w.jitter == nil {
		w.jitter = rand.Float64
	}
	n := cfg.Concurrency
	if n <= 0 {
		n = DefaultConcurrency
	}
	w.sem, w.batch = make(chan struct{}, n), n
	if w.timeout <= 0 {
		w.timeout = DefaultTimeout
	}
	if w.poll <= 0 {
		w.poll = DefaultPollInterval
	}
	if w.retry <= 0 {
		w.retry = DefaultRetryFor
	}
	if w.first <= 0 {
		w.first = DefaultFirstRetry
	}
	if w.maxWait <= 0 {
		w.maxWait = DefaultMaxRetry
	}
	// A claim outlives its batch: a batch is at most Concurrency
	// deliveries, all in flight at once, each bounded by the timeout, then
	// recorded. Three timeouts leave room for the recording; a worker that
	// dies leaves its claims to others (or to itself, restarted) after that.
	w.lease = 3 * w.timeout
	if w.client == nil {
		w.client = &http.Client{
			Transport: &http.Transport{
				Proxy:                 nil,
				DialContext:           newDialer(cfg.AllowPrivate),
				TLSHandshakeTimeout:   5 * time.Second,
				ResponseHeaderTimeout: w.timeout,
				MaxIdleConnsPerHost:   2,
				IdleConnTimeout:       90 * time.Second,
			},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	w.breaker = newBreakers(cfg.Breaker)
	return w, nil
}

// Start runs Run in the background until Close. Call it once.
func (w *Worker) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	w.stop, w.done = cancel, make(chan struct{})
	go func() {
		defer close(w.done)
		w.Run(ctx)
	}()
}

// Close stops what Start started and waits for the deliveries in flight,
// each bounded by the timeout. Without Start it does nothing.
func (w *Worker) Close() error {
	if w.stop != nil {
		w.stop()
		<-w.done
	}
	return nil
}

// Run delivers the outbox until ctx is done, then waits for the deliveries
// in flight (each bounded by the timeout) and returns.
func (w *Worker) Run(ctx context.Context) error {
	ticker := time.NewTicker(w.poll)
	defer ticker.Stop()
	for {
		n, err := w.Tick(ctx)
		if err != nil && ctx.Err() == nil {
			w.log.Warn("webhook outbox poll failed", "err", err)
		}
		if n == w.batch && ctx.Err() == nil {
			continue // a full batch: more may be due at once
		}
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
	}
}

// Tick claims the deliveries due now, sends them, at most Concurrency at a
// time, records their attempts, and returns how many it claimed.
func (w *Worker) Tick(ctx context.Context) (int, error) {
	if ctx.Err() != nil {
		return 0, nil
	}
	due, err := w.store.ClaimDeliveries(ctx, w.now(), w.lease, w.batch)
	if err != nil {
		return 0, err
	}
	var wg sync.WaitGroup
	for _, d := range due {
		w.sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-w.sem }()
			w.deliver(context.WithoutCancel(ctx), d)
		})
	}
	wg.Wait()
	return len(due), nil
}

// deliver makes one attempt of d, unless its endpoint's circuit is open,
// and records the outcome.
func (w *Worker) deliver(ctx context.Context, dd *amp.DueDelivery) {
	d, ev, ep := dd.Delivery, dd.Event, dd.Endpoint
	now := w.now()
	deadline := ev.CreatedAt.Add(w.retry)
	if ep.Disabled {
		d.Status, d.LastError = amp.DeliveryFailed, "the endpoint is disabled"
		w.save(ctx, d, nil)
		return
	}
	if ok, until := w.breaker.allow(ep.ID, now); !ok {
		if !until.Before(deadline) {
			d.Status, d.LastError = amp.DeliveryFailed, "the endpoint's circuit stayed open past the retry window"
		} else {
			d.NextAttemptAt = until // not an attempt: the breaker held it back
		}
		w.save(ctx, d, nil)
		return
	}
	status, latency, err := w.send(ctx, dd, now)
	at := now
	d.Attempts++
	a := &amp.DeliveryAttempt{DeliveryID: d.ID, Attempt: d.Attempts, At: at, Status: status, Latency: latency}
	d.LastAttemptAt, d.LastStatus, d.LastLatency = &at, status, latency
	if err == nil {
		w.breaker.success(ep.ID)
		d.Status, d.LastError = amp.DeliverySucceeded, ""
		w.save(ctx, d, a)
		return
	}
	a.Error = truncate(err.Error(), maxErrorBytes)
	d.LastError = a.Error
	w.breaker.failure(ep.ID, w.now())
	next := w.now().Add(w.backoff(d.Attempts))
	if next.After(deadline) {
		d.Status = amp.DeliveryFailed
	} else {
		d.NextAttemptAt = next
	}
	w.log.Info("webhook delivery failed", "delivery_id", d.ID, "endpoint_id", ep.ID, "attempt", d.Attempts,
		"status", status, "err", a.Error, "final", d.Status == amp.DeliveryFailed)
	w.save(ctx, d, a)
}

func (w *Worker) save(ctx context.Context, d *amp.WebhookDelivery, a *amp.DeliveryAttempt) {
	if err := w.store.SaveDelivery(ctx, d, a); err != nil {
		// The claim's lease ends and the delivery is attempted again: at
		// least once, not exactly once.
		w.log.Warn("recording a webhook delivery failed", "delivery_id", d.ID, "err", err)
	}
}

// send posts the event to the endpoint and returns the HTTP status (0 if
// none came back), the latency, and why it failed (nil for a 2xx).
func (w *Worker) send(ctx context.Context, dd *amp.DueDelivery, now time.Time) (int, time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, w.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, dd.Endpoint.URL, bytes.NewReader(dd.Event.Payload))
	if err != nil {
		return 0, 0, fmt.Errorf("bad endpoint URL: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "AMP-Webhooks/1")
	req.Header.Set(SignatureHeader, Signature(dd.Endpoint.SigningSecrets(now), now, dd.Event.Payload))
	req.Header.Set("AMP-Event-Id", dd.Event.ID)
	req.Header.Set("AMP-Event-Type", string(dd.Event.Type))
	req.Header.Set("AMP-Delivery-Id", dd.Delivery.ID)
	req.Header.Set("AMP-Delivery-Attempt", strconv.Itoa(dd.Delivery.Attempts+1))
	start := time.Now() // latency is measured, not simulated: the real clock
	resp, err := w.client.Do(req)
	if err != nil {
		// The URL stays out of the log and the delivery log: its query
		// may hold the receiver's own token.
		if ue, ok := errors.AsType[*url.Error](err); ok {
			err = ue.Err
		}
		return 0, time.Since(start), err
	}
	head := make([]byte, maxSnippetBytes)
	n, _ := io.ReadFull(resp.Body, head)
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponseBytes-int64(n)))
	resp.Body.Close()
	latency := time.Since(start)
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return resp.StatusCode, latency, nil
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		return resp.StatusCode, latency, fmt.Errorf("HTTP %d: redirects are not followed; give the final URL", resp.StatusCode)
	default:
		if s := snippet(head[:n]); s != "" {
			return resp.StatusCode, latency, fmt.Errorf("HTTP %d: %s", resp.StatusCode, s)
		}
		return resp.StatusCode, latency, fmt.Errorf("HTTP %d", resp.StatusCode)
	}
}

// backoff is the wait after the nth failed attempt: FirstRetry·2^(n-1),
// capped at MaxRetry, times a jitter factor in [0.75, 1.25).
func (w *Worker) backoff(n int) time.Duration {
	d := w.first
	for i := 1; i < n && d < w.maxWait; i++ {
		d *= 2
	}
	d = min(d, w.maxWait)
	return time.Duration(float64(d) * (0.75 + 0.5*w.jitter()))
}

// snippet is the start of an answer's body as one line of printable text:
// invalid UTF-8 and control characters become spaces, runs of space one.
func snippet(b []byte) string {
	s := strings.Map(func(r rune) rune {
		if r == utf8.RuneError || unicode.IsControl(r) || !unicode.IsPrint(r) {
			return ' '
		}
		return r
	}, string(b))
	return strings.Join(strings.Fields(s), " ")
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 { // do not cut a UTF-8 sequence
		n--
	}
	return s[:n] + "…"
}

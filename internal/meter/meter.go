// Package meter implements amp.Meter: durable per-key counts of requests
// by route, status class, client country and admission (admitted, or
// refused by the rate limit, the quota or a failed key), per minute, hour
// and day.
//
// Record is a non-blocking send into a bounded queue; when the queue is
// full (or the meter closed) the event is dropped and counted, so metering
// can never slow or stall the request path. One goroutine, started by Start
// and stopped by Close, drains the queue into per-minute counts in memory
// and adds them to the amp.UsageStore every FlushInterval and on Close.
// Each flush adds every count to its minute, its hour and its day row, so
// the roll-ups are exact and need no later pass; a retention job deletes
// rows older than Retention, per granularity (by default: minutes for
// 48 hours, hours for 90 days, days for 2 years).
//
// A crash loses at most the counts of the last FlushInterval. When the
// store fails, counts stay in memory and are retried at the next flush, up
// to MaxPending distinct rows; events that would need more are dropped and
// counted.
//
// # Client country
//
// The country of a request is looked up from its client IP (which the HTTP
// layer determines, honouring X-Forwarded-For only from trusted proxies) in
// the IP2Location LITE data embedded in github.com/phuslu/iploc, updated
// with that module. Private, loopback, link-local, shared (CGNAT) and
// documentation addresses, addresses the data does not cover, and strings
// that are not IP addresses all map to amp.UnknownCountry ("ZZ"). The
// lookup runs on the meter's goroutine, not on the request path.
package meter

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/phuslu/iploc"

	"github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/internal/metrics"
)

// Defaults of Config.
const (
	DefaultFlushInterval = 5 * time.Second
	DefaultQueueSize     = 1 << 16
	DefaultMaxPending    = 200_000
	// PruneInterval is how often the retention job runs.
	PruneInterval = time.Hour
)

// Retention is how long rows of each granularity are kept.
type Retention struct {
	Minute, Hour, Day time.Duration
}

// DefaultRetention keeps minutes for 48 hours (enough to compare today
// with yesterday minute by minute), hours for 90 days (a key's baseline and
// a quarter's charts) and days for 2 years.
var DefaultRetention = Retention{Minute: 48 * time.Hour, Hour: 90 * 24 * time.Hour, Day: 2 * 365 * 24 * time.Hour}

func (r Retention) of(g amp.Granularity) time.Duration {
	switch g {
	case amp.GranularityHour:
		return r.Hour
	case amp.GranularityDay:
		return r.Day
	default:
		return r.Minute
	}
}

// Store is the part of amp.UsageStore a Meter writes to: it adds counts
// and prunes old ones, and never reads them back.
type Store interface {
	AddUsage(ctx context.Context, rows []amp.UsageRow) error
	PruneUsage(ctx context.Context, g amp.Granularity, before time.Time) (int64, error)
}

// Config configures a Meter.
type Config struct {
	// Store receives the counts; required.
	Store Store
	// Logger logs failed flushes and prunes; discarded when nil.
	Logger *slog.Logger
	// Now is the clock of the retention job, and the time of events that
	// carry none; time.Now when nil.
	Now func() time.Time
	// FlushInterval is how often counts are added to the store;
	// DefaultFlushInterval when zero.
	FlushInterval time.Duration
	// QueueSize bounds the events waiting for the meter's goroutine;
	// DefaultQueueSize when zero.
	QueueSize int
	// MaxPending bounds the distinct rows held in memory between flushes
	// (and while the store is failing); DefaultMaxPending when zero.
	MaxPending int
	// Retention is how long each granularity is kept; DefaultRetention's
	// value for each zero field.
	Retention Retention
	// Country maps a client IP to its country; Country when nil. Tests
	// inject their own.
	Country func(ip string) string
	// Metrics counts dropped events and failed flushes: the set the
	// server serves. Nothing is counted when nil.
	Metrics *metrics.Metrics
}

// Meter implements amp.Meter. It is safe for concurrent use.
type Meter struct {
	store      Store
	log        *slog.Logger
	now        func() time.Time
	interval   time.Duration
	maxPending int
	retention  Retention
	country    func(string) string
	metrics    *metrics.Metrics

	events  chan amp.RequestEvent
	flushes chan flushReq
	dropped atomic.Uint64

	// mu orders Record against Close: a Record that saw the meter open has
	// finished its send before Close proceeds, so the final drain sees it.
	mu      sync.RWMutex
	closed  bool
	started bool
	stop    chan struct{}
	done    chan struct{}

	// Owned by the goroutine running the meter (or by a Flush or Close
	// when none runs, under runMu).
	runMu     sync.Mutex
	pending   map[countKey]int64
	lastPrune time.Time
}

var _ amp.Meter = (*Meter)(nil)

// countKey identifies one minute row.
type countKey struct {
	minute    int64 // Unix minutes
	accountID string
	mode      amp.Mode
	keyID     string
	route     string
	class     int
	country   string
	admission amp.Admission
}

type flushReq struct {
	ctx   context.Context
	reply chan error
}

// New returns a Meter for cfg. Call Start to run it.
func New(cfg Config) (*Meter, error) {
	if cfg.Store == nil {
		return nil, errors.New("meter: Store is required")
	}
	m := &Meter{
		store:      cfg.Store,
		log:        cfg.Logger,
		now:        cfg.Now,
		interval:   cfg.FlushInterval,
		maxPending: cfg.MaxPending,
		retention:  cfg.Retention,
		country:    cfg.Country,
		metrics:    cfg.Metrics,
		flushes:    make(chan flushReq),
		stop:       make(chan struct{}),
		done:       make(chan struct{}),
		pending:    make(map[countKey]int64),
	}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	if m.now == nil {
		m.now = time.Now
	}
	if m.interval <= 0 {
		m.interval = DefaultFlushInterval
	}
	size := cfg.QueueSize
	if size <= 0 {
		size = DefaultQueueSize
	}
	m.events = make(chan amp.RequestEvent, size)
	if m.maxPending <= 0 {
		m.maxPending = DefaultMaxPending
	}
	if m.retention.Minute <= 0 {
		m.retention.Minute = DefaultRetention.Minute
	}
	if m.retention.Hour <= 0 {
		m.retention.Hour = DefaultRetention.Hour
	}
	if m.retention.Day <= 0 {
		m.retention.Day = DefaultRetention.Day
	}
	if m.country == nil {
		m.country = Country
	}
	return m, nil
}

// Record queues ev without ever blocking. Events without a key (requests
// whose key is unknown) are not metered: they have no account to count
// against.
func (m *Meter) Record(ev amp.RequestEvent) {
	if ev.KeyID == "" {
		return
	}
	m.mu.RLock()
	if m.closed {
		m.mu.RUnlock()
		m.drop(1)
		return
	}
	select {
	case m.events <- ev:
		m.mu.RUnlock()
	default:
		m.mu.RUnlock()
		m.drop(1)
	}
}

func (m *Meter) drop(n int) {
	m.dropped.Add(uint64(n))
	m.metrics.Dropped(n)
}

// Dropped returns how many events the meter has dropped.
func (m *Meter) Dropped() uint64 { return m.dropped.Load() }

// Start starts the meter's goroutine. Close stops it.
func (m *Meter) Start() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.started || m.closed {
		return
	}
	m.started = true
	go m.run()
}

func (m *Meter) run() {
	defer close(m.done)
	m.runMu.Lock()
	defer m.runMu.Unlock()
	ticker := time.NewTicker(m.interval)
	defer ticker.Stop()
	for {
		select {
		case ev := <-m.events:
			m.add(ev)
		case req := <-m.flushes:
			m.drain()
			req.reply <- m.flush(req.ctx)
		case <-ticker.C:
			ctx, cancel := context.WithTimeout(context.Background(), 10*m.interval)
			if err := m.flush(ctx); err != nil {
				m.log.Warn("usage counts not flushed; retrying", "err", err)
			}
			if now := m.now(); now.Sub(m.lastPrune) >= PruneInterval {
				m.lastPrune = now
				if err := m.prune(ctx, now); err != nil {
					m.log.Warn("usage retention failed", "err", err)
				}
			}
			cancel()
		case <-m.stop:
			return
		}
	}
}

// Flush adds every event recorded before the call to the store. On error
// the counts are kept for the next flush.
func (m *Meter) Flush(ctx context.Context) error {
	m.mu.RLock()
	running := m.started && !m.closed
	m.mu.RUnlock()
	if running {
		req := flushReq{ctx: ctx, reply: make(chan error, 1)}
		select {
		case m.flushes <- req:
			return <-req.reply
		case <-m.done:
			// Closed meanwhile: Close flushed everything.
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	m.runMu.Lock()
	defer m.runMu.Unlock()
	m.drain()
	return m.flush(ctx)
}

// Prune deletes the rows older than the retention of their granularity,
// as of the meter's clock.
func (m *Meter) Prune(ctx context.Context) error { return m.prune(ctx, m.now()) }

func (m *Meter) prune(ctx context.Context, now time.Time) error {
	var errs []error
	for _, g := range amp.Granularities {
		n, err := m.store.PruneUsage(ctx, g, g.Truncate(now.Add(-m.retention.of(g))))
		if err != nil {
			m.metrics.StoreError("usage_prune")
			errs = append(errs, fmt.Errorf("meter: prune %s rows: %w", g, err))
			continue
		}
		if n > 0 {
			m.log.Debug("pruned usage rows", "granularity", string(g), "rows", n)
		}
	}
	return errors.Join(errs...)
}

// Close stops accepting events, stops the goroutine and flushes what is
// left. Events recorded afterwards are dropped. Close the meter after the
// HTTP server has drained, so that the last requests are counted.
func (m *Meter) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	started := m.started
	m.mu.Unlock()
	if started {
		close(m.stop)
		<-m.done
	}
	m.runMu.Lock()
	defer m.runMu.Unlock()
	m.drain()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := m.flush(ctx); err != nil {
		n := 0
		for _, c := range m.pending {
			n += int(c)
		}
		m.log.Error("usage counts lost at shutdown", "requests", n, "err", err)
		return err
	}
	return nil
}

// drain adds every queued event to the pending counts.
func (m *Meter) drain() {
	for {
		select {
		case ev := <-m.events:
			m.add(ev)
		default:
			return
		}
	}
}

// add counts ev in its minute row. An event the store would refuse (no
// account, an unknown mode) would fail every later flush with it, so it is
// dropped here instead.
func (m *Meter) add(ev amp.RequestEvent) {
	if ev.AccountID == "" || !ev.Mode.Valid() {
		m.drop(1)
		return
	}
	at := ev.At
	if at.IsZero() {
		at = m.now()
	}
	k := countKey{
		minute:    floorDiv(at.Unix(), 60),
		accountID: ev.AccountID,
		mode:      ev.Mode,
		keyID:     ev.KeyID,
		route:     ev.Route,
		class:     statusClass(ev.Status),
		country:   m.country(ev.ClientIP),
		admission: ev.Admission,
	}
	if _, ok := m.pending[k]; !ok && len(m.pending) >= m.maxPending {
		m.drop(1)
		return
	}
	m.pending[k]++
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

func statusClass(status int) int {
	if status < 100 || status > 599 {
		return 0
	}
	return status / 100
}

// flush adds the pending counts to the store, as rows of every
// granularity, in one call; on error they stay pending.
func (m *Meter) flush(ctx context.Context) error {
	if len(m.pending) == 0 {
		return nil
	}
	rows := rollUp(m.pending)
	if err := m.store.AddUsage(ctx, rows); err != nil {
		m.metrics.StoreError("usage_flush")
		return fmt.Errorf("meter: flush %d rows: %w", len(rows), err)
	}
	clear(m.pending)
	return nil
}

// rollUp turns minute counts into the rows of every granularity.
func rollUp(pending map[countKey]int64) []amp.UsageRow {
	type rowKey struct {
		g     amp.Granularity
		start int64 // Unix seconds
		k     countKey
	}
	sums := make(map[rowKey]int64, len(pending)*2)
	order := make([]rowKey, 0, len(pending)*3)
	for k, n := range pending {
		start := time.Unix(k.minute*60, 0).UTC()
		dims := k
		dims.minute = 0
		for _, g := range amp.Granularities {
			rk := rowKey{g: g, start: g.Truncate(start).Unix(), k: dims}
			if _, ok := sums[rk]; !ok {
				order = append(order, rk)
			}
			sums[rk] += n
		}
	}
	rows := make([]amp.UsageRow, 0, len(order))
	for _, rk := range order {
		rows = append(rows, amp.UsageRow{
			Granularity: rk.g,
			Start:       time.Unix(rk.start, 0).UTC(),
			AccountID:   rk.k.accountID,
			Mode:        rk.k.mode,
			KeyID:       rk.k.keyID,
			Route:       rk.k.route,
			StatusClass: rk.k.class,
			Country:     rk.k.country,
			Admission:   rk.k.admission,
			Requests:    sums[rk],
		})
	}
	return rows
}

// Country returns the ISO 3166-1 alpha-2 country of the IP address ip, or
// amp.UnknownCountry for addresses without one (see the package doc).
func Country(ip string) string {
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return amp.UnknownCountry
	}
	addr = addr.Unmap().WithZone("")
	if !addr.IsGlobalUnicast() || addr.IsPrivate() {
		return amp.UnknownCountry
	}
	c := iploc.IPCountry(addr)
	if len(c) != 2 || c == "--" {
		return amp.UnknownCountry
	}
	return c
}

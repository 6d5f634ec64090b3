package ratelimit

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/internal/metrics"
)

// DefaultFlushInterval is how often quota counts are added to the store,
// and so how many seconds of counts a crash can lose at worst.
const DefaultFlushInterval = 2 * time.Second

// sweepInterval is how often idle buckets are forgotten.
const sweepInterval = time.Minute

// Config configures a Limiter.
type Config struct {
	// Buckets are the rate buckets; NewMemory(0) when nil.
	Buckets Buckets
	// Store keeps the monthly quota counts. When nil, counts live in memory
	// only and a restart forgets them: for tests and throwaway servers.
	Store amp.QuotaStore
	// Logger logs failed flushes; discarded when nil.
	Logger *slog.Logger
	// Now is the clock of background work (sweeping idle buckets);
	// time.Now when nil. Admit and Finish take the request's time instead.
	Now func() time.Time
	// FlushInterval is how often Start's goroutine flushes quota counts;
	// DefaultFlushInterval when zero.
	FlushInterval time.Duration
	// Metrics counts limited requests and failed flushes: the set the
	// server serves. Nothing is counted when nil.
	Metrics *metrics.Metrics
	// QuotaCounter counts the monthly quotas. When nil, they are counted
	// in this process, loaded from and flushed to Store: exact for one
	// instance, but several instances need a shared counter (such as
	// internal/redis's QuotaCounter).
	QuotaCounter QuotaCounter
}

// QuotaCounter counts accounts' live requests per UTC month: the mechanics behind
// the quota policy, as Buckets are behind the rates. Implementations must
// be safe for concurrent use.
type QuotaCounter interface {
	// Reserve reserves one unit of the account's quota for the month of
	// now, unless limit (0 = unlimited) units are already counted or
	// reserved. An error means the count could not be loaded.
	Reserve(ctx context.Context, accountID string, limit int64, now time.Time) (bool, error)
	// Release gives back a reservation of a request refused after Reserve.
	Release(ctx context.Context, accountID string, now time.Time)
	// Finish ends a reservation; a successful request counts in the month
	// of now.
	Finish(ctx context.Context, accountID string, success bool, now time.Time)
	// Usage returns the account's count and reservations in the month of
	// now.
	Usage(ctx context.Context, accountID string, now time.Time) (used, inFlight int64, err error)
	// Flush writes the counts finished since the last Flush to the store;
	// those that fail stay for the next.
	Flush(ctx context.Context, now time.Time) error
}

// Limiter implements amp.Limiter: see the package documentation for the
// policy. Start runs its background flushing and Close stops it; Admit and
// Finish may be called before Start and after Close (counts Finish makes
// after Close are then lost, so close the Limiter after the HTTP server has
// drained).
type Limiter struct {
	buckets  Buckets
	quota    QuotaCounter
	log      *slog.Logger
	now      func() time.Time
	interval time.Duration
	metrics  *metrics.Metrics

	mu      sync.Mutex
	started bool
	stop    chan struct{}
	done    chan struct{}
}

var _ amp.Limiter = (*Limiter)(nil)

// New returns a Limiter for cfg.
func New(cfg Config) *Limiter {
	l := &Limiter{
		buckets:  cfg.Buckets,
		log:      cfg.Logger,
		now:      cfg.Now,
		interval: cfg.FlushInterval,
		metrics:  cfg.Metrics,
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
	}
	if l.buckets == nil {
		l.buckets = NewMemory(0)
	}
	if l.log == nil {
		l.log = slog.New(slog.DiscardHandler)
	}
	if l.now == nil {
		l.now = time.Now
	}
	if l.interval <= 0 {
		l.interval = DefaultFlushInterval
	}
	l.quota = cfg.QuotaCounter
	if l.quota == nil {
		l.quota = newQuotas(cfg.Store)
	}
	return l
}

// Admit implements amp.Limiter. It returns RATE_LIMIT_EXCEEDED or
// QUOTA_EXCEEDED as an *amp.Error, or a store error (wrapping
// amp.ErrUnavailable when the store is unreachable) if the account's quota
// count cannot be loaded.
func (l *Limiter) Admit(ctx context.Context, a *amp.Account, k *amp.APIKey, now time.Time) (amp.RateState, error) {
	var arr [2]Bucket
	bs, limit := bucketsFor(arr[:0], a, k)
	live := k.Mode == amp.ModeLive
	if live {
		quota := a.Plan.MonthlyQuota()
		ok, err := l.quota.Reserve(ctx, a.ID, quota, now)
		if err != nil {
			l.metrics.StoreError("quota_load")
			return amp.RateState{Limit: limit}, fmt.Errorf("ratelimit: load quota of account %s: %w", a.ID, err)
		}
		if !ok {
			l.metrics.Limited(metrics.ReasonQuota)
			state := amp.RateState{Limit: limit}
			if res, err := l.buckets.Peek(ctx, now, bs); err == nil {
				state.Remaining, state.Reset = res.Remaining, res.Reset
			}
			return state, quotaError(quota, now)
		}
	}
	res, err := l.buckets.Take(ctx, now, bs)
	if err != nil {
		if live {
			l.quota.Release(ctx, a.ID, now)
		}
		return amp.RateState{Limit: limit}, fmt.Errorf("ratelimit: take: %w", err)
	}
	state := amp.RateState{Limit: limit, Remaining: res.Remaining, Reset: res.Reset}
	if !res.Allowed {
		if live {
			l.quota.Release(ctx, a.ID, now)
		}
		l.metrics.Limited(metrics.ReasonRate)
		return state, rateError(a, k, bs, res)
	}
	return state, nil
}

// Finish implements amp.Limiter. It must be called once for every request
// Admit admitted, and for no other; a 429 status is ignored, so calling it
// for a request Admit refused is harmless.
func (l *Limiter) Finish(ctx context.Context, a *amp.Account, k *amp.APIKey, status int, now time.Time) {
	if k.Mode != amp.ModeLive || status == 429 {
		return
	}
	l.quota.Finish(ctx, a.ID, status >= 200 && status < 300, now)
}

// bucketsFor appends the buckets a request of k must take a token from,
// and returns them with the limit that applies: the account's bucket for
// the key's mode, and the key's own when its limit is below the plan's.
func bucketsFor(bs []Bucket, a *amp.Account, k *amp.APIKey) ([]Bucket, int) {
	limit := a.Plan.Rate(a.CustomRate)
	bs = append(bs, Bucket{Key: "acct/" + a.ID + "/" + string(k.Mode), Rate: limit})
	if k.RateLimit > 0 && k.RateLimit < limit {
		limit = k.RateLimit
		bs = append(bs, Bucket{Key: "key/" + k.ID, Rate: k.RateLimit})
	}
	return bs, limit
}

// rateError is the RATE_LIMIT_EXCEEDED error for a refused Take; its
// message names the limit that refused the request.
func rateError(a *amp.Account, k *amp.APIKey, bs []Bucket, res Result) *amp.Error {
	retry := max(1, int(math.Ceil(res.RetryAfter.Seconds())))
	limit := bs[0].Rate
	for _, b := range bs[1:] {
		limit = min(limit, b.Rate)
	}
	var msg string
	if res.Denied > 0 {
		msg = fmt.Sprintf("Rate limit exceeded: this API key is limited to %d requests per second. Retry after %d s.", k.RateLimit, retry)
	} else {
		msg = fmt.Sprintf("Rate limit exceeded: the %s plan allows %d requests per second per account in %s mode, across all its keys. Retry after %d s.",
			a.Plan, bs[0].Rate, k.Mode, retry)
	}
	return amp.Errorf(amp.CodeRateLimitExceeded, "%s", msg).WithDetails(map[string]any{
		"limit":      limit,
		"window":     "1s",
		"retryAfter": retry,
	})
}

// quotaError is the QUOTA_EXCEEDED error of a live request at now.
func quotaError(quota int64, now time.Time) *amp.Error {
	resets := MonthEnd(now)
	return amp.Errorf(amp.CodeQuotaExceeded,
		"Monthly quota of %d live requests exceeded. It resets at %s; test-mode keys are not counted.",
		quota, resets.Format(time.RFC3339)).WithDetails(map[string]any{
		"limit":    quota,
		"period":   "month",
		"resetsAt": resets.Format(time.RFC3339),
	})
}

// MonthEnd returns the first instant of the UTC month after now's: when the
// monthly quota resets.
func MonthEnd(now time.Time) time.Time { return amp.MonthStart(now).AddDate(0, 1, 0) }

// QuotaState is an account's monthly live usage.
type QuotaState struct {
	Used     int64     // 2xx live requests this month, flushed or not
	InFlight int64     // live requests admitted and not yet finished
	Limit    int64     // the plan's quota; 0 for unlimited
	ResetsAt time.Time // the first instant of the next UTC month
}

// QuotaUsage returns the account's usage of its monthly quota at now, as
// this process knows it.
func (l *Limiter) QuotaUsage(ctx context.Context, a *amp.Account, now time.Time) (QuotaState, error) {
	used, inFlight, err := l.quota.Usage(ctx, a.ID, now)
	if err != nil {
		return QuotaState{}, fmt.Errorf("ratelimit: quota usage of account %s: %w", a.ID, err)
	}
	return QuotaState{Used: used, InFlight: inFlight, Limit: a.Plan.MonthlyQuota(), ResetsAt: MonthEnd(now)}, nil
}

// Flush adds the quota counts finished since the last flush to the store.
// Counts that could not be written are kept for the next flush.
func (l *Limiter) Flush(ctx context.Context) error {
	if err := l.quota.Flush(ctx, l.now()); err != nil {
		l.metrics.StoreError("quota_flush")
		return fmt.Errorf("ratelimit: flush quota counts: %w", err)
	}
	return nil
}

// Start starts the goroutine that flushes quota counts every FlushInterval
// and forgets idle buckets. Close stops it.
func (l *Limiter) Start() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.started {
		return
	}
	l.started = true
	go l.run()
}

func (l *Limiter) run() {
	defer close(l.done)
	flush := time.NewTicker(l.interval)
	defer flush.Stop()
	lastSweep := l.now()
	for {
		select {
		case <-l.stop:
			return
		case <-flush.C:
		}
		// A flush that outlives its interval only delays the next one.
		ctx, cancel := context.WithTimeout(context.Background(), 10*l.interval)
		if err := l.Flush(ctx); err != nil {
			l.log.Warn("quota counts not flushed; retrying", "err", err)
		}
		cancel()
		if m, ok := l.buckets.(*Memory); ok {
			if now := l.now(); now.Sub(lastSweep) >= sweepInterval {
				lastSweep = now
				m.Sweep(now)
			}
		}
	}
}

// Close stops the background goroutine and flushes the remaining counts.
// It is safe to call more than once.
func (l *Limiter) Close() error {
	l.mu.Lock()
	select {
	case <-l.stop:
	default:
		close(l.stop)
	}
	started := l.started
	l.mu.Unlock()
	if started {
		<-l.done
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := l.Flush(ctx)
	if err != nil {
		l.log.Error("quota counts lost at shutdown", "err", err)
	}
	return err
}

// Package service holds AMP's business rules, once, above storage, for
// every front end (the API, the dashboard, the CLI): who a key is and what
// it may do, how keys and accounts are made (by the root's input rules),
// how a context is decided and logged, when an outcome is accepted, how
// profiles are read, changed and erased, who signs in to the dashboard and
// for which account (users, sessions, argon2id passwords, the sign-in
// throttle), what usage reports show, which webhook events an account's
// endpoints receive and when they fire, what a quarantine does and what a
// secret scanner's report does to a key. Handlers call one method per
// request; storage only stores.
package service

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/internal/password"
	"github.com/amp-protocol/amp/internal/ratelimit"
)

// RequestTTL is how long a requestId accepts an outcome
// (docs/api.md#input-bounds).
const RequestTTL = 24 * time.Hour

// Config wires a Service.
type Config struct {
	Store   amp.Store
	Learner amp.Learner
	Logger  *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Random is the cryptographic source of keys and ids; crypto/rand when nil.
	Random io.Reader
	// Seed seeds the decisions' pseudo-random generator; random when zero.
	Seed uint64
	// Limiter enforces plans' rates and quotas; none when nil.
	Limiter amp.Limiter
	// Meter records finished requests; none when nil.
	Meter amp.Meter
	// AuthFailuresPerMinute bounds failed authentications per client IP;
	// 20 when zero.
	AuthFailuresPerMinute int

	// Users keeps dashboard users and sessions; without it nobody can
	// sign up or in.
	Users amp.DashboardStore
	// AllowSignup opens sign-up to anyone who can reach the server.
	// Private deployments leave it off and add users with AddUser.
	AllowSignup bool
	// Passwords sets the argon2id parameters of new password hashes;
	// password.DefaultParams when zero.
	Passwords password.Params
	// DeviceKey signs the device tokens of browsers that signed in, which
	// the sign-in throttle spares (throttle.go). Give every instance the
	// same key, kept across restarts; a random one when empty, and then
	// tokens from before a restart count as from new browsers.
	DeviceKey []byte
	// SessionIdle and SessionLifetime bound dashboard sessions;
	// DefaultSessionIdle and DefaultSessionLifetime when zero.
	SessionIdle, SessionLifetime time.Duration
	// Usage holds the meter's counts, which usage reports read; without
	// it they say that usage is not recorded.
	Usage amp.UsageStore
	// Requests keeps the request log; without it nothing is logged.
	Requests amp.RequestLogStore
	// Country maps a client IP to its country for the request log;
	// UnknownCountry for all when nil.
	Country func(ip string) string
	// RequestLogRetention and RequestLogKeep bound the request log: by
	// age, and in entries per account and mode;
	// DefaultRequestLogRetention and DefaultRequestLogKeep when zero.
	RequestLogRetention time.Duration
	RequestLogKeep      int
	// AuditRetention is how long audit events are kept, after which
	// the background jobs delete them; DefaultAuditRetention when zero,
	// for ever when negative.
	AuditRetention time.Duration
	// Mailer sends password reset links by email; without it users ask
	// the operator for one (IssueResetLink).
	Mailer Mailer
	// Quota reports accounts' live monthly usage against their plans (the
	// limiter); without it QuotaUsage reads the stored counts of Usage.
	Quota QuotaSource
	// Events configures webhook events and leaked-key handling.
	Events EventConfig
	// Tracer times authentication, decisions and learning; none when nil.
	Tracer amp.Tracer
}

// Service implements the API's operations.
type Service struct {
	store   amp.Store
	learner amp.Learner
	log     *slog.Logger
	now     func() time.Time
	random  io.Reader

	randMu sync.Mutex
	seeds  *mrand.ChaCha8

	limiter amp.Limiter
	meter   amp.Meter
	tracer  amp.Tracer

	authFailures *ratelimit.Failures
	keys         *keyCache
	touches      *touchQueue

	// The background jobs, between Start and Close.
	jobsMu     sync.Mutex
	jobsClosed bool
	stopJobs   context.CancelFunc
	jobsDone   chan struct{}

	// unfolded counts the outcomes this instance stored since its last
	// fold; at foldAfter it wakes the folder through foldNow.
	unfolded atomic.Int64
	foldNow  chan struct{}

	users           amp.DashboardStore
	mailer          Mailer
	requests        *requestLog
	auditRetention  time.Duration // < 0: kept for ever
	allowSignup     bool
	passwords       *password.Hasher
	sessionIdle     time.Duration
	sessionLifetime time.Duration
	login           *loginThrottle
	usage           amp.UsageStore
	quota           QuotaSource

	// hooks is the store's outbox; nil when the store keeps none, and
	// then no event is recorded.
	hooks   amp.WebhookStore
	events  EventConfig
	limited *limitedKeys
	emitted *dedupeMemo
}

// New returns a Service for cfg.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.Learner == nil {
		return nil, errors.New("service: Store and Learner are required")
	}
	s := &Service{
		store:   cfg.Store,
		learner: cfg.Learner,
		log:     cfg.Logger,
		now:     cfg.Now,
		random:  cfg.Random,
		limiter: cfg.Limiter,
		meter:   cfg.Meter,

		users:           cfg.Users,
		mailer:          cfg.Mailer,
		requests:        newRequestLog(cfg),
		auditRetention:  cmp.Or(cfg.AuditRetention, DefaultAuditRetention),
		allowSignup:     cfg.AllowSignup,
		sessionIdle:     cmp.Or(max(cfg.SessionIdle, 0), DefaultSessionIdle),
		sessionLifetime: cmp.Or(max(cfg.SessionLifetime, 0), DefaultSessionLifetime),
		usage:           cfg.Usage,
		quota:           cfg.Quota,
		tracer:          cfg.Tracer,
		foldNow:         make(chan struct{}, 1),
	}
	if s.tracer == nil {
		s.tracer = amp.NopTracer{}
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.random == nil {
		s.random = rand.Reader
	}
	s.login = newLoginThrottle(cfg.DeviceKey, s.random)
	seed := cfg.Seed
	if seed == 0 {
		var b [8]byte
		if _, err := io.ReadFull(rand.Reader, b[:]); err != nil {
			return nil, fmt.Errorf("service: seed: %w", err)
		}
		seed = binary.LittleEndian.Uint64(b[:])
	}
	var chachaSeed [32]byte
	binary.LittleEndian.PutUint64(chachaSeed[:], seed)
	s.seeds = mrand.NewChaCha8(chachaSeed)
	perMinute := cfg.AuthFailuresPerMinute
	if perMinute <= 0 {
		perMinute = 20
	}
	// perMinute failures at once, then one more every minute/perMinute.
	s.authFailures = ratelimit.NewFailures(time.Minute/time.Duration(perMinute), perMinute, 100_000)
	s.keys = newKeyCache(keyCacheTTL, 10_000)
	s.touches = newTouchQueue()
	if s.users != nil {
		// At most GOMAXPROCS hashes at once: a flood of sign-ins queues
		// instead of exhausting memory.
		var err error
		if s.passwords, err = password.New(cfg.Passwords, s.random, runtime.GOMAXPROCS(0)); err != nil {
			return nil, err
		}
	}
	s.hooks = cfg.Store
	s.events = cfg.Events.withDefaults()
	s.limited = newLimitedKeys(10_000)
	s.emitted = newDedupeMemo(100_000)
	return s, nil
}

// Now returns the service clock's time in UTC.
func (s *Service) Now() time.Time { return s.now().UTC() }

// newRand returns a generator for one decision. Each decision gets its own
// generator seeded from the service's ChaCha8 stream, so decisions can run
// concurrently while a fixed Seed still reproduces a sequential run.
func (s *Service) newRand() *mrand.Rand {
	s.randMu.Lock()
	a, b := s.seeds.Uint64(), s.seeds.Uint64()
	s.randMu.Unlock()
	return mrand.New(mrand.NewPCG(a, b))
}

// NewRequestID returns a fresh "req_…" identifier: the service clock's
// millisecond, then 16 random base62 characters (95 bits). Ids in time
// order keep the stores' decision indexes growing at one edge.
func (s *Service) NewRequestID() string {
	id, err := amp.TimeOrderedID(s.random, "req_", s.now(), 24)
	if err != nil {
		// crypto/rand does not fail on supported platforms; a broken
		// injected source is a programming error.
		panic(fmt.Sprintf("service: request id: %v", err))
	}
	return id
}

// Ready reports whether the store is reachable.
func (s *Service) Ready(ctx context.Context) error {
	if err := s.store.Ping(ctx); err != nil {
		return &amp.Error{Code: amp.CodeServiceUnavailable, Message: "The store is unreachable.", Err: err}
	}
	return nil
}

// Start starts the service's background jobs: folding the tenants'
// pending population deltas, the monthly reset of test-mode data and the
// writing of keys' last-used times, and the others runJobs lists. Close
// stops them. A second Start, or a Start after Close, does nothing.
func (s *Service) Start() {
	s.jobsMu.Lock()
	defer s.jobsMu.Unlock()
	if s.stopJobs != nil || s.jobsClosed {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.stopJobs, s.jobsDone = cancel, make(chan struct{})
	var jobs sync.WaitGroup
	jobs.Go(func() { s.runJobs(ctx) })
	jobs.Go(func() { s.foldEarly(ctx) })
	go func() {
		jobs.Wait()
		close(s.jobsDone)
	}()
}

// Folding the population early: the every-second fold leaves it a second
// behind, and at a launch, when every user is new at once, a second of
// traffic can be a whole cohort's first interactions, all answered from a
// population that has learned nothing yet. So an instance that has stored
// foldAfter outcomes since its last fold folds at once, at most once every
// foldSpacing so that a flood of outcomes costs the writer at most a fold
// per foldSpacing.
const (
	foldAfter   = 25
	foldSpacing = 100 * time.Millisecond
)

// outcomeStored counts an outcome toward the next early fold.
func (s *Service) outcomeStored() {
	if s.unfolded.Add(1) == foldAfter {
		select {
		case s.foldNow <- struct{}{}:
		default:
		}
	}
}

// foldEarly folds whenever outcomeStored asks, until ctx is done.
func (s *Service) foldEarly(ctx context.Context) {
	spacing := time.NewTimer(0)
	defer spacing.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.foldNow:
		}
		select {
		case <-ctx.Done():
			return
		case <-spacing.C:
		}
		s.foldPopulations(ctx)
		spacing.Reset(foldSpacing)
	}
}

// Close stops the background jobs, waits for them, writes the keys'
// last-used times and the request log not written yet, and folds the
// pending population deltas. It is safe to call more than once, and
// without Start. The store stays open: it belongs to the caller.
func (s *Service) Close() error {
	s.jobsMu.Lock()
	if s.jobsClosed {
		s.jobsMu.Unlock()
		return nil
	}
	s.jobsClosed = true
	stop, done := s.stopJobs, s.jobsDone
	s.jobsMu.Unlock()
	if stop != nil {
		stop()
		<-done
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s.flushTouches(ctx)
	s.flushRequestLog(ctx, s.Now())
	s.foldPopulations(ctx)
	return nil
}

// runJobs performs the background jobs until ctx is done: folding the
// tenants' pending population deltas (at start and every second), the
// monthly reset of test-mode data, the writing of keys' last-used times, the
// sweeping of expired dashboard sessions, the writing and pruning of the
// request log, the pruning of the audit log (hourly), and the periodic
// checks that raise webhook events (CheckEvents).
func (s *Service) runJobs(ctx context.Context) {
	ticker := time.NewTicker(time.Second)
	defer ticker.Stop()
	var lastResetCheck, lastSweep, lastEventCheck, lastAuditPrune time.Time
	for {
		if now := s.now(); now.Sub(lastResetCheck) >= time.Minute {
			lastResetCheck = now
			if _, err := s.ResetTestDataIfDue(ctx); err != nil && ctx.Err() == nil {
				s.log.Error("test-mode reset failed", "err", err)
			}
		}
		if now := s.now(); s.hooks != nil && now.Sub(lastEventCheck) >= s.events.CheckInterval {
			lastEventCheck = now
			if err := s.CheckEvents(ctx); err != nil && ctx.Err() == nil {
				s.log.Error("event checks failed", "err", err)
			}
		}
		if now := s.Now(); now.Sub(lastSweep) >= sweepEvery {
			lastSweep = now
			s.sweepSessions(ctx, now)
		}
		if now := s.Now(); now.Sub(lastAuditPrune) >= auditPruneEvery {
			lastAuditPrune = now
			if _, err := s.PruneAuditLog(ctx); err != nil && ctx.Err() == nil {
				s.log.Error("pruning the audit log failed", "err", err)
			}
		}
		// Close does not cut a write of last-used times short: the times it
		// took from the queue would be lost. It waits for it instead.
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		s.flushTouches(wctx)
		cancel()
		s.flushRequestLog(ctx, s.Now())
		s.foldPopulations(ctx)
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

// foldPopulations is FoldPopulations for Run, which logs its errors: a
// failed fold leaves the deltas pending for the next pass.
func (s *Service) foldPopulations(ctx context.Context) {
	s.unfolded.Store(0)
	if _, err := s.FoldPopulations(ctx); err != nil && ctx.Err() == nil {
		s.log.Error("population fold failed", "err", err)
	}
}

// inHoldout reports whether userID falls in the tenant's holdout: a stable
// hash of the user puts it in one of 100 buckets.
func inHoldout(t amp.Tenant, userID string, percent int) bool {
	if percent <= 0 {
		return false
	}
	h := fnv.New64a()
	h.Write([]byte(t.AccountID))
	h.Write([]byte{0})
	h.Write([]byte(t.Mode))
	h.Write([]byte{0})
	h.Write([]byte(userID))
	return int(h.Sum64()%100) < percent
}

// storeError maps a storage error for the client: not-found rows become the
// given code, and unavailability becomes SERVICE_UNAVAILABLE. Other errors
// stay internal.
func storeError(err error, notFoundCode, notFoundMsg string) error {
	switch {
	case errors.Is(err, amp.ErrNotFound) && notFoundCode != "":
		return amp.Errorf(notFoundCode, "%s", notFoundMsg)
	case errors.Is(err, amp.ErrUnavailable):
		return &amp.Error{Code: amp.CodeServiceUnavailable, Message: "The service is temporarily unavailable. Please retry.", Err: err}
	}
	return err
}

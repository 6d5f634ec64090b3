// Package service holds AMP's business rules, once, above storage: who a key
// is and what it may do, how a context is decided and logged, when an
// outcome is accepted, and how profiles are read, changed and erased.
// Handlers call one method per request; storage only stores.
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
	"time"

	"github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/internal/password"
	"github.com/amp-protocol/amp/internal/ratelimit"
)

// RequestTTL is how long a requestId accepts an outcome (contract §2).
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
	// Mailer sends password reset links by email; without it users ask
	// the operator for one (IssueResetLink).
	Mailer Mailer
	// Quota reports accounts' live monthly usage against their plans (the
	// limiter); without it QuotaUsage reads the stored counts of Usage.
	Quota QuotaSource
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

	authFailures *ratelimit.Failures
	keys         *keyCache
	touches      *touchQueue

	users           amp.DashboardStore
	mailer          Mailer
	requests        *requestLog
	allowSignup     bool
	passwords       *password.Hasher
	sessionIdle     time.Duration
	sessionLifetime time.Duration
	login           *loginThrottle
	usage           amp.UsageStore
	quota           QuotaSource
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
		allowSignup:     cfg.AllowSignup,
		sessionIdle:     cmp.Or(max(cfg.SessionIdle, 0), DefaultSessionIdle),
		sessionLifetime: cmp.Or(max(cfg.SessionLifetime, 0), DefaultSessionLifetime),
		login:           newLoginThrottle(),
		usage:           cfg.Usage,
		quota:           cfg.Quota,
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
	return s, nil
}

// Now returns the service clock's time in UTC.
func (s *Service) Now() time.Time { return s.now().UTC() }

// Store returns the service's store, for administrative reads.
func (s *Service) Store() amp.Store { return s.store }

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

// Run performs the service's background jobs until ctx is done: the monthly
// reset of test-mode data, the flushing of keys' last-used times and the
// sweeping of expired dashboard sessions, and the writing and pruning of
// the request log.
func (s *Service) Run(ctx context.Context) error {
	ticker := time.NewTicker(time.Second)
	defer ticker.Stop()
	var lastResetCheck, lastSweep time.Time
	for {
		if now := s.now(); now.Sub(lastResetCheck) >= time.Minute {
			lastResetCheck = now
			if _, err := s.ResetTestDataIfDue(ctx); err != nil && ctx.Err() == nil {
				s.log.Error("test-mode reset failed", "err", err)
			}
		}
		if now := s.Now(); now.Sub(lastSweep) >= sweepEvery {
			lastSweep = now
			s.sweepSessions(ctx, now)
		}
		s.flushTouches(ctx)
		s.flushRequestLog(ctx, s.Now())
		select {
		case <-ctx.Done():
			s.flushTouches(context.WithoutCancel(ctx))
			s.flushRequestLog(context.WithoutCancel(ctx), s.Now())
			return nil
		case <-ticker.C:
		}
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

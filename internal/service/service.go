// Package service holds AMP's business rules, once, above storage: who a key
// is and what it may do, how a context is decided and logged, when an
// outcome is accepted, and how profiles are read, changed and erased.
// Handlers call one method per request; storage only stores.
package service

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"sync"
	"time"

	"github.com/amp-protocol/amp"
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

// Run performs the service's background jobs until ctx is done: folding
// the tenants' pending population deltas (every second, at start and at
// the end), the monthly reset of test-mode data and the flushing of keys'
// last-used times.
func (s *Service) Run(ctx context.Context) error {
	ticker := time.NewTicker(time.Second)
	defer ticker.Stop()
	lastResetCheck := time.Time{}
	for {
		if now := s.now(); now.Sub(lastResetCheck) >= time.Minute {
			lastResetCheck = now
			if _, err := s.ResetTestDataIfDue(ctx); err != nil && ctx.Err() == nil {
				s.log.Error("test-mode reset failed", "err", err)
			}
		}
		s.flushTouches(ctx)
		s.foldPopulations(ctx)
		select {
		case <-ctx.Done():
			s.flushTouches(context.WithoutCancel(ctx))
			s.foldPopulations(context.WithoutCancel(ctx))
			return nil
		case <-ticker.C:
		}
	}
}

// foldPopulations is FoldPopulations for Run, which logs its errors: a
// failed fold leaves the deltas pending for the next pass.
func (s *Service) foldPopulations(ctx context.Context) {
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

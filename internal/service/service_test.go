package service_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/internal/service"
	"github.com/amp-protocol/amp/internal/sqlite"
	"github.com/amp-protocol/amp/internal/testclock"
)

// countingStore counts key lookups, to prove that malformed keys never
// reach storage.
type countingStore struct {
	amp.Store
	keyLookups atomic.Int64
}

func (s *countingStore) KeyByHash(ctx context.Context, hash string) (*amp.APIKey, error) {
	s.keyLookups.Add(1)
	return s.Store.KeyByHash(ctx, hash)
}

// fixedLearner always recommends the same thing and counts what it learns
// in the user's model, so tests can see what the service stored.
type fixedLearner struct{}

var fixedRec = amp.Recommendation{
	Framing: amp.FramingMicroTask, Style: amp.StyleBriefDirective,
	Handling: amp.HandlingBreakIntoSteps, Encouragement: amp.EncouragementModerate,
}

func (fixedLearner) Decide(in *amp.DecideInput) (*amp.Choice, error) {
	return &amp.Choice{Recommendation: fixedRec, Propensity: 1, Confidence: 0.3, Rationale: "fixed"}, nil
}
func (fixedLearner) Learn(in *amp.LearnInput) (*amp.Learned, error) {
	return &amp.Learned{User: append(in.User, 'o'), PopulationDelta: []byte{'p'}, Reward: 1}, nil
}
func (fixedLearner) MergePopulation(pop []byte, deltas [][]byte) ([]byte, error) {
	for _, d := range deltas {
		pop = append(pop, d...)
	}
	return pop, nil
}
func (fixedLearner) ApplyPreferences(user, pop []byte, p *amp.Preferences) ([]byte, error) {
	return append(user, 'm'), nil
}
func (fixedLearner) Summarize(user, pop []byte) (*amp.ModelSummary, error) {
	return &amp.ModelSummary{Preferred: fixedRec}, nil
}

type fixture struct {
	svc   *service.Service
	store *countingStore
	clock *testclock.Clock
	acct  *amp.Account
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "amp.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	f := &fixture{store: &countingStore{Store: db}, clock: testclock.New(time.Date(2026, 3, 14, 12, 0, 0, 0, time.UTC))}
	f.svc, err = service.New(service.Config{Store: f.store, Learner: fixedLearner{}, Now: f.clock.Now, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	f.acct, err = f.svc.CreateAccount(ctx, "acme", amp.PlanStarter, 0)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) key(t *testing.T, mode amp.Mode, opts service.KeyOptions) string {
	t.Helper()
	k, err := f.svc.CreateKey(context.Background(), f.acct.ID, mode, opts)
	if err != nil {
		t.Fatal(err)
	}
	return k.Secret
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := amp.ErrorCode(err); got != code {
		t.Fatalf("got error %v (code %q), want code %s", err, got, code)
	}
}

func TestAuthenticate(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	secret := f.key(t, amp.ModeTest, service.KeyOptions{})

	t.Run("OK", func(t *testing.T) {
		p, err := f.svc.Authenticate(ctx, secret, "10.0.0.1")
		if err != nil {
			t.Fatal(err)
		}
		if p.Tenant() != (amp.Tenant{AccountID: f.acct.ID, Mode: amp.ModeTest}) {
			t.Fatalf("got tenant %+v", p.Tenant())
		}
	})
	t.Run("MalformedNeverReachesStorage", func(t *testing.T) {
		before := f.store.keyLookups.Load()
		typo := secret[:20] + string(rune(secret[20]^1)) + secret[21:]
		for _, k := range []string{"nope", "amp_sk_live_1234567890abcdef", typo, strings.ToUpper(secret)} {
			_, err := f.svc.Authenticate(ctx, k, "10.0.0.2")
			wantCode(t, err, amp.CodeUnauthorized)
		}
		if got := f.store.keyLookups.Load() - before; got != 0 {
			t.Fatalf("malformed keys caused %d storage lookups, want 0", got)
		}
	})
	t.Run("UnknownWellFormed", func(t *testing.T) {
		other, err := amp.NewKey(strings.NewReader(strings.Repeat("x", 100)), amp.ModeLive)
		if err != nil {
			t.Fatal(err)
		}
		_, err = f.svc.Authenticate(ctx, other, "10.0.0.3")
		wantCode(t, err, amp.CodeUnauthorized)
	})
	t.Run("Missing", func(t *testing.T) {
		_, err := f.svc.Authenticate(ctx, "", "10.0.0.4")
		wantCode(t, err, amp.CodeUnauthorized)
	})
}

func TestAuthFailuresLimitedPerIP(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	secret := f.key(t, amp.ModeTest, service.KeyOptions{})
	for i := range 20 {
		_, err := f.svc.Authenticate(ctx, "amp_sk_test_wrong", "192.0.2.7")
		if amp.ErrorCode(err) != amp.CodeUnauthorized {
			t.Fatalf("attempt %d: got %v, want UNAUTHORIZED", i+1, err)
		}
	}
	// The 21st failure from that IP is refused with a wait.
	_, err := f.svc.Authenticate(ctx, "amp_sk_test_wrong", "192.0.2.7")
	wantCode(t, err, amp.CodeRateLimitExceeded)
	if ra, _ := amp.ErrorDetails(err)["retryAfter"].(int); ra < 1 || ra > 3 {
		t.Fatalf("retryAfter = %v, want 1..3 s (one failure refills in 3 s)", amp.ErrorDetails(err)["retryAfter"])
	}
	// A valid key from the same address (a client behind the same NAT)
	// always passes: only further failures are refused.
	for i := range 5 {
		if _, err := f.svc.Authenticate(ctx, secret, "192.0.2.7"); err != nil {
			t.Fatalf("valid key from the throttled IP, attempt %d: %v", i+1, err)
		}
		_, err := f.svc.Authenticate(ctx, "amp_sk_test_wrong", "192.0.2.7")
		wantCode(t, err, amp.CodeRateLimitExceeded)
	}
	// Another IP is not affected.
	_, err = f.svc.Authenticate(ctx, "amp_sk_test_wrong", "198.51.100.1")
	wantCode(t, err, amp.CodeUnauthorized)
	// The budget refills at 20 a minute: one more failure is answered 401
	// after 3 s.
	f.clock.Advance(3 * time.Second)
	_, err = f.svc.Authenticate(ctx, "amp_sk_test_wrong", "192.0.2.7")
	wantCode(t, err, amp.CodeUnauthorized)
}

func TestKeyLifecycle(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)

	t.Run("Expiry", func(t *testing.T) {
		secret := f.key(t, amp.ModeTest, service.KeyOptions{ExpiresIn: time.Hour})
		if _, err := f.svc.Authenticate(ctx, secret, "a"); err != nil {
			t.Fatal(err)
		}
		f.clock.Advance(time.Hour)
		_, err := f.svc.Authenticate(ctx, secret, "a")
		wantCode(t, err, amp.CodeKeyExpired)
	})
	t.Run("RevokeIsImmediate", func(t *testing.T) {
		secret := f.key(t, amp.ModeLive, service.KeyOptions{})
		if _, err := f.svc.Authenticate(ctx, secret, "b"); err != nil { // now cached
			t.Fatal(err)
		}
		if _, err := f.svc.RevokeKey(ctx, f.acct.ID, secret); err != nil {
			t.Fatal(err)
		}
		_, err := f.svc.Authenticate(ctx, secret, "b")
		wantCode(t, err, amp.CodeUnauthorized)
	})
	t.Run("RevokeOtherAccountsKeyIsNotFound", func(t *testing.T) {
		secret := f.key(t, amp.ModeLive, service.KeyOptions{})
		_, err := f.svc.RevokeKey(ctx, "acct_someoneelse", secret)
		wantCode(t, err, amp.CodeNotFound)
		if _, err := f.svc.Authenticate(ctx, secret, "c"); err != nil {
			t.Fatalf("key revoked through another account: %v", err)
		}
	})
	t.Run("RollWithGrace", func(t *testing.T) {
		old := f.key(t, amp.ModeLive, service.KeyOptions{Name: "prod", Scopes: []amp.Scope{amp.ScopeContext}})
		rolled, err := f.svc.RollKey(ctx, f.acct.ID, old, 24*time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if rolled.Key.Name != "prod" || len(rolled.Key.Scopes) != 1 || rolled.Key.Mode != amp.ModeLive {
			t.Fatalf("rolled key %+v does not keep name, scopes and mode", rolled.Key)
		}
		// The two keys name each other, and the old one is rolled: it
		// cannot be rolled a second time, its replacement can.
		p, err := f.svc.Authenticate(ctx, old, "d")
		if err != nil {
			t.Fatal(err)
		}
		if p.Key.RolledTo != rolled.Key.ID || rolled.Key.RolledFrom != p.Key.ID || p.Key.Status(f.clock.Now()) != amp.KeyRolled {
			t.Fatalf("old key %+v, new key %+v: not linked, or the old one not rolled", p.Key, rolled.Key)
		}
		_, err = f.svc.RollKey(ctx, f.acct.ID, old, time.Hour)
		wantCode(t, err, amp.CodeInvalidRequest)
		if !strings.Contains(amp.ErrorMessage(err), rolled.Key.ID) {
			t.Errorf("a second roll: %q does not name the replacement", amp.ErrorMessage(err))
		}
		for _, k := range []string{old, rolled.Secret} {
			if _, err := f.svc.Authenticate(ctx, k, "d"); err != nil {
				t.Fatalf("during grace: %v", err)
			}
		}
		f.clock.Advance(24 * time.Hour)
		_, err = f.svc.Authenticate(ctx, old, "d")
		wantCode(t, err, amp.CodeKeyExpired)
		if _, err := f.svc.Authenticate(ctx, rolled.Secret, "d"); err != nil {
			t.Fatalf("new key after grace: %v", err)
		}
	})
	t.Run("Scopes", func(t *testing.T) {
		secret := f.key(t, amp.ModeTest, service.KeyOptions{Scopes: []amp.Scope{amp.ScopeContext}})
		p, err := f.svc.Authenticate(ctx, secret, "e")
		if err != nil {
			t.Fatal(err)
		}
		if err := f.svc.Authorize(p, amp.ScopeContext); err != nil {
			t.Fatal(err)
		}
		wantCode(t, f.svc.Authorize(p, amp.ScopeProfilesRead), amp.CodeForbidden)
	})
	t.Run("BadOptions", func(t *testing.T) {
		for _, opts := range []service.KeyOptions{
			{Scopes: []amp.Scope{"admin"}},
			{RateLimit: -1},
			{ExpiresIn: -time.Second},
			{Name: strings.Repeat("n", 101)},
		} {
			_, err := f.svc.CreateKey(ctx, f.acct.ID, amp.ModeTest, opts)
			wantCode(t, err, amp.CodeInvalidRequest)
		}
	})
}

func principal(t *testing.T, f *fixture, secret string) *service.Principal {
	t.Helper()
	p, err := f.svc.Authenticate(context.Background(), secret, "203.0.113.9")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestOutcomeRules(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	test := principal(t, f, f.key(t, amp.ModeTest, service.KeyOptions{}))
	live := principal(t, f, f.key(t, amp.ModeLive, service.KeyOptions{}))
	yes := true

	newRequest := func(p *service.Principal) string {
		id := f.svc.NewRequestID()
		c, err := f.svc.GetContext(ctx, p, id, &amp.ContextRequest{UserID: "u1", Task: "write a report"})
		if err != nil {
			t.Fatal(err)
		}
		if c.RequestID != id || c.Metadata.ProfilePhase != amp.PhaseColdStart {
			t.Fatalf("got context %+v", c)
		}
		return id
	}

	id := newRequest(test)
	if err := f.svc.ReportOutcome(ctx, test, &amp.OutcomeRequest{RequestID: id, Started: &yes, Completed: &yes}); err != nil {
		t.Fatal(err)
	}
	err := f.svc.ReportOutcome(ctx, test, &amp.OutcomeRequest{RequestID: id, Started: new(bool)})
	wantCode(t, err, amp.CodeOutcomeAlreadyReported)
	prof, err := f.svc.GetProfile(ctx, test, "u1")
	if err != nil {
		t.Fatal(err)
	}
	if prof.TotalInteractions != 1 || prof.CompletionRate != 1 {
		t.Fatalf("after a duplicate: %d interactions, completion %v; want the first outcome kept alone", prof.TotalInteractions, prof.CompletionRate)
	}

	// A requestId of the test mode is unknown in live mode, and vice versa.
	other := newRequest(test)
	err = f.svc.ReportOutcome(ctx, live, &amp.OutcomeRequest{RequestID: other, Started: &yes})
	wantCode(t, err, amp.CodeInvalidRequestID)
	_, err = f.svc.GetProfile(ctx, live, "u1")
	wantCode(t, err, amp.CodeNotFound)

	// Past 24 hours the request expires.
	f.clock.Advance(24*time.Hour + time.Second)
	err = f.svc.ReportOutcome(ctx, test, &amp.OutcomeRequest{RequestID: other, Started: &yes})
	wantCode(t, err, amp.CodeRequestExpired)

	// Missing started is bad input.
	err = f.svc.ReportOutcome(ctx, test, &amp.OutcomeRequest{RequestID: other})
	wantCode(t, err, amp.CodeInvalidRequest)
}

func TestMonthlyTestReset(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	test := principal(t, f, f.key(t, amp.ModeTest, service.KeyOptions{}))
	live := principal(t, f, f.key(t, amp.ModeLive, service.KeyOptions{}))

	// A fresh database counts the current month as done.
	if reset, err := f.svc.ResetTestDataIfDue(ctx); err != nil || reset {
		t.Fatalf("first check: reset=%v err=%v, want no reset", reset, err)
	}
	for _, p := range []*service.Principal{test, live} {
		if _, err := f.svc.GetContext(ctx, p, f.svc.NewRequestID(), &amp.ContextRequest{UserID: "u", Task: "t"}); err != nil {
			t.Fatal(err)
		}
	}
	f.clock.Set(time.Date(2026, 3, 31, 23, 59, 59, 0, time.UTC))
	if reset, _ := f.svc.ResetTestDataIfDue(ctx); reset {
		t.Fatal("reset before the month ended")
	}
	f.clock.Set(time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC))
	if reset, err := f.svc.ResetTestDataIfDue(ctx); err != nil || !reset {
		t.Fatalf("at 00:00 UTC on the 1st: reset=%v err=%v, want a reset", reset, err)
	}
	if _, err := f.svc.GetProfile(ctx, test, "u"); amp.ErrorCode(err) != amp.CodeNotFound {
		t.Fatalf("test profile after reset: %v, want NOT_FOUND", err)
	}
	if _, err := f.svc.GetProfile(ctx, live, "u"); err != nil {
		t.Fatalf("live profile after reset: %v, want kept", err)
	}
	if reset, _ := f.svc.ResetTestDataIfDue(ctx); reset {
		t.Fatal("reset twice in one month")
	}
}

func TestUpdateProfile(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	p := principal(t, f, f.key(t, amp.ModeTest, service.KeyOptions{}))
	bad := amp.Framing("heroic")
	_, err := f.svc.UpdateProfile(ctx, p, "u2", &amp.ProfileUpdate{PreferredFraming: &bad})
	wantCode(t, err, amp.CodeInvalidPreference)
	_, err = f.svc.GetProfile(ctx, p, "u2")
	wantCode(t, err, amp.CodeNotFound) // the refused update created nothing

	good := amp.FramingChallenge
	prof, err := f.svc.UpdateProfile(ctx, p, "u2", &amp.ProfileUpdate{PreferredFraming: &good, Metadata: []byte(`{"imported":true}`)})
	if err != nil {
		t.Fatal(err)
	}
	if prof.UserID != "u2" || prof.ProfileVersion != amp.ProfileVersion || string(prof.Metadata) != `{"imported":true}` {
		t.Fatalf("got profile %+v", prof)
	}
	if err := f.svc.DeleteProfile(ctx, p, "u2"); err != nil {
		t.Fatal(err)
	}
	wantCode(t, f.svc.DeleteProfile(ctx, p, "u2"), amp.CodeNotFound)
}

func TestDefaultAccountOnce(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "amp.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	svc, err := service.New(service.Config{Store: db, Learner: fixedLearner{}})
	if err != nil {
		t.Fatal(err)
	}
	a, secret, err := svc.EnsureDefaultAccount(ctx)
	if err != nil || a.Name != amp.DefaultAccountName || a.Plan != amp.PlanStarter || !strings.HasPrefix(secret, "amp_sk_test_") {
		t.Fatalf("first start: account %+v, key of %d bytes, err %v", a, len(secret), err)
	}
	if _, again, err := svc.EnsureDefaultAccount(ctx); err != nil || again != "" {
		t.Fatalf("second start printed a key again (%v)", err)
	}
}

// The background jobs follow the one pattern of docs/architecture.md:
// Close stops them and does their last work, here writing the keys'
// last-used times that the ticker has not written yet.
func TestStartClose(t *testing.T) {
	ctx := context.Background()
	for _, started := range []bool{true, false} {
		f := newFixture(t)
		secret := f.key(t, amp.ModeTest, service.KeyOptions{})
		if started {
			f.svc.Start()
			f.svc.Start() // a second Start does nothing
		}
		p, err := f.svc.Authenticate(ctx, secret, "10.0.0.1")
		if err != nil {
			t.Fatal(err)
		}
		if err := f.svc.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		k, err := f.store.Key(ctx, p.Key.ID)
		if err != nil {
			t.Fatal(err)
		}
		if k.LastUsedAt == nil || !k.LastUsedAt.Equal(f.clock.Now()) {
			t.Errorf("started %v: after Close, LastUsedAt = %v; want %v", started, k.LastUsedAt, f.clock.Now())
		}
		if err := f.svc.Close(); err != nil {
			t.Errorf("a second Close: %v", err)
		}
		f.svc.Start() // after Close: does nothing, and leaks nothing
	}
}

// TestPopulationFoldedOffTheOutcome checks that an outcome changes its
// user's model at once and the tenant's population only when
// FoldPopulations folds the deltas it queued, each once.
func TestPopulationFoldedOffTheOutcome(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	live := principal(t, f, f.key(t, amp.ModeLive, service.KeyOptions{}))
	yes := true
	tn := live.Tenant()
	for i := range 3 {
		id := f.svc.NewRequestID()
		if _, err := f.svc.GetContext(ctx, live, id, &amp.ContextRequest{UserID: "u1", Task: "write a report"}); err != nil {
			t.Fatal(err)
		}
		if err := f.svc.ReportOutcome(ctx, live, &amp.OutcomeRequest{RequestID: id, Started: &yes}); err != nil {
			t.Fatal(err)
		}
		p, err := f.store.Profile(ctx, tn, "u1")
		if err != nil {
			t.Fatal(err)
		}
		if want := strings.Repeat("o", i+1); string(p.Model) != want {
			t.Errorf("user model after outcome %d: %q, want %q", i+1, p.Model, want)
		}
	}
	pop, err := f.store.Population(ctx, tn)
	if err != nil {
		t.Fatal(err)
	}
	if pop.Model != nil {
		t.Errorf("population before the fold: %q, want none", pop.Model)
	}
	n, err := f.svc.FoldPopulations(ctx)
	if err != nil || n != 3 {
		t.Fatalf("FoldPopulations: %d, %v; want 3 deltas folded", n, err)
	}
	if n, err := f.svc.FoldPopulations(ctx); err != nil || n != 0 {
		t.Fatalf("second FoldPopulations: %d, %v; want nothing left", n, err)
	}
	if pop, err = f.store.Population(ctx, tn); err != nil {
		t.Fatal(err)
	}
	if string(pop.Model) != "ppp" || !pop.UpdatedAt.Equal(f.clock.Now()) {
		t.Errorf("population after the fold: %q at %v; want %q at %v", pop.Model, pop.UpdatedAt, "ppp", f.clock.Now())
	}
}

// failingFold is a store whose FoldPopulation fails for one tenant.
type failingFold struct {
	amp.Store
	bad amp.Tenant
}

func (s failingFold) FoldPopulation(ctx context.Context, t amp.Tenant, limit int, merge amp.PopulationMergeFunc) (int, error) {
	if t == s.bad {
		return 0, errors.New("fold failed")
	}
	return s.Store.FoldPopulation(ctx, t, limit, merge)
}

// TestFoldFailureIsTenantLocal checks that a tenant whose fold fails does
// not keep the others' populations from being folded.
func TestFoldFailureIsTenantLocal(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	test := principal(t, f, f.key(t, amp.ModeTest, service.KeyOptions{}))
	live := principal(t, f, f.key(t, amp.ModeLive, service.KeyOptions{}))
	yes := true
	for _, p := range []*service.Principal{test, live} {
		id := f.svc.NewRequestID()
		if _, err := f.svc.GetContext(ctx, p, id, &amp.ContextRequest{UserID: "u1", Task: "write a report"}); err != nil {
			t.Fatal(err)
		}
		if err := f.svc.ReportOutcome(ctx, p, &amp.OutcomeRequest{RequestID: id, Started: &yes}); err != nil {
			t.Fatal(err)
		}
	}
	svc, err := service.New(service.Config{Store: failingFold{Store: f.store, bad: test.Tenant()}, Learner: fixedLearner{}, Now: f.clock.Now, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	n, err := svc.FoldPopulations(ctx)
	if err == nil || n != 1 {
		t.Fatalf("FoldPopulations with one failing tenant: %d, %v; want 1 folded and the error", n, err)
	}
	pop, err := f.store.Population(ctx, live.Tenant())
	if err != nil || string(pop.Model) != "p" {
		t.Fatalf("live population: %v, %v; want it folded", pop, err)
	}
	if _, pending, err := f.store.PopulationLog(ctx, test.Tenant()); err != nil || pending != 1 {
		t.Fatalf("test-mode deltas: %d pending, %v; want the one kept", pending, err)
	}
}

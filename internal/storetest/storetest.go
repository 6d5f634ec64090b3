// Package storetest is the conformance suite of amp.Store: the executable
// form of the contract documented on the interface in the root package.
// Every storage backend runs it from its own tests:
//
//	func TestStore(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) amp.Store {
//			return mustOpen(t, filepath.Join(t.TempDir(), "amp.db"))
//		}, storetest.Reopen(func(t *testing.T, closed amp.Store) amp.Store {
//			return mustOpen(t, closed.(*sqlite.DB).Path())
//		}))
//	}
//
// The suite speaks only amp.Store: it holds no SQL and assumes nothing about
// a backend beyond the contract. Where the interface's comments leave a
// choice open, the suite fixes it (and says so in the test); those choices
// are part of the contract too:
//
//   - Times come back as the same instant in UTC, to the millisecond at
//     least. Metadata comes back as the same JSON value (spacing and key
//     order may change); absent metadata, nil pointers and nil models stay
//     absent, and false or zero stays present.
//   - UpdateAccount, UpdateKey, TouchKey and DeleteProfile of something that
//     does not exist return ErrNotFound and change nothing; so does CreateKey
//     for an unknown account. UpdateKey changes only name, scopes, rate
//     limit, expiry, revocation and quarantine.
//   - SaveDecision files the new profile under the decision's tenant and
//     user; a duplicate request id is ErrConflict and stores nothing, the new
//     profile included.
//   - RecordOutcome files the outcome under the decision's request id, tenant
//     and user, whatever apply set. It returns apply's error as is (errors.Is
//     and errors.As find it). apply returning neither an outcome nor an
//     error is an error. A decision whose user has no profile gives apply a
//     new, empty one (tenant and user id set), which is then stored. An
//     outcome stored although one exists is ErrConflict. Concurrent calls
//     lose no update of the profile or the population.
//   - RecordOutcome never changes the population: apply's delta is queued,
//     and FoldPopulation folds queued deltas oldest first, each exactly
//     once, however many folds run at once; a failed merge folds nothing.
//     Queued deltas survive Close.
//   - DeleteProfile keeps the tenant's population. ResetTestData keeps keys
//     and accounts.
//   - ProfileStats of a user without outcomes is all zeros, not an error; an
//     empty task type counts in the totals and by hour, not in ByTaskType;
//     the hour is the UTC hour of the decision.
//   - Outcomes are ordered by ReportedAt, Decisions by CreatedAt, and since is
//     inclusive.
//   - After Close every method fails with ErrUnavailable. A write that was
//     acknowledged before or while the store closed is kept; one refused
//     with ErrUnavailable is not stored.
//
// The suite creates, before writing any learning data of a tenant, the
// account that tenant belongs to, so a backend may enforce that with a
// foreign key.
package storetest

import (
	"sync"
	"testing"

	"github.com/amp-protocol/amp"
)

// Option configures Run.
type Option func(*suite)

// Reopen lets the suite check that a store keeps its data across Close: fn
// gets a store that the suite has already closed and must return a new,
// open store on the same database (for SQLite, the same file; for
// PostgreSQL, the same database and schema). Without it, the tests that need
// it are skipped.
func Reopen(fn func(t *testing.T, closed amp.Store) amp.Store) Option {
	return func(s *suite) { s.reopen = fn }
}

// Run runs the conformance suite as subtests of t. open must return a new,
// open store on an empty database each time it is called, and arrange (with
// t.Cleanup) to remove whatever the database leaves behind. The suite closes
// every store it gets, exactly once, before that cleanup runs.
//
// Subtests do not run in parallel with each other, but many of them use one
// store from many goroutines.
func Run(t *testing.T, open func(t *testing.T) amp.Store, opts ...Option) {
	s := &suite{open: open}
	for _, o := range opts {
		o(s)
	}
	t.Run("Accounts", s.testAccounts)
	t.Run("Keys", s.testKeys)
	t.Run("RollKey", s.testRollKey)
	t.Run("Profiles", s.testProfiles)
	t.Run("SaveDecision", s.testSaveDecision)
	t.Run("RecordOutcome", s.testRecordOutcome)
	t.Run("Concurrency", s.testConcurrency)
	t.Run("Population", s.testPopulation)
	t.Run("UpdateProfile", s.testUpdateProfile)
	t.Run("DeleteProfile", s.testDeleteProfile)
	t.Run("ProfileStats", s.testProfileStats)
	t.Run("Outcomes", s.testOutcomes)
	t.Run("Decisions", s.testDecisions)
	t.Run("ResetTestData", s.testResetTestData)
	t.Run("Settings", s.testSettings)
	t.Run("Isolation", s.testIsolation)
	t.Run("Lifecycle", s.testLifecycle)
	t.Run("TextRule", s.testTextRule)
}

type suite struct {
	open   func(t *testing.T) amp.Store
	reopen func(t *testing.T, closed amp.Store) amp.Store
}

// store is a store under test, closed exactly once: by the test, or at its
// end.
type store struct {
	amp.Store
	once sync.Once
	err  error
}

func (st *store) close() error {
	st.once.Do(func() { st.err = st.Store.Close() })
	return st.err
}

// newStore opens a store on an empty database for the test t.
func (s *suite) newStore(t *testing.T) *store {
	t.Helper()
	return s.track(t, s.open(t))
}

func (s *suite) track(t *testing.T, as amp.Store) *store {
	t.Helper()
	if as == nil {
		t.Fatal("open returned a nil store")
	}
	st := &store{Store: as}
	t.Cleanup(func() {
		if err := st.close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return st
}

// reopened closes st and returns a new store on its database, skipping the
// test if the backend gave no Reopen hook.
func (s *suite) reopened(t *testing.T, st *store) *store {
	t.Helper()
	if s.reopen == nil {
		t.Skip("the backend gave no storetest.Reopen hook")
	}
	if err := st.close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	return s.track(t, s.reopen(t, st.Store))
}

// needReopen skips t early, before any setup, when there is no Reopen hook.
func (s *suite) needReopen(t *testing.T) {
	t.Helper()
	if s.reopen == nil {
		t.Skip("the backend gave no storetest.Reopen hook")
	}
}

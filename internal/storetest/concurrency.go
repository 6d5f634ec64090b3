package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/amp-protocol/amp"
)

func (s *suite) testConcurrency(t *testing.T) {
	t.Run("SameRequestStoredOnce", func(t *testing.T) {
		// Many reports of one request at once: exactly one is stored and
		// counted; each other caller either saw it already reported or got
		// ErrConflict.
		st := s.newStore(t)
		setupAccounts(t, st)
		d := newDecision(tenantA, "req_1", "alice", at(0))
		mustSave(t, st, d, newProfile(tenantA, "alice", at(0)))
		const n = 16
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				_, errs[i] = st.RecordOutcome(t.Context(), tenantA, "req_1", countingApply(newOutcome(i%2 == 0, at(time.Duration(i+1)*time.Second))))
			})
		}
		wg.Wait()
		stored := 0
		for i, err := range errs {
			switch {
			case err == nil:
				stored++
			case errors.Is(err, errAlreadyReported), errors.Is(err, amp.ErrConflict):
			default:
				t.Errorf("RecordOutcome %d: %v", i, err)
			}
		}
		if stored != 1 {
			t.Errorf("successful RecordOutcome calls: got %d, want 1", stored)
		}
		if os := mustOutcomes(t, st, tenantA, "alice"); len(os) != 1 {
			t.Errorf("Outcomes: got %d, want 1", len(os))
		}
		if got := mustProfile(t, st, tenantA, "alice").OutcomeCount; got != 1 {
			t.Errorf("OutcomeCount: got %d, want 1", got)
		}
	})

	t.Run("SameUserLosesNoUpdate", func(t *testing.T) {
		// Outcomes of one user from many goroutines at once: every change
		// apply makes to the profile and the population is made on the
		// state the previous one left, so no increment is lost.
		st := s.newStore(t)
		setupAccounts(t, st)
		const goroutines, each = 8, 12
		decisions := make([][]*amp.Decision, goroutines)
		var wg sync.WaitGroup
		saveErrs := make([]error, goroutines)
		for g := range goroutines {
			wg.Go(func() {
				for i := range each {
					d := newDecision(tenantA, fmt.Sprintf("req_%d_%d", g, i), "alice", at(time.Duration(g*each+i)*time.Millisecond))
					p := &amp.ProfileRecord{Tenant: tenantA, UserID: "alice", CreatedAt: at(0), UpdatedAt: at(0)}
					if err := st.SaveDecision(t.Context(), d, p); err != nil {
						saveErrs[g] = err
						return
					}
					decisions[g] = append(decisions[g], d)
				}
			})
		}
		wg.Wait()
		for g, err := range saveErrs {
			noErr(t, fmt.Sprintf("SaveDecision of goroutine %d", g), err)
		}

		recordErrs := make([]error, goroutines)
		for g := range goroutines {
			wg.Go(func() {
				for _, d := range decisions[g] {
					_, err := st.RecordOutcome(t.Context(), tenantA, d.RequestID, func(_ *amp.Decision, already bool, p *amp.ProfileRecord, pop *amp.PopulationRecord) (*amp.OutcomeRecord, []byte, error) {
						if already {
							return nil, nil, errAlreadyReported
						}
						p.OutcomeCount++
						p.Model = addCounter(p.Model)
						return newOutcome(true, at(time.Minute)), []byte{'+'}, nil
					})
					if err != nil {
						recordErrs[g] = err
						return
					}
				}
			})
		}
		wg.Wait()
		for g, err := range recordErrs {
			noErr(t, fmt.Sprintf("RecordOutcome of goroutine %d", g), err)
		}
		const want = goroutines * each
		p := mustProfile(t, st, tenantA, "alice")
		if p.OutcomeCount != want || counter(p.Model) != want {
			t.Errorf("Profile: OutcomeCount %d, model counter %d; want %d and %d", p.OutcomeCount, counter(p.Model), want, want)
		}
		foldAll(t, st, tenantA)
		if got := len(mustPopulation(t, st, tenantA).Model); got != want {
			t.Errorf("Population: %d deltas folded, want %d", got, want)
		}
		if os := mustOutcomes(t, st, tenantA, "alice"); len(os) != want {
			t.Errorf("Outcomes: got %d, want %d", len(os), want)
		}
	})

	t.Run("MixedWritersAndReaders", func(t *testing.T) {
		// Decisions, outcomes and profile updates of many users, with reads
		// in between, all at once: every write that succeeded is visible to
		// the reads that follow it.
		st := s.newStore(t)
		setupAccounts(t, st)
		const users, rounds = 6, 10
		errs := make([]error, users)
		var wg sync.WaitGroup
		for u := range users {
			wg.Go(func() {
				errs[u] = mixedWorkload(t, st, fmt.Sprintf("user_%d", u), rounds)
			})
		}
		wg.Wait()
		for u, err := range errs {
			noErr(t, fmt.Sprintf("user %d", u), err)
		}
		if ds := mustDecisions(t, st, tenantA); len(ds) != users*rounds {
			t.Errorf("Decisions: got %d, want %d", len(ds), users*rounds)
		}
	})
}

// mixedWorkload runs, for one user, rounds of decision, read, outcome and
// profile update, checking that each read sees the writes before it.
func mixedWorkload(t *testing.T, st amp.Store, userID string, rounds int) error {
	ctx := t.Context()
	for r := range rounds {
		d := newDecision(tenantA, fmt.Sprintf("req_%s_%d", userID, r), userID, at(time.Duration(r)*time.Second))
		if err := st.SaveDecision(ctx, d, &amp.ProfileRecord{CreatedAt: at(0), UpdatedAt: at(0)}); err != nil {
			return fmt.Errorf("round %d: SaveDecision: %w", r, err)
		}
		p, err := st.Profile(ctx, tenantA, userID)
		if err != nil {
			return fmt.Errorf("round %d: Profile: %w", r, err)
		}
		if p.OutcomeCount != r {
			return fmt.Errorf("round %d: OutcomeCount %d, want %d", r, p.OutcomeCount, r)
		}
		if _, err := st.Population(ctx, tenantA); err != nil {
			return fmt.Errorf("round %d: Population: %w", r, err)
		}
		if _, err := st.RecordOutcome(ctx, tenantA, d.RequestID, countingApply(newOutcome(true, at(time.Duration(r)*time.Second+time.Millisecond)))); err != nil {
			return fmt.Errorf("round %d: RecordOutcome: %w", r, err)
		}
		if _, err := st.UpdateProfile(ctx, tenantA, userID, func(p *amp.ProfileRecord, created bool) error {
			if created {
				return fmt.Errorf("profile of %s missing", userID)
			}
			p.Metadata = []byte(fmt.Sprintf(`{"round": %d}`, r))
			return nil
		}); err != nil {
			return fmt.Errorf("round %d: UpdateProfile: %w", r, err)
		}
		os, err := st.Outcomes(ctx, tenantA, userID, 1)
		if err != nil {
			return fmt.Errorf("round %d: Outcomes: %w", r, err)
		}
		if len(os) != 1 || os[0].RequestID != d.RequestID {
			return fmt.Errorf("round %d: newest outcome %v, want %s", r, requestIDs(os), d.RequestID)
		}
	}
	return nil
}

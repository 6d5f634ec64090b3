package storetest

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/amp-protocol/amp"
)

// recordDelta records an outcome of decision reqID (saved for userID) that
// teaches the population delta.
func recordDelta(t *testing.T, st amp.Store, tn amp.Tenant, reqID, userID, delta string) {
	t.Helper()
	mustSave(t, st, newDecision(tn, reqID, userID, at(0)), newProfile(tn, userID, at(0)))
	_, err := st.RecordOutcome(t.Context(), tn, reqID, func(_ *amp.Decision, _ bool, p *amp.ProfileRecord, _ *amp.PopulationRecord) (*amp.OutcomeRecord, []byte, error) {
		p.OutcomeCount++
		return newOutcome(true, at(time.Minute)), []byte(delta), nil
	})
	noErr(t, "RecordOutcome "+reqID, err)
}

func (s *suite) testPopulation(t *testing.T) {
	t.Run("FoldsOldestFirstUpToLimit", func(t *testing.T) {
		st := s.newStore(t)
		setupAccounts(t, st)
		calls := 0
		n, err := st.FoldPopulation(t.Context(), tenantA, 10, func(*amp.PopulationRecord, [][]byte) error { calls++; return nil })
		noErr(t, "FoldPopulation of a tenant without deltas", err)
		if n != 0 || calls != 0 {
			t.Errorf("FoldPopulation without deltas: folded %d, merge called %d times; want 0, 0", n, calls)
		}
		for i := range 5 {
			recordDelta(t, st, tenantA, fmt.Sprintf("req_%d", i), fmt.Sprintf("user_%d", i%2), fmt.Sprint(i+1))
		}
		recordDelta(t, st, tenantB, "req_b", "bob", "b")
		pending, err := st.PendingPopulations(t.Context(), 10)
		noErr(t, "PendingPopulations", err)
		if want := []amp.Tenant{tenantA, tenantB}; !sameTenants(pending, want) {
			t.Errorf("PendingPopulations: %v, want %v", pending, want)
		}
		if one, err := st.PendingPopulations(t.Context(), 1); err != nil || len(one) != 1 {
			t.Errorf("PendingPopulations(limit 1): %v, %v; want one tenant", one, err)
		}

		if n := foldN(t, st, tenantA, 2); n != 2 {
			t.Errorf("FoldPopulation(limit 2): folded %d, want 2", n)
		}
		checkPopulation(t, "Population after the first fold", mustPopulation(t, st, tenantA),
			&amp.PopulationRecord{Tenant: tenantA, Model: []byte("12"), UpdatedAt: at(time.Hour)})

		errMerge := errors.New("merge failed")
		_, err = st.FoldPopulation(t.Context(), tenantA, 10, func(pop *amp.PopulationRecord, deltas [][]byte) error {
			if got := string(slices.Concat(deltas...)); got != "345" {
				t.Errorf("merge got deltas %q, want %q", got, "345")
			}
			if string(pop.Model) != "12" || pop.Tenant != tenantA {
				t.Errorf("merge got population %v %q, want %v %q", pop.Tenant, pop.Model, tenantA, "12")
			}
			pop.Model = []byte("must not be stored")
			return errMerge
		})
		wantErr(t, "FoldPopulation whose merge fails", err, errMerge)
		if string(mustPopulation(t, st, tenantA).Model) != "12" {
			t.Errorf("a failed merge changed the population")
		}
		if _, pending := mustPopulationLog(t, st, tenantA); pending != 3 {
			t.Errorf("PopulationLog after a failed merge: %d pending, want 3", pending)
		}

		if n := foldAll(t, st, tenantA); n != 3 {
			t.Errorf("FoldPopulation of the rest: folded %d, want 3", n)
		}
		if got := string(mustPopulation(t, st, tenantA).Model); got != "12345" {
			t.Errorf("Population: %q, want %q", got, "12345")
		}
		deltas, pendingN := mustPopulationLog(t, st, tenantA)
		if got := string(slices.Concat(deltas...)); got != "12345" || pendingN != 0 {
			t.Errorf("PopulationLog: %q with %d pending, want %q with 0", got, pendingN, "12345")
		}
		if pop := mustPopulation(t, st, tenantB); pop.Model != nil {
			t.Errorf("Population of B, not folded yet: %q, want nil", pop.Model)
		}
		pending, err = st.PendingPopulations(t.Context(), 10)
		noErr(t, "PendingPopulations", err)
		if want := []amp.Tenant{tenantB}; !sameTenants(pending, want) {
			t.Errorf("PendingPopulations after folding A: %v, want %v", pending, want)
		}
	})

	t.Run("ConcurrentFoldsAndOutcomes", func(t *testing.T) {
		// Outcomes of several users (some of one user) while two folders
		// fold the tenant's population over and over: every delta is
		// folded exactly once.
		st := s.newStore(t)
		setupAccounts(t, st)
		const writers, each = 4, 25
		for w := range writers {
			for i := range each {
				user := fmt.Sprintf("user_%d", w%3)
				mustSave(t, st, newDecision(tenantA, fmt.Sprintf("req_%d_%d", w, i), user, at(0)), newProfile(tenantA, user, at(0)))
			}
		}
		var (
			writing   sync.WaitGroup
			folding   sync.WaitGroup
			done      = make(chan struct{})
			writeErrs = make([]error, writers)
			foldErrs  = make([]error, 2)
		)
		for w := range writers {
			writing.Go(func() {
				for i := range each {
					_, err := st.RecordOutcome(t.Context(), tenantA, fmt.Sprintf("req_%d_%d", w, i),
						func(_ *amp.Decision, already bool, p *amp.ProfileRecord, _ *amp.PopulationRecord) (*amp.OutcomeRecord, []byte, error) {
							if already {
								return nil, nil, errAlreadyReported
							}
							p.OutcomeCount++
							return newOutcome(true, at(time.Minute)), fmt.Appendf(nil, "<%d.%d>", w, i), nil
						})
					if err != nil {
						writeErrs[w] = err
						return
					}
				}
			})
		}
		for f := range foldErrs {
			folding.Go(func() {
				for {
					if _, err := st.FoldPopulation(t.Context(), tenantA, 7, appendMerge); err != nil {
						foldErrs[f] = err
						return
					}
					select {
					case <-done:
						return
					default:
					}
				}
			})
		}
		writing.Wait()
		close(done)
		folding.Wait()
		for w, err := range writeErrs {
			noErr(t, fmt.Sprintf("RecordOutcome of writer %d", w), err)
		}
		for f, err := range foldErrs {
			noErr(t, fmt.Sprintf("FoldPopulation of folder %d", f), err)
		}
		foldAll(t, st, tenantA)
		model := string(mustPopulation(t, st, tenantA).Model)
		for w := range writers {
			for i := range each {
				if c := strings.Count(model, fmt.Sprintf("<%d.%d>", w, i)); c != 1 {
					t.Errorf("delta of outcome %d.%d folded %d times, want once", w, i, c)
				}
			}
		}
		if got, want := strings.Count(model, "<"), writers*each; got != want {
			t.Errorf("Population: %d deltas folded, want %d", got, want)
		}
		deltas, pending := mustPopulationLog(t, st, tenantA)
		if len(deltas) != writers*each || pending != 0 {
			t.Errorf("PopulationLog: %d deltas, %d pending; want %d, 0", len(deltas), pending, writers*each)
		}
		total := 0
		for u := range 3 {
			total += mustProfile(t, st, tenantA, fmt.Sprintf("user_%d", u)).OutcomeCount
		}
		if total != writers*each {
			t.Errorf("profiles counted %d outcomes, want %d", total, writers*each)
		}
	})

	t.Run("PendingSurvivesReopen", func(t *testing.T) {
		s.needReopen(t)
		st := s.newStore(t)
		setupAccounts(t, st)
		recordDelta(t, st, tenantA, "req_1", "alice", "1")
		foldAll(t, st, tenantA)
		recordDelta(t, st, tenantA, "req_2", "alice", "2")
		st = s.reopened(t, st)
		pending, err := st.PendingPopulations(t.Context(), 10)
		noErr(t, "PendingPopulations after reopening", err)
		if want := []amp.Tenant{tenantA}; !sameTenants(pending, want) {
			t.Errorf("PendingPopulations after reopening: %v, want %v", pending, want)
		}
		if n := foldAll(t, st, tenantA); n != 1 {
			t.Errorf("FoldPopulation after reopening: folded %d, want 1", n)
		}
		if got := string(mustPopulation(t, st, tenantA).Model); got != "12" {
			t.Errorf("Population: %q, want %q", got, "12")
		}
	})
}

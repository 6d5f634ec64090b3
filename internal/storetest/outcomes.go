package storetest

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/amp-protocol/amp"
)

func (s *suite) testRecordOutcome(t *testing.T) {
	t.Run("StoresOutcomeProfileAndPopulation", func(t *testing.T) {
		st := s.newStore(t)
		setupAccounts(t, st)
		d := newDecision(tenantA, "req_1", "alice", at(0))
		p := newProfile(tenantA, "alice", at(0))
		mustSave(t, st, d, p)

		o := newOutcome(true, at(time.Minute).In(elsewhere))
		calls := 0
		got, err := st.RecordOutcome(t.Context(), tenantA, "req_1", func(gd *amp.Decision, already bool, gp *amp.ProfileRecord, gpop *amp.PopulationRecord) (*amp.OutcomeRecord, []byte, error) {
			calls++
			checkDecision(t, "the decision given to apply", gd, d)
			if already {
				t.Errorf("apply: alreadyReported = true for a first outcome")
			}
			checkProfile(t, "the profile given to apply", gp, p)
			if gpop == nil || gpop.Model != nil || gpop.Tenant != tenantA {
				t.Errorf("apply: population = %+v, want tenant %v with a nil Model", gpop, tenantA)
			}
			gp.Model = []byte("learned user")
			gp.OutcomeCount = 1
			gp.UpdatedAt = at(time.Minute)
			gp.Manual = &amp.Preferences{Encouragement: amp.EncouragementHigh, SetAt: at(time.Minute)}
			gp.Metadata = json.RawMessage(`{"changed": true}`)
			gpop.Model = []byte("must not be stored: apply only reads the population")
			return o, []byte("learned population"), nil
		})
		noErr(t, "RecordOutcome", err)
		if calls != 1 {
			t.Errorf("apply was called %d times, want 1", calls)
		}
		want := *o
		want.RequestID, want.Tenant, want.UserID = "req_1", tenantA, "alice"
		want.ReportedAt = o.ReportedAt.UTC()
		checkOutcome(t, "returned outcome", got, &want)

		stored := mustOutcomes(t, st, tenantA, "alice")
		if len(stored) != 1 {
			t.Fatalf("Outcomes: got %d, want 1", len(stored))
		}
		checkOutcome(t, "stored outcome", stored[0], &want)
		wantP := *p
		wantP.Model, wantP.OutcomeCount, wantP.UpdatedAt = []byte("learned user"), 1, at(time.Minute)
		wantP.Manual = &amp.Preferences{Encouragement: amp.EncouragementHigh, SetAt: at(time.Minute)}
		wantP.Metadata = json.RawMessage(`{"changed": true}`)
		checkProfile(t, "Profile", mustProfile(t, st, tenantA, "alice"), &wantP)
		// The outcome queued its delta; the population changes only when
		// the delta is folded.
		if pop := mustPopulation(t, st, tenantA); pop.Model != nil {
			t.Errorf("Population before the fold: Model = %q, want nil", pop.Model)
		}
		deltas, pending := mustPopulationLog(t, st, tenantA)
		if len(deltas) != 1 || string(deltas[0]) != "learned population" || pending != 1 {
			t.Errorf("PopulationLog: %q, %d pending; want the outcome's delta, pending", deltas, pending)
		}
		if n := foldAll(t, st, tenantA); n != 1 {
			t.Errorf("FoldPopulation: folded %d, want 1", n)
		}
		checkPopulation(t, "Population", mustPopulation(t, st, tenantA),
			&amp.PopulationRecord{Tenant: tenantA, Model: []byte("learned population"), UpdatedAt: at(time.Hour)})
		if deltas, pending := mustPopulationLog(t, st, tenantA); len(deltas) != 1 || pending != 0 {
			t.Errorf("PopulationLog after the fold: %d deltas, %d pending; want 1, 0", len(deltas), pending)
		}
		ds := mustDecisions(t, st, tenantA)
		if len(ds) != 1 {
			t.Fatalf("Decisions: got %d, want 1", len(ds))
		}
		checkOutcome(t, "Decisions[0].Outcome", ds[0].Outcome, &want)
	})

	t.Run("OptionalFieldsRoundTrip", func(t *testing.T) {
		// Absent optional fields stay absent, and false or zero stays
		// present: nil and a pointer to the zero value differ.
		st := s.newStore(t)
		setupAccounts(t, st)
		cases := []*amp.OutcomeRecord{
			{Started: false, ReportedAt: at(time.Minute)},
			{Started: true, Completed: ptr(false), TimeToStart: ptr(0.0), FlowState: ptr(false), Satisfaction: ptr(0.0),
				Metadata: json.RawMessage(`{}`), Reward: 0, ReportedAt: at(2 * time.Minute)},
			{Started: true, Completed: ptr(true), TimeToStart: ptr(1e7), FlowState: ptr(true), Satisfaction: ptr(1.0),
				Metadata: json.RawMessage(`{"a":{"b":{"c":{"d":[1,2.5,"x",null,false]}}},"e":"ünï\u2028code"}`),
				Reward:   1, ReportedAt: at(3 * time.Minute)},
		}
		var wants []*amp.OutcomeRecord
		for i, o := range cases {
			d := newDecision(tenantA, "req_"+string(rune('a'+i)), "alice", at(time.Duration(i)*time.Second))
			mustSave(t, st, d, newProfile(tenantA, "alice", at(0)))
			wants = append(wants, mustRecord(t, st, d, o))
		}
		got := mustOutcomes(t, st, tenantA, "alice")
		if len(got) != len(wants) {
			t.Fatalf("Outcomes: got %d, want %d", len(got), len(wants))
		}
		for i, want := range wants {
			checkOutcome(t, "outcome "+want.RequestID, got[len(got)-1-i], want)
		}
		ds := mustDecisions(t, st, tenantA)
		for i, want := range wants {
			checkOutcome(t, "Decisions outcome "+want.RequestID, ds[i].Outcome, want)
		}
	})

	t.Run("UnknownRequest", func(t *testing.T) {
		st := s.newStore(t)
		setupAccounts(t, st)
		_, err := st.RecordOutcome(t.Context(), tenantA, "req_missing", neverCalled(t))
		wantErr(t, "RecordOutcome of an unknown request", err, amp.ErrNotFound)
	})

	t.Run("OtherTenantsRequest", func(t *testing.T) {
		// A request id issued to another account or mode is unknown here,
		// and reporting it there changes nothing.
		st := s.newStore(t)
		setupAccounts(t, st)
		d := newDecision(tenantA, "req_a", "alice", at(0))
		mustSave(t, st, d, newProfile(tenantA, "alice", at(0)))
		for _, tn := range []amp.Tenant{tenantATest, tenantB, tenantBTest} {
			_, err := st.RecordOutcome(t.Context(), tn, "req_a", neverCalled(t))
			wantErr(t, "RecordOutcome from tenant "+tn.AccountID+"/"+string(tn.Mode), err, amp.ErrNotFound)
			if os := mustOutcomes(t, st, tn, "alice"); len(os) != 0 {
				t.Errorf("Outcomes of %v: got %d, want 0", tn, len(os))
			}
		}
		if os := mustOutcomes(t, st, tenantA, "alice"); len(os) != 0 {
			t.Fatalf("Outcomes of the owner: got %d, want 0", len(os))
		}
		mustRecord(t, st, d, newOutcome(true, at(time.Minute)))
		if got := mustProfile(t, st, tenantA, "alice").OutcomeCount; got != 1 {
			t.Errorf("OutcomeCount: got %d, want 1", got)
		}
	})

	t.Run("AlreadyReported", func(t *testing.T) {
		st := s.newStore(t)
		setupAccounts(t, st)
		d := newDecision(tenantA, "req_1", "alice", at(0))
		mustSave(t, st, d, newProfile(tenantA, "alice", at(0)))
		first := mustRecord(t, st, d, newOutcome(true, at(time.Minute)))
		before := mustProfile(t, st, tenantA, "alice")

		var sawAlready bool
		_, err := st.RecordOutcome(t.Context(), tenantA, "req_1", func(_ *amp.Decision, already bool, p *amp.ProfileRecord, pop *amp.PopulationRecord) (*amp.OutcomeRecord, []byte, error) {
			sawAlready = already
			p.OutcomeCount = 1000 // must not be stored
			return nil, []byte("must not be stored"), errAlreadyReported
		})
		if !sawAlready {
			t.Errorf("apply of a second outcome: alreadyReported = false, want true")
		}
		wantErr(t, "second RecordOutcome", err, errAlreadyReported)
		os := mustOutcomes(t, st, tenantA, "alice")
		if len(os) != 1 {
			t.Fatalf("Outcomes: got %d, want 1", len(os))
		}
		checkOutcome(t, "the first outcome", os[0], first)
		checkProfile(t, "Profile", mustProfile(t, st, tenantA, "alice"), before)
		if n := foldAll(t, st, tenantA); n != 0 {
			t.Errorf("FoldPopulation: folded %d deltas, want none", n)
		}
	})

	t.Run("SecondOutcomeConflict", func(t *testing.T) {
		// An apply that stores a second outcome regardless is refused with
		// ErrConflict, and the first outcome is kept unchanged.
		st := s.newStore(t)
		setupAccounts(t, st)
		d := newDecision(tenantA, "req_1", "alice", at(0))
		mustSave(t, st, d, newProfile(tenantA, "alice", at(0)))
		first := mustRecord(t, st, d, newOutcome(true, at(time.Minute)))
		before := mustProfile(t, st, tenantA, "alice")
		_, err := st.RecordOutcome(t.Context(), tenantA, "req_1", func(_ *amp.Decision, _ bool, p *amp.ProfileRecord, _ *amp.PopulationRecord) (*amp.OutcomeRecord, []byte, error) {
			p.OutcomeCount = 1000
			return newOutcome(false, at(time.Hour)), []byte("must not be stored"), nil
		})
		wantErr(t, "a second outcome", err, amp.ErrConflict)
		if n := foldAll(t, st, tenantA); n != 0 {
			t.Errorf("FoldPopulation: folded %d deltas, want none", n)
		}
		os := mustOutcomes(t, st, tenantA, "alice")
		if len(os) != 1 {
			t.Fatalf("Outcomes: got %d, want 1", len(os))
		}
		checkOutcome(t, "the first outcome", os[0], first)
		checkProfile(t, "Profile", mustProfile(t, st, tenantA, "alice"), before)
	})

	t.Run("ApplyErrorAbortsAll", func(t *testing.T) {
		st := s.newStore(t)
		setupAccounts(t, st)
		d := newDecision(tenantA, "req_1", "alice", at(0))
		p := newProfile(tenantA, "alice", at(0))
		mustSave(t, st, d, p)
		// A population exists, so that a change to it would show.
		seed := newDecision(tenantA, "req_seed", "bob", at(0))
		mustSave(t, st, seed, newProfile(tenantA, "bob", at(0)))
		_, err := st.RecordOutcome(t.Context(), tenantA, "req_seed", func(_ *amp.Decision, _ bool, _ *amp.ProfileRecord, pop *amp.PopulationRecord) (*amp.OutcomeRecord, []byte, error) {
			return newOutcome(true, at(time.Second)), []byte("population v1"), nil
		})
		noErr(t, "RecordOutcome seeding the population", err)
		foldAll(t, st, tenantA)

		_, err = st.RecordOutcome(t.Context(), tenantA, "req_1", func(_ *amp.Decision, _ bool, p *amp.ProfileRecord, pop *amp.PopulationRecord) (*amp.OutcomeRecord, []byte, error) {
			p.Model, p.OutcomeCount, p.UpdatedAt = []byte("changed"), 50, at(time.Hour)
			pop.Model, pop.UpdatedAt = []byte("changed"), at(time.Hour)
			return newOutcome(true, at(time.Hour)), []byte("changed"), errApply
		})
		wantErr(t, "RecordOutcome whose apply fails", err, errApply)
		checkProfile(t, "Profile", mustProfile(t, st, tenantA, "alice"), p)
		if n := foldAll(t, st, tenantA); n != 0 {
			t.Errorf("FoldPopulation after a failed apply: folded %d deltas, want none", n)
		}
		checkPopulation(t, "Population", mustPopulation(t, st, tenantA),
			&amp.PopulationRecord{Tenant: tenantA, Model: []byte("population v1"), UpdatedAt: at(time.Hour)})
		if os := mustOutcomes(t, st, tenantA, "alice"); len(os) != 0 {
			t.Fatalf("Outcomes: got %d, want 0", len(os))
		}
		// The request can still be reported.
		_, err = st.RecordOutcome(t.Context(), tenantA, "req_1", func(_ *amp.Decision, already bool, _ *amp.ProfileRecord, _ *amp.PopulationRecord) (*amp.OutcomeRecord, []byte, error) {
			if already {
				t.Errorf("apply after a failed one: alreadyReported = true, want false")
			}
			return newOutcome(true, at(2*time.Hour)), nil, nil
		})
		noErr(t, "RecordOutcome after a failed one", err)
	})

	t.Run("NilOutcomeIsAnError", func(t *testing.T) {
		st := s.newStore(t)
		setupAccounts(t, st)
		d := newDecision(tenantA, "req_1", "alice", at(0))
		p := newProfile(tenantA, "alice", at(0))
		mustSave(t, st, d, p)
		_, err := st.RecordOutcome(t.Context(), tenantA, "req_1", func(_ *amp.Decision, _ bool, p *amp.ProfileRecord, _ *amp.PopulationRecord) (*amp.OutcomeRecord, []byte, error) {
			p.OutcomeCount = 7
			return nil, []byte("must not be stored"), nil
		})
		if err == nil {
			t.Fatal("RecordOutcome whose apply returned no outcome and no error: got nil error")
		}
		if os := mustOutcomes(t, st, tenantA, "alice"); len(os) != 0 {
			t.Errorf("Outcomes: got %d, want 0", len(os))
		}
		checkProfile(t, "Profile", mustProfile(t, st, tenantA, "alice"), p)
	})

	t.Run("FiledUnderDecision", func(t *testing.T) {
		// The outcome belongs to the decision: whatever request id, tenant
		// or user apply sets, it is stored under the decision's.
		st := s.newStore(t)
		setupAccounts(t, st)
		d := newDecision(tenantA, "req_1", "alice", at(0))
		mustSave(t, st, d, newProfile(tenantA, "alice", at(0)))
		got, err := st.RecordOutcome(t.Context(), tenantA, "req_1", func(*amp.Decision, bool, *amp.ProfileRecord, *amp.PopulationRecord) (*amp.OutcomeRecord, []byte, error) {
			o := newOutcome(true, at(time.Minute))
			o.RequestID, o.Tenant, o.UserID = "req_other", tenantB, "mallory"
			return o, nil, nil
		})
		noErr(t, "RecordOutcome", err)
		want := newOutcome(true, at(time.Minute))
		want.RequestID, want.Tenant, want.UserID = "req_1", tenantA, "alice"
		checkOutcome(t, "returned outcome", got, want)
		os := mustOutcomes(t, st, tenantA, "alice")
		if len(os) != 1 {
			t.Fatalf("Outcomes: got %d, want 1", len(os))
		}
		checkOutcome(t, "stored outcome", os[0], want)
		if os := mustOutcomes(t, st, tenantB, "mallory"); len(os) != 0 {
			t.Errorf("Outcomes of the tenant apply named: got %d, want 0", len(os))
		}
	})

	t.Run("DecisionWithoutProfile", func(t *testing.T) {
		// A decision saved without a profile gives apply a new, empty
		// profile of the decision's user, and what apply makes of it is
		// stored.
		st := s.newStore(t)
		setupAccounts(t, st)
		d := newDecision(tenantA, "req_1", "alice", at(0))
		mustSave(t, st, d, nil)
		_, err := st.RecordOutcome(t.Context(), tenantA, "req_1", func(_ *amp.Decision, _ bool, p *amp.ProfileRecord, _ *amp.PopulationRecord) (*amp.OutcomeRecord, []byte, error) {
			checkProfile(t, "the profile given to apply", p, &amp.ProfileRecord{Tenant: tenantA, UserID: "alice"})
			p.Model, p.OutcomeCount, p.CreatedAt, p.UpdatedAt = []byte("m"), 1, at(time.Minute), at(time.Minute)
			return newOutcome(true, at(time.Minute)), nil, nil
		})
		noErr(t, "RecordOutcome", err)
		checkProfile(t, "Profile", mustProfile(t, st, tenantA, "alice"), &amp.ProfileRecord{
			Tenant: tenantA, UserID: "alice", Model: []byte("m"), OutcomeCount: 1, CreatedAt: at(time.Minute), UpdatedAt: at(time.Minute),
		})
	})

	t.Run("PopulationSharedByTenant", func(t *testing.T) {
		// One tenant's users share its population; other tenants' do not.
		st := s.newStore(t)
		setupAccounts(t, st)
		for _, d := range []*amp.Decision{
			newDecision(tenantA, "req_alice", "alice", at(0)),
			newDecision(tenantA, "req_bob", "bob", at(0)),
			newDecision(tenantATest, "req_test", "bob", at(0)),
		} {
			mustSave(t, st, d, newProfile(d.Tenant, d.UserID, at(0)))
		}
		// apply sees the population as last folded.
		var seen []string
		record := func(tn amp.Tenant, reqID string) {
			t.Helper()
			_, err := st.RecordOutcome(t.Context(), tn, reqID, func(_ *amp.Decision, _ bool, _ *amp.ProfileRecord, pop *amp.PopulationRecord) (*amp.OutcomeRecord, []byte, error) {
				seen = append(seen, string(pop.Model))
				return newOutcome(true, at(time.Minute)), []byte{'+'}, nil
			})
			noErr(t, "RecordOutcome "+reqID, err)
		}
		record(tenantA, "req_alice")
		foldAll(t, st, tenantA)
		record(tenantA, "req_bob")
		record(tenantATest, "req_test")
		foldAll(t, st, tenantA)
		foldAll(t, st, tenantATest)
		if want := []string{"", "+", ""}; !slices.Equal(seen, want) {
			t.Errorf("populations seen by apply: got %q, want %q", seen, want)
		}
		if got := string(mustPopulation(t, st, tenantA).Model); got != "++" {
			t.Errorf("Population of A: got %q, want %q", got, "++")
		}
	})

	t.Run("ApplyErrorIsReturned", func(t *testing.T) {
		// apply's error reaches the caller with its identity intact, so the
		// service can tell its own errors (such as an expired request).
		st := s.newStore(t)
		setupAccounts(t, st)
		mustSave(t, st, newDecision(tenantA, "req_1", "alice", at(0)), newProfile(tenantA, "alice", at(0)))
		apiErr := amp.Errorf(amp.CodeRequestExpired, "expired")
		_, err := st.RecordOutcome(t.Context(), tenantA, "req_1", func(*amp.Decision, bool, *amp.ProfileRecord, *amp.PopulationRecord) (*amp.OutcomeRecord, []byte, error) {
			return nil, nil, apiErr
		})
		var got *amp.Error
		if !errors.As(err, &got) || got != apiErr {
			t.Fatalf("RecordOutcome: got error %v, want apply's *amp.Error", err)
		}
	})
}

// neverCalled is an OutcomeFunc that fails the test if it runs.
func neverCalled(t *testing.T) amp.OutcomeFunc {
	return func(d *amp.Decision, _ bool, _ *amp.ProfileRecord, _ *amp.PopulationRecord) (*amp.OutcomeRecord, []byte, error) {
		t.Errorf("apply was called for decision %s, want no call", d.RequestID)
		return nil, nil, errApply
	}
}

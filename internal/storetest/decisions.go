package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/amp-protocol/amp"
)

func (s *suite) testProfiles(t *testing.T) {
	t.Run("ProfileNotFound", func(t *testing.T) {
		st := s.newStore(t)
		setupAccounts(t, st)
		wantNoProfile(t, st, tenantA, "nobody")
	})

	t.Run("PopulationNone", func(t *testing.T) {
		st := s.newStore(t)
		setupAccounts(t, st)
		pop := mustPopulation(t, st, tenantA)
		if pop.Model != nil {
			t.Errorf("Population of a tenant without one: Model = %x, want nil", pop.Model)
		}
		if pop.Tenant != tenantA {
			t.Errorf("Population: Tenant = %v, want %v", pop.Tenant, tenantA)
		}
	})
}

func (s *suite) testSaveDecision(t *testing.T) {
	t.Run("CreatesProfile", func(t *testing.T) {
		st := s.newStore(t)
		setupAccounts(t, st)
		d := newDecision(tenantA, "req_create", "alice", at(0))
		p := newProfile(tenantA, "alice", at(0).In(elsewhere))
		p.Manual = &amp.Preferences{Framing: amp.FramingChallenge, Style: amp.StyleConversational, SetAt: at(-time.Hour)}
		p.OutcomeCount = 4
		p.UpdatedAt = at(time.Second)
		mustSave(t, st, d, p)

		want := *p
		want.CreatedAt = p.CreatedAt.UTC()
		checkProfile(t, "Profile", mustProfile(t, st, tenantA, "alice"), &want)
	})

	t.Run("RoundTrip", func(t *testing.T) {
		st := s.newStore(t)
		setupAccounts(t, st)
		full := newDecision(tenantA, "req_full", "alice", at(0).In(elsewhere))
		full.Propensity = 0.123456789
		full.Confidence = 0.987654321
		full.Holdout = true
		full.Interactions = 123456
		bare := &amp.Decision{
			RequestID: "req_bare", Tenant: tenantA, UserID: "bob ünïcode/\"quoted\"",
			Recommendation: amp.Recommendation{
				Framing: amp.FramingLearning, Style: amp.StyleBriefDirective,
				Handling: amp.HandlingHintsOnly, Encouragement: amp.EncouragementNone,
			},
			Propensity: 1, CreatedAt: at(time.Minute),
		}
		mustSave(t, st, full, nil)
		mustSave(t, st, bare, nil)
		ds := mustDecisions(t, st, tenantA)
		if len(ds) != 2 {
			t.Fatalf("Decisions: got %d, want 2", len(ds))
		}
		wantFull := *full
		wantFull.CreatedAt = full.CreatedAt.UTC()
		checkDecision(t, "Decisions[0]", &ds[0].Decision, &wantFull)
		checkDecision(t, "Decisions[1]", &ds[1].Decision, bare)
		for _, d := range ds {
			if d.Outcome != nil {
				t.Errorf("decision %s without an outcome: Outcome = %+v, want nil", d.RequestID, d.Outcome)
			}
		}
	})

	t.Run("WithoutProfile", func(t *testing.T) {
		st := s.newStore(t)
		setupAccounts(t, st)
		mustSave(t, st, newDecision(tenantA, "req_1", "alice", at(0)), nil)
		wantNoProfile(t, st, tenantA, "alice")
		if ds := mustDecisions(t, st, tenantA); len(ds) != 1 {
			t.Errorf("Decisions: got %d, want 1", len(ds))
		}
	})

	t.Run("KeepsExistingProfile", func(t *testing.T) {
		st := s.newStore(t)
		setupAccounts(t, st)
		first := newProfile(tenantA, "alice", at(0))
		mustSave(t, st, newDecision(tenantA, "req_1", "alice", at(0)), first)
		second := newProfile(tenantA, "alice", at(time.Hour))
		second.Model = []byte("must not overwrite")
		second.OutcomeCount = 99
		second.Metadata = nil
		mustSave(t, st, newDecision(tenantA, "req_2", "alice", at(time.Hour)), second)
		checkProfile(t, "Profile after a second SaveDecision", mustProfile(t, st, tenantA, "alice"), first)
	})

	t.Run("ProfileFiledUnderDecision", func(t *testing.T) {
		// The new profile is the decision's user's: it is stored under the
		// decision's tenant and user, whatever the record says.
		st := s.newStore(t)
		setupAccounts(t, st)
		p := newProfile(tenantB, "mallory", at(0))
		mustSave(t, st, newDecision(tenantA, "req_1", "alice", at(0)), p)
		want := *p
		want.Tenant, want.UserID = tenantA, "alice"
		checkProfile(t, "Profile", mustProfile(t, st, tenantA, "alice"), &want)
		wantNoProfile(t, st, tenantB, "mallory")
		wantNoProfile(t, st, tenantA, "mallory")
	})

	t.Run("DuplicateRequestID", func(t *testing.T) {
		st := s.newStore(t)
		setupAccounts(t, st)
		d := newDecision(tenantA, "req_dup", "alice", at(0))
		mustSave(t, st, d, nil)
		dup := newDecision(tenantA, "req_dup", "bob", at(time.Hour))
		dup.TaskType = "writing"
		err := st.SaveDecision(t.Context(), dup, newProfile(tenantA, "bob", at(time.Hour)))
		wantErr(t, "SaveDecision with an existing request id", err, amp.ErrConflict)
		// The refused decision's new profile went with it.
		wantNoProfile(t, st, tenantA, "bob")
		ds := mustDecisions(t, st, tenantA)
		if len(ds) != 1 {
			t.Fatalf("Decisions: got %d, want 1", len(ds))
		}
		checkDecision(t, "Decisions[0]", &ds[0].Decision, d)
	})

	t.Run("ConcurrentNewProfile", func(t *testing.T) {
		// Many first requests of one new user at once: every decision is
		// saved and exactly one of the new profiles is kept.
		st := s.newStore(t)
		setupAccounts(t, st)
		const n = 16
		profiles := make([]*amp.ProfileRecord, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			profiles[i] = newProfile(tenantA, "alice", at(time.Duration(i)*time.Second))
			profiles[i].Model = []byte{byte(i)}
			wg.Go(func() {
				errs[i] = st.SaveDecision(t.Context(), newDecision(tenantA, fmt.Sprintf("req_%02d", i), "alice", at(time.Duration(i)*time.Second)), profiles[i])
			})
		}
		wg.Wait()
		for i, err := range errs {
			noErr(t, fmt.Sprintf("SaveDecision %d", i), err)
		}
		got := mustProfile(t, st, tenantA, "alice")
		if len(got.Model) != 1 || int(got.Model[0]) >= n {
			t.Fatalf("Profile: Model = %x, want one of the new profiles' models", got.Model)
		}
		checkProfile(t, "Profile", got, profiles[got.Model[0]])
		if ds := mustDecisions(t, st, tenantA); len(ds) != n {
			t.Errorf("Decisions: got %d, want %d", len(ds), n)
		}
	})
}

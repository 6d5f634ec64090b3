package storetest

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/amp-protocol/amp"
)

func (s *suite) testUpdateProfile(t *testing.T) {
	t.Run("Creates", func(t *testing.T) {
		st := s.newStore(t)
		setupAccounts(t, st)
		want := &amp.ProfileRecord{
			Tenant: tenantA, UserID: "alice",
			Model: []byte("prefs applied"),
			Manual: &amp.Preferences{
				Framing: amp.FramingAchievement, Style: amp.StyleDetailedExplanatory,
				Handling: amp.HandlingHighLevel, Encouragement: amp.EncouragementMinimal,
				SetAt: at(time.Minute).In(elsewhere),
			},
			Metadata:  json.RawMessage(`{"team": "blue"}`),
			CreatedAt: at(time.Minute), UpdatedAt: at(time.Minute),
		}
		calls := 0
		got, err := st.UpdateProfile(t.Context(), tenantA, "alice", func(p *amp.ProfileRecord, created bool) error {
			calls++
			if !created {
				t.Errorf("apply: created = false for a user without a profile")
			}
			checkProfile(t, "the new profile given to apply", p, &amp.ProfileRecord{Tenant: tenantA, UserID: "alice"})
			p.Model, p.Manual, p.Metadata, p.CreatedAt, p.UpdatedAt = want.Model, want.Manual, want.Metadata, want.CreatedAt, want.UpdatedAt
			return nil
		})
		noErr(t, "UpdateProfile", err)
		if calls != 1 {
			t.Errorf("apply was called %d times, want 1", calls)
		}
		wantUTC := *want
		wantUTC.Manual = ptr(*want.Manual)
		wantUTC.Manual.SetAt = want.Manual.SetAt.UTC()
		checkProfile(t, "returned profile", got, &wantUTC)
		checkProfile(t, "Profile", mustProfile(t, st, tenantA, "alice"), &wantUTC)
	})

	t.Run("Updates", func(t *testing.T) {
		st := s.newStore(t)
		setupAccounts(t, st)
		p := newProfile(tenantA, "alice", at(0))
		p.Manual = &amp.Preferences{Framing: amp.FramingLearning, SetAt: at(0)}
		p.OutcomeCount = 9
		mustSave(t, st, newDecision(tenantA, "req_1", "alice", at(0)), p)
		mustSave(t, st, newDecision(tenantA, "req_2", "bob", at(0)), newProfile(tenantA, "bob", at(0)))

		got, err := st.UpdateProfile(t.Context(), tenantA, "alice", func(gp *amp.ProfileRecord, created bool) error {
			if created {
				t.Errorf("apply: created = true for an existing profile")
			}
			checkProfile(t, "the profile given to apply", gp, p)
			gp.Model = nil
			gp.Manual = nil
			gp.Metadata = nil
			gp.UpdatedAt = at(time.Hour)
			return nil
		})
		noErr(t, "UpdateProfile", err)
		want := *p
		want.Model, want.Manual, want.Metadata, want.UpdatedAt = nil, nil, nil, at(time.Hour)
		checkProfile(t, "returned profile", got, &want)
		checkProfile(t, "Profile", mustProfile(t, st, tenantA, "alice"), &want)
		checkProfile(t, "other user's Profile", mustProfile(t, st, tenantA, "bob"), newProfile(tenantA, "bob", at(0)))
	})

	t.Run("ApplyErrorAborts", func(t *testing.T) {
		st := s.newStore(t)
		setupAccounts(t, st)
		p := newProfile(tenantA, "alice", at(0))
		mustSave(t, st, newDecision(tenantA, "req_1", "alice", at(0)), p)
		failing := func(p *amp.ProfileRecord, _ bool) error {
			p.Model, p.OutcomeCount, p.UpdatedAt = []byte("changed"), 77, at(time.Hour)
			return errApply
		}
		_, err := st.UpdateProfile(t.Context(), tenantA, "alice", failing)
		wantErr(t, "UpdateProfile of an existing profile", err, errApply)
		checkProfile(t, "Profile", mustProfile(t, st, tenantA, "alice"), p)
		_, err = st.UpdateProfile(t.Context(), tenantA, "bob", failing)
		wantErr(t, "UpdateProfile of a new profile", err, errApply)
		wantNoProfile(t, st, tenantA, "bob")
	})

	t.Run("PerTenant", func(t *testing.T) {
		// The same user id in another tenant is another user.
		st := s.newStore(t)
		setupAccounts(t, st)
		p := newProfile(tenantA, "alice", at(0))
		mustSave(t, st, newDecision(tenantA, "req_1", "alice", at(0)), p)
		for _, tn := range []amp.Tenant{tenantATest, tenantB} {
			_, err := st.UpdateProfile(t.Context(), tn, "alice", func(gp *amp.ProfileRecord, created bool) error {
				if !created {
					t.Errorf("UpdateProfile in %v: created = false: it found another tenant's profile", tn)
				}
				if gp.Tenant != tn {
					t.Errorf("UpdateProfile in %v: profile of tenant %v", tn, gp.Tenant)
				}
				gp.Model, gp.CreatedAt, gp.UpdatedAt = []byte(tn.AccountID+string(tn.Mode)), at(time.Hour), at(time.Hour)
				return nil
			})
			noErr(t, "UpdateProfile", err)
		}
		checkProfile(t, "Profile of A", mustProfile(t, st, tenantA, "alice"), p)
		if got := string(mustProfile(t, st, tenantB, "alice").Model); got != tenantB.AccountID+"live" {
			t.Errorf("Profile of B: Model %q, want %q", got, tenantB.AccountID+"live")
		}
	})
}

func (s *suite) testDeleteProfile(t *testing.T) {
	// populate stores, for alice in A and for the users around her, a
	// profile, two decisions and one outcome; and a population in A.
	populate := func(t *testing.T, st amp.Store) {
		t.Helper()
		for _, x := range []struct {
			tn   amp.Tenant
			user string
		}{{tenantA, "alice"}, {tenantA, "bob"}, {tenantATest, "alice"}, {tenantB, "alice"}} {
			prefix := "req_" + x.tn.AccountID + "_" + string(x.tn.Mode) + "_" + x.user
			d1 := newDecision(x.tn, prefix+"_1", x.user, at(0))
			mustSave(t, st, d1, newProfile(x.tn, x.user, at(0)))
			mustSave(t, st, newDecision(x.tn, prefix+"_2", x.user, at(time.Second)), nil)
			_, err := st.RecordOutcome(t.Context(), x.tn, d1.RequestID, func(_ *amp.Decision, _ bool, p *amp.ProfileRecord, pop *amp.PopulationRecord) (*amp.OutcomeRecord, []byte, error) {
				p.OutcomeCount++
				return newOutcome(true, at(time.Minute)), []byte("population"), nil
			})
			noErr(t, "RecordOutcome", err)
		}
		// A, with two users, has the delta of one folded, the other's
		// pending: the erasure of either keeps both.
		foldN(t, st, tenantA, 1)
	}

	t.Run("ErasesTheUsersData", func(t *testing.T) {
		st := s.newStore(t)
		setupAccounts(t, st)
		populate(t, st)
		noErr(t, "DeleteProfile", st.DeleteProfile(t.Context(), tenantA, "alice"))

		wantNoProfile(t, st, tenantA, "alice")
		if os := mustOutcomes(t, st, tenantA, "alice"); len(os) != 0 {
			t.Errorf("Outcomes after DeleteProfile: got %d, want 0", len(os))
		}
		if ds := decisionIDs(mustDecisions(t, st, tenantA)); !slices.Equal(ds, []string{"req_acct_storetest_a_live_bob_1", "req_acct_storetest_a_live_bob_2"}) {
			t.Errorf("Decisions after DeleteProfile: got %q, want only bob's", ds)
		}
		if s := mustStats(t, st, tenantA, "alice"); s.Outcomes != 0 {
			t.Errorf("ProfileStats after DeleteProfile: %d outcomes, want 0", s.Outcomes)
		}
		_, err := st.RecordOutcome(t.Context(), tenantA, "req_acct_storetest_a_live_alice_2", neverCalled(t))
		wantErr(t, "RecordOutcome of a deleted user's request", err, amp.ErrNotFound)

		// Everyone else keeps everything, and the tenant its population.
		for _, x := range []struct {
			tn   amp.Tenant
			user string
		}{{tenantA, "bob"}, {tenantATest, "alice"}, {tenantB, "alice"}} {
			if p := mustProfile(t, st, x.tn, x.user); p.OutcomeCount != 1 {
				t.Errorf("Profile of %s in %v: OutcomeCount %d, want 1", x.user, x.tn, p.OutcomeCount)
			}
			if os := mustOutcomes(t, st, x.tn, x.user); len(os) != 1 {
				t.Errorf("Outcomes of %s in %v: got %d, want 1", x.user, x.tn, len(os))
			}
		}
		for _, tn := range []amp.Tenant{tenantATest, tenantB} {
			if ds := mustDecisions(t, st, tn); len(ds) != 2 {
				t.Errorf("Decisions of %v: got %d, want 2", tn, len(ds))
			}
		}
		foldAll(t, st, tenantA)
		if pop := mustPopulation(t, st, tenantA); string(pop.Model) != "populationpopulation" {
			t.Errorf("Population of A after DeleteProfile: %q, want it kept", pop.Model)
		}
	})

	t.Run("NotFound", func(t *testing.T) {
		st := s.newStore(t)
		setupAccounts(t, st)
		populate(t, st)
		wantErr(t, "DeleteProfile of an unknown user", st.DeleteProfile(t.Context(), tenantA, "nobody"), amp.ErrNotFound)
		// bob exists only in A/live: elsewhere he is unknown, and his data
		// in A/live stays.
		for _, tn := range []amp.Tenant{tenantATest, tenantB, tenantBTest} {
			wantErr(t, "DeleteProfile in another tenant", st.DeleteProfile(t.Context(), tn, "bob"), amp.ErrNotFound)
		}
		mustProfile(t, st, tenantA, "bob")
		if os := mustOutcomes(t, st, tenantA, "bob"); len(os) != 1 {
			t.Errorf("Outcomes of bob: got %d, want 1", len(os))
		}
		noErr(t, "DeleteProfile", st.DeleteProfile(t.Context(), tenantA, "bob"))
		wantErr(t, "second DeleteProfile", st.DeleteProfile(t.Context(), tenantA, "bob"), amp.ErrNotFound)
	})

	t.Run("UserStartsAfresh", func(t *testing.T) {
		st := s.newStore(t)
		setupAccounts(t, st)
		populate(t, st)
		noErr(t, "DeleteProfile", st.DeleteProfile(t.Context(), tenantA, "alice"))
		p := newProfile(tenantA, "alice", at(time.Hour))
		d := newDecision(tenantA, "req_new", "alice", at(time.Hour))
		mustSave(t, st, d, p)
		checkProfile(t, "new Profile", mustProfile(t, st, tenantA, "alice"), p)
		mustRecord(t, st, d, newOutcome(true, at(2*time.Hour)))
		if os := mustOutcomes(t, st, tenantA, "alice"); len(os) != 1 {
			t.Errorf("Outcomes: got %d, want 1", len(os))
		}
	})
}

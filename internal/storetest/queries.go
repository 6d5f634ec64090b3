package storetest

import (
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/amp-protocol/amp"
)

func (s *suite) testProfileStats(t *testing.T) {
	t.Run("Aggregates", func(t *testing.T) {
		st := s.newStore(t)
		setupAccounts(t, st)
		type row struct {
			reqID, taskType string
			created         time.Time
			outcome         *amp.OutcomeRecord // nil: never reported
		}
		// 2025-03-15 02:10 at UTC+05:30 is 20:40 UTC on the 14th: the hour
		// is the decision's UTC hour.
		late := time.Date(2025, 3, 15, 2, 10, 0, 0, elsewhere)
		rows := []row{
			{"req_1", "debugging", t0, // 09:26 UTC
				&amp.OutcomeRecord{Started: true, Completed: ptr(true), TimeToStart: ptr(1.5), FlowState: ptr(true)}},
			{"req_2", "debugging", at(time.Hour), // 10:26
				&amp.OutcomeRecord{Started: false, Completed: ptr(false), FlowState: ptr(false)}},
			{"req_3", "writing", at(70 * time.Minute), // 10:36
				&amp.OutcomeRecord{Started: true, Completed: ptr(true), TimeToStart: ptr(2.25)}},
			{"req_4", "", late, // 20:40; no task type
				&amp.OutcomeRecord{Started: true, TimeToStart: ptr(12.0), FlowState: ptr(true)}},
			{"req_5", "writing", at(2 * time.Hour), nil},
		}
		for _, r := range rows {
			d := newDecision(tenantA, r.reqID, "alice", r.created)
			d.TaskType = r.taskType
			mustSave(t, st, d, newProfile(tenantA, "alice", t0))
			if r.outcome != nil {
				// Reported hours after the decision, in another hour.
				r.outcome.ReportedAt = r.created.Add(3 * time.Hour)
				mustRecord(t, st, d, r.outcome)
			}
		}
		// Outcomes of another user and of alice in other tenants.
		for _, x := range []struct {
			tn   amp.Tenant
			user string
		}{{tenantA, "bob"}, {tenantATest, "alice"}, {tenantB, "alice"}} {
			d := newDecision(x.tn, "req_other_"+x.tn.AccountID+string(x.tn.Mode)+x.user, x.user, t0)
			mustSave(t, st, d, newProfile(x.tn, x.user, t0))
			mustRecord(t, st, d, newOutcome(true, at(time.Minute)))
		}

		got := mustStats(t, st, tenantA, "alice")
		want := amp.ProfileStats{
			Outcomes: 4, Completed: 2, WithTimeToStart: 3, SumTimeToStart: 15.75, FlowStates: 2,
			ByTaskType: map[string]amp.OutcomeCounts{
				"debugging": {Outcomes: 2, Completed: 1},
				"writing":   {Outcomes: 1, Completed: 1},
			},
		}
		want.ByHour[9] = amp.OutcomeCounts{Outcomes: 1, Completed: 1}
		want.ByHour[10] = amp.OutcomeCounts{Outcomes: 2, Completed: 1}
		want.ByHour[20] = amp.OutcomeCounts{Outcomes: 1, Completed: 0}
		checkStats(t, got, &want)
	})

	t.Run("Empty", func(t *testing.T) {
		// A user without outcomes, or without a profile at all, has zero
		// statistics, not an error.
		st := s.newStore(t)
		setupAccounts(t, st)
		mustSave(t, st, newDecision(tenantA, "req_1", "alice", t0), newProfile(tenantA, "alice", t0))
		for _, user := range []string{"alice", "nobody"} {
			checkStats(t, mustStats(t, st, tenantA, user), &amp.ProfileStats{})
		}
	})
}

func checkStats(t *testing.T, got, want *amp.ProfileStats) {
	t.Helper()
	var d diff
	eq(&d, "Outcomes", got.Outcomes, want.Outcomes)
	eq(&d, "Completed", got.Completed, want.Completed)
	eq(&d, "WithTimeToStart", got.WithTimeToStart, want.WithTimeToStart)
	eq(&d, "SumTimeToStart", got.SumTimeToStart, want.SumTimeToStart)
	eq(&d, "FlowStates", got.FlowStates, want.FlowStates)
	// Task types without outcomes may be absent or zero; the empty task
	// type is never listed.
	for _, k := range slices.Sorted(maps.Keys(got.ByTaskType)) {
		if _, ok := want.ByTaskType[k]; !ok && got.ByTaskType[k] != (amp.OutcomeCounts{}) {
			d.addf("ByTaskType[%q]: got %+v, want none", k, got.ByTaskType[k])
		}
	}
	for k, w := range want.ByTaskType {
		eq(&d, fmt.Sprintf("ByTaskType[%q]", k), got.ByTaskType[k], w)
	}
	for h := range got.ByHour {
		eq(&d, fmt.Sprintf("ByHour[%d]", h), got.ByHour[h], want.ByHour[h])
	}
	d.check(t, "ProfileStats")
}

func (s *suite) testOutcomes(t *testing.T) {
	t.Run("NewestFirstWithLimit", func(t *testing.T) {
		st := s.newStore(t)
		setupAccounts(t, st)
		reported := map[string]time.Duration{
			"req_1": 3 * time.Minute, "req_2": time.Minute, "req_3": 5 * time.Minute,
			"req_4": 2 * time.Minute, "req_5": 4 * time.Minute,
		}
		for i, id := range []string{"req_1", "req_2", "req_3", "req_4", "req_5"} {
			d := newDecision(tenantA, id, "alice", at(time.Duration(i)*time.Second))
			mustSave(t, st, d, newProfile(tenantA, "alice", t0))
			mustRecord(t, st, d, newOutcome(true, at(reported[id])))
		}
		for _, tc := range []struct {
			limit int
			want  []string
		}{
			{1, []string{"req_3"}},
			{3, []string{"req_3", "req_5", "req_1"}},
			{5, []string{"req_3", "req_5", "req_1", "req_4", "req_2"}},
			{100, []string{"req_3", "req_5", "req_1", "req_4", "req_2"}},
		} {
			os, err := st.Outcomes(t.Context(), tenantA, "alice", tc.limit)
			noErr(t, "Outcomes", err)
			if got := requestIDs(os); !slices.Equal(got, tc.want) {
				t.Errorf("Outcomes(limit %d): got %q, want %q", tc.limit, got, tc.want)
			}
		}
		os, err := st.Outcomes(t.Context(), tenantA, "nobody", 10)
		noErr(t, "Outcomes of an unknown user", err)
		if len(os) != 0 {
			t.Errorf("Outcomes of an unknown user: got %d, want 0", len(os))
		}
	})
}

func (s *suite) testDecisions(t *testing.T) {
	t.Run("SinceLimitOldestFirst", func(t *testing.T) {
		st := s.newStore(t)
		setupAccounts(t, st)
		ds := make(map[int]*amp.Decision)
		// Saved out of order; decision i is made at minute i.
		for _, i := range []int{3, 0, 5, 1, 4, 2} {
			d := newDecision(tenantA, fmt.Sprintf("req_%d", i), fmt.Sprintf("user_%d", i%2), at(time.Duration(i)*time.Minute))
			d.Interactions = i
			mustSave(t, st, d, newProfile(tenantA, d.UserID, t0))
			ds[i] = d
		}
		outcomes := map[int]*amp.OutcomeRecord{
			2: mustRecord(t, st, ds[2], newOutcome(true, at(10*time.Minute))),
			4: mustRecord(t, st, ds[4], newOutcome(false, at(11*time.Minute))),
		}
		for _, tc := range []struct {
			since time.Time
			limit int
			want  []int
		}{
			{at(2 * time.Minute), 3, []int{2, 3, 4}},
			{at(2 * time.Minute).In(elsewhere), 100, []int{2, 3, 4, 5}},
			{at(2*time.Minute - time.Millisecond), 2, []int{2, 3}},
			{at(2*time.Minute + time.Millisecond), 2, []int{3, 4}},
			{time.Time{}, 100, []int{0, 1, 2, 3, 4, 5}},
			{at(6 * time.Minute), 100, nil},
		} {
			got, err := st.Decisions(t.Context(), tenantA, tc.since, tc.limit)
			noErr(t, "Decisions", err)
			var wantIDs []string
			for _, i := range tc.want {
				wantIDs = append(wantIDs, fmt.Sprintf("req_%d", i))
			}
			if ids := decisionIDs(got); !slices.Equal(ids, wantIDs) {
				t.Errorf("Decisions(since %v, limit %d): got %q, want %q", tc.since, tc.limit, ids, wantIDs)
				continue
			}
			for j, i := range tc.want {
				checkDecision(t, "decision "+got[j].RequestID, &got[j].Decision, ds[i])
				checkOutcome(t, "outcome of "+got[j].RequestID, got[j].Outcome, outcomes[i])
			}
		}
	})
}

func (s *suite) testResetTestData(t *testing.T) {
	t.Run("ErasesTestModeOnly", func(t *testing.T) {
		st := s.newStore(t)
		setupAccounts(t, st)
		testKey := newKey("key_test0001", tenantATest, t0)
		noErr(t, "CreateKey", st.CreateKey(t.Context(), testKey))
		type user struct {
			tn   amp.Tenant
			user string
		}
		testUsers := []user{{tenantATest, "alice"}, {tenantATest, "bob"}, {tenantBTest, "carol"}}
		liveUsers := []user{{tenantA, "alice"}, {tenantB, "dave"}}
		for _, u := range append(slices.Clone(testUsers), liveUsers...) {
			prefix := "req_" + u.tn.AccountID + string(u.tn.Mode) + u.user
			d := newDecision(u.tn, prefix+"_1", u.user, t0)
			mustSave(t, st, d, newProfile(u.tn, u.user, t0))
			mustSave(t, st, newDecision(u.tn, prefix+"_2", u.user, at(time.Second)), nil)
			_, err := st.RecordOutcome(t.Context(), u.tn, d.RequestID, func(_ *amp.Decision, _ bool, p *amp.ProfileRecord, pop *amp.PopulationRecord) (*amp.OutcomeRecord, []byte, error) {
				p.OutcomeCount++
				return newOutcome(true, at(time.Minute)), []byte("population"), nil
			})
			noErr(t, "RecordOutcome", err)
			foldAll(t, st, u.tn)
			// A second outcome whose delta stays pending.
			mustSave(t, st, newDecision(u.tn, prefix+"_3", u.user, at(2*time.Second)), nil)
			_, err = st.RecordOutcome(t.Context(), u.tn, prefix+"_3", func(_ *amp.Decision, _ bool, p *amp.ProfileRecord, _ *amp.PopulationRecord) (*amp.OutcomeRecord, []byte, error) {
				p.OutcomeCount++
				return newOutcome(true, at(time.Minute)), []byte("pending"), nil
			})
			noErr(t, "RecordOutcome", err)
		}

		n, err := st.ResetTestData(t.Context())
		noErr(t, "ResetTestData", err)
		if n != int64(len(testUsers)) {
			t.Errorf("ResetTestData: got %d profiles erased, want %d", n, len(testUsers))
		}
		for _, u := range testUsers {
			wantNoProfile(t, st, u.tn, u.user)
			if os := mustOutcomes(t, st, u.tn, u.user); len(os) != 0 {
				t.Errorf("Outcomes of %s in %v: got %d, want 0", u.user, u.tn, len(os))
			}
			if s := mustStats(t, st, u.tn, u.user); s.Outcomes != 0 {
				t.Errorf("ProfileStats of %s in %v: %d outcomes, want 0", u.user, u.tn, s.Outcomes)
			}
			_, err := st.RecordOutcome(t.Context(), u.tn, "req_"+u.tn.AccountID+string(u.tn.Mode)+u.user+"_2", neverCalled(t))
			wantErr(t, "RecordOutcome of an erased request", err, amp.ErrNotFound)
		}
		for _, tn := range []amp.Tenant{tenantATest, tenantBTest} {
			if ds := mustDecisions(t, st, tn); len(ds) != 0 {
				t.Errorf("Decisions of %v: got %d, want 0", tn, len(ds))
			}
			if pop := mustPopulation(t, st, tn); pop.Model != nil {
				t.Errorf("Population of %v: Model %q, want nil", tn, pop.Model)
			}
			if deltas, pending := mustPopulationLog(t, st, tn); len(deltas) != 0 || pending != 0 {
				t.Errorf("PopulationLog of %v: %d deltas, %d pending; want none", tn, len(deltas), pending)
			}
		}
		pending, err := st.PendingPopulations(t.Context(), 100)
		noErr(t, "PendingPopulations", err)
		if want := []amp.Tenant{tenantA, tenantB}; !sameTenants(pending, want) {
			t.Errorf("PendingPopulations after ResetTestData: %v, want %v", pending, want)
		}
		for _, u := range liveUsers {
			if p := mustProfile(t, st, u.tn, u.user); p.OutcomeCount != 2 {
				t.Errorf("Profile of %s in %v: OutcomeCount %d, want 2", u.user, u.tn, p.OutcomeCount)
			}
			if os := mustOutcomes(t, st, u.tn, u.user); len(os) != 2 {
				t.Errorf("Outcomes of %s in %v: got %d, want 2", u.user, u.tn, len(os))
			}
			if ds := mustDecisions(t, st, u.tn); len(ds) != 3 {
				t.Errorf("Decisions of %v: got %d, want 3", u.tn, len(ds))
			}
			if pop := mustPopulation(t, st, u.tn); string(pop.Model) != "population" {
				t.Errorf("Population of %v: Model %q, want it kept", u.tn, pop.Model)
			}
			if n := foldAll(t, st, u.tn); n != 1 {
				t.Errorf("fold of %v after ResetTestData: %d deltas, want the 1 pending", u.tn, n)
			}
		}
		// Keys and accounts are not learning data.
		got, err := st.Key(t.Context(), testKey.ID)
		noErr(t, "Key of test mode after ResetTestData", err)
		checkKey(t, "test-mode Key", got, testKey)

		n, err = st.ResetTestData(t.Context())
		noErr(t, "second ResetTestData", err)
		if n != 0 {
			t.Errorf("second ResetTestData: got %d, want 0", n)
		}
	})
}

func (s *suite) testSettings(t *testing.T) {
	t.Run("SetAndGet", func(t *testing.T) {
		st := s.newStore(t)
		for _, step := range []struct {
			set         bool
			name, value string
		}{
			{false, "last_test_reset", ""},
			{true, "last_test_reset", "2025-03"},
			{false, "last_test_reset", "2025-03"},
			{true, "last_test_reset", "2025-04"},
			{false, "last_test_reset", "2025-04"},
			{false, "other", ""},
			{true, "other", "ünïcode ☃ value"},
			{false, "other", "ünïcode ☃ value"},
			{false, "last_test_reset", "2025-04"},
			{true, "other", ""},
			{false, "other", ""},
		} {
			if step.set {
				noErr(t, "SetSetting "+step.name, st.SetSetting(t.Context(), step.name, step.value))
				continue
			}
			got, err := st.Setting(t.Context(), step.name)
			noErr(t, "Setting "+step.name, err)
			if got != step.value {
				t.Errorf("Setting(%q): got %q, want %q", step.name, got, step.value)
			}
		}
	})
}

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

func (s *suite) testIsolation(t *testing.T) {
	// Each tenant has a user "u" with its own number of outcomes and its
	// own models; every read of one tenant must show its data only, and
	// a tenant without data must look empty.
	st := s.newStore(t)
	setupAccounts(t, st)
	tenants := []amp.Tenant{tenantA, tenantATest, tenantB}
	reqIDs := make(map[amp.Tenant][]string)
	for k, tn := range tenants {
		name := tn.AccountID + "/" + string(tn.Mode)
		for i := range k + 1 {
			d := newDecision(tn, fmt.Sprintf("req_%d_%d", k, i), "u", at(time.Duration(i)*time.Minute))
			p := newProfile(tn, "u", t0)
			p.Model = []byte("user of " + name)
			mustSave(t, st, d, p)
			_, err := st.RecordOutcome(t.Context(), tn, d.RequestID, func(_ *amp.Decision, _ bool, p *amp.ProfileRecord, pop *amp.PopulationRecord) (*amp.OutcomeRecord, []byte, error) {
				p.OutcomeCount++
				return newOutcome(true, at(time.Duration(i)*time.Minute+time.Second)), []byte("<" + name + ">"), nil
			})
			noErr(t, "RecordOutcome", err)
			reqIDs[tn] = append(reqIDs[tn], d.RequestID)
		}
	}
	for _, tn := range tenants {
		foldAll(t, st, tn)
	}

	for k, tn := range tenants {
		name := tn.AccountID + "/" + string(tn.Mode)
		t.Run(name, func(t *testing.T) {
			p := mustProfile(t, st, tn, "u")
			if string(p.Model) != "user of "+name || p.OutcomeCount != k+1 || p.Tenant != tn {
				t.Errorf("Profile: tenant %v, model %q, %d outcomes; want %v, %q, %d", p.Tenant, p.Model, p.OutcomeCount, tn, "user of "+name, k+1)
			}
			if pop, want := mustPopulation(t, st, tn), strings.Repeat("<"+name+">", k+1); string(pop.Model) != want || pop.Tenant != tn {
				t.Errorf("Population: tenant %v, model %q; want %v, %q", pop.Tenant, pop.Model, tn, want)
			}
			own := slices.Clone(reqIDs[tn])
			if got := decisionIDs(mustDecisions(t, st, tn)); !slices.Equal(got, own) {
				t.Errorf("Decisions: got %q, want %q", got, own)
			}
			slices.Reverse(own)
			os := mustOutcomes(t, st, tn, "u")
			if got := requestIDs(os); !slices.Equal(got, own) {
				t.Errorf("Outcomes: got %q, want %q", got, own)
			}
			for _, o := range os {
				if o.Tenant != tn {
					t.Errorf("Outcomes: outcome %s of tenant %v", o.RequestID, o.Tenant)
				}
			}
			if s := mustStats(t, st, tn, "u"); s.Outcomes != k+1 {
				t.Errorf("ProfileStats: %d outcomes, want %d", s.Outcomes, k+1)
			}
			for _, other := range tenants {
				if other == tn {
					continue
				}
				for _, id := range reqIDs[other] {
					_, err := st.RecordOutcome(t.Context(), tn, id, neverCalled(t))
					wantErr(t, "RecordOutcome of another tenant's request "+id, err, amp.ErrNotFound)
				}
			}
		})
	}

	t.Run("EmptyTenant", func(t *testing.T) {
		tn := tenantBTest
		wantNoProfile(t, st, tn, "u")
		if pop := mustPopulation(t, st, tn); pop.Model != nil {
			t.Errorf("Population: Model %q, want nil", pop.Model)
		}
		if ds := mustDecisions(t, st, tn); len(ds) != 0 {
			t.Errorf("Decisions: got %d, want 0", len(ds))
		}
		if os := mustOutcomes(t, st, tn, "u"); len(os) != 0 {
			t.Errorf("Outcomes: got %d, want 0", len(os))
		}
		checkStats(t, mustStats(t, st, tn, "u"), &amp.ProfileStats{})
		wantErr(t, "DeleteProfile", st.DeleteProfile(t.Context(), tn, "u"), amp.ErrNotFound)
	})
}

func (s *suite) testLifecycle(t *testing.T) {
	t.Run("Ping", func(t *testing.T) {
		st := s.newStore(t)
		noErr(t, "Ping", st.Ping(t.Context()))
	})

	t.Run("ClosedIsUnavailable", func(t *testing.T) {
		st := s.newStore(t)
		setupAccounts(t, st)
		mustSave(t, st, newDecision(tenantA, "req_1", "alice", t0), newProfile(tenantA, "alice", t0))
		noErr(t, "Close", st.close())
		ctx := t.Context()
		wantErr(t, "Ping after Close", st.Ping(ctx), amp.ErrUnavailable)
		_, err := st.Profile(ctx, tenantA, "alice")
		wantErr(t, "Profile after Close", err, amp.ErrUnavailable)
		_, err = st.Population(ctx, tenantA)
		wantErr(t, "Population after Close", err, amp.ErrUnavailable)
		_, err = st.Account(ctx, tenantA.AccountID)
		wantErr(t, "Account after Close", err, amp.ErrUnavailable)
		wantErr(t, "SaveDecision after Close", st.SaveDecision(ctx, newDecision(tenantA, "req_2", "alice", t0), nil), amp.ErrUnavailable)
		_, err = st.RecordOutcome(ctx, tenantA, "req_1", neverCalled(t))
		wantErr(t, "RecordOutcome after Close", err, amp.ErrUnavailable)
		_, err = st.PendingPopulations(ctx, 10)
		wantErr(t, "PendingPopulations after Close", err, amp.ErrUnavailable)
		_, err = st.FoldPopulation(ctx, tenantA, 10, appendMerge)
		wantErr(t, "FoldPopulation after Close", err, amp.ErrUnavailable)
		_, _, err = st.PopulationLog(ctx, tenantA)
		wantErr(t, "PopulationLog after Close", err, amp.ErrUnavailable)
		wantErr(t, "CreateAccount after Close", st.CreateAccount(ctx, newAccount("acct_late", t0)), amp.ErrUnavailable)
		wantErr(t, "SetSetting after Close", st.SetSetting(ctx, "x", "y"), amp.ErrUnavailable)
	})

	t.Run("ReopenKeepsEverything", func(t *testing.T) {
		s.needReopen(t)
		st := s.newStore(t)
		ctx := t.Context()
		acct := newAccount(tenantA.AccountID, t0)
		mustCreateAccount(t, st, acct)
		key := newKey("key_reopen01", tenantA, t0)
		key.ExpiresAt = ptr(at(time.Hour))
		noErr(t, "CreateKey", st.CreateKey(ctx, key))
		noErr(t, "TouchKey", st.TouchKey(ctx, key.ID, at(time.Minute)))
		key.LastUsedAt = ptr(at(time.Minute))
		d := newDecision(tenantA, "req_1", "alice", t0)
		mustSave(t, st, d, newProfile(tenantA, "alice", t0))
		pending := newDecision(tenantA, "req_2", "alice", at(time.Second))
		mustSave(t, st, pending, nil)
		o := mustRecord(t, st, d, newOutcome(true, at(time.Minute)))
		p, err := st.UpdateProfile(ctx, tenantA, "alice", func(p *amp.ProfileRecord, _ bool) error {
			p.Manual = &amp.Preferences{Framing: amp.FramingChallenge, SetAt: at(2 * time.Minute)}
			p.UpdatedAt = at(2 * time.Minute)
			return nil
		})
		noErr(t, "UpdateProfile", err)
		noErr(t, "SetSetting", st.SetSetting(ctx, "last_test_reset", "2025-03"))

		st = s.reopened(t, st)
		noErr(t, "Ping after reopening", st.Ping(ctx))
		gotAcct, err := st.Account(ctx, acct.ID)
		noErr(t, "Account", err)
		checkAccount(t, "Account", gotAcct, acct)
		gotKey, err := st.KeyByHash(ctx, key.Hash)
		noErr(t, "KeyByHash", err)
		checkKey(t, "Key", gotKey, key)
		checkProfile(t, "Profile", mustProfile(t, st, tenantA, "alice"), p)
		ds := mustDecisions(t, st, tenantA)
		if len(ds) != 2 {
			t.Fatalf("Decisions: got %d, want 2", len(ds))
		}
		checkDecision(t, "decision", &ds[0].Decision, d)
		checkOutcome(t, "outcome", ds[0].Outcome, o)
		checkDecision(t, "pending decision", &ds[1].Decision, pending)
		if v, err := st.Setting(ctx, "last_test_reset"); err != nil || v != "2025-03" {
			t.Errorf("Setting: got %q, %v; want %q", v, err, "2025-03")
		}
		// The reopened store serves writes too.
		mustRecord(t, st, pending, newOutcome(false, at(time.Hour)))
		if got := mustProfile(t, st, tenantA, "alice").OutcomeCount; got != 2 {
			t.Errorf("OutcomeCount after reopening: got %d, want 2", got)
		}
	})

	t.Run("CloseFinishesPendingWrites", func(t *testing.T) {
		// Writers keep writing while the store closes: every write that was
		// acknowledged is there after reopening, every other write failed
		// with ErrUnavailable and is not there.
		s.needReopen(t)
		st := s.newStore(t)
		setupAccounts(t, st)
		const writers, maxWrites = 8, 5000
		acked := make([][]string, writers)
		errs := make([]error, writers)
		var going, done sync.WaitGroup
		going.Add(writers)
		for g := range writers {
			done.Go(func() {
				signalled := false
				defer func() {
					if !signalled {
						going.Done()
					}
				}()
				for i := range maxWrites {
					d := newDecision(tenantA, fmt.Sprintf("req_%d_%04d", g, i), fmt.Sprintf("user_%d", g), at(time.Duration(i)*time.Millisecond))
					if err := st.SaveDecision(t.Context(), d, nil); err != nil {
						errs[g] = err
						return
					}
					acked[g] = append(acked[g], d.RequestID)
					if i == 2 {
						signalled = true
						going.Done()
					}
				}
				errs[g] = errors.New("the store never closed")
			})
		}
		going.Wait()
		noErr(t, "Close", st.close())
		done.Wait()
		var want []string
		for g := range writers {
			wantErr(t, fmt.Sprintf("writer %d's last write", g), errs[g], amp.ErrUnavailable)
			want = append(want, acked[g]...)
		}
		st = s.reopened(t, st)
		ds, err := st.Decisions(t.Context(), tenantA, time.Time{}, len(want)+writers)
		noErr(t, "Decisions", err)
		got := decisionIDs(ds)
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("after Close and reopening: %d decisions stored, %d acknowledged; want the same set", len(got), len(want))
		}
	})
}

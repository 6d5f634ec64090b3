package postgres_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	amp "github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/internal/postgres"
)

var testNow = time.Date(2026, 3, 14, 15, 9, 26, 535897000, time.UTC)

// counter reads the count a test keeps in a model: 8 big-endian bytes.
func counter(model []byte) uint64 {
	if len(model) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(model)
}

func incremented(model []byte) []byte {
	return binary.BigEndian.AppendUint64(nil, counter(model)+1)
}

func decision(t amp.Tenant, requestID, userID string, at time.Time) *amp.Decision {
	return &amp.Decision{
		RequestID: requestID, Tenant: t, UserID: userID, TaskType: "debugging",
		TaskComplexity: amp.TaskComplexityMedium,
		Recommendation: amp.Recommendation{
			Framing: amp.FramingLearning, Style: amp.StyleTechnical,
			Handling: amp.HandlingHintsOnly, Encouragement: amp.EncouragementModerate,
		},
		Propensity: 0.25, Confidence: 0.4, CreatedAt: at,
	}
}

// learn is an OutcomeFunc that behaves like the service's: it refuses a
// second outcome, and counts every outcome in the profile and the
// population (by a delta of one, which addDeltas folds), reading the
// profile it got under the lock.
func learn(d *amp.Decision, reported bool, p *amp.ProfileRecord, pop *amp.PopulationRecord) (*amp.OutcomeRecord, []byte, error) {
	if reported {
		return nil, nil, errReported
	}
	p.Model = incremented(p.Model)
	p.OutcomeCount++
	p.UpdatedAt = testNow
	return &amp.OutcomeRecord{Started: true, Reward: 0.5, ReportedAt: testNow}, incremented(nil), nil
}

// addDeltas is the PopulationMergeFunc of learn's deltas: it adds their
// counts to the population's.
func addDeltas(pop *amp.PopulationRecord, deltas [][]byte) error {
	n := counter(pop.Model)
	for _, d := range deltas {
		n += counter(d)
	}
	pop.Model = binary.BigEndian.AppendUint64(nil, n)
	pop.UpdatedAt = testNow
	return nil
}

var errReported = errors.New("already reported")

// TestConcurrentInstancesNoLostUpdate runs two stores ("instances", each
// with its own pool) on one database, recording outcomes for the same user
// and updating the same profile at once. Every increment must survive: a
// lost update would leave the counts short.
func TestConcurrentInstancesNoLostUpdate(t *testing.T) {
	u, _ := newSchema(t)
	a := openURL(t, u)
	b := openURL(t, u)
	ctx := context.Background()
	tenant := amp.Tenant{AccountID: "acct_1", Mode: amp.ModeLive}
	const user = "user_shared"
	const perInstance = 40 // outcomes per instance
	const profileUpdates = 10

	// Decisions are saved beforehand, alternately through either instance.
	for i := range 2 * perInstance {
		db := []*postgres.DB{a, b}[i%2]
		var created *amp.ProfileRecord
		if i == 0 {
			created = &amp.ProfileRecord{CreatedAt: testNow, UpdatedAt: testNow}
		}
		if err := db.SaveDecision(ctx, decision(tenant, fmt.Sprintf("req_%03d", i), user, testNow), created); err != nil {
			t.Fatal(err)
		}
	}

	var wg sync.WaitGroup
	errs := make(chan error, 2*perInstance+2*profileUpdates)
	for i := range 2 * perInstance {
		db := []*postgres.DB{a, b}[i%2]
		wg.Go(func() {
			if _, err := db.RecordOutcome(ctx, tenant, fmt.Sprintf("req_%03d", i), learn); err != nil {
				errs <- fmt.Errorf("record outcome %d: %w", i, err)
			}
		})
	}
	// Manual updates of the same profile interleave with the outcomes;
	// they count in the model too, and must not overwrite an outcome's
	// change (nor be overwritten by one).
	for i := range 2 * profileUpdates {
		db := []*postgres.DB{a, b}[i%2]
		wg.Go(func() {
			_, err := db.UpdateProfile(ctx, tenant, user, func(p *amp.ProfileRecord, created bool) error {
				if created {
					return errors.New("profile should exist")
				}
				p.Model = incremented(p.Model)
				p.UpdatedAt = testNow
				return nil
			})
			if err != nil {
				errs <- fmt.Errorf("update profile %d: %w", i, err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	p, err := a.Profile(ctx, tenant, user)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := p.OutcomeCount, 2*perInstance; got != want {
		t.Errorf("OutcomeCount = %d, want %d", got, want)
	}
	if got, want := counter(p.Model), uint64(2*perInstance+2*profileUpdates); got != want {
		t.Errorf("profile model counter = %d, want %d", got, want)
	}
	// Both instances fold at once: each delta is folded by one of them.
	var folds sync.WaitGroup
	for _, db := range []*postgres.DB{a, b} {
		folds.Go(func() {
			for {
				n, err := db.FoldPopulation(ctx, tenant, 7, addDeltas)
				if err != nil {
					t.Errorf("FoldPopulation: %v", err)
				}
				if n == 0 || err != nil {
					return
				}
			}
		})
	}
	folds.Wait()
	for {
		n, err := a.FoldPopulation(ctx, tenant, 1000, addDeltas)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
	}
	// Read through a third store: a and b each cache the population they
	// last folded, which may not be the last fold (see popcache.go).
	pop, err := openURL(t, u).Population(ctx, tenant)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := counter(pop.Model), uint64(2*perInstance); got != want {
		t.Errorf("population model counter = %d, want %d", got, want)
	}
	st, err := b.ProfileStats(ctx, tenant, user)
	if err != nil {
		t.Fatal(err)
	}
	if st.Outcomes != 2*perInstance {
		t.Errorf("ProfileStats.Outcomes = %d, want %d", st.Outcomes, 2*perInstance)
	}
}

// TestConcurrentOutcomesForOneDecision has both instances report outcomes
// for the same request at once: exactly one is stored. An OutcomeFunc that
// honours alreadyReported refuses the rest itself; one that ignores it gets
// ErrConflict from the store.
func TestConcurrentOutcomesForOneDecision(t *testing.T) {
	u, _ := newSchema(t)
	a := openURL(t, u)
	b := openURL(t, u)
	ctx := context.Background()
	tenant := amp.Tenant{AccountID: "acct_1", Mode: amp.ModeTest}

	ignoreReported := func(d *amp.Decision, _ bool, p *amp.ProfileRecord, pop *amp.PopulationRecord) (*amp.OutcomeRecord, []byte, error) {
		return learn(d, false, p, pop)
	}
	for _, tc := range []struct {
		name    string
		apply   amp.OutcomeFunc
		wantErr error
	}{
		{"HonoursReported", learn, errReported},
		{"IgnoresReported", ignoreReported, amp.ErrConflict},
	} {
		t.Run(tc.name, func(t *testing.T) {
			user := "user_" + tc.name
			reqID := "req_" + tc.name
			if err := a.SaveDecision(ctx, decision(tenant, reqID, user, testNow), &amp.ProfileRecord{CreatedAt: testNow, UpdatedAt: testNow}); err != nil {
				t.Fatal(err)
			}
			const tries = 8
			var wg sync.WaitGroup
			results := make(chan error, tries)
			for i := range tries {
				db := []*postgres.DB{a, b}[i%2]
				wg.Go(func() {
					_, err := db.RecordOutcome(ctx, tenant, reqID, tc.apply)
					results <- err
				})
			}
			wg.Wait()
			close(results)
			var ok int
			for err := range results {
				switch {
				case err == nil:
					ok++
				case !errors.Is(err, tc.wantErr):
					t.Errorf("RecordOutcome: %v, want nil or %v", err, tc.wantErr)
				}
			}
			if ok != 1 {
				t.Errorf("%d outcomes stored, want 1", ok)
			}
			p, err := b.Profile(ctx, tenant, user)
			if err != nil {
				t.Fatal(err)
			}
			if p.OutcomeCount != 1 || counter(p.Model) != 1 {
				t.Errorf("profile OutcomeCount %d, model counter %d; want 1, 1", p.OutcomeCount, counter(p.Model))
			}
		})
	}
}

// TestConcurrentMixedWorkload runs every writing method at once from two
// instances over a few users: outcomes, manual updates, new decisions,
// erasures and the test-mode reset lock rows in one order, so PostgreSQL
// must never abort one of them as a deadlock (which the store would report
// as ErrUnavailable).
func TestConcurrentMixedWorkload(t *testing.T) {
	u, _ := newSchema(t)
	dbs := []*postgres.DB{openURL(t, u), openURL(t, u)}
	ctx := context.Background()
	tenant := amp.Tenant{AccountID: "acct_1", Mode: amp.ModeTest}
	users := []string{"u0", "u1", "u2"}
	const rounds = 15

	var wg sync.WaitGroup
	errs := make(chan error, 1000)
	for w := range 4 {
		wg.Go(func() {
			db := dbs[w%2]
			for i := range rounds {
				user := users[(w+i)%len(users)]
				req := fmt.Sprintf("req_w%d_%d", w, i)
				err := db.SaveDecision(ctx, decision(tenant, req, user, testNow), &amp.ProfileRecord{CreatedAt: testNow, UpdatedAt: testNow})
				if err != nil {
					errs <- fmt.Errorf("save decision: %w", err)
					continue
				}
				// The decision may be erased before its outcome comes.
				if _, err := db.RecordOutcome(ctx, tenant, req, learn); err != nil && !errors.Is(err, amp.ErrNotFound) {
					errs <- fmt.Errorf("record outcome: %w", err)
				}
				_, err = db.UpdateProfile(ctx, tenant, user, func(p *amp.ProfileRecord, created bool) error {
					p.Model = incremented(p.Model)
					if created {
						p.CreatedAt = testNow
					}
					p.UpdatedAt = testNow
					return nil
				})
				if err != nil {
					errs <- fmt.Errorf("update profile: %w", err)
				}
				switch i % 5 {
				case 3:
					if err := db.DeleteProfile(ctx, tenant, user); err != nil && !errors.Is(err, amp.ErrNotFound) {
						errs <- fmt.Errorf("delete profile: %w", err)
					}
				case 4:
					if w == 0 {
						if _, err := db.ResetTestData(ctx); err != nil {
							errs <- fmt.Errorf("reset: %w", err)
						}
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	// Whatever survived is consistent: every stored outcome has its
	// decision, and a profile counts no fewer outcomes than are stored.
	for _, user := range users {
		st, err := dbs[0].ProfileStats(ctx, tenant, user)
		if err != nil {
			t.Fatal(err)
		}
		outs, err := dbs[0].Outcomes(ctx, tenant, user, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if st.Outcomes != len(outs) {
			t.Errorf("%s: ProfileStats counts %d outcomes (joined with decisions), Outcomes lists %d", user, st.Outcomes, len(outs))
		}
		p, err := dbs[0].Profile(ctx, tenant, user)
		if errors.Is(err, amp.ErrNotFound) {
			if len(outs) != 0 {
				t.Errorf("%s: no profile but %d outcomes", user, len(outs))
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if p.OutcomeCount < len(outs) {
			t.Errorf("%s: OutcomeCount %d < %d stored outcomes", user, p.OutcomeCount, len(outs))
		}
	}
}

// TestConcurrentUsageFlushes has two instances flush overlapping usage
// batches, listed in opposite orders, at once, as the meters of two
// servers do. Batches lock their rows in one order, so none is aborted as
// a deadlock, and every count is added.
func TestConcurrentUsageFlushes(t *testing.T) {
	u, _ := newSchema(t)
	dbs := []*postgres.DB{openURL(t, u), openURL(t, u)}
	ctx := context.Background()
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var rows []amp.UsageRow
	for i := range 50 {
		rows = append(rows, amp.UsageRow{Granularity: amp.GranularityMinute, Start: start, AccountID: "acct_1",
			Mode: amp.ModeLive, KeyID: fmt.Sprintf("key_%02d", i), Route: "POST /v1/context", StatusClass: 2,
			Country: "US", Requests: 1})
	}
	reversed := make([]amp.UsageRow, len(rows))
	for i, r := range rows {
		reversed[len(rows)-1-i] = r
	}
	deltas := []amp.QuotaDelta{{AccountID: "acct_1", Month: start, Delta: 1}, {AccountID: "acct_2", Month: start, Delta: 1}}
	reversedDeltas := []amp.QuotaDelta{deltas[1], deltas[0]}
	const flushes = 20
	var wg sync.WaitGroup
	errs := make(chan error, 4*flushes)
	for w := range 4 {
		wg.Go(func() {
			db := dbs[w%2]
			batch, ds := rows, deltas
			if w%2 == 1 {
				batch, ds = reversed, reversedDeltas
			}
			for range flushes {
				if err := db.AddUsage(ctx, batch); err != nil {
					errs <- fmt.Errorf("AddUsage: %w", err)
				}
				if err := db.AddQuotaUsage(ctx, ds); err != nil {
					errs <- fmt.Errorf("AddQuotaUsage: %w", err)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	got, err := dbs[0].Usage(ctx, amp.UsageQuery{Granularity: amp.GranularityMinute, AccountID: "acct_1"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(rows) {
		t.Fatalf("%d usage rows, want %d", len(got), len(rows))
	}
	for _, r := range got {
		if r.Requests != 4*flushes {
			t.Errorf("%s: %d requests, want %d", r.KeyID, r.Requests, 4*flushes)
		}
	}
	for _, acct := range []string{"acct_1", "acct_2"} {
		if n, err := dbs[1].QuotaUsage(ctx, acct, start); err != nil || n != 4*flushes {
			t.Errorf("QuotaUsage(%s) = %d, %v; want %d", acct, n, err, 4*flushes)
		}
	}
}

// TestGroupCommitIsolatesAFailure saves many decisions at once, so that
// the decision writer commits them in shared transactions, one of them
// with a user id PostgreSQL refuses (a NUL byte) and one a duplicate: each
// of those two fails alone, and every other decision is stored.
func TestGroupCommitIsolatesAFailure(t *testing.T) {
	u, _ := newSchema(t)
	db := openURL(t, u)
	ctx := context.Background()
	tenant := amp.Tenant{AccountID: "acct_1", Mode: amp.ModeLive}
	if err := db.SaveDecision(ctx, decision(tenant, "req_dup", "user_0", testNow), nil); err != nil {
		t.Fatal(err)
	}
	const n = 64
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			id, user := fmt.Sprintf("req_%03d", i), fmt.Sprintf("user_%d", i%7)
			switch i {
			case 13:
				user = "bad\x00user"
			case 42:
				id = "req_dup"
			}
			errs[i] = db.SaveDecision(ctx, decision(tenant, id, user, testNow), &amp.ProfileRecord{CreatedAt: testNow, UpdatedAt: testNow})
		})
	}
	wg.Wait()
	for i, err := range errs {
		switch i {
		case 13:
			if err == nil {
				t.Errorf("decision with a NUL in its user id: stored, want an error")
			}
		case 42:
			if !errors.Is(err, amp.ErrConflict) {
				t.Errorf("duplicate request id: %v, want ErrConflict", err)
			}
		default:
			if err != nil {
				t.Errorf("decision %d: %v", i, err)
			}
		}
	}
	ds, err := db.Decisions(ctx, tenant, time.Time{}, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != n-1 { // req_dup once, the bad one not at all
		t.Errorf("%d decisions stored, want %d", len(ds), n-1)
	}
	for _, d := range ds {
		if d.RequestID == "req_dup" && d.UserID != "user_0" {
			t.Errorf("the duplicate replaced the first decision: user %q", d.UserID)
		}
	}
}

// TestOutcomeGroupCommitIsolatesAFailure records many outcomes at once,
// so that the outcome writer commits them in shared transactions, one of
// them with metadata PostgreSQL's text cannot hold (a \u0000 escape) and
// one stored although its decision already has an outcome: each of those
// two fails alone, with its own error and nothing of it stored, and every
// other outcome is stored with its profile and population delta.
func TestOutcomeGroupCommitIsolatesAFailure(t *testing.T) {
	u, _ := newSchema(t)
	db := openURL(t, u)
	ctx := context.Background()
	tenant := amp.Tenant{AccountID: "acct_1", Mode: amp.ModeLive}
	const n = 64
	for i := range n {
		p := &amp.ProfileRecord{CreatedAt: testNow, UpdatedAt: testNow}
		if err := db.SaveDecision(ctx, decision(tenant, fmt.Sprintf("req_%03d", i), fmt.Sprintf("user_%d", i), testNow), p); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.RecordOutcome(ctx, tenant, "req_042", learn); err != nil {
		t.Fatal(err)
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			apply := learn
			switch i {
			case 13:
				apply = func(d *amp.Decision, reported bool, p *amp.ProfileRecord, pop *amp.PopulationRecord) (*amp.OutcomeRecord, []byte, error) {
					o, delta, err := learn(d, reported, p, pop)
					if o != nil {
						o.Metadata = []byte(`{"note":"\u0000"}`)
					}
					return o, delta, err
				}
			case 42:
				apply = func(d *amp.Decision, _ bool, p *amp.ProfileRecord, pop *amp.PopulationRecord) (*amp.OutcomeRecord, []byte, error) {
					return learn(d, false, p, pop) // stores a second outcome
				}
			}
			_, errs[i] = db.RecordOutcome(ctx, tenant, fmt.Sprintf("req_%03d", i), apply)
		})
	}
	wg.Wait()
	for i, err := range errs {
		switch i {
		case 13:
			if !errors.Is(err, amp.ErrInvalidInput) {
				t.Errorf("outcome with a \\u0000 in its metadata: %v, want ErrInvalidInput", err)
			}
		case 42:
			if !errors.Is(err, amp.ErrConflict) {
				t.Errorf("second outcome of a decision: %v, want ErrConflict", err)
			}
		default:
			if err != nil {
				t.Errorf("outcome %d: %v", i, err)
			}
		}
	}
	for i := range n {
		p, err := db.Profile(ctx, tenant, fmt.Sprintf("user_%d", i))
		if err != nil {
			t.Fatal(err)
		}
		want := 1
		if i == 13 {
			want = 0
		}
		if p.OutcomeCount != want || counter(p.Model) != uint64(want) {
			t.Errorf("user_%d: %d outcomes, model counter %d; want %d", i, p.OutcomeCount, counter(p.Model), want)
		}
	}
	deltas, _, err := db.PopulationLog(ctx, tenant)
	if err != nil {
		t.Fatal(err)
	}
	if len(deltas) != n-1 { // req_042's once, req_013's not at all
		t.Errorf("%d population deltas stored, want %d", len(deltas), n-1)
	}
	ds, err := db.Decisions(ctx, tenant, time.Time{}, 1000)
	if err != nil {
		t.Fatal(err)
	}
	outcomes := 0
	for _, d := range ds {
		if d.Outcome != nil {
			outcomes++
		}
	}
	if outcomes != n-1 {
		t.Errorf("%d outcomes stored, want %d", outcomes, n-1)
	}
}

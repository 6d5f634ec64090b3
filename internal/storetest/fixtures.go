package storetest

import (
	"cmp"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/amp-protocol/amp"
)

// t0 is the suite's reference time: a whole millisecond, in UTC.
var t0 = time.Date(2025, 3, 14, 9, 26, 53, 589_000_000, time.UTC)

// elsewhere is a zone other than UTC: a time given in it must come back as
// the same instant in UTC.
var elsewhere = time.FixedZone("UTC+05:30", 5*3600+30*60)

func at(d time.Duration) time.Time { return t0.Add(d) }

// The tenants the learning tests write to; setupAccounts creates their
// accounts.
var (
	tenantA     = amp.Tenant{AccountID: "acct_storetest_a", Mode: amp.ModeLive}
	tenantATest = amp.Tenant{AccountID: "acct_storetest_a", Mode: amp.ModeTest}
	tenantB     = amp.Tenant{AccountID: "acct_storetest_b", Mode: amp.ModeLive}
	tenantBTest = amp.Tenant{AccountID: "acct_storetest_b", Mode: amp.ModeTest}
)

// errAlreadyReported is what the suite's OutcomeFuncs return when told an
// outcome was already stored, as the service does.
var errAlreadyReported = errors.New("storetest: outcome already reported")

// errApply is an OutcomeFunc's or profile update's own failure.
var errApply = errors.New("storetest: apply failed")

func ptr[T any](v T) *T { return &v }

func newAccount(id string, created time.Time) *amp.Account {
	return &amp.Account{ID: id, Name: "Account " + id, Plan: amp.PlanPro, CustomRate: 0, HoldoutPercent: 10, CreatedAt: created}
}

func mustCreateAccount(t *testing.T, st amp.Store, a *amp.Account) {
	t.Helper()
	noErr(t, "CreateAccount "+a.ID, st.CreateAccount(t.Context(), a))
}

// setupAccounts creates the accounts of the suite's tenants.
func setupAccounts(t *testing.T, st amp.Store) {
	t.Helper()
	mustCreateAccount(t, st, newAccount(tenantA.AccountID, at(-48*time.Hour)))
	mustCreateAccount(t, st, newAccount(tenantB.AccountID, at(-47*time.Hour)))
}

func newKey(id string, tn amp.Tenant, created time.Time) *amp.APIKey {
	return &amp.APIKey{
		ID:        id,
		AccountID: tn.AccountID,
		Mode:      tn.Mode,
		Name:      "key " + id,
		Hash:      amp.HashKey("secret of " + id),
		Last4:     id[len(id)-4:],
		Scopes:    []amp.Scope{amp.ScopeContext, amp.ScopeOutcome},
		CreatedAt: created,
	}
}

func newDecision(tn amp.Tenant, requestID, userID string, created time.Time) *amp.Decision {
	return &amp.Decision{
		RequestID:      requestID,
		Tenant:         tn,
		UserID:         userID,
		TaskType:       "debugging",
		TaskComplexity: amp.TaskComplexityMedium,
		Recommendation: amp.Recommendation{
			Framing:       amp.FramingMicroTask,
			Style:         amp.StyleTechnical,
			Handling:      amp.HandlingBreakIntoSteps,
			Encouragement: amp.EncouragementModerate,
		},
		Propensity:   0.4375,
		Explored:     true,
		Holdout:      false,
		Confidence:   0.3125,
		Interactions: 3,
		CreatedAt:    created,
	}
}

func newProfile(tn amp.Tenant, userID string, created time.Time) *amp.ProfileRecord {
	return &amp.ProfileRecord{
		Tenant:    tn,
		UserID:    userID,
		Model:     []byte{0x00, 0x01, 'u', 0xfe, 0xff, 0x00},
		Metadata:  json.RawMessage(`{"plan": "gold", "tags": ["a", "b"], "n": 3}`),
		CreatedAt: created,
		UpdatedAt: created,
	}
}

// newOutcome returns an outcome with every optional field set.
func newOutcome(completed bool, reported time.Time) *amp.OutcomeRecord {
	return &amp.OutcomeRecord{
		Started:      true,
		Completed:    ptr(completed),
		TimeToStart:  ptr(12.5),
		FlowState:    ptr(true),
		Satisfaction: ptr(0.75),
		Metadata:     json.RawMessage(`{"source": "storetest", "nested": {"ok": true}}`),
		Reward:       0.625,
		ReportedAt:   reported,
	}
}

func mustSave(t *testing.T, st amp.Store, d *amp.Decision, p *amp.ProfileRecord) {
	t.Helper()
	noErr(t, "SaveDecision "+d.RequestID, st.SaveDecision(t.Context(), d, p))
}

// countingApply stores o and counts it in the user's profile, as the
// service does; it refuses a second outcome.
func countingApply(o *amp.OutcomeRecord) amp.OutcomeFunc {
	return func(d *amp.Decision, already bool, p *amp.ProfileRecord, pop *amp.PopulationRecord) (*amp.OutcomeRecord, []byte, error) {
		if already {
			return nil, nil, errAlreadyReported
		}
		p.OutcomeCount++
		p.UpdatedAt = o.ReportedAt
		c := *o
		return &c, nil, nil
	}
}

// mustRecord records o for requestID and returns the outcome as it must be
// stored: o filed under the decision d.
func mustRecord(t *testing.T, st amp.Store, d *amp.Decision, o *amp.OutcomeRecord) *amp.OutcomeRecord {
	t.Helper()
	if _, err := st.RecordOutcome(t.Context(), d.Tenant, d.RequestID, countingApply(o)); err != nil {
		t.Fatalf("RecordOutcome %s: %v", d.RequestID, err)
	}
	want := *o
	want.RequestID, want.Tenant, want.UserID = d.RequestID, d.Tenant, d.UserID
	return &want
}

func mustProfile(t *testing.T, st amp.Store, tn amp.Tenant, userID string) *amp.ProfileRecord {
	t.Helper()
	p, err := st.Profile(t.Context(), tn, userID)
	if err != nil {
		t.Fatalf("Profile %v %s: %v", tn, userID, err)
	}
	return p
}

func mustPopulation(t *testing.T, st amp.Store, tn amp.Tenant) *amp.PopulationRecord {
	t.Helper()
	pop, err := st.Population(t.Context(), tn)
	if err != nil {
		t.Fatalf("Population %v: %v", tn, err)
	}
	return pop
}

func mustOutcomes(t *testing.T, st amp.Store, tn amp.Tenant, userID string) []*amp.OutcomeRecord {
	t.Helper()
	os, err := st.Outcomes(t.Context(), tn, userID, 1000)
	if err != nil {
		t.Fatalf("Outcomes %v %s: %v", tn, userID, err)
	}
	return os
}

func mustDecisions(t *testing.T, st amp.Store, tn amp.Tenant) []*amp.LoggedDecision {
	t.Helper()
	ds, err := st.Decisions(t.Context(), tn, time.Time{}, 1000)
	if err != nil {
		t.Fatalf("Decisions %v: %v", tn, err)
	}
	return ds
}

func mustStats(t *testing.T, st amp.Store, tn amp.Tenant, userID string) *amp.ProfileStats {
	t.Helper()
	s, err := st.ProfileStats(t.Context(), tn, userID)
	if err != nil {
		t.Fatalf("ProfileStats %v %s: %v", tn, userID, err)
	}
	return s
}

// wantNoProfile fails t if the user has a profile in tn.
func wantNoProfile(t *testing.T, st amp.Store, tn amp.Tenant, userID string) {
	t.Helper()
	_, err := st.Profile(t.Context(), tn, userID)
	wantErr(t, fmt.Sprintf("Profile %v %s", tn, userID), err, amp.ErrNotFound)
}

// requestIDs lists the request ids of outcomes, in order.
func requestIDs(os []*amp.OutcomeRecord) []string {
	ids := make([]string, len(os))
	for i, o := range os {
		ids[i] = o.RequestID
	}
	return ids
}

func decisionIDs(ds []*amp.LoggedDecision) []string {
	ids := make([]string, len(ds))
	for i, d := range ds {
		ids[i] = d.RequestID
	}
	return ids
}

// counter reads a count encoded in a model by addCounter; the concurrency
// tests use it to detect lost updates of models.
func counter(model []byte) uint64 {
	if len(model) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(model)
}

func addCounter(model []byte) []byte { return binary.BigEndian.AppendUint64(nil, counter(model)+1) }

// appendMerge is the suite's PopulationMergeFunc: the population's model is
// the concatenation of every delta folded into it, in folding order, so a
// delta lost or folded twice shows. It stamps the population at(time.Hour).
func appendMerge(pop *amp.PopulationRecord, deltas [][]byte) error {
	for _, d := range deltas {
		pop.Model = append(pop.Model, d...)
	}
	pop.UpdatedAt = at(time.Hour)
	return nil
}

// foldN folds up to n of tn's pending deltas in one FoldPopulation and
// returns how many it folded.
func foldN(t *testing.T, st amp.Store, tn amp.Tenant, n int) int {
	t.Helper()
	folded, err := st.FoldPopulation(t.Context(), tn, n, appendMerge)
	if err != nil {
		t.Fatalf("FoldPopulation %v: %v", tn, err)
	}
	return folded
}

// foldAll folds all of tn's pending deltas and returns how many there were.
func foldAll(t *testing.T, st amp.Store, tn amp.Tenant) int {
	t.Helper()
	total := 0
	for {
		n := foldN(t, st, tn, 1000)
		if n == 0 {
			return total
		}
		total += n
	}
}

func mustPopulationLog(t *testing.T, st amp.Store, tn amp.Tenant) ([][]byte, int) {
	t.Helper()
	deltas, pending, err := st.PopulationLog(t.Context(), tn)
	if err != nil {
		t.Fatalf("PopulationLog %v: %v", tn, err)
	}
	return deltas, pending
}

// sameTenants reports whether got and want hold the same tenants, in any
// order.
func sameTenants(got, want []amp.Tenant) bool {
	key := func(a, b amp.Tenant) int {
		return cmp.Or(cmp.Compare(a.AccountID, b.AccountID), cmp.Compare(a.Mode, b.Mode))
	}
	g, w := slices.Clone(got), slices.Clone(want)
	slices.SortFunc(g, key)
	slices.SortFunc(w, key)
	return slices.Equal(g, w)
}

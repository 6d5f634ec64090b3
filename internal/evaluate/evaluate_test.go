package evaluate_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"testing"
	"time"

	"github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/internal/evaluate"
	"github.com/amp-protocol/amp/internal/learn"
	"github.com/amp-protocol/amp/internal/sim"
)

// simulatedLogs runs an exploring engine on a simulated population whose
// outcomes always report completion, and returns its log with the
// interactions it logged, in the same order.
func simulatedLogs(t *testing.T, seed uint64, users, interactions int, cfg learn.Config) ([]*amp.LoggedDecision, []*sim.Interaction, *sim.Population) {
	t.Helper()
	params := sim.DrawParams(seed)
	params.ReportCompleted = 1
	p := sim.Build(seed, params, users, false)
	agent := sim.NewLearnerAgent(learn.New(cfg), seed)
	agent.Record = true
	if _, err := sim.Run(context.Background(), p, interactions, "logger", agent, nil); err != nil {
		t.Fatal(err)
	}
	sched := p.Schedule(interactions)
	if len(agent.Log) != len(sched) {
		t.Fatalf("logged %d decisions for %d interactions", len(agent.Log), len(sched))
	}
	return agent.Log, sched, p
}

func allRecommendations() []amp.Recommendation {
	var out []amp.Recommendation
	for _, f := range amp.Framings {
		for _, s := range amp.Styles {
			for _, h := range amp.Handlings {
				for _, e := range amp.Encouragements {
					out = append(out, amp.Recommendation{Framing: f, Style: s, Handling: h, Encouragement: e})
				}
			}
		}
	}
	return out
}

// TestIPSRecoversKnownValues evaluates policies whose true completion rate
// on the logged contexts the simulator knows exactly.
func TestIPSRecoversKnownValues(t *testing.T) {
	logs, sched, p := simulatedLogs(t, 5150, 200, 20, learn.Config{Floor: 0.5})
	tilted := evaluate.Product{Label: "tilted", Dist: [4][4]float64{
		{0.7, 0.1, 0.1, 0.1}, {0.1, 0.1, 0.1, 0.7}, {0.25, 0.25, 0.25, 0.25}, {0.4, 0.4, 0.1, 0.1},
	}}
	recs := allRecommendations()
	var truthUniform, truthTilted float64
	for _, it := range sched {
		for _, r := range recs {
			c := p.Probability(it, r)
			pr, _ := tilted.Prob(&amp.LoggedDecision{Decision: amp.Decision{Recommendation: r}})
			truthUniform += c / 256
			truthTilted += c * pr
		}
	}
	n := float64(len(sched))
	truthUniform /= n
	truthTilted /= n

	ests, err := evaluate.Evaluate(logs, evaluate.Uniform{}, tilted)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		est   *evaluate.Estimate
		truth float64
	}{{ests[1], truthUniform}, {ests[2], truthTilted}} {
		v := c.est.Completion
		t.Logf("%s: truth %.4f, IPS %.4f ± %.4f, SNIPS %.4f ± %.4f, ESS %.0f of %d", c.est.Policy, c.truth, v.IPS, v.IPSStdErr, v.SNIPS, v.SNIPSStdErr, c.est.ESS, c.est.N)
		// The realised outcomes add noise the truth (expected
		// probabilities) does not have: allow 3.5 standard errors.
		if math.Abs(v.IPS-c.truth) > 3.5*v.IPSStdErr {
			t.Errorf("%s: IPS %.4f ± %.4f, truth %.4f", c.est.Policy, v.IPS, v.IPSStdErr, c.truth)
		}
		if math.Abs(v.SNIPS-c.truth) > 3.5*v.SNIPSStdErr {
			t.Errorf("%s: SNIPS %.4f ± %.4f, truth %.4f", c.est.Policy, v.SNIPS, v.SNIPSStdErr, c.truth)
		}
		if v.SNIPSStdErr > 0.03 {
			t.Errorf("%s: standard error %.3f is too wide to test anything", c.est.Policy, v.SNIPSStdErr)
		}
	}
	// The logging engine beats uniform random here, and IPS can tell.
	if logged := ests[0].Completion.IPS; logged < ests[1].Completion.SNIPS+0.02 {
		t.Errorf("logged policy %.3f does not beat uniform %.3f", logged, ests[1].Completion.SNIPS)
	}
}

// TestReplayReproducesPropensities replays the logging engine: it must give
// every logged decision exactly the propensity it was logged with, so that
// its estimate is the observed value.
func TestReplayReproducesPropensities(t *testing.T) {
	cfg := learn.Config{}
	logs, _, _ := simulatedLogs(t, 77, 60, 15, cfg)
	ests, err := evaluate.Evaluate(logs, evaluate.NewReplay(learn.New(cfg), true), evaluate.NewReplay(learn.New(cfg), false))
	if err != nil {
		t.Fatal(err)
	}
	logged, replay, pop := ests[0], ests[1], ests[2]
	if math.Abs(replay.MaxWeight-1) > 1e-9 || math.Abs(replay.ESS-float64(replay.N)) > 1e-6 {
		t.Errorf("replayed engine weights: max %v, ESS %v of %d; want all 1", replay.MaxWeight, replay.ESS, replay.N)
	}
	if math.Abs(replay.Reward.IPS-logged.Reward.IPS) > 1e-9 {
		t.Errorf("replayed value %v, logged %v", replay.Reward.IPS, logged.Reward.IPS)
	}
	if pop.ESS >= float64(pop.N) {
		t.Errorf("population default has the logging policy's weights (ESS %v)", pop.ESS)
	}
}

func TestEvaluateNoData(t *testing.T) {
	logs := []*amp.LoggedDecision{{Decision: amp.Decision{Propensity: 0.5}}}
	if _, err := evaluate.Evaluate(logs, evaluate.Uniform{}); err != evaluate.ErrNoData {
		t.Errorf("err = %v, want ErrNoData", err)
	}
}

// fakeStore serves logged decisions the way a store does.
type fakeStore struct {
	amp.LearningStore // other methods are not used
	decisions         []*amp.LoggedDecision
	calls             int
}

func (f *fakeStore) Decisions(_ context.Context, _ amp.Tenant, since time.Time, limit int) ([]*amp.LoggedDecision, error) {
	f.calls++
	var out []*amp.LoggedDecision
	for _, d := range f.decisions {
		if !d.CreatedAt.Before(since) {
			out = append(out, d)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].CreatedAt.Before(out[j].CreatedAt) })
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

func TestForEachDecisionPages(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	var ds []*amp.LoggedDecision
	for i := range 12000 {
		// Runs of 7 decisions share a timestamp, so page boundaries fall
		// inside them; then 11,000 share one timestamp.
		at := t0.Add(time.Duration(i/7) * time.Second)
		if i >= 1000 {
			at = t0.Add(time.Hour)
		}
		ds = append(ds, &amp.LoggedDecision{Decision: amp.Decision{RequestID: fmt.Sprint("req_", i), CreatedAt: at}})
	}
	store := &fakeStore{decisions: ds}
	got := map[string]int{}
	err := evaluate.ForEachDecision(context.Background(), store, amp.Tenant{}, t0, func(d *amp.LoggedDecision) error {
		got[d.RequestID]++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(ds) {
		t.Errorf("visited %d decisions, want %d", len(got), len(ds))
	}
	for id, n := range got {
		if n != 1 {
			t.Errorf("%s visited %d times", id, n)
		}
	}
}

func TestLift(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	var ds []*amp.LoggedDecision
	for u := range 400 {
		holdout := u%5 == 0 // 20% holdout
		rate := 0.6
		if holdout {
			rate = 0.4
		}
		// Users differ: some complete much more than others.
		rate += 0.2 * (rng.Float64() - 0.5)
		for k := range 25 {
			ok := rng.Float64() < rate
			d := &amp.LoggedDecision{Decision: amp.Decision{
				RequestID: fmt.Sprintf("req_%d_%d", u, k), UserID: fmt.Sprint("user", u), Holdout: holdout,
				CreatedAt: t0.Add(time.Duration(u*25+k) * time.Minute),
			}}
			if k < 24 { // the last decision has no outcome yet
				d.Outcome = &amp.OutcomeRecord{Started: ok, Completed: &ok}
			}
			ds = append(ds, d)
		}
	}
	r, err := evaluate.Lift(context.Background(), &fakeStore{decisions: ds}, amp.Tenant{}, t0)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", r)
	if r.Holdout.Users != 80 || r.Personalised.Users != 320 || r.Holdout.Outcomes != 80*24 || r.Holdout.Decisions != 80*25 {
		t.Errorf("groups: %+v / %+v", r.Personalised, r.Holdout)
	}
	if !r.Comparable || !r.Significant || r.Low > 0.2 || r.High < 0.2 || r.Low < 0.1 {
		t.Errorf("lift %.3f in [%.3f, %.3f], want about 0.2 and significant", r.Lift, r.Low, r.High)
	}
	if r.RelativeLow > 0.5 || r.RelativeHigh < 0.5 {
		t.Errorf("relative lift %.2f in [%.2f, %.2f], want about 0.5", r.Relative, r.RelativeLow, r.RelativeHigh)
	}

	// Without a difference, the interval covers zero.
	for _, d := range ds {
		if d.Outcome != nil {
			ok := rng.Float64() < 0.5
			d.Outcome.Completed, d.Outcome.Started = &ok, ok
		}
	}
	r, err = evaluate.Lift(context.Background(), &fakeStore{decisions: ds}, amp.Tenant{}, t0)
	if err != nil {
		t.Fatal(err)
	}
	if r.Low > 0 || r.High < 0 {
		t.Errorf("no real lift, but interval [%.3f, %.3f]", r.Low, r.High)
	}
	empty, err := evaluate.Lift(context.Background(), &fakeStore{}, amp.Tenant{}, t0)
	if err != nil || empty.Comparable {
		t.Errorf("empty store: %+v, %v", empty, err)
	}
}

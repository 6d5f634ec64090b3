package evaluate

import (
	"errors"
	"fmt"
	"math"

	"github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/internal/learn"
)

// Policy is a policy to evaluate on logged decisions. Decisions are
// replayed oldest first: Prob is asked about a decision before Observe is
// told its outcome, so a policy that learns sees only the past, as it
// would have online.
type Policy interface {
	Name() string
	// Prob returns the probability that the policy would have made d's
	// recommendation in d's context.
	Prob(d *amp.LoggedDecision) (float64, error)
	// Observe lets the policy learn from d, which has an outcome.
	Observe(d *amp.LoggedDecision) error
}

// Estimate is the estimated value of a policy on logged decisions.
type Estimate struct {
	Policy string `json:"policy"`
	N      int    `json:"n"` // decisions with an outcome and a valid propensity
	// Reward is the value in mean reward (the engine's learning signal),
	// Completion in completion rate (over the N' decisions whose
	// completion is known: not started, or completed reported).
	Reward     Value `json:"reward"`
	Completion Value `json:"completion"`
	// ESS is the effective sample size of the importance weights,
	// (Σw)²/Σw²: how many logged decisions the estimate is worth.
	ESS       float64 `json:"ess"`
	MaxWeight float64 `json:"maxWeight"`
}

// Value holds the two estimators of one quantity.
type Value struct {
	N int `json:"n"`
	// IPS is (1/N)·Σ w·y with w = π_target/π_logged: unbiased when the
	// logged propensities are right and every recommendation the target
	// could make had a positive logged propensity.
	IPS       float64 `json:"ips"`
	IPSStdErr float64 `json:"ipsStdErr"`
	// SNIPS is Σ w·y / Σ w: slightly biased, much lower variance, and
	// bounded by the observed values.
	SNIPS       float64 `json:"snips"`
	SNIPSStdErr float64 `json:"snipsStdErr"`
}

// CI95 returns the normal-approximation 95% interval of the estimator.
func CI95(est, stderr float64) (lo, hi float64) {
	return est - 1.96*stderr, est + 1.96*stderr
}

// ErrNoData is returned when no logged decision has an outcome.
var ErrNoData = errors.New("evaluate: no logged decision with an outcome")

// Evaluate estimates the value of each policy on logs, which must be
// oldest first. Decisions without an outcome are left out (outcomes are
// assumed missing at random), as are decisions whose logged propensity is
// not in (0, 1]. The logging policy's own value, observed directly, is the
// first estimate (all weights 1).
func Evaluate(logs []*amp.LoggedDecision, policies ...Policy) ([]*Estimate, error) {
	accs := make([]*accumulator, len(policies)+1)
	accs[0] = &accumulator{name: "logged"}
	for i, p := range policies {
		accs[i+1] = &accumulator{name: p.Name()}
	}
	for _, d := range logs {
		if d.Outcome == nil || !(d.Propensity > 0 && d.Propensity <= 1) {
			continue
		}
		reward := d.Outcome.Reward
		completed, known := completion(d.Outcome)
		accs[0].add(1, reward, completed, known)
		for i, p := range policies {
			pr, err := p.Prob(d)
			if err != nil {
				return nil, fmt.Errorf("%s: decision %s: %w", p.Name(), d.RequestID, err)
			}
			accs[i+1].add(pr/d.Propensity, reward, completed, known)
			if err := p.Observe(d); err != nil {
				return nil, fmt.Errorf("%s: decision %s: %w", p.Name(), d.RequestID, err)
			}
		}
	}
	if accs[0].n == 0 {
		return nil, ErrNoData
	}
	out := make([]*Estimate, len(accs))
	for i, a := range accs {
		out[i] = a.estimate()
	}
	return out, nil
}

// completion tells whether an outcome completed, and whether that is
// known: a user who did not start did not complete; one who started
// completed only if the report says so.
func completion(o *amp.OutcomeRecord) (completed, known bool) {
	if !o.Started {
		return false, true
	}
	if o.Completed == nil {
		return false, false
	}
	return *o.Completed, true
}

type accumulator struct {
	name          string
	n             int
	sw, sw2, maxW float64
	reward, compl series
}

// series accumulates weighted values for IPS and SNIPS.
type series struct {
	n                    int
	sw, swy, swy2, sw2y2 float64
	sw2, sw2y            float64
}

func (s *series) add(w, y float64) {
	s.n++
	s.sw += w
	s.swy += w * y
	s.swy2 += w * y * y
	s.sw2 += w * w
	s.sw2y += w * w * y
	s.sw2y2 += w * w * y * y
}

func (s *series) value() Value {
	v := Value{N: s.n}
	if s.n == 0 {
		return v
	}
	n := float64(s.n)
	v.IPS = s.swy / n
	// Var(w·y) from its first two moments.
	if s.n > 1 {
		m2 := s.sw2y2 / n
		v.IPSStdErr = math.Sqrt(math.Max(0, m2-v.IPS*v.IPS) / (n - 1))
	}
	if s.sw > 0 {
		v.SNIPS = s.swy / s.sw
		// Delta method: Σ w²(y-V)² / (Σw)².
		num := s.sw2y2 - 2*v.SNIPS*s.sw2y + v.SNIPS*v.SNIPS*s.sw2
		v.SNIPSStdErr = math.Sqrt(math.Max(0, num)) / s.sw
	}
	return v
}

func (a *accumulator) add(w, reward float64, completed, known bool) {
	a.n++
	a.sw += w
	a.sw2 += w * w
	a.maxW = math.Max(a.maxW, w)
	a.reward.add(w, reward)
	if known {
		y := 0.0
		if completed {
			y = 1
		}
		a.compl.add(w, y)
	}
}

func (a *accumulator) estimate() *Estimate {
	e := &Estimate{Policy: a.name, N: a.n, Reward: a.reward.value(), Completion: a.compl.value(), MaxWeight: a.maxW}
	if a.sw2 > 0 {
		e.ESS = a.sw * a.sw / a.sw2
	}
	return e
}

// Uniform is the policy that recommends uniformly at random: each of the
// 256 joint recommendations with probability 1/256.
type Uniform struct{}

func (Uniform) Name() string                              { return "uniform" }
func (Uniform) Prob(*amp.LoggedDecision) (float64, error) { return 1.0 / 256, nil }
func (Uniform) Observe(*amp.LoggedDecision) error         { return nil }

// Product is a fixed policy that draws each dimension's option
// independently: Dist[dimension][option], in the order of amp.Framings,
// amp.Styles, amp.Handlings and amp.Encouragements.
type Product struct {
	Label string
	Dist  [4][4]float64
}

func (p Product) Name() string { return p.Label }

func (p Product) Prob(d *amp.LoggedDecision) (float64, error) {
	idx, err := d.Recommendation.Options()
	if err != nil {
		return 0, err
	}
	pr := 1.0
	for dim, a := range idx {
		pr *= p.Dist[dim][a]
	}
	return pr, nil
}

func (Product) Observe(*amp.LoggedDecision) error { return nil }

// Replay is the learning engine replayed over the logs from an empty
// state: before each decision it has learned every earlier outcome, as it
// would have online. Personalised, it keeps every user's state (memory
// grows by up to learn.MaxUserStateBytes per user); otherwise it is the
// engine's population default, the policy holdout users get.
type Replay struct {
	Engine       *learn.Engine
	Personalised bool
	pop          []byte
	users        map[string][]byte
	counts       map[string]int
}

// NewReplay returns the engine's policy replayed from scratch.
func NewReplay(e *learn.Engine, personalised bool) *Replay {
	return &Replay{Engine: e, Personalised: personalised, users: map[string][]byte{}, counts: map[string]int{}}
}

func (r *Replay) Name() string {
	if r.Personalised {
		return "engine"
	}
	return "population default"
}

func (r *Replay) input(d *amp.LoggedDecision) *amp.DecideInput {
	in := &amp.DecideInput{
		Population: r.pop,
		Context:    amp.LearnContext{TaskType: d.TaskType, Complexity: d.TaskComplexity, Hour: d.CreatedAt.UTC().Hour()},
		Holdout:    !r.Personalised,
	}
	if r.Personalised {
		in.User, in.Interactions = r.users[d.UserID], r.counts[d.UserID]
	}
	return in
}

func (r *Replay) Prob(d *amp.LoggedDecision) (float64, error) {
	return r.Engine.Probability(r.input(d), d.Recommendation)
}

func (r *Replay) Observe(d *amp.LoggedDecision) error {
	dec := d.Decision
	dec.Holdout = !r.Personalised
	var user []byte
	if r.Personalised {
		user = r.users[d.UserID]
	}
	l, err := r.Engine.Learn(&amp.LearnInput{User: user, Population: r.pop, Decision: &dec, Outcome: d.Outcome, Now: d.Outcome.ReportedAt})
	if err != nil {
		return err
	}
	if r.pop, err = r.Engine.MergePopulation(r.pop, [][]byte{l.PopulationDelta}); err != nil {
		return err
	}
	if r.Personalised {
		r.users[d.UserID] = l.User
		r.counts[d.UserID]++
	}
	return nil
}

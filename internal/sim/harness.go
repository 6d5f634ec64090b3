package sim

import (
	"context"
	"fmt"
	"math"

	"github.com/amp-protocol/amp"
)

// Agent is a policy under test: the engine in process, the factorised
// baseline, or a running server over HTTP.
type Agent interface {
	// Decide recommends for the interaction. The returned ticket is handed
	// back to Report with the interaction's outcome.
	Decide(ctx context.Context, it *Interaction) (rec amp.Recommendation, ticket any, err error)
	// Report tells the agent what happened.
	Report(ctx context.Context, ticket any, o *amp.OutcomeRequest) error
}

// Point holds the sums, over users, of one interaction number.
type Point struct {
	Interaction int // 1-based
	N           int // interactions with this number
	Completed   int // of which completed
	Values          // sums of expected completion probabilities
}

// Result is an agent's learning curve on a population.
type Result struct {
	Name  string
	Curve []Point // index i holds interaction i+1
	// Phases is what the agent answered by profile phase, for agents
	// that say (the engine and a server do; the baseline does not).
	Phases []PhaseStats
	// Reliability is the agent's confidence against what happened, in
	// buckets of 0.1, and ECE its expected calibration error, for agents
	// that say how confident they are.
	Reliability []Bucket
	ECE         float64
}

// Window summarises interactions from..to (1-based, inclusive).
type Window struct {
	From           int     `json:"from"`
	To             int     `json:"to"`
	N              int     `json:"n"`
	CompletionRate float64 `json:"completionRate"` // realised completions per interaction
	// Score is the normalised score: (chosen − uniform) / (oracle − uniform),
	// with each term the expected completion probability summed over the
	// window's interactions. 0 is uniform random, 1 the oracle that knows
	// every user's preferences.
	Score float64 `json:"score"`
}

// Window returns the summary of interactions from..to.
func (r *Result) Window(from, to int) Window {
	w := Window{From: from, To: to}
	var v Values
	completed := 0
	for i := from - 1; i < to && i < len(r.Curve); i++ {
		p := r.Curve[i]
		w.N += p.N
		completed += p.Completed
		v.Chosen += p.Chosen
		v.Uniform += p.Uniform
		v.Oracle += p.Oracle
	}
	if w.N > 0 {
		w.CompletionRate = float64(completed) / float64(w.N)
	}
	if v.Oracle > v.Uniform {
		w.Score = (v.Chosen - v.Uniform) / (v.Oracle - v.Uniform)
	}
	return w
}

// Score returns the normalised score of interaction k alone.
func (p Point) Score() float64 {
	if p.Oracle <= p.Uniform {
		return 0
	}
	return (p.Chosen - p.Uniform) / (p.Oracle - p.Uniform)
}

// Run plays every interaction of the population's schedule through agent,
// in order, and scores each recommendation by its expected completion
// probability. Outcomes are reported as the population's scenario says:
// only those of interactions marked Reported, each after Late more of the
// same user's contexts were decided (the rest once the schedule is done),
// so several contexts of a user are in flight at once and reports come
// out of order with decisions. It reports progress to progress (which may
// be nil) every 1,000 interactions.
func Run(ctx context.Context, p *Population, interactions int, name string, agent Agent, progress func(done, total int)) (*Result, error) {
	res := &Result{Name: name, Curve: make([]Point, interactions)}
	for i := range res.Curve {
		res.Curve[i].Interaction = i + 1
	}
	type pending struct {
		it     *Interaction
		ticket any
		o      *amp.OutcomeRequest
		left   int
	}
	waiting := make(map[int][]pending)
	report := func(w pending) error {
		if err := agent.Report(ctx, w.ticket, w.o); err != nil {
			return fmt.Errorf("%s: user %d interaction %d: report: %w", name, w.it.User.Index, w.it.K, err)
		}
		return nil
	}
	conf, _ := agent.(confider)
	var cal calibration
	sched := p.Schedule(interactions)
	for i, it := range sched {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		rec, ticket, err := agent.Decide(ctx, it)
		if err != nil {
			return nil, fmt.Errorf("%s: user %d interaction %d: decide: %w", name, it.User.Index, it.K, err)
		}
		o := p.Outcome(it, rec)
		// The user's earlier outcomes still in flight come one context
		// closer; those due are reported, oldest first.
		u := it.User.Index
		keep := waiting[u][:0]
		for _, w := range waiting[u] {
			if w.left--; w.left < 0 {
				if err := report(w); err != nil {
					return nil, err
				}
				continue
			}
			keep = append(keep, w)
		}
		waiting[u] = keep
		if it.Reported {
			w := pending{it: it, ticket: ticket, o: o, left: it.Late - 1}
			if it.Late == 0 {
				if err := report(w); err != nil {
					return nil, err
				}
			} else {
				waiting[u] = append(waiting[u], w)
			}
		}
		v := p.Evaluate(it, rec)
		pt := &res.Curve[it.K-1]
		pt.N++
		if o.Completed != nil && *o.Completed || o.Completed == nil && p.completedUnreported(it, rec) {
			pt.Completed++
		}
		pt.Chosen += v.Chosen
		pt.Uniform += v.Uniform
		pt.Oracle += v.Oracle
		if conf != nil {
			if c, ok := conf.confidence(ticket); ok {
				cal.add(c, p.bestShare(it, rec), v.Chosen)
			}
		}
		if progress != nil && (i+1)%1000 == 0 {
			progress(i+1, len(sched))
		}
	}
	for _, u := range p.Users {
		for _, w := range waiting[u.Index] {
			if err := report(w); err != nil {
				return nil, err
			}
		}
	}
	if f, ok := agent.(flusher); ok {
		if err := f.flush(); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	if pr, ok := agent.(phaseReporter); ok {
		res.Phases = pr.Phases()
	}
	if conf != nil {
		res.Reliability, res.ECE = cal.table()
	}
	return res, nil
}

// confider is an agent that says how confident it was in a decision.
type confider interface {
	confidence(ticket any) (float64, bool)
}

// flusher is an agent that holds back work until the run ends.
type flusher interface {
	flush() error
}

// bestShare is the share of rec's four options that are the user's best
// in the interaction's context.
func (p *Population) bestShare(it *Interaction, rec amp.Recommendation) float64 {
	best := armsOf(p.Best(it))
	arms := armsOf(rec)
	n := 0
	for d := range numDims {
		if arms[d] == best[d] {
			n++
		}
	}
	return float64(n) / numDims
}

// Bucket is one row of a reliability table: the answers whose confidence
// fell in [From, To).
type Bucket struct {
	From, To       float64
	N              int
	MeanConfidence float64
	// BestShare is the observed share of the recommended options that were
	// the user's best, what confidence claims to be the probability of.
	BestShare float64
	// Completion is the mean expected completion probability of the
	// answers.
	Completion float64
}

type calibration struct {
	n                   [10]int
	conf, best, success [10]float64
}

func (c *calibration) add(conf, best, completion float64) {
	i := min(9, max(0, int(conf*10)))
	c.n[i]++
	c.conf[i] += conf
	c.best[i] += best
	c.success[i] += completion
}

// table returns the non-empty buckets and the expected calibration error:
// Σ_b (n_b/N)·|mean confidence_b − best share_b|.
func (c *calibration) table() ([]Bucket, float64) {
	var out []Bucket
	total := 0
	for _, n := range c.n {
		total += n
	}
	ece := 0.0
	for i, n := range c.n {
		if n == 0 {
			continue
		}
		b := Bucket{From: float64(i) / 10, To: float64(i+1) / 10, N: n,
			MeanConfidence: c.conf[i] / float64(n), BestShare: c.best[i] / float64(n), Completion: c.success[i] / float64(n)}
		out = append(out, b)
		ece += float64(n) / float64(total) * math.Abs(b.MeanConfidence-b.BestShare)
	}
	return out, ece
}

// BestFixed scores, on the population's schedule, the best fixed
// recommendation per task type known in hindsight: for each of the
// population's task types (and for requests without one), the joint
// recommendation with the highest expected completion summed over every
// interaction of that kind. No personalisation, no learning: the reference
// line a learning policy must pass.
func BestFixed(p *Population, interactions int) *Result {
	sched := p.Schedule(interactions)
	nt := len(p.TaskTypes)
	sums := make([][256]float64, nt+1)
	for _, it := range sched {
		k := it.task
		if k < 0 {
			k = nt
		}
		base, u := p.utilities(it)
		for j := range 256 {
			sums[k][j] += completionProb(base + u[0][j&3] + u[1][j>>2&3] + u[2][j>>4&3] + u[3][j>>6&3])
		}
	}
	best := make([]amp.Recommendation, nt+1)
	for k := range sums {
		bj := 0
		for j := range 256 {
			if sums[k][j] > sums[k][bj] {
				bj = j
			}
		}
		best[k] = recOf([numDims]int{bj & 3, bj >> 2 & 3, bj >> 4 & 3, bj >> 6 & 3})
	}
	res := &Result{Name: "best fixed", Curve: make([]Point, interactions)}
	for i := range res.Curve {
		res.Curve[i].Interaction = i + 1
	}
	for _, it := range sched {
		k := it.task
		if k < 0 {
			k = nt
		}
		v := p.Evaluate(it, best[k])
		pt := &res.Curve[it.K-1]
		pt.N++
		pt.Chosen += v.Chosen
		pt.Uniform += v.Uniform
		pt.Oracle += v.Oracle
	}
	return res
}

// completedUnreported tells whether an outcome whose report left out
// `completed` was in fact a completion: the simulator knows.
func (p *Population) completedUnreported(it *Interaction, rec amp.Recommendation) bool {
	base, u := p.utilities(it)
	arms := armsOf(rec)
	z := base
	for d := range numDims {
		z += u[d][arms[d]]
	}
	return it.uni[0] < sigmoid(z+startOffset) && it.uni[1] < sigmoid(z+completeOffset)
}

package sim

import (
	"context"
	"fmt"

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
// probability. It reports progress to progress (which may be nil) every
// 1,000 interactions.
func Run(ctx context.Context, p *Population, interactions int, name string, agent Agent, progress func(done, total int)) (*Result, error) {
	res := &Result{Name: name, Curve: make([]Point, interactions)}
	for i := range res.Curve {
		res.Curve[i].Interaction = i + 1
	}
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
		if err := agent.Report(ctx, ticket, o); err != nil {
			return nil, fmt.Errorf("%s: user %d interaction %d: report: %w", name, it.User.Index, it.K, err)
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
		if progress != nil && (i+1)%1000 == 0 {
			progress(i+1, len(sched))
		}
	}
	if pr, ok := agent.(phaseReporter); ok {
		res.Phases = pr.Phases()
	}
	return res, nil
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

package sim

import (
	"context"
	"math/rand/v2"

	"github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/internal/learn"
)

// The probe: where a learning engine's early gap comes from. It scores
// fixed recommendations per task type (one joint recommendation for each
// of the population's task types, and one for requests without) on a
// population's whole schedule, from the simulator's truth, and follows how
// close the engine's population default comes to the best of them as the
// population learns.

// fixedTable holds, per task type (the population's, then "none") and per
// joint recommendation (arms packed two bits per dimension), the expected
// completion summed over the schedule's interactions of that type, and the
// reward of learn.Reward on the outcome each interaction's own random
// draws give; with the uniform and oracle totals of the whole schedule.
type fixedTable struct {
	chosen, reward  [][256]float64
	uniform, oracle float64
}

func newFixedTable(p *Population, interactions int) *fixedTable {
	nt := len(p.TaskTypes)
	t := &fixedTable{chosen: make([][256]float64, nt+1), reward: make([][256]float64, nt+1)}
	for _, it := range p.Schedule(interactions) {
		k := it.task
		if k < 0 {
			k = nt
		}
		base, u := p.utilities(it)
		best := 0.0
		for j := range 256 {
			arms := unpack(j)
			z := base
			for d := range numDims {
				z += u[d][arms[d]]
			}
			c := completionProb(z)
			t.chosen[k][j] += c
			t.uniform += c / 256
			best = max(best, c)
			o := p.Outcome(it, recOf(arms))
			t.reward[k][j] += learn.Reward(&amp.OutcomeRecord{Started: *o.Started, Completed: o.Completed,
				TimeToStart: o.TimeToStart, FlowState: o.FlowState, Satisfaction: o.Satisfaction})
		}
		t.oracle += best
	}
	return t
}

func unpack(j int) [numDims]int { return [numDims]int{j & 3, j >> 2 & 3, j >> 4 & 3, j >> 6 & 3} }

func pack(arms [numDims]int) int { return arms[0] | arms[1]<<2 | arms[2]<<4 | arms[3]<<6 }

// score is the normalised score of recommending recs[k] (packed) to every
// interaction of task type k.
func (t *fixedTable) score(recs []int) float64 {
	if t.oracle <= t.uniform {
		return 0
	}
	s := 0.0
	for k, j := range recs {
		s += t.chosen[k][j]
	}
	return (s - t.uniform) / (t.oracle - t.uniform)
}

// bestJoint returns, per task type, the joint recommendation with the
// highest sum in v.
func bestJoint(v [][256]float64) []int {
	out := make([]int, len(v))
	for k := range v {
		for j := range 256 {
			if v[k][j] > v[k][out[k]] {
				out[k] = j
			}
		}
	}
	return out
}

// bestMarginal returns, per task type, the recommendation that takes on
// each dimension the option with the highest sum in v over every option of
// the other dimensions: what a model additive over dimensions finds from
// evenly spread data.
func bestMarginal(v [][256]float64) []int {
	out := make([]int, len(v))
	for k := range v {
		var m [numDims][numArms]float64
		for j := range 256 {
			arms := unpack(j)
			for d := range numDims {
				m[d][arms[d]] += v[k][j]
			}
		}
		var arms [numDims]int
		for d := range numDims {
			arms[d] = argmaxArm(&m[d])
		}
		out[k] = pack(arms)
	}
	return out
}

func argmaxArm(v *[numArms]float64) int {
	b := 0
	for a := 1; a < numArms; a++ {
		if v[a] > v[b] {
			b = a
		}
	}
	return b
}

// Reference is what fixed recommendations per task type score on a
// population's schedule (normalised score), from the simulator's truth.
type Reference struct {
	// Joint is the best joint recommendation per task type: BestFixed's.
	Joint float64 `json:"joint"`
	// Marginal takes on each dimension the option best on average over
	// the other dimensions' options. Below Joint when dimensions interact
	// (through the completion probability's curvature and users'
	// differences), which a model additive over dimensions cannot see.
	Marginal float64 `json:"marginal"`
	// Reward is the joint recommendation with the highest expected reward
	// (learn.Reward, one outcome drawn per interaction): below Joint when
	// the reward ranks options otherwise than the completion the score
	// counts.
	Reward float64 `json:"reward"`
}

// ReferenceDefaults scores the fixed references on p's first interactions
// per user.
func ReferenceDefaults(p *Population, interactions int) Reference {
	t := newFixedTable(p, interactions)
	return t.reference()
}

func (t *fixedTable) reference() Reference {
	return Reference{Joint: t.score(bestJoint(t.chosen)), Marginal: t.score(bestMarginal(t.chosen)), Reward: t.score(bestJoint(t.reward))}
}

// ProbePoint is the population default's score after a number of
// decisions.
type ProbePoint struct {
	Decisions int     `json:"decisions"`
	Outcomes  int     `json:"outcomes"` // learned so far (merged or not)
	Score     float64 `json:"score"`
}

// ProbeAgent is a LearnerAgent that, every Every decisions and once at
// the end, scores the population's default: per task type of the
// population (sent as taskType, without complexity) and for a request
// without one, the option the engine's holdout policy is most likely to
// draw on each dimension, recommended to every interaction of that type
// of the whole schedule. It decides and learns exactly as the wrapped
// agent does: the probe only reads the population.
type ProbeAgent struct {
	*LearnerAgent
	Engine *learn.Engine
	Every  int
	Points []ProbePoint
	// Reference holds the fixed references of the same schedule.
	Reference Reference

	pop       *Population
	table     *fixedTable
	decisions int
	outcomes  int
}

// NewProbeAgent returns a probe of engine on p's first interactions per
// user, run the way NewLearnerAgent(engine, seed) runs it.
func NewProbeAgent(engine *learn.Engine, p *Population, interactions int, seed uint64, every int) *ProbeAgent {
	t := newFixedTable(p, interactions)
	return &ProbeAgent{LearnerAgent: NewLearnerAgent(engine, seed), Engine: engine, Every: max(1, every), pop: p, table: t, Reference: t.reference()}
}

// Decide implements Agent.
func (a *ProbeAgent) Decide(ctx context.Context, it *Interaction) (amp.Recommendation, any, error) {
	rec, t, err := a.LearnerAgent.Decide(ctx, it)
	if err != nil {
		return rec, t, err
	}
	a.decisions++
	if a.decisions%a.Every == 0 {
		if err := a.probe(); err != nil {
			return rec, t, err
		}
	}
	return rec, t, nil
}

// Report implements Agent.
func (a *ProbeAgent) Report(ctx context.Context, ticket any, o *amp.OutcomeRequest) error {
	if err := a.LearnerAgent.Report(ctx, ticket, o); err != nil {
		return err
	}
	a.outcomes++
	return nil
}

// flush merges what is left and takes the last point.
func (a *ProbeAgent) flush() error {
	if err := a.LearnerAgent.flush(); err != nil {
		return err
	}
	return a.probe()
}

// genericTask is the text of a probe request without a task type.
const genericTask = "Next task please"

func (a *ProbeAgent) probe() error {
	nt := len(a.pop.TaskTypes)
	recs := make([]int, nt+1)
	// Distribution draws nothing; it needs a source all the same.
	rng := rand.New(rand.NewPCG(0, 0))
	for k := range nt + 1 {
		c := amp.LearnContext{Task: genericTask}
		if k < nt {
			c = amp.LearnContext{TaskType: a.pop.TaskTypes[k], Task: taskTextFor(a.pop.TaskTypes[k], rng)}
		}
		dist, err := a.Engine.Distribution(&amp.DecideInput{Population: a.LearnerAgent.pop, Context: c, Holdout: true, Rand: rng})
		if err != nil {
			return err
		}
		var arms [numDims]int
		for d := range numDims {
			row := dist[d]
			arms[d] = argmaxArm(&row)
		}
		recs[k] = pack(arms)
	}
	a.Points = append(a.Points, ProbePoint{Decisions: a.decisions, Outcomes: a.outcomes, Score: a.table.score(recs)})
	return nil
}

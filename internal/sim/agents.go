package sim

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/internal/learn"
)

// LearnerAgent runs an amp.Learner in process the way the service does: it
// keeps each user's state and outcome count and the population's state,
// passes them to Decide and Learn, and logs every decision with its
// propensity and outcome.
type LearnerAgent struct {
	Learner amp.Learner
	// HoldoutPercent puts users whose index modulo 100 is below it in the
	// holdout, as the service does with a hash.
	HoldoutPercent int
	// Record keeps every decision with its outcome in Log.
	Record bool
	Log    []*amp.LoggedDecision
	// MergeEvery is how many outcomes are learned before their population
	// deltas are merged, in one batch, as a store folding them in the
	// background does; 0 or 1 merges each at once. Learn meanwhile reads
	// the population as of the last merge.
	MergeEvery int
	deltas     [][]byte

	rng    *rand.Rand
	users  map[int]*agentUser
	pop    []byte
	now    time.Time
	tenant amp.Tenant
	seq    int
	phases phaseCounter
}

// Phases reports what the agent answered by profile phase.
func (a *LearnerAgent) Phases() []PhaseStats { return a.phases.stats() }

type agentUser struct {
	model    []byte
	outcomes int
}

type learnerTicket struct {
	d    *amp.Decision
	user *agentUser
	conf float64
}

func (a *LearnerAgent) confidence(ticket any) (float64, bool) {
	return ticket.(*learnerTicket).conf, true
}

// NewLearnerAgent returns an agent for l whose decisions draw from seed.
func NewLearnerAgent(l amp.Learner, seed uint64) *LearnerAgent {
	return &LearnerAgent{
		Learner: l,
		rng:     rand.New(rand.NewPCG(seed, 0x656e67696e65)),
		users:   make(map[int]*agentUser),
		now:     time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		tenant:  amp.Tenant{AccountID: "sim", Mode: amp.ModeTest},
	}
}

// Population returns the population state learned so far.
func (a *LearnerAgent) Population() []byte { return a.pop }

// UserState returns user i's state learned so far.
func (a *LearnerAgent) UserState(i int) []byte {
	if u := a.users[i]; u != nil {
		return u.model
	}
	return nil
}

// Decide implements Agent.
func (a *LearnerAgent) Decide(_ context.Context, it *Interaction) (amp.Recommendation, any, error) {
	u := a.users[it.User.Index]
	if u == nil {
		u = &agentUser{}
		a.users[it.User.Index] = u
	}
	holdout := it.User.Index%100 < a.HoldoutPercent
	a.now = a.now.Add(time.Minute)
	a.seq++
	ch, err := a.Learner.Decide(&amp.DecideInput{
		User:         u.model,
		Population:   a.pop,
		Interactions: u.outcomes,
		Context:      it.Context,
		Holdout:      holdout,
		Rand:         a.rng,
	})
	if err != nil {
		return amp.Recommendation{}, nil, err
	}
	a.phases.addChoice(amp.PhaseFor(u.outcomes), ch)
	taskType := it.Context.TaskType
	if taskType == "" {
		taskType = ch.TaskKind // as the service logs it
	}
	d := &amp.Decision{
		RequestID:      fmt.Sprintf("req_sim%d", a.seq),
		Tenant:         a.tenant,
		UserID:         fmt.Sprintf("user%d", it.User.Index),
		TaskType:       taskType,
		TaskComplexity: it.Context.Complexity,
		Recommendation: ch.Recommendation,
		Propensity:     ch.Propensity,
		Explored:       ch.Explored,
		Holdout:        holdout,
		Confidence:     ch.Confidence,
		Interactions:   u.outcomes,
		CreatedAt:      a.now,
	}
	return ch.Recommendation, &learnerTicket{d: d, user: u, conf: ch.Confidence}, nil
}

// Report implements Agent.
func (a *LearnerAgent) Report(_ context.Context, ticket any, o *amp.OutcomeRequest) error {
	t := ticket.(*learnerTicket)
	rec := outcomeRecord(t.d, o, a.now)
	l, err := a.Learner.Learn(&amp.LearnInput{
		User:       t.user.model,
		Population: a.pop,
		Decision:   t.d,
		Outcome:    rec,
		Now:        a.now,
	})
	if err != nil {
		return err
	}
	rec.Reward = l.Reward
	t.user.model = l.User
	t.user.outcomes++
	a.deltas = append(a.deltas, l.PopulationDelta)
	if len(a.deltas) >= a.MergeEvery {
		if err := a.flush(); err != nil {
			return err
		}
	}
	if a.Record {
		a.Log = append(a.Log, &amp.LoggedDecision{Decision: *t.d, Outcome: rec})
	}
	return nil
}

// flush merges the deltas learned since the last merge.
func (a *LearnerAgent) flush() error {
	if len(a.deltas) == 0 {
		return nil
	}
	pop, err := a.Learner.MergePopulation(a.pop, a.deltas)
	if err != nil {
		return err
	}
	a.pop, a.deltas = pop, a.deltas[:0]
	return nil
}

func outcomeRecord(d *amp.Decision, o *amp.OutcomeRequest, now time.Time) *amp.OutcomeRecord {
	return &amp.OutcomeRecord{
		RequestID:    d.RequestID,
		Tenant:       d.Tenant,
		UserID:       d.UserID,
		Started:      *o.Started,
		Completed:    o.Completed,
		TimeToStart:  o.TimeToStart,
		FlowState:    o.FlowState,
		Satisfaction: o.Satisfaction,
		ReportedAt:   now,
	}
}

// BaselineAgent is the plain per-user factorised Beta-Thompson baseline: for
// every user and dimension, a Beta(1,1) prior per option updated with the
// reward of the engine's recipe (learn.Reward) as a fractional success; each
// decision draws every option's Beta and takes the best per dimension. No
// population, no context, no forgetting.
type BaselineAgent struct {
	rng   *rand.Rand
	users map[int]*[numDims][numArms][2]float64
}

// NewBaselineAgent returns a baseline whose draws come from seed.
func NewBaselineAgent(seed uint64) *BaselineAgent {
	return &BaselineAgent{
		rng:   rand.New(rand.NewPCG(seed, 0x62617365)),
		users: make(map[int]*[numDims][numArms][2]float64),
	}
}

type baselineTicket struct {
	post *[numDims][numArms][2]float64
	arms [numDims]int
}

// Decide implements Agent.
func (b *BaselineAgent) Decide(_ context.Context, it *Interaction) (amp.Recommendation, any, error) {
	post := b.users[it.User.Index]
	if post == nil {
		post = new([numDims][numArms][2]float64)
		for d := range post {
			for a := range post[d] {
				post[d][a] = [2]float64{1, 1}
			}
		}
		b.users[it.User.Index] = post
	}
	var arms [numDims]int
	for d := range numDims {
		best := -1.0
		for a := range numArms {
			x := gamma(b.rng, post[d][a][0])
			y := gamma(b.rng, post[d][a][1])
			if v := x / (x + y); v > best {
				best, arms[d] = v, a
			}
		}
	}
	return recOf(arms), &baselineTicket{post: post, arms: arms}, nil
}

// Report implements Agent.
func (b *BaselineAgent) Report(_ context.Context, ticket any, o *amp.OutcomeRequest) error {
	t := ticket.(*baselineTicket)
	r := learn.Reward(&amp.OutcomeRecord{
		Started: *o.Started, Completed: o.Completed, TimeToStart: o.TimeToStart,
		FlowState: o.FlowState, Satisfaction: o.Satisfaction,
	})
	for d, a := range t.arms {
		t.post[d][a][0] += r
		t.post[d][a][1] += 1 - r
	}
	return nil
}

// UniformAgent recommends uniformly at random: its normalised score is 0 in
// expectation.
type UniformAgent struct{ rng *rand.Rand }

// NewUniformAgent returns a uniform agent drawing from seed.
func NewUniformAgent(seed uint64) *UniformAgent {
	return &UniformAgent{rng: rand.New(rand.NewPCG(seed, 0x756e69))}
}

// Decide implements Agent.
func (u *UniformAgent) Decide(context.Context, *Interaction) (amp.Recommendation, any, error) {
	return recOf([numDims]int{u.rng.IntN(numArms), u.rng.IntN(numArms), u.rng.IntN(numArms), u.rng.IntN(numArms)}), nil, nil
}

// Report implements Agent.
func (u *UniformAgent) Report(context.Context, any, *amp.OutcomeRequest) error { return nil }

// OracleAgent recommends what the user prefers: its normalised score is 1.
type OracleAgent struct{ Population *Population }

// Decide implements Agent.
func (o OracleAgent) Decide(_ context.Context, it *Interaction) (amp.Recommendation, any, error) {
	return o.Population.Best(it), nil, nil
}

// Report implements Agent.
func (o OracleAgent) Report(context.Context, any, *amp.OutcomeRequest) error { return nil }

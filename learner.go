package amp

import (
	"math/rand/v2"
	"time"
)

// Learner chooses recommendations and learns from outcomes. Implementations
// are pure: no I/O, no clock, no global randomness; everything comes in
// through the arguments, so a run is reproducible from its seed. User and
// population states are opaque bytes the learner encodes itself; storage
// keeps them and the service passes them back.
type Learner interface {
	// Decide chooses a recommendation for one context request.
	Decide(in *DecideInput) (*Choice, error)
	// Learn folds one outcome into the user's state. The population is
	// read, as the user's prior, but not changed: what the outcome teaches
	// it comes back as Learned.PopulationDelta, for MergePopulation.
	//
	// Concurrency: Learn is safe to call from many goroutines at once, and
	// its result is only as current as in.User. The service calls it on
	// the request's goroutine, outside any store transaction, and may call
	// it again for the same outcome when the user's state changed
	// meanwhile; the store keeps a user's outcomes from learning from the
	// same old state twice (see LearningStore.RecordOutcome). in.Population
	// is the population as last folded, which lags the outcomes by up to
	// the fold's period (a second or so).
	Learn(in *LearnInput) (*Learned, error)
	// MergePopulation folds deltas returned by Learn into a population
	// state and returns the new state. Deltas are independent of each
	// other and of the population they are merged into, so a store may
	// merge them later, in batches, from several instances, or again from
	// its outcome log after a crash. The service calls it from its
	// background fold (LearningStore.FoldPopulation), never on a request's
	// path; it is safe to call from many goroutines at once.
	//
	// Order: merging a set of deltas into a population must give the same
	// state, up to floating-point rounding, whatever their order and
	// however they are split into calls (the population is a commutative
	// sum of what the deltas carry). A learner states any exception; the
	// engine of internal/learn has one, which kinds of task hold their own
	// statistics once a tenant has used more than the engine keeps.
	// Merging the same delta twice counts it twice: a store merges each
	// delta once.
	MergePopulation(population []byte, deltas [][]byte) ([]byte, error)
	// ApplyPreferences folds manually set preferences into a user's state as
	// strong evidence that later outcomes can still overturn.
	ApplyPreferences(user, population []byte, prefs *Preferences) ([]byte, error)
	// Summarize describes a user's current model for the profile routes.
	Summarize(user, population []byte) (*ModelSummary, error)
}

// LearnContext is what a request tells about the situation of a decision.
type LearnContext struct {
	// Task is the request's task text. The learner reads it to place the
	// request among the kinds of task it knows and keeps nothing of it; the
	// service passes it and does not store it.
	Task       string
	TaskType   string // free text, as the integrator sent it
	Complexity TaskComplexity
	Hour       int // UTC hour of the request
}

// DecideInput is everything a decision may depend on.
type DecideInput struct {
	User         []byte // nil for a user without a model yet
	Population   []byte // nil for a tenant without a population yet
	Interactions int    // outcomes reported for the user so far
	Context      LearnContext
	Holdout      bool // the user is in the holdout: population default, no personalisation
	Rand         *rand.Rand
}

// Choice is a learner's decision.
type Choice struct {
	Recommendation Recommendation
	Propensity     float64 // probability of Recommendation under this policy, in (0, 1]
	Explored       bool    // not the model's current best guess
	Confidence     float64 // in [0, 1]; see the learner's documentation
	Rationale      string
	// TaskKind is the learner's name for the kind of task it read from the
	// context's task text and taskType, "" when it found none. The service
	// logs it as the decision's task type when the request sent none, so
	// that the outcome teaches the same kind.
	TaskKind string
	// Dimensions says, per adapted dimension (framing, style, handling,
	// encouragement), whether the option is not the model's best guess
	// and the posterior probability that it is the user's best.
	Dimensions [4]DimensionChoice
}

// DimensionChoice is what a Choice says about one dimension.
type DimensionChoice struct {
	Explored bool
	PBest    float64
}

// LearnInput is one outcome to learn from.
type LearnInput struct {
	User       []byte
	Population []byte
	Decision   *Decision
	Outcome    *OutcomeRecord
	Now        time.Time
}

// Learned is the result of Learn.
type Learned struct {
	User []byte
	// PopulationDelta is what the outcome teaches the tenant's population,
	// in the learner's own encoding; see Learner.MergePopulation.
	PopulationDelta []byte
	Reward          float64 // the learning signal derived from the outcome, in [0, 1]
}

// ModelSummary describes a user's model.
type ModelSummary struct {
	Preferred  Recommendation
	Confidence DimensionValues
	// Strengths is the estimated value of every option: dimension name
	// ("framing", "style", "complexity", "encouragement") → option → value
	// in [0, 1]. The dashboard charts it.
	Strengths map[string]map[string]float64
}

// DimensionValues holds one number per adapted dimension.
type DimensionValues struct {
	Framing       float64
	Style         float64
	Handling      float64
	Encouragement float64
}

package learn

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/amp-protocol/amp"
)

// Config tunes the engine. Zero fields take the defaults of DefaultConfig,
// which were tuned on simulated populations of internal/sim's personas
// family, seeds 1 to 30 (the last changes on seeds 1 to 4, realistic
// scenario); the project reports figures on other seeds and on the other
// families, which no default was tuned on.
type Config struct {
	// UserDiscount is the weight an outcome keeps per later outcome of the
	// same user: 0.97 halves its weight after 23 outcomes, so a user whose
	// taste changes is followed within tens of outcomes, while what the
	// population taught stays as the prior.
	UserDiscount float64
	// PopulationHalfLife is the age, in hours of wall-clock time between
	// the outcome and the latest outcome merged, at which an outcome
	// weighs half in the population (2,160: 90 days). The population
	// forgets by time rather than by count so that merging is
	// order-independent (see MergePopulation).
	PopulationHalfLife float64
	// NoiseVar is the variance of one reward around its expectation, used
	// until the population has estimated its own.
	NoiseVar float64
	// UserPrior is the population's weight, in outcomes, in a user's
	// estimate of an option's effect (σ²/τ², τ² the spread of users'
	// effects around the population's).
	UserPrior float64
	// FixedShrinkage keeps UserPrior for every tenant instead of
	// estimating it from the tenant's data (see Engine.userPrior); for
	// ablations.
	FixedShrinkage bool
	// LevelPrior is the population's weight, in outcomes, in a user's
	// reward level (what the user's outcomes are worth whatever is
	// recommended). A user's run of failures with the usual options is
	// blamed on the user's level or on the options in proportion to this
	// weight and UserPrior.
	LevelPrior float64
	// ContextPrior is the weight, in outcomes, of "no deviation" in a
	// user's own deviation for one task type or request complexity.
	ContextPrior float64
	// PopulationContextPrior is the same for the population's offsets of
	// one task type or request complexity.
	PopulationContextPrior float64
	// Temper scales the posterior's standard deviations in the policy;
	// below 1 it is greedier than probability matching, which
	// over-explores when a population prior is already informative.
	Temper float64
	// PopulationTemper scales, the same way, the part of the posterior's
	// spread that is the population's own uncertainty: exploration shared
	// across users, which teaches every later user.
	PopulationTemper float64
	// Floor is the share of each dimension's choices spread uniformly over
	// its options, so every joint recommendation keeps a propensity of at
	// least (Floor/4)^4 and offline evaluation of any policy stays possible.
	Floor float64
	// ManualWeight is the weight, in outcomes, of a preference set through
	// PUT /v1/profile; ManualMargin is how much better than the best other
	// option it is assumed to be, in reward.
	ManualWeight float64
	ManualMargin float64
	// Covariance scales the correlations of users' effects the population
	// estimated (see Engine.correlations) in a user's prior: 0 takes the
	// default, below 0 ignores them (a prior independent per option).
	Covariance float64

	// Ablations: each turns one part of the engine back to what it was
	// before, to measure what the part adds (docs/learning.md).
	//
	// ExactTaskTypes keys contexts by the trimmed, lower-cased taskType and
	// ignores the task text, instead of mapping both onto task kinds.
	ExactTaskTypes bool
	// LegacyReward learns from the earlier reward recipe, 0.20·started +
	// 0.45·completed + 0.10·flowState + 0.15·satisfaction + 0.10·speed,
	// instead of Reward's.
	LegacyReward bool
}

// DefaultConfig returns the tuned defaults.
func DefaultConfig() Config {
	return Config{
		UserDiscount:           0.97,
		PopulationHalfLife:     90 * 24,
		NoiseVar:               0.08,
		LevelPrior:             10,
		UserPrior:              8,
		ContextPrior:           15,
		PopulationContextPrior: 20,
		Temper:                 0.08,
		PopulationTemper:       1,
		Floor:                  0.02,
		ManualWeight:           10,
		ManualMargin:           0.1,
		Covariance:             1,
	}
}

func (c Config) withDefaults() Config {
	d := DefaultConfig()
	set := func(v *float64, def float64) {
		if *v <= 0 || math.IsNaN(*v) {
			*v = def
		}
	}
	set(&c.UserDiscount, d.UserDiscount)
	set(&c.PopulationHalfLife, d.PopulationHalfLife)
	set(&c.NoiseVar, d.NoiseVar)
	set(&c.LevelPrior, d.LevelPrior)
	set(&c.UserPrior, d.UserPrior)
	set(&c.ContextPrior, d.ContextPrior)
	set(&c.PopulationContextPrior, d.PopulationContextPrior)
	set(&c.Temper, d.Temper)
	set(&c.PopulationTemper, d.PopulationTemper)
	set(&c.Floor, d.Floor)
	set(&c.ManualWeight, d.ManualWeight)
	set(&c.ManualMargin, d.ManualMargin)
	if c.Covariance == 0 || math.IsNaN(c.Covariance) {
		c.Covariance = d.Covariance
	}
	c.UserDiscount = math.Min(c.UserDiscount, 1)
	c.Floor = math.Min(c.Floor, 1)
	return c
}

// Engine is the learning engine. It is safe for concurrent use: it holds
// only its configuration.
type Engine struct {
	cfg Config
}

var _ amp.Learner = (*Engine)(nil)

// New returns an engine with cfg; zero fields take their defaults.
func New(cfg Config) *Engine {
	return &Engine{cfg: cfg.withDefaults()}
}

// ---- the amp.Learner interface ----

var errNoRand = errors.New("learn: Decide needs a random source")

// Decide chooses a recommendation for one context request. See the package
// documentation for the model, the policy and the meaning of the Choice's
// fields. in.Rand is required; in.Interactions and in.Context.Hour do not
// change the choice (the engine keeps its own discounted counts, and
// time-of-day patterns are reported from the stored outcomes). A holdout
// request ignores the user's state: it gets the population default.
func (e *Engine) Decide(in *amp.DecideInput) (*amp.Choice, error) {
	if in.Rand == nil {
		return nil, errNoRand
	}
	var est estimate
	kind, err := e.estimateInput(in, &est)
	if err != nil {
		return nil, err
	}
	var pol policy
	e.policyFor(&est, &pol)
	var arms [numDims]int
	prop, conf := 1.0, 0.0
	explored := false
	ch := &amp.Choice{TaskKind: kind}
	for d := range numDims {
		a := sample(&pol.prob[d], in.Rand.Float64())
		arms[d] = a
		prop *= pol.prob[d][a]
		conf += confidence(&est, &pol, d, a)
		explored = explored || a != pol.best[d]
		ch.Dimensions[d] = amp.DimensionChoice{Explored: a != pol.best[d], PBest: pol.pbest[d][a]}
	}
	ch.Recommendation = recommendation(arms)
	ch.Propensity = prop
	ch.Explored = explored
	ch.Confidence = conf / numDims
	ch.Rationale = rationale(&est, &pol, arms, explored, kind, in.Context.Complexity)
	return ch, nil
}

// Probability returns the probability that Decide, given in, recommends
// rec: the policy's exact propensity of any joint recommendation. Offline
// evaluation uses it to score the engine on logged decisions.
func (e *Engine) Probability(in *amp.DecideInput, rec amp.Recommendation) (float64, error) {
	arms, err := armsOf(rec)
	if err != nil {
		return 0, err
	}
	var est estimate
	if _, err := e.estimateInput(in, &est); err != nil {
		return 0, err
	}
	var pol policy
	e.policyFor(&est, &pol)
	p := 1.0
	for d := range numDims {
		p *= pol.prob[d][arms[d]]
	}
	return p, nil
}

// Distribution returns the policy's probabilities of each option, per
// dimension, for in: [dimension][option] in the order of amp.Framings,
// amp.Styles, amp.Handlings and amp.Encouragements. Each row sums to 1, and
// a joint recommendation's probability is the product of its options'.
func (e *Engine) Distribution(in *amp.DecideInput) ([4][4]float64, error) {
	var est estimate
	if _, err := e.estimateInput(in, &est); err != nil {
		return [4][4]float64{}, err
	}
	var pol policy
	e.policyFor(&est, &pol)
	return pol.prob, nil
}

// estimateInput computes the estimate for in's context and returns the
// task kind it read from the context.
func (e *Engine) estimateInput(in *amp.DecideInput, est *estimate) (string, error) {
	tk := e.kind(in.Context.TaskType, in.Context.Task)
	cx := complexityIndex(in.Context.Complexity)
	p, err := decodePopulation(in.Population, &tk)
	if err != nil {
		return "", fmt.Errorf("population: %w", err)
	}
	var u *userState
	if !in.Holdout {
		if u, err = decodeUser(in.User, &tk); err != nil {
			return "", fmt.Errorf("user: %w", err)
		}
	}
	e.estimateFor(u, p, tk, cx, est)
	return tk, nil
}

func sample(p *[numArms]float64, x float64) int {
	for a := range numArms - 1 {
		if x < p[a] {
			return a
		}
		x -= p[a]
	}
	return numArms - 1
}

func recommendation(arms [numDims]int) amp.Recommendation { return amp.Options(arms).Recommendation() }

func armsOf(r amp.Recommendation) ([numDims]int, error) {
	o, err := r.Options()
	if err != nil {
		return [numDims]int(o), fmt.Errorf("learn: %w", err)
	}
	return [numDims]int(o), nil
}

// kind is the context key of a request: its task kind, or with
// ExactTaskTypes its normalised taskType.
func (e *Engine) kind(taskType, task string) string {
	if e.cfg.ExactTaskTypes {
		return capKey(strings.ToLower(strings.TrimSpace(taskType)))
	}
	return kindOf(taskType, task)
}

// ApplyPreferences folds manual preferences into the user's state. Each set
// dimension's option becomes, for this user, ManualMargin better than the
// best other option in every context, with the weight of the population's
// prior plus ManualWeight pseudo-outcomes: it outweighs what the user and
// similar users taught so far. The pseudo-outcomes decay like real ones,
// and the user's outcomes with the option weigh against the prior, so a
// preference the user's behaviour contradicts is overturned. Setting a
// dimension again replaces its earlier preference; population is unused.
func (e *Engine) ApplyPreferences(user, population []byte, prefs *amp.Preferences) ([]byte, error) {
	u, err := decodeUser(user, nil)
	if err != nil {
		return nil, fmt.Errorf("user: %w", err)
	}
	if _, err := decodePopulation(population, nil); err != nil {
		return nil, fmt.Errorf("population: %w", err)
	}
	set := [numDims]int{
		slices.Index(amp.Framings, prefs.Framing),
		slices.Index(amp.Styles, prefs.Style),
		slices.Index(amp.Handlings, prefs.Handling),
		slices.Index(amp.Encouragements, prefs.Encouragement),
	}
	for d, a := range set {
		if a >= 0 {
			u.Manual[d] = manualPref{Arm: int8(a), Weight: e.cfg.ManualWeight, Margin: math.Min(1, e.cfg.ManualMargin), Seq: u.Seq}
		}
	}
	return u.encode(), nil
}

// Summarize describes the user's model outside any context: the option
// with the highest estimated effect per dimension, the posterior
// probability that it is the best (the per-dimension confidence), and each
// option's estimated expected reward as its strength.
func (e *Engine) Summarize(user, population []byte) (*amp.ModelSummary, error) {
	u, err := decodeUser(user, nil)
	if err != nil {
		return nil, fmt.Errorf("user: %w", err)
	}
	p, err := decodePopulation(population, nil)
	if err != nil {
		return nil, fmt.Errorf("population: %w", err)
	}
	var est estimate
	e.estimateFor(u, p, "", -1, &est)
	var pol policy
	e.policyFor(&est, &pol)
	s := &amp.ModelSummary{
		Preferred: recommendation(pol.best),
		Confidence: amp.DimensionValues{
			Framing:       confidence(&est, &pol, dimFraming, pol.best[dimFraming]),
			Style:         confidence(&est, &pol, dimStyle, pol.best[dimStyle]),
			Handling:      confidence(&est, &pol, dimHandling, pol.best[dimHandling]),
			Encouragement: confidence(&est, &pol, dimEncouragement, pol.best[dimEncouragement]),
		},
		Strengths: make(map[string]map[string]float64, numDims),
	}
	for d := range numDims {
		m := make(map[string]float64, numArms)
		for a := range numArms {
			m[optionName(d, a)] = clamp01(est.userLevel + est.mean[d][a])
		}
		s.Strengths[dimNames[d]] = m
	}
	return s, nil
}

var dimNames = [numDims]string{"framing", "style", "complexity", "encouragement"}

func optionName(d, a int) string {
	switch d {
	case dimFraming:
		return string(amp.Framings[a])
	case dimStyle:
		return string(amp.Styles[a])
	case dimHandling:
		return string(amp.Handlings[a])
	}
	return string(amp.Encouragements[a])
}

package learn

import (
	"math"

	"github.com/amp-protocol/amp"
)

// The reward recipe: the learning signal of one outcome is a weighted sum of
// its five fields, each mapped into [0, 1]. Satisfaction and time-to-start
// are graded, so each report says more about how well the options suited
// the user than a binary start or completion does; they carry most weight.
// Re-weighting from started 0.20, completed 0.45, flow 0.10, satisfaction
// 0.15, speed 0.10 to these gained on the simulated populations it was
// tried on (docs/learning.md) and keeps completion a quarter of the
// signal.
const (
	WeightStarted      = 0.10
	WeightCompleted    = 0.25
	WeightFlow         = 0.05
	WeightSatisfaction = 0.35
	WeightSpeed        = 0.25

	// SpeedHalfLife is the timeToStart, in seconds, worth half the speed
	// weight: speed = 0.5^(timeToStart/120). Starting at once scores 1,
	// after two minutes 0.5, after ten minutes 0.03.
	SpeedHalfLife = 120.0
)

// Defaults for fields a report leaves out, after the user started. They are
// neutral guesses, so an integrator that never sends a field gets a reward
// that only shifts by a constant and ranks options the same way; one that
// sends a field only sometimes gets a reward in between.
const (
	defaultCompleted    = 0.5
	defaultFlow         = 0.25 // flow is the exception rather than the rule
	defaultSatisfaction = 0.5
	defaultSpeed        = 0.5 // as if the user started after SpeedHalfLife
)

// Reward maps an outcome onto the learning signal in [0, 1]:
//
//	reward = 0.10·started + 0.25·completed + 0.05·flowState
//	       + 0.35·satisfaction + 0.25·0.5^(timeToStart/120 s)
//
// A user who did not start completed nothing, was not in flow and started
// no time at all: those fields count 0 whatever was reported, and a missing
// satisfaction counts 0 too. After a start, a missing field takes a neutral
// default: completed 0.5, flowState 0.25, satisfaction 0.5, timeToStart as if
// 120 s.
func Reward(o *amp.OutcomeRecord) float64 {
	if !o.Started {
		if o.Satisfaction != nil {
			return WeightSatisfaction * clamp01(*o.Satisfaction)
		}
		return 0
	}
	r := WeightStarted
	r += WeightCompleted * boolOr(o.Completed, defaultCompleted)
	r += WeightFlow * boolOr(o.FlowState, defaultFlow)
	if o.Satisfaction != nil {
		r += WeightSatisfaction * clamp01(*o.Satisfaction)
	} else {
		r += WeightSatisfaction * defaultSatisfaction
	}
	if o.TimeToStart != nil && !math.IsNaN(*o.TimeToStart) {
		r += WeightSpeed * math.Exp2(-math.Max(0, *o.TimeToStart)/SpeedHalfLife)
	} else {
		r += WeightSpeed * defaultSpeed
	}
	return clamp01(r)
}

// success is the binary outcome the rationale quotes: completion when it
// was reported, otherwise whether the user started.
func success(o *amp.OutcomeRecord) (ok, completionKnown bool) {
	if !o.Started {
		return false, true
	}
	if o.Completed != nil {
		return *o.Completed, true
	}
	return true, false
}

func boolOr(b *bool, def float64) float64 {
	if b == nil {
		return def
	}
	if *b {
		return 1
	}
	return 0
}

func clamp01(x float64) float64 {
	switch {
	case math.IsNaN(x) || x < 0:
		return 0
	case x > 1:
		return 1
	}
	return x
}

// legacyReward is the recipe Reward replaced, kept for Config.LegacyReward:
// the same fields and defaults with the weights 0.20, 0.45, 0.10, 0.15 and
// 0.10.
func legacyReward(o *amp.OutcomeRecord) float64 {
	if !o.Started {
		if o.Satisfaction != nil {
			return 0.15 * clamp01(*o.Satisfaction)
		}
		return 0
	}
	r := 0.20 + 0.45*boolOr(o.Completed, defaultCompleted) + 0.10*boolOr(o.FlowState, defaultFlow)
	if o.Satisfaction != nil {
		r += 0.15 * clamp01(*o.Satisfaction)
	} else {
		r += 0.15 * defaultSatisfaction
	}
	if o.TimeToStart != nil && !math.IsNaN(*o.TimeToStart) {
		r += 0.10 * math.Exp2(-math.Max(0, *o.TimeToStart)/SpeedHalfLife)
	} else {
		r += 0.10 * defaultSpeed
	}
	return clamp01(r)
}

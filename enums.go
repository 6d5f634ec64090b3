package amp

import "slices"

// Mode separates test data from live data. Every stored row belongs to one
// account and one mode, and no request in one mode can see the other.
type Mode string

const (
	ModeTest Mode = "test"
	ModeLive Mode = "live"
)

// Valid reports whether m is a known mode.
func (m Mode) Valid() bool { return m == ModeTest || m == ModeLive }

// Framing is how a task is presented to the user (FramingType in the docs).
type Framing string

const (
	FramingAchievement Framing = "achievement"
	FramingLearning    Framing = "learning"
	FramingMicroTask   Framing = "micro_task"
	FramingChallenge   Framing = "challenge"
)

// Framings lists every framing in a fixed order; learners index arms by it.
var Framings = []Framing{FramingAchievement, FramingLearning, FramingMicroTask, FramingChallenge}

// Valid reports whether f is a documented framing.
func (f Framing) Valid() bool { return slices.Contains(Framings, f) }

// Style is how to communicate with the user (CommunicationStyle in the docs).
type Style string

const (
	StyleBriefDirective      Style = "brief_directive"
	StyleDetailedExplanatory Style = "detailed_explanatory"
	StyleConversational      Style = "conversational"
	StyleTechnical           Style = "technical"
)

// Styles lists every communication style in a fixed order.
var Styles = []Style{StyleBriefDirective, StyleDetailedExplanatory, StyleConversational, StyleTechnical}

// Valid reports whether s is a documented communication style.
func (s Style) Valid() bool { return slices.Contains(Styles, s) }

// Handling is how much of a task's complexity to hand the user at once
// (ComplexityLevel in the docs; the output `complexity` of a context).
type Handling string

const (
	HandlingFullSolution   Handling = "full_solution"
	HandlingBreakIntoSteps Handling = "break_into_steps"
	HandlingHintsOnly      Handling = "hints_only"
	HandlingHighLevel      Handling = "high_level"
)

// Handlings lists every complexity handling in a fixed order.
var Handlings = []Handling{HandlingFullSolution, HandlingBreakIntoSteps, HandlingHintsOnly, HandlingHighLevel}

// Valid reports whether h is a documented complexity handling.
func (h Handling) Valid() bool { return slices.Contains(Handlings, h) }

// Encouragement is the amount of positivity in a response.
type Encouragement string

const (
	EncouragementHigh     Encouragement = "high"
	EncouragementModerate Encouragement = "moderate"
	EncouragementMinimal  Encouragement = "minimal"
	EncouragementNone     Encouragement = "none"
)

// Encouragements lists every encouragement level in a fixed order.
var Encouragements = []Encouragement{EncouragementHigh, EncouragementModerate, EncouragementMinimal, EncouragementNone}

// Valid reports whether e is a documented encouragement level.
func (e Encouragement) Valid() bool { return slices.Contains(Encouragements, e) }

// TaskComplexity is the caller's hint about a task's difficulty: the
// `complexity` field of a context request, distinct from Handling.
type TaskComplexity string

const (
	TaskComplexityLow    TaskComplexity = "low"
	TaskComplexityMedium TaskComplexity = "medium"
	TaskComplexityHigh   TaskComplexity = "high"
)

// TaskComplexities lists every request complexity in a fixed order.
var TaskComplexities = []TaskComplexity{TaskComplexityLow, TaskComplexityMedium, TaskComplexityHigh}

// Valid reports whether c is a documented request complexity. The empty
// value means "not given" and is valid.
func (c TaskComplexity) Valid() bool { return c == "" || slices.Contains(TaskComplexities, c) }

// Phase is the maturity of a user's profile.
type Phase string

const (
	PhaseColdStart Phase = "cold_start"
	PhaseLearning  Phase = "learning"
	PhaseOptimised Phase = "optimised"
)

// PhaseFor returns the phase of a profile with n reported outcomes:
// cold_start below 5, learning from 5 to 19, optimised from 20
// (docs/api.md#profiles-and-phases).
func PhaseFor(n int) Phase {
	switch {
	case n < 5:
		return PhaseColdStart
	case n < 20:
		return PhaseLearning
	default:
		return PhaseOptimised
	}
}

// Scope is a permission carried by an API key.
type Scope string

const (
	ScopeContext       Scope = "context"
	ScopeOutcome       Scope = "outcome"
	ScopeProfilesRead  Scope = "profiles:read"
	ScopeProfilesWrite Scope = "profiles:write"
)

// AllScopes is the default scope set of a new key.
var AllScopes = []Scope{ScopeContext, ScopeOutcome, ScopeProfilesRead, ScopeProfilesWrite}

// Valid reports whether s is a known scope.
func (s Scope) Valid() bool { return slices.Contains(AllScopes, s) }

// Plan is an account's billing plan; it sets the rate limit and the
// monthly live quota (docs/api.md#plans-and-limits).
type Plan string

const (
	PlanStarter    Plan = "starter"
	PlanPro        Plan = "pro"
	PlanEnterprise Plan = "enterprise"
)

// Valid reports whether p is a known plan.
func (p Plan) Valid() bool { return p == PlanStarter || p == PlanPro || p == PlanEnterprise }

// DefaultEnterpriseRate is the requests/second of an enterprise account that
// has no custom rate.
const DefaultEnterpriseRate = 1000

// Rate returns the requests/second the plan allows per account and mode.
// custom overrides it for enterprise accounts when positive.
func (p Plan) Rate(custom int) int {
	switch p {
	case PlanPro:
		return 100
	case PlanEnterprise:
		if custom > 0 {
			return custom
		}
		return DefaultEnterpriseRate
	default:
		return 10
	}
}

// MonthlyQuota returns the number of live requests the plan allows per UTC
// month; 0 means unlimited.
func (p Plan) MonthlyQuota() int64 {
	switch p {
	case PlanPro:
		return 1_000_000
	case PlanEnterprise:
		return 0
	default:
		return 100_000
	}
}

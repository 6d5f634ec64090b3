package sim

import (
	"fmt"
	"math/rand/v2"
)

// Arrival is how users arrive.
type Arrival string

const (
	// ArrivalStaggered: users arrive at random times over the span of one
	// user's interactions, so early users meet an empty population and
	// later ones a trained one.
	ArrivalStaggered Arrival = "staggered"
	// ArrivalLaunch: every user is new at once, on an empty population.
	ArrivalLaunch Arrival = "launch"
)

// Arrivals lists the arrival patterns in the order amp simulate reports
// them.
var Arrivals = []Arrival{ArrivalLaunch, ArrivalStaggered}

// Scenario is how an integration uses AMP: what its agents send and how
// they report, on top of a population's family and its users' arrival.
type Scenario struct {
	Family  Family  `json:"family"`
	Arrival Arrival `json:"arrival"`
	Drift   bool    `json:"drift"`
	// TaskTypeShare is the share of requests that send their taskType;
	// every request sends its task text.
	TaskTypeShare float64 `json:"taskTypeShare"`
	// ReportShare is the share of contexts whose outcome is ever reported.
	ReportShare float64 `json:"reportShare"`
	// MaxLate: a reported outcome arrives after 0 to MaxLate (uniformly) of
	// the same user's next contexts, so several of a user's contexts are in
	// flight at once and outcomes come out of order with decisions.
	MaxLate int `json:"maxLate"`
	// MergeEvery is how many outcomes the in-process engine learns before
	// their population deltas are merged, as a store that folds them in
	// the background does; 0 or 1 merges each at once.
	MergeEvery int `json:"mergeEvery"`
}

// Ideal is the scenario of an integration that sends every task type and
// reports every outcome at once.
func Ideal(f Family, a Arrival) Scenario {
	return Scenario{Family: f, Arrival: a, TaskTypeShare: 1, ReportShare: 1}
}

// Realistic is the scenario agents make in practice: task text with a
// taskType only half the time, 60% of outcomes ever reported, each after
// the user's next 0 to 2 contexts, and the population's deltas merged in
// batches of 25.
func Realistic(f Family, a Arrival) Scenario {
	return Scenario{Family: f, Arrival: a, TaskTypeShare: 0.5, ReportShare: 0.6, MaxLate: 2, MergeEvery: 25}
}

func (sc Scenario) withDefaults() Scenario {
	if sc.Family == "" {
		sc.Family = FamilyPersonas
	}
	if sc.Arrival == "" {
		sc.Arrival = ArrivalStaggered
	}
	sc.TaskTypeShare = clamp(sc.TaskTypeShare, 0, 1)
	sc.ReportShare = clamp(sc.ReportShare, 0, 1)
	sc.MaxLate = max(0, sc.MaxLate)
	sc.MergeEvery = max(1, sc.MergeEvery)
	return sc
}

func clamp(x, lo, hi float64) float64 { return max(lo, min(hi, x)) }

// topic is a kind of task the simulator writes requests about: its name
// in each family's vocabulary of task types and the text agents send.
type topic struct {
	names     [3]string // as FamilyPersonas, FamilyTaste and FamilyContextual name it
	templates []string  // %s takes an object
	objects   []string
}

// topics are the kinds of task simulated populations work on. The task
// types are named differently in each family, as different integrators
// name them, and the texts are written as users write requests: many do
// not contain the task type's word at all.
var topics = []topic{
	{[3]string{"coding", "implement", "Feature development"},
		[]string{"Implement %s", "Add %s to the app", "Write the code for %s", "Build %s behind a feature flag", "Refactor %s into smaller functions", "Create an endpoint for %s"},
		[]string{"the export button", "user invitations", "a CSV importer", "the retry logic", "dark mode", "the billing page"}},
	{[3]string{"debugging", "debug", "Bug fixing"},
		[]string{"Fix the crash in %s", "Debug why %s fails on Safari", "%s throws a null pointer exception", "Track down the memory leak in %s", "The tests for %s are flaky, find out why", "%s returns a 500 error since the last deploy"},
		[]string{"the login form", "the payment service", "the sync job", "the upload handler", "the search page", "the notification worker"}},
	{[3]string{"writing", "write_docs", "Writing documentation"},
		[]string{"Write a blog post about %s", "Draft the release notes for %s", "Write the README section on %s", "Edit my essay on %s", "Write an email announcing %s", "Proofread the article about %s"},
		[]string{"our new pricing", "the migration", "remote work", "the onboarding flow", "version 2.0", "climate policy"}},
	{[3]string{"research", "investigate", "Market research"},
		[]string{"Research %s", "Compare the options for %s", "Find sources on %s", "Survey what competitors do about %s", "Summarise the literature on %s", "Look into %s and report back"},
		[]string{"vector databases", "EU data residency", "pricing models", "battery recycling", "open-source licences", "churn benchmarks"}},
	{[3]string{"learning", "study", "Learning a topic"},
		[]string{"Teach me %s", "Help me understand %s", "Explain %s step by step", "I want to learn %s this week", "Quiz me on %s", "Walk me through a tutorial on %s"},
		[]string{"Rust lifetimes", "linear regression", "Kubernetes networking", "music theory", "SQL window functions", "Bayesian statistics"}},
	{[3]string{"review", "code-review", "Reviewing"},
		[]string{"Review %s", "Give feedback on %s", "Check %s for problems", "Audit %s before we merge", "Critique %s", "Look over %s and suggest improvements"},
		[]string{"my pull request", "the API design", "this contract draft", "the onboarding copy", "the test plan", "the pitch deck"}},
	{[3]string{"planning", "plan", "Project planning"},
		[]string{"Plan %s", "Make a schedule for %s", "Break %s into milestones", "Organise %s", "Prioritise the backlog for %s", "Draw up a roadmap for %s"},
		[]string{"the Q3 launch", "my thesis", "the office move", "the conference trip", "the database migration", "next sprint"}},
	{[3]string{"data_analysis", "analyze_data", "Data analysis"},
		[]string{"Analyse %s", "Make a chart of %s", "Find trends in %s", "Run a regression on %s", "Clean up the dataset of %s", "Compute summary statistics for %s"},
		[]string{"last month's sales", "the survey results", "user retention", "sensor readings", "the A/B test", "support tickets"}},
}

// genericTasks are requests that say nothing of their kind.
var genericTasks = []string{
	"Help me with the next item on my list", "Can you take care of this for me?", "Continue where we left off",
	"I need to get this done before lunch", "Next task please", "Let's do the thing we talked about",
}

func familyTaskNames(f Family) []string {
	i := 0
	switch f {
	case FamilyTaste:
		i = 1
	case FamilyContextual:
		i = 2
	}
	out := make([]string, len(topics))
	for t := range topics {
		out[t] = topics[t].names[i]
	}
	return out
}

// topicOf returns the topic of a population's task type.
func topicOf(name string) *topic {
	for t := range topics {
		for _, n := range topics[t].names {
			if n == name {
				return &topics[t]
			}
		}
	}
	return nil
}

// taskTextFor writes the text of a request on the task type name ("" for
// none) from rng.
func taskTextFor(name string, rng *rand.Rand) string {
	tp := topicOf(name)
	if tp == nil {
		return genericTasks[rng.IntN(len(genericTasks))]
	}
	return fmt.Sprintf(tp.templates[rng.IntN(len(tp.templates))], tp.objects[rng.IntN(len(tp.objects))])
}

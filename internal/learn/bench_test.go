package learn_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/internal/learn"
)

// benchStates returns a user with evidence in three task types and every
// complexity, and a population with the maximum number of task types: the
// largest states Decide and Learn work on.
func benchStates(b *testing.B) (user, pop []byte) {
	b.Helper()
	w := newWorld(11)
	cx := []amp.TaskComplexity{amp.TaskComplexityLow, amp.TaskComplexityMedium, amp.TaskComplexityHigh}
	for i := range 2000 {
		u := fmt.Sprintf("u%d", i%50)
		// 13 task types of 60 characters, and the user's 3: the population
		// holds its maximum of 16.
		ctx := amp.LearnContext{TaskType: fmt.Sprintf("%060d", i%(learn.MaxPopulationTaskTypes-3)), Complexity: cx[i%3]}
		if u == "u0" {
			ctx.TaskType = []string{"debugging", "writing", "review"}[i%3]
		}
		w.step(b, u, ctx, func(amp.Recommendation) bool { return i%3 != 0 })
	}
	return w.users["u0"], w.pop
}

func BenchmarkDecide(b *testing.B) {
	benchmarkDecide(b, amp.LearnContext{TaskType: "debugging", Complexity: amp.TaskComplexityHigh})
}

// BenchmarkDecideText reads the kind from a task text of 64 words, the
// most kindOf reads.
func BenchmarkDecideText(b *testing.B) {
	text := "The checkout page of our web shop crashes with a null pointer exception when a returning customer applies a discount code; "
	for len(text) < 800 {
		text += "please fix the crash and explain what went wrong, "
	}
	benchmarkDecide(b, amp.LearnContext{Task: text, Complexity: amp.TaskComplexityHigh})
}

func benchmarkDecide(b *testing.B, ctx amp.LearnContext) {
	user, pop := benchStates(b)
	e := learn.New(learn.Config{})
	in := &amp.DecideInput{
		User: user, Population: pop, Interactions: 40,
		Context: ctx,
		Rand:    rand.New(rand.NewPCG(1, 1)),
	}
	b.ReportAllocs()
	b.ReportMetric(float64(len(user)), "user-bytes")
	b.ReportMetric(float64(len(pop)), "population-bytes")
	for b.Loop() {
		if _, err := e.Decide(in); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLearn(b *testing.B) { benchmarkLearn(b, "debugging") }

// BenchmarkLearnNewTaskType measures the rarer outcome whose task kind the
// user does not hold yet: it evicts the user's least recent kind.
func BenchmarkLearnNewTaskType(b *testing.B) { benchmarkLearn(b, "a-task-type-never-seen") }

func benchmarkLearn(b *testing.B, taskType string) {
	user, pop := benchStates(b)
	e := learn.New(learn.Config{})
	ok := true
	in := &amp.LearnInput{
		User: user, Population: pop,
		Decision: &amp.Decision{TaskType: taskType, TaskComplexity: amp.TaskComplexityHigh,
			Recommendation: amp.Recommendation{Framing: amp.FramingMicroTask, Style: amp.StyleTechnical,
				Handling: amp.HandlingHintsOnly, Encouragement: amp.EncouragementModerate}},
		Outcome: &amp.OutcomeRecord{Started: true, Completed: &ok},
	}
	b.ReportAllocs()
	b.ReportMetric(float64(len(pop)), "population-bytes")
	for b.Loop() {
		if _, err := e.Learn(in); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMergePopulation folds a batch of 100 deltas into the largest
// population, as the store's background fold does; the figure is per
// batch.
func BenchmarkMergePopulation(b *testing.B) {
	user, pop := benchStates(b)
	e := learn.New(learn.Config{})
	ok := true
	var deltas [][]byte
	for i := range 100 {
		l, err := e.Learn(&amp.LearnInput{User: user, Population: pop,
			Decision: &amp.Decision{TaskType: fmt.Sprintf("%060d", i%(learn.MaxPopulationTaskTypes-3)), TaskComplexity: amp.TaskComplexityLow,
				Recommendation: amp.Recommendation{Framing: amp.FramingMicroTask, Style: amp.StyleTechnical,
					Handling: amp.HandlingHintsOnly, Encouragement: amp.EncouragementModerate}},
			Outcome: &amp.OutcomeRecord{Started: true, Completed: &ok}})
		if err != nil {
			b.Fatal(err)
		}
		deltas = append(deltas, l.PopulationDelta)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.MergePopulation(pop, deltas); err != nil {
			b.Fatal(err)
		}
	}
}

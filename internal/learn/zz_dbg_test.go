package learn

import (
	"fmt"
	"testing"

	"github.com/amp-protocol/amp"
)

func TestDbgFit(t *testing.T) {
	e := New(Config{})
	var user, pop []byte
	ok := true
	rec := amp.Recommendation{Framing: amp.FramingMicroTask, Style: amp.StyleBriefDirective, Handling: amp.HandlingBreakIntoSteps, Encouragement: amp.EncouragementModerate}
	for i := range 30 {
		l, err := e.Learn(&amp.LearnInput{User: user, Population: pop, Decision: &amp.Decision{TaskType: "debugging", Recommendation: rec}, Outcome: &amp.OutcomeRecord{Started: true, Completed: &ok}})
		if err != nil {
			t.Fatal(err)
		}
		user, pop = l.User, l.Population
		if i == 0 || i == 29 {
			u, _ := decodeUser(user, nil)
			p, _ := decodePopulation(pop, nil)
			var est estimate
			e.estimateFor(u, p, "debugging", -1, &est)
			fmt.Printf("i=%d popLevel %.3f userLevel %.3f ctxOff %.3f\n ep %.3f\n eu %.3f\n ctx %.3f\n mean %.3f\n vr %.4f\n", i, est.popLevel, est.userLevel, est.ctxOffset, est.ep, est.eu, est.ctxEff, est.mean, est.vr)
		}
	}
}

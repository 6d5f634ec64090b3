package amp_test

import (
	"strings"
	"testing"

	"github.com/amp-protocol/amp"
)

// TestSystemPrompt pins the documented wording, which the TypeScript and
// Python helpers repeat: a change here must be made there too.
func TestSystemPrompt(t *testing.T) {
	c := &amp.Context{
		RequestID: "req_123",
		Recommendation: amp.Recommendation{
			Framing: amp.FramingMicroTask, Style: amp.StyleBriefDirective,
			Handling: amp.HandlingBreakIntoSteps, Encouragement: amp.EncouragementModerate,
		},
		Rationale: "Similar users finish more often with small steps.",
	}
	want := `Adapt how you present this task to the user (AMP request req_123):
- Frame the task as a series of small, quick steps, and start with the first one.
- Be brief and directive: short sentences and clear next actions.
- Break the work into numbered steps.
- Encourage the user now and then.
Why: Similar users finish more often with small steps.`
	if got := amp.SystemPrompt(c); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	c.Framing, c.Rationale = "storytelling", " "
	if got := amp.SystemPrompt(c); got != `Adapt how you present this task to the user (AMP request req_123):
- Framing: storytelling.
- Be brief and directive: short sentences and clear next actions.
- Break the work into numbered steps.
- Encourage the user now and then.` {
		t.Errorf("an unknown framing and a blank rationale: got\n%s", got)
	}
	// Every documented value has a sentence of its own.
	for i := range 4 {
		c.Recommendation = amp.Recommendation{Framing: amp.Framings[i], Style: amp.Styles[i], Handling: amp.Handlings[i], Encouragement: amp.Encouragements[i]}
		got := amp.SystemPrompt(c)
		for _, generic := range []string{"- Framing: ", "- Communication style: ", "- Complexity: ", "- Encouragement: "} {
			if strings.Contains(got, generic) {
				t.Errorf("%+v has no sentence of its own:\n%s", c.Recommendation, got)
			}
		}
	}
}

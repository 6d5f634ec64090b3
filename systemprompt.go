package amp

import "strings"

// The wording of SystemPrompt is documented in docs/agents.md and repeated,
// word for word, by the TypeScript and Python SDKs' helpers; the SDK test
// suites compare all three on the same contexts. Change them together.

var framingLines = map[string]string{
	string(FramingAchievement): "Frame the task as an achievement: stress the result and the progress it marks.",
	string(FramingLearning):    "Frame the task as a chance to learn: stress what the user will understand or be able to do afterwards.",
	string(FramingMicroTask):   "Frame the task as a series of small, quick steps, and start with the first one.",
	string(FramingChallenge):   "Frame the task as a challenge worth taking on.",
}

var styleLines = map[string]string{
	string(StyleBriefDirective):      "Be brief and directive: short sentences and clear next actions.",
	string(StyleDetailedExplanatory): "Be detailed and explanatory: give the reason behind each step.",
	string(StyleConversational):      "Be conversational and friendly.",
	string(StyleTechnical):           "Be precise and technical: use exact terms.",
}

var handlingLines = map[string]string{
	string(HandlingFullSolution):   "Give the full solution.",
	string(HandlingBreakIntoSteps): "Break the work into numbered steps.",
	string(HandlingHintsOnly):      "Give hints rather than the full solution, so that the user works it out.",
	string(HandlingHighLevel):      "Stay high level: outline the approach, not the details.",
}

var encouragementLines = map[string]string{
	string(EncouragementHigh):     "Encourage the user warmly.",
	string(EncouragementModerate): "Encourage the user now and then.",
	string(EncouragementMinimal):  "Keep encouragement to a minimum.",
	string(EncouragementNone):     "Do not add encouragement.",
}

// SystemPrompt renders a context as a fragment of a system prompt for a
// language model: one instruction per adapted dimension, then the
// rationale. A value this version does not know (from a newer server) is
// passed through as "<dimension>: <value>." rather than dropped.
func SystemPrompt(c *Context) string {
	var b strings.Builder
	b.WriteString("Adapt how you present this task to the user (AMP request ")
	b.WriteString(c.RequestID)
	b.WriteString("):\n")
	line := func(known map[string]string, key, dimension string) {
		b.WriteString("- ")
		if s, ok := known[key]; ok {
			b.WriteString(s)
		} else {
			b.WriteString(dimension + ": " + key + ".")
		}
		b.WriteString("\n")
	}
	line(framingLines, string(c.Framing), "Framing")
	line(styleLines, string(c.Style), "Communication style")
	line(handlingLines, string(c.Handling), "Complexity")
	line(encouragementLines, string(c.Encouragement), "Encouragement")
	if r := strings.TrimSpace(c.Rationale); r != "" {
		b.WriteString("Why: " + r + "\n")
	}
	return strings.TrimSuffix(b.String(), "\n")
}

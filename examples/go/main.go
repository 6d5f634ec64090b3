// Command agent is a small agent built on AMP with the Go client:
//
//  1. it asks AMP how to present the user's task to this user (GetContext);
//  2. it turns that recommendation into a system prompt for its model;
//  3. it answers, then asks the user what they did with the answer;
//  4. it reports that outcome (ReportOutcome), which is how AMP learns.
//
// The model is a stand-in that runs offline; replace answer with a call to
// your LLM. If AMP is unreachable the agent carries on with a default
// context: an agent must never fail because AMP failed.
//
//	AMP_API_KEY=amp_sk_test_… go run ./examples/go --base-url http://127.0.0.1:8080/v1 \
//	    --user user_123 --type coding "build a login page"
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/client"
)

var framing = map[amp.Framing]string{
	amp.FramingAchievement: "Frame the task as a goal to accomplish; name the result they will have at the end.",
	amp.FramingLearning:    "Frame the task as a chance to learn; explain the idea behind each step.",
	amp.FramingMicroTask:   "Frame the task as a series of very small tasks; make the first one doable in two minutes.",
	amp.FramingChallenge:   "Frame the task as a challenge worth taking on; be direct about what makes it hard.",
}

var style = map[amp.Style]string{
	amp.StyleBriefDirective:      "Communication: Brief and directive. Short sentences, imperative mood, no digressions.",
	amp.StyleDetailedExplanatory: "Communication: Detailed and explanatory. Give reasons and context for each point.",
	amp.StyleConversational:      "Communication: Conversational. Warm and informal, as a colleague would talk.",
	amp.StyleTechnical:           "Communication: Technical. Precise terms, code and specifics over prose.",
}

var handling = map[amp.Handling]string{
	amp.HandlingFullSolution:   "Give the complete solution.",
	amp.HandlingBreakIntoSteps: "Break the work into numbered steps and stop after each step for the user.",
	amp.HandlingHintsOnly:      "Give hints only; let the user find the solution.",
	amp.HandlingHighLevel:      "Stay at the level of the approach; leave the details to the user.",
}

var encouragement = map[amp.Encouragement]string{
	amp.EncouragementHigh:     "Be warmly encouraging and celebrate progress.",
	amp.EncouragementModerate: "Acknowledge progress now and then.",
	amp.EncouragementMinimal:  "Keep praise to a minimum.",
	amp.EncouragementNone:     "No praise or encouragement; just the content.",
}

// fallback is the context used when AMP cannot be reached.
var fallback = amp.Context{Recommendation: amp.Recommendation{
	Framing: amp.FramingAchievement, Style: amp.StyleConversational,
	Handling: amp.HandlingBreakIntoSteps, Encouragement: amp.EncouragementModerate,
}}

// systemPrompt turns a context into the instructions of the agent's model.
func systemPrompt(c *amp.Context, task string) string {
	return strings.Join([]string{
		"You are a helpful assistant. The user's task: " + task,
		framing[c.Framing],
		style[c.Style],
		handling[c.Handling],
		encouragement[c.Encouragement],
	}, "\n")
}

// answer stands in for the agent's model.
func answer(prompt string) string {
	return "(your model's answer, written under these instructions)\n" + prompt
}

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "agent:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout io.Writer) error {
	fs := flag.NewFlagSet("agent", flag.ContinueOnError)
	baseURL := fs.String("base-url", client.DefaultBaseURL, "AMP's base URL")
	user := fs.String("user", "user_123", "the end user's id")
	taskType := fs.String("type", "", "the task type, e.g. coding, debugging, writing")
	if err := fs.Parse(args); err != nil {
		return err
	}
	task := strings.Join(fs.Args(), " ")
	if task == "" {
		return fmt.Errorf("usage: agent [flags] TASK")
	}
	c, err := client.New("", client.WithBaseURL(*baseURL), client.WithTimeout(5*time.Second))
	if err != nil {
		return err
	}
	mc, err := c.GetContext(ctx, amp.ContextRequest{UserID: *user, Task: task, TaskType: *taskType})
	if err != nil {
		slog.Warn("AMP unavailable; using the default context", "err", err)
		mc = &fallback
	} else {
		fmt.Fprintf(stdout, "AMP (%s, confidence %.2f): %s\n\n", mc.Metadata.ProfilePhase, mc.Confidence, mc.Rationale)
	}
	shown := time.Now()
	fmt.Fprintln(stdout, answer(systemPrompt(mc, task)))
	if mc.RequestID == "" {
		return nil
	}

	in := bufio.NewReader(stdin)
	ask := func(q string) bool {
		fmt.Fprintf(stdout, "%s [y/n] ", q)
		line, _ := in.ReadString('\n')
		return strings.HasPrefix(strings.ToLower(strings.TrimSpace(line)), "y")
	}
	started := ask("Did you start the task?")
	o := amp.OutcomeRequest{RequestID: mc.RequestID, Started: &started}
	if started {
		o.TimeToStart = client.Float(time.Since(shown).Seconds())
		o.Completed = client.Bool(ask("Did you finish it?"))
		o.FlowState = client.Bool(ask("Were you in the flow?"))
	}
	if err := c.ReportOutcome(ctx, o); err != nil {
		slog.Warn("could not report the outcome", "err", err)
		return nil
	}
	fmt.Fprintln(stdout, "Outcome reported: AMP will adapt to this user.")
	return nil
}

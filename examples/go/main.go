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

// fallback is the context used when AMP cannot be reached.
var fallback = amp.Context{Recommendation: amp.Recommendation{
	Framing: amp.FramingAchievement, Style: amp.StyleConversational,
	Handling: amp.HandlingBreakIntoSteps, Encouragement: amp.EncouragementModerate,
}}

// systemPrompt turns a context into the instructions of the agent's model,
// with the client's helper (its wording is in docs/agents.md).
func systemPrompt(c *amp.Context, task string) string {
	return "You are a helpful assistant. The user's task: " + task + "\n\n" + client.ToSystemPrompt(c)
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

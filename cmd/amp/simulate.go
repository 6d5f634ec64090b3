package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/amp-protocol/amp/internal/learn"
	"github.com/amp-protocol/amp/internal/sim"
)

const simulateSynopsis = "[--seed N] [--users U] [--interactions N] [--drift] [--out FILE] [--server URL --key KEY] [--json]"

const simulateDoc = `
Simulate users of an AMP integration and score policies on them.

A population of simulated users is drawn from the seed: personas with their
own preferred framing, style, complexity handling and encouragement,
individual deviations, preferences that depend on the task type and the
request's complexity, and noisy started/completed/flowState/satisfaction/
timeToStart outcomes (optional fields sometimes left out). With --drift,
about half the users change taste on two dimensions mid-way. Every
parameter of the population comes from the seed, so each seed is a
population of its own; the same seed gives the same result.

Each policy meets the same users, requests and luck. The learning engine
runs in process; with --server and --key, the same simulation also plays
against a running AMP server through POST /v1/context and /v1/outcome
(use a test-mode key; a starter plan's 10 requests/second makes 300 users ×
40 interactions take about 40 minutes, so prefer a pro or enterprise
account or fewer users). The baseline is a plain per-user factorised
Beta-Thompson sampler with the engine's reward recipe.

Printed per policy, over interactions 1–5, 1–N and 21–N: the realised
completion rate and the normalised score, (E[chosen] − E[uniform]) /
(E[oracle] − E[uniform]) of the expected completion probabilities, where 0
is uniform random and 1 an oracle that knows every user's preferences.
Then, for the engine (and the server), its answers by the profile phase
they gave: the share with explorationMode true and the mean confidence,
which the documentation says fall and grow from phase to phase. The
learning curve is written as an SVG image.`

// runSimulate runs `amp simulate`.
func runSimulate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("amp simulate", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	seed := fs.Uint64("seed", 1, "the population's `SEED`; every parameter of the population and all randomness derive from it")
	users := fs.Int("users", 300, "the number of simulated `USERS`")
	interactions := fs.Int("interactions", 40, "`N` interactions per user")
	drift := fs.Bool("drift", false, "let about half the users change taste mid-way")
	out := fs.String("out", "simulation.svg", "write the learning curve to this SVG `FILE` (empty: none)")
	server := fs.String("server", "", "also play against the AMP server at `URL` (e.g. http://127.0.0.1:8080)")
	key := fs.String("key", "", "the API `KEY` for --server (a test-mode key)")
	prefix := fs.String("user-prefix", "", "userId `PREFIX` on the server (default sim-SEED-TIME-, so runs do not share users)")
	asJSON := fs.Bool("json", false, "print the results as JSON")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printFlagUsage(stdout, "amp simulate "+simulateSynopsis, simulateDoc, fs)
			return nil
		}
		return usageError("amp simulate: %v; usage: amp simulate %s", err, simulateSynopsis)
	}
	switch {
	case fs.NArg() > 0:
		return usageError("amp simulate: unexpected argument %q", fs.Arg(0))
	case *users < 1 || *users > 1_000_000:
		return usageError("amp simulate: --users must be between 1 and 1000000")
	case *interactions < 1 || *interactions > 10_000:
		return usageError("amp simulate: --interactions must be between 1 and 10000")
	case (*server == "") != (*key == ""):
		return usageError("amp simulate: --server and --key go together")
	}

	pop := sim.Generate(*seed, *users, *drift)
	n := *interactions
	var results []*sim.Result
	if *server != "" {
		p := *prefix
		if p == "" {
			p = fmt.Sprintf("sim-%d-%d-", *seed, time.Now().Unix())
		}
		agent := sim.NewHTTPAgent(*server, *key, p)
		start := time.Now()
		progress := func(done, total int) {
			fmt.Fprintf(stderr, "amp simulate: %d/%d interactions against %s (%s)\n", done, total, *server, time.Since(start).Round(time.Second))
		}
		r, err := sim.Run(ctx, pop, n, "server", agent, progress)
		if err != nil {
			return fmt.Errorf("amp simulate: %w", err)
		}
		if agent.Retried > 0 {
			fmt.Fprintf(stderr, "amp simulate: %d requests were rate limited and retried\n", agent.Retried)
		}
		results = append(results, r)
	}
	engine, err := sim.Run(ctx, pop, n, "engine", sim.NewLearnerAgent(learn.New(learn.DefaultConfig()), *seed), nil)
	if err != nil {
		return fmt.Errorf("amp simulate: %w", err)
	}
	baseline, err := sim.Run(ctx, pop, n, "baseline", sim.NewBaselineAgent(*seed), nil)
	if err != nil {
		return fmt.Errorf("amp simulate: %w", err)
	}
	results = append(results, engine, baseline)

	if *out != "" {
		f, err := os.Create(*out)
		if err != nil {
			return fmt.Errorf("amp simulate: %w", err)
		}
		title := fmt.Sprintf("AMP simulation: seed %d, %d users", *seed, *users)
		if *drift {
			title += ", drift"
		}
		err = sim.WritePlot(f, title, results...)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("amp simulate: write %s: %w", *out, err)
		}
	}

	report := newSimReport(pop, *seed, *users, n, *drift, results, *out)
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(report)
	}
	return report.print(stdout)
}

// simReport is the output of amp simulate.
type simReport struct {
	Seed         uint64      `json:"seed"`
	Users        int         `json:"users"`
	Interactions int         `json:"interactions"`
	Drift        bool        `json:"drift"`
	Population   sim.Params  `json:"population"`
	Policies     []simPolicy `json:"policies"`
	Ratios       []simRatio  `json:"ratios"`
	Plot         string      `json:"plot,omitempty"`
	windows      [][2]int
}

type simPolicy struct {
	Name    string           `json:"name"`
	Windows []sim.Window     `json:"windows"`
	Phases  []sim.PhaseStats `json:"phases,omitempty"`
}

// simRatio is a policy's normalised score over all interactions divided by
// the baseline's.
type simRatio struct {
	Policy string  `json:"policy"`
	Ratio  float64 `json:"ratioToBaseline"`
}

func newSimReport(pop *sim.Population, seed uint64, users, n int, drift bool, results []*sim.Result, plot string) *simReport {
	r := &simReport{Seed: seed, Users: users, Interactions: n, Drift: drift, Population: pop.Params, Plot: plot}
	r.windows = [][2]int{{1, min(5, n)}, {1, n}}
	if n >= 21 {
		r.windows = append(r.windows, [2]int{21, n})
	}
	var base float64
	for _, res := range results {
		p := simPolicy{Name: res.Name, Phases: res.Phases}
		for _, w := range r.windows {
			p.Windows = append(p.Windows, res.Window(w[0], w[1]))
		}
		r.Policies = append(r.Policies, p)
		if res.Name == "baseline" {
			base = res.Window(1, n).Score
		}
	}
	for _, res := range results {
		if res.Name != "baseline" && base > 0 {
			r.Ratios = append(r.Ratios, simRatio{Policy: res.Name, Ratio: res.Window(1, n).Score / base})
		}
	}
	return r
}

func (r *simReport) print(w io.Writer) error {
	driftText := "off"
	if r.Drift {
		driftText = "on"
	}
	fmt.Fprintf(w, "AMP simulation: seed %d, %d users × %d interactions, drift %s\n", r.Seed, r.Users, r.Interactions, driftText)
	p := r.Population
	fmt.Fprintf(w, "Population: %d personas; task types %s (%.0f%% of requests without one)\n\n",
		p.Personas, strings.Join(p.TaskTypes, ", "), 100*p.NoTaskTypeShare)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	var head strings.Builder
	head.WriteString("policy")
	for _, label := range []string{"completion", "score"} {
		for _, win := range r.windows {
			fmt.Fprintf(&head, "\t%s %d–%d", label, win[0], win[1])
		}
	}
	fmt.Fprintln(tw, head.String())
	for _, pol := range r.Policies {
		line := pol.Name
		for _, win := range pol.Windows {
			line += fmt.Sprintf("\t%.3f", win.CompletionRate)
		}
		for _, win := range pol.Windows {
			line += fmt.Sprintf("\t%.3f", win.Score)
		}
		fmt.Fprintln(tw, line)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	for _, ratio := range r.Ratios {
		fmt.Fprintf(w, "%s ÷ baseline, normalised score over 1–%d: %.2f×\n", ratio.Policy, r.Interactions, ratio.Ratio)
	}
	fmt.Fprintln(w, "Normalised score: 0 = uniform random, 1 = an oracle that knows every user's preferences.")
	if err := r.printPhases(w); err != nil {
		return err
	}
	if r.Plot != "" {
		fmt.Fprintf(w, "Learning curve: %s\n", r.Plot)
	}
	return nil
}

// printPhases prints, for the policies that report them, their answers by
// profile phase: how often explorationMode was true and the mean
// confidence.
func (r *simReport) printPhases(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	printed := false
	for _, pol := range r.Policies {
		if len(pol.Phases) == 0 {
			continue
		}
		if !printed {
			fmt.Fprintln(w, "\nAnswers by profile phase: share with explorationMode true, mean confidence (answers)")
			printed = true
		}
		line := pol.Name
		for _, ph := range pol.Phases {
			line += fmt.Sprintf("\t%s %.2f, %.2f (%d)", ph.Phase, ph.ExploredShare, ph.MeanConfidence, ph.Answers)
		}
		fmt.Fprintln(tw, line)
	}
	return tw.Flush()
}

// printFlagUsage prints the synopsis, the documentation and the flags of
// one of the learning commands.
func printFlagUsage(w io.Writer, synopsis, doc string, fs *flag.FlagSet) {
	fmt.Fprintf(w, "Usage: %s\n%s\n\nFlags:\n", synopsis, doc)
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
}

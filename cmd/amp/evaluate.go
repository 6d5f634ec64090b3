package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/internal/evaluate"
	"github.com/amp-protocol/amp/internal/learn"
)

const evaluateSynopsis = "--data DIR --account ID [--mode test|live] [--since 30d|DATE] [--limit N] [--json]"

const evaluateDoc = `
Estimate offline what other policies would have achieved on logged traffic.

Every decision AMP logs carries the probability with which it was chosen.
Replaying the decisions that got an outcome, oldest first, this estimates
by inverse propensity scoring (IPS) and its self-normalised form (SNIPS)
the mean reward and the completion rate of: the policy that was logged
(observed directly), uniform random recommendations, the engine's
population default (what holdout users get), and the engine itself, both
replayed from an empty state so that they learn only from earlier
outcomes. ESS, the effective sample size of the importance weights, says
how many decisions an estimate is worth: small values mean the logs rarely
did what the policy would do, and wide intervals. The personalised replay
keeps every user's model in memory (up to 2.5 KB per user); --limit bounds
the decisions read.`

func evaluateCommand(ctx context.Context, args []string, stdout io.Writer, open learningStoreOpener, now time.Time) error {
	fs := flag.NewFlagSet("amp evaluate", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	sel := bindSelection(fs)
	limit := fs.Int("limit", 200_000, "read at most `N` decisions, the oldest after --since")
	asJSON := fs.Bool("json", false, "print the estimates as JSON")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printFlagUsage(stdout, "amp evaluate "+evaluateSynopsis, evaluateDoc, fs)
			return nil
		}
		return usageError("amp evaluate: %v; usage: amp evaluate %s", err, evaluateSynopsis)
	}
	t, since, err := sel.resolve("amp evaluate", fs, now)
	if err != nil {
		return err
	}
	if *limit < 1 {
		return usageError("amp evaluate: --limit must be positive")
	}
	store, err := sel.open(ctx, open)
	if err != nil {
		return fmt.Errorf("amp evaluate: %w", err)
	}
	var logs []*amp.LoggedDecision
	errLimit := errors.New("limit reached")
	err = evaluate.ForEachDecision(ctx, store, t, since, func(d *amp.LoggedDecision) error {
		if len(logs) >= *limit {
			return errLimit
		}
		logs = append(logs, d)
		return nil
	})
	if cerr := store.Close(); err == nil || errors.Is(err, errLimit) {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("amp evaluate: %w", err)
	}
	cfg := learn.DefaultConfig()
	ests, err := evaluate.Evaluate(logs,
		evaluate.Uniform{},
		evaluate.NewReplay(learn.New(cfg), false),
		evaluate.NewReplay(learn.New(cfg), true))
	if errors.Is(err, evaluate.ErrNoData) {
		fmt.Fprintf(stdout, "No decisions with an outcome for account %s in %s mode since %s.\n", t.AccountID, t.Mode, since.UTC().Format(time.RFC3339))
		return nil
	}
	if err != nil {
		return fmt.Errorf("amp evaluate: %w", err)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			Account   string               `json:"account"`
			Mode      amp.Mode             `json:"mode"`
			Since     time.Time            `json:"since"`
			Decisions int                  `json:"decisions"`
			Estimates []*evaluate.Estimate `json:"estimates"`
		}{t.AccountID, t.Mode, since, len(logs), ests})
	}
	fmt.Fprintf(stdout, "Offline evaluation: account %s, %s mode, %d decisions since %s (%d with an outcome)\n\n",
		t.AccountID, t.Mode, len(logs), since.UTC().Format(time.RFC3339), ests[0].N)
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "policy\tESS\treward IPS\treward SNIPS\tcompletion IPS\tcompletion SNIPS")
	for _, e := range ests {
		fmt.Fprintf(tw, "%s\t%.0f\t%s\t%s\t%s\t%s\n", e.Policy, e.ESS,
			pm(e.Reward.IPS, e.Reward.IPSStdErr), pm(e.Reward.SNIPS, e.Reward.SNIPSStdErr),
			pm(e.Completion.IPS, e.Completion.IPSStdErr), pm(e.Completion.SNIPS, e.Completion.SNIPSStdErr))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "\n± is a 95% interval. \"logged\" is the policy that made the decisions, observed directly.")
	return nil
}

func pm(v, se float64) string { return fmt.Sprintf("%.3f ± %.3f", v, 1.96*se) }

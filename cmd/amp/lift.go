package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/internal/evaluate"
)

// learningStoreOpener opens the store of a data directory (or of
// AMP_DATABASE_URL) for `amp lift` and `amp evaluate`, which only read
// decisions and outcomes.
type learningStoreOpener func(ctx context.Context, dataDir string) (amp.Store, error)

var errNoStoreWired = errors.New("no store is wired for this command")

const liftSynopsis = "--data DIR --account ID [--mode test|live] [--since 30d|DATE] [--json]"

const liftDoc = `
Report the completion-rate lift of personalised users over holdout users.

Users hashed into an account's holdout (its holdoutPercent) get the
population default and no personalisation. The lift is the personalised
users' completion rate minus the holdout users', with a 95% interval
clustered by user, and the same as a relative change. Completion counts
outcomes that said whether the task was completed (or that it was never
started); outcomes without it are left out of the rates.`

func liftCommand(ctx context.Context, args []string, stdout io.Writer, open learningStoreOpener, now time.Time) error {
	fs := flag.NewFlagSet("amp lift", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	sel := bindSelection(fs)
	asJSON := fs.Bool("json", false, "print the report as JSON")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printFlagUsage(stdout, "amp lift "+liftSynopsis, liftDoc, fs)
			return nil
		}
		return usageError("amp lift: %v; usage: amp lift %s", err, liftSynopsis)
	}
	t, since, err := sel.resolve("amp lift", fs, now)
	if err != nil {
		return err
	}
	store, err := sel.open(ctx, open)
	if err != nil {
		return fmt.Errorf("amp lift: %w", err)
	}
	report, err := evaluate.Lift(ctx, store, t, since)
	if cerr := store.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("amp lift: %w", err)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(report)
	}
	printLift(stdout, t, report)
	return nil
}

func printLift(w io.Writer, t amp.Tenant, r *evaluate.LiftReport) {
	fmt.Fprintf(w, "Lift of personalisation: account %s, %s mode, since %s\n\n", t.AccountID, t.Mode, r.Since.UTC().Format(time.RFC3339))
	for _, g := range []struct {
		name string
		g    evaluate.Group
	}{{"personalised", r.Personalised}, {"holdout", r.Holdout}} {
		fmt.Fprintf(w, "%-13s %6d users  %7d decisions  %7d outcomes  completion %5.1f%% ± %.1f%% (of %d)\n",
			g.name, g.g.Users, g.g.Decisions, g.g.Outcomes, 100*g.g.CompletionRate, 196*g.g.StdErr, g.g.Known)
	}
	fmt.Fprintln(w)
	if !r.Comparable {
		fmt.Fprintln(w, "No lift yet: both groups need outcomes that report completion. Set the account's holdoutPercent to keep a holdout.")
		return
	}
	verdict := "not significant at 95%"
	if r.Significant {
		verdict = "significant at 95%"
	}
	fmt.Fprintf(w, "lift: %+.1f points (95%% interval %+.1f to %+.1f), %s\n", 100*r.Lift, 100*r.Low, 100*r.High, verdict)
	if r.Holdout.CompletionRate > 0 && r.Personalised.CompletionRate > 0 {
		fmt.Fprintf(w, "relative: %+.1f%% (95%% interval %+.1f%% to %+.1f%%)\n", 100*r.Relative, 100*r.RelativeLow, 100*r.RelativeHigh)
	}
}

// selection is the data a learning command reads: a store, a tenant and a
// start time.
type selection struct {
	data, account, mode, since *string
}

func bindSelection(fs *flag.FlagSet) *selection {
	return &selection{
		data:    fs.String("data", "", "the data `DIR` of the database (PostgreSQL when AMP_DATABASE_URL is set)"),
		account: fs.String("account", "", "the account's `ID`"),
		mode:    fs.String("mode", "live", "the `MODE` whose data to read: test or live"),
		since:   fs.String("since", "30d", "read decisions made after `WHEN`: a duration back from now (30d, 12h) or an RFC 3339 time or date"),
	}
}

func (s *selection) resolve(cmd string, fs *flag.FlagSet, now time.Time) (amp.Tenant, time.Time, error) {
	if fs.NArg() > 0 {
		return amp.Tenant{}, time.Time{}, usageError("%s: unexpected argument %q", cmd, fs.Arg(0))
	}
	if *s.account == "" {
		return amp.Tenant{}, time.Time{}, usageError("%s: --account is required", cmd)
	}
	m := amp.Mode(*s.mode)
	if !m.Valid() {
		return amp.Tenant{}, time.Time{}, usageError("%s: --mode must be test or live", cmd)
	}
	since, err := parseSinceFlag(*s.since, now)
	if err != nil {
		return amp.Tenant{}, time.Time{}, usageError("%s: --since: %v", cmd, err)
	}
	return amp.Tenant{AccountID: *s.account, Mode: m}, since, nil
}

func (s *selection) open(ctx context.Context, open learningStoreOpener) (amp.Store, error) {
	if open == nil {
		return nil, errNoStoreWired
	}
	return open(ctx, *s.data)
}

// parseSinceFlag reads --since: a duration back from now, with d for days
// (30d, 36h), or an RFC 3339 time or a date (2026-01-31, UTC).
func parseSinceFlag(v string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		return t, nil
	}
	var d time.Duration
	if days, ok := strings.CutSuffix(v, "d"); ok {
		n, err := strconv.ParseFloat(days, 64)
		if err != nil || n < 0 || n > 100*365 {
			return time.Time{}, fmt.Errorf("%q is not a duration such as 30d or 12h, nor a date", v)
		}
		d = time.Duration(n * 24 * float64(time.Hour))
	} else {
		var err error
		if d, err = time.ParseDuration(v); err != nil || d < 0 {
			return time.Time{}, fmt.Errorf("%q is not a duration such as 30d or 12h, nor a date", v)
		}
	}
	return now.Add(-d), nil
}

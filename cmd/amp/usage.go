package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/internal/service"
)

const usageSynopsis = "--data DIR (--account ID | --key KEY_OR_ID) [--mode test|live] [--window DURATION] [--json]"

// usageOutput is what `amp usage --json` prints.
type usageOutput struct {
	Quota  *quotaOutput         `json:"quota,omitempty"`
	Report *service.UsageReport `json:"report"`
}

type quotaOutput struct {
	Used     int64     `json:"used"`
	Limit    int64     `json:"limit"` // 0: unlimited
	ResetsAt time.Time `json:"resetsAt"`
}

// runUsage prints the metered usage of an account or a key: volume and
// rate over time, errors, routes, countries, the monthly live quota and
// the flags of a suspected leak.
func runUsage(ctx context.Context, e *env, args []string) error {
	cl := newCmdLine(e, "usage", usageSynopsis, `
Show the metered usage of an account, or of one of its keys (given in full
or by its id; - reads it from standard input): requests and rate over the
window, error rates, routes, client countries, the account's monthly live
quota, and flags for unusual patterns: a minute far above the key's usual
rate (burst), and traffic from a country the key had never used. Either
marks the key as a suspected leak.

The window's buckets are minutes up to 6h, hours up to 14d, days beyond.
Counts reach the database a few seconds after the requests; a running
server's last seconds may not show yet.`, adminSettings...)
	account := cl.fs.String("account", "", "the account's `ID`")
	keyFlag := cl.fs.String("key", "", "report on one key, `KEY_OR_ID`, instead of the whole account")
	mode := cl.fs.String("mode", "", "only this `MODE` of an account: test or live (default both)")
	windowFlag := cl.fs.String("window", "24h", "the `DURATION` reported, ending now (e.g. 1h, 24h, 30d)")
	asJSON := cl.fs.Bool("json", false, "print the report as JSON")
	if _, done, err := cl.parse(args, 0, 0); done {
		return err
	}
	if *account == "" && *keyFlag == "" {
		return usageError("amp usage: --account or --key is required; usage: amp usage %s", usageSynopsis)
	}
	if *mode != "" && !amp.Mode(*mode).Valid() {
		return usageError("amp usage: --mode must be test or live")
	}
	window, err := parseDuration(*windowFlag)
	if err != nil || window <= 0 {
		return usageError("amp usage: --window: want a positive duration such as 1h, 24h or 30d")
	}
	keyArgument := *keyFlag
	if keyArgument != "" {
		if keyArgument, err = keyArg(e, keyArgument); err != nil {
			return err
		}
	}

	a, err := openAdmin(ctx, e, &cl.cfg)
	if err != nil {
		return err
	}
	out, err := usageReport(ctx, a.svc, service.UsageSelection{AccountID: *account, Mode: amp.Mode(*mode), KeyOrID: keyArgument, Window: window})
	if cerr := a.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	return printUsageReport(e.stdout, out)
}

// usageReport builds the report of what sel selects, through the service
// that the dashboard's Usage page reads too, with the month's stored live
// quota count of the account (of a key's account, for a live key).
func usageReport(ctx context.Context, svc *service.Service, sel service.UsageSelection) (*usageOutput, error) {
	rep, key, err := svc.Usage(ctx, sel)
	if err != nil {
		return nil, err
	}
	out := &usageOutput{Report: rep}
	accountID := sel.AccountID
	if key != nil {
		accountID = key.AccountID
	}
	if key == nil || key.Mode == amp.ModeLive {
		acct, err := svc.Account(ctx, accountID)
		if err != nil {
			return nil, err
		}
		q, err := svc.QuotaUsage(ctx, acct)
		if err != nil {
			return nil, err
		}
		if q != nil {
			out.Quota = &quotaOutput{Used: q.Used, Limit: q.Limit, ResetsAt: q.ResetsAt}
		}
	}
	return out, nil
}

// printUsageReport writes the report for people.
func printUsageReport(w io.Writer, out *usageOutput) error {
	r := out.Report
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	subject := "account " + r.AccountID
	if r.KeyID != "" {
		subject = "key " + r.KeyID + " (" + string(r.Mode) + ") of account " + r.AccountID
	} else if r.Mode != "" {
		subject += ", " + string(r.Mode) + " mode"
	}
	fmt.Fprintf(tw, "Usage of %s\n", subject)
	fmt.Fprintf(tw, "from %s to %s, by %s\n\n", r.From.Format(time.RFC3339), r.To.Format(time.RFC3339), r.Granularity)
	fmt.Fprintf(tw, "Requests\t%d\n", r.Requests)
	fmt.Fprintf(tw, "Admitted\t%d\n", r.Requests-r.Refusals.Total())
	fmt.Fprintf(tw, "Refused\t%d (rate-limited %d, over quota %d, failed key %d)\n",
		r.Refusals.Total(), r.RateLimited, r.QuotaExceeded, r.AuthFailed)
	fmt.Fprintf(tw, "Error rate\t%s (4xx %d, 5xx %d)\n", percent(r.ErrorRate), r.ClientErrors, r.ServerErrors)
	fmt.Fprintf(tw, "Mean rate\t%.3f req/s\n", r.MeanRate)
	fmt.Fprintf(tw, "Peak rate\t%.3f req/s (busiest %s)\n", r.PeakRate, r.Granularity)
	if q := out.Quota; q != nil {
		limit := "unlimited"
		if q.Limit > 0 {
			limit = fmt.Sprintf("%d (%s)", q.Limit, percent(float64(q.Used)/float64(q.Limit)))
		}
		fmt.Fprintf(tw, "Live quota\t%d of %s this month; resets %s\n", q.Used, limit, q.ResetsAt.Format(time.RFC3339))
	}

	leak := "no"
	if r.Flags.SuspectedLeak {
		leak = "YES"
	}
	fmt.Fprintf(tw, "Suspected leak\t%s\n", leak)
	for _, reason := range r.Flags.Reasons {
		fmt.Fprintf(tw, "  - %s\n", reason)
	}

	if len(r.Routes) > 0 {
		fmt.Fprintf(tw, "\nROUTE\tREQUESTS\tERRORS\n")
		for _, rs := range r.Routes {
			fmt.Fprintf(tw, "%s\t%d\t%s\n", rs.Route, rs.Requests, percent(rs.ErrorRate))
		}
	}
	if len(r.Countries) > 0 {
		fmt.Fprintf(tw, "\nCOUNTRY\tREQUESTS\tSHARE\n")
		for _, c := range r.Countries {
			fmt.Fprintf(tw, "%s\t%d\t%s\n", c.Country, c.Requests, percent(c.Share))
		}
	}
	if len(r.Keys) > 0 {
		fmt.Fprintf(tw, "\nKEY\tMODE\tREQUESTS\tERRORS\tSUSPECTED LEAK\n")
		for _, k := range r.Keys {
			mark := "no"
			if k.Flags.SuspectedLeak {
				mark = "YES"
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", k.KeyID, k.Mode, k.Requests, percent(k.ErrorRate), mark)
		}
	}

	// The series, busy buckets only, with a bar scaled to the busiest.
	var peak int64
	for _, p := range r.Series {
		peak = max(peak, p.Requests)
	}
	if peak > 0 {
		fmt.Fprintf(tw, "\nSTART\tREQUESTS\tADMITTED\tRATE-LIMITED\tOVER QUOTA\tFAILED KEY\t4XX\t5XX\tREQ/S\t\n")
		for _, p := range r.Series {
			if p.Requests == 0 {
				continue
			}
			bar := strings.Repeat("#", int(max(1, 30*p.Requests/peak)))
			fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%.3f\t%s\n", p.Start.Format(time.RFC3339), p.Requests,
				p.Requests-p.Refusals.Total(), p.RateLimited, p.QuotaExceeded, p.AuthFailed, p.ClientErrors, p.ServerErrors, p.Rate, bar)
		}
	}
	return tw.Flush()
}

func percent(f float64) string { return fmt.Sprintf("%.1f%%", 100*f) }

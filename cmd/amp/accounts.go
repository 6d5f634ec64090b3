package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/amp-protocol/amp"
)

// subcommand is one verb of a command group such as "amp keys".
type subcommand struct {
	name     string
	synopsis string
	summary  string
	run      func(ctx context.Context, e *env, args []string) error
}

func accountCommands() []subcommand {
	return []subcommand{
		{"create", "--data DIR --name NAME [--plan starter|pro|enterprise] [--rate N]", "create an account and print its id", runAccountsCreate},
		{"list", "--data DIR", "list accounts", runAccountsList},
		{"set-plan", "--data DIR --account ID --plan starter|pro|enterprise [--rate N]", "change an account's plan", runAccountsSetPlan},
		{"set-holdout", "--data DIR --account ID --percent N", "set the share of users who get population defaults only", runAccountsSetHoldout},
	}
}

func runAccounts(ctx context.Context, e *env, args []string) error {
	return runGroup(ctx, e, "accounts", "Accounts own API keys and data; each has a plan that sets its rate limit and monthly quota.", accountCommands(), args)
}

// runGroup dispatches "amp GROUP VERB args".
func runGroup(ctx context.Context, e *env, group, doc string, subs []subcommand, args []string) error {
	usage := func(w io.Writer) {
		fmt.Fprintf(w, "Usage: amp %s <command> [flags]\n\n%s\n\nCommands:\n\n", group, doc)
		for _, s := range subs {
			fmt.Fprintf(w, "	%-12s %s\n", s.name, s.summary)
		}
		fmt.Fprintf(w, "\nRun 'amp %s <command> -h' for a command's flags.\n", group)
	}
	if len(args) == 0 {
		usage(e.stderr)
		return usageError("amp %s: no command given", group)
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		usage(e.stdout)
		return nil
	}
	for _, s := range subs {
		if s.name == args[0] {
			return s.run(ctx, e, args[1:])
		}
	}
	return usageError("amp %s: unknown command %q; run 'amp %s -h' for the list", group, args[0], group)
}

func subSynopsis(subs []subcommand, name string) string {
	for _, s := range subs {
		if s.name == name {
			return s.synopsis
		}
	}
	return ""
}

// adminSettings are the Config settings of the administrative commands.
var adminSettings = []string{"data", "database-url", "sync", "log-format", "log-level"}

func runAccountsCreate(ctx context.Context, e *env, args []string) error {
	cl := newCmdLine(e, "accounts create", subSynopsis(accountCommands(), "create"), `
Create an account and print its id, alone, on standard output.

The plan sets the rate limit per account and mode (starter 10, pro 100,
enterprise 1,000 requests/second unless --rate says otherwise) and the
monthly live quota (starter 100,000, pro 1,000,000, enterprise unlimited).`,
		adminSettings...)
	name := cl.fs.String("name", "", "the account's `NAME`")
	plan := cl.fs.String("plan", string(amp.PlanStarter), "`PLAN`: starter, pro or enterprise")
	rate := cl.fs.Int("rate", 0, "an enterprise account's custom rate, `N` requests/second")
	if _, done, err := cl.parse(args, 0, 0); done {
		return err
	}
	if err := cl.required("name", *name); err != nil {
		return err
	}
	acct, err := withAdmin(ctx, e, &cl.cfg, func(a *admin) (*amp.Account, error) {
		return a.svc.CreateAccount(ctx, *name, amp.Plan(*plan), *rate)
	})
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, acct.ID)
	return nil
}

func runAccountsList(ctx context.Context, e *env, args []string) error {
	cl := newCmdLine(e, "accounts list", subSynopsis(accountCommands(), "list"), `
List accounts, oldest first, with their plan, rate (requests/second per
mode), monthly live quota and holdout share.`, adminSettings...)
	if _, done, err := cl.parse(args, 0, 0); done {
		return err
	}
	accts, err := withAdmin(ctx, e, &cl.cfg, func(a *admin) ([]*amp.Account, error) {
		return a.store.Accounts(ctx)
	})
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tPLAN\tRATE/S\tMONTHLY QUOTA\tHOLDOUT\tCREATED")
	for _, ac := range accts {
		quota := "unlimited"
		if q := ac.Plan.MonthlyQuota(); q > 0 {
			quota = fmt.Sprint(q)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%d%%\t%s\n", ac.ID, ac.Name, ac.Plan, ac.Plan.Rate(ac.CustomRate),
			quota, ac.HoldoutPercent, ac.CreatedAt.UTC().Format(time.RFC3339))
	}
	return tw.Flush()
}

func runAccountsSetPlan(ctx context.Context, e *env, args []string) error {
	cl := newCmdLine(e, "accounts set-plan", subSynopsis(accountCommands(), "set-plan"), `
Change an account's plan. A custom --rate applies to enterprise accounts
only; moving to another plan drops it. A running server applies the change
within a second.`, adminSettings...)
	id := cl.fs.String("account", "", "the account's `ID`")
	plan := cl.fs.String("plan", "", "the new `PLAN`: starter, pro or enterprise")
	rate := cl.fs.Int("rate", -1, "an enterprise account's custom rate, `N` requests/second; 0 for the plan's default (default: keep it)")
	if _, done, err := cl.parse(args, 0, 0); done {
		return err
	}
	if err := cl.required("account", *id); err != nil {
		return err
	}
	if err := cl.required("plan", *plan); err != nil {
		return err
	}
	a, err := openAdmin(ctx, e, &cl.cfg)
	if err != nil {
		return err
	}
	acct, err := a.svc.UpdateAccount(ctx, *id, func(ac *amp.Account) error {
		ac.Plan = amp.Plan(*plan)
		switch {
		case *rate >= 0:
			ac.CustomRate = *rate
		case ac.Plan != amp.PlanEnterprise:
			ac.CustomRate = 0
		}
		return nil
	})
	if cerr := a.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s: plan %s, %d requests/second\n", acct.ID, acct.Plan, acct.Plan.Rate(acct.CustomRate))
	return nil
}

func runAccountsSetHoldout(ctx context.Context, e *env, args []string) error {
	cl := newCmdLine(e, "accounts set-holdout", subSynopsis(accountCommands(), "set-holdout"), `
Set the share of an account's users (0-100%, chosen by a stable hash of the
user id) who always get the population's default recommendation, with no
personalisation: the baseline against which personalisation's lift is
measured.`, adminSettings...)
	id := cl.fs.String("account", "", "the account's `ID`")
	percentFlag := cl.fs.String("percent", "", "the holdout share in percent, 0 to 100 (`N`)")
	if _, done, err := cl.parse(args, 0, 0); done {
		return err
	}
	if err := cl.required("account", *id); err != nil {
		return err
	}
	if err := cl.required("percent", *percentFlag); err != nil {
		return err
	}
	// The range is the service's rule, with the dashboard's message.
	percent, err := strconv.Atoi(*percentFlag)
	if err != nil {
		return usageError("amp accounts set-holdout: --percent must be a whole number")
	}
	a, err := openAdmin(ctx, e, &cl.cfg)
	if err != nil {
		return err
	}
	acct, err := a.svc.UpdateAccount(ctx, *id, func(ac *amp.Account) error {
		ac.HoldoutPercent = percent
		return nil
	})
	if cerr := a.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s: holdout %d%%\n", acct.ID, acct.HoldoutPercent)
	return nil
}

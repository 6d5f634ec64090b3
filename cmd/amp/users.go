package main

import (
	"bufio"
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/amp-protocol/amp/internal/service"
)

func userCommands() []subcommand {
	return []subcommand{
		{"add", "--data DIR --email EMAIL [--account ID | --account-name NAME] < password", "add a dashboard user, reading the password from standard input", runUsersAdd},
		{"reset-password", "--data DIR --email EMAIL [--public-url URL]", "print a one-time link that lets a dashboard user choose a new password", runUsersResetPassword},
	}
}

func runUsers(ctx context.Context, e *env, args []string) error {
	return runGroup(ctx, e, "users", "Dashboard users sign in to manage one account's keys, usage and profiles.", userCommands(), args)
}

func runUsersAdd(ctx context.Context, e *env, args []string) error {
	cl := newCmdLine(e, "users add", subSynopsis(userCommands(), "add"), `
Add a dashboard user, for deployments whose sign-up is closed (serve
--signup closed). The password is read from the first line of standard
input, so that it appears neither in the process list nor in the shell's
history; it must follow the sign-up form's rules (at least 12 characters).

With --account the user owns an existing account, such as the "default"
account of a new server, if it has no owner yet; invite other members from
the dashboard's Members page. Without it a new starter
account is created, named --account-name or, when empty, the email. The
new user's id is printed on standard output.`, adminSettings...)
	email := cl.fs.String("email", "", "the user's `EMAIL`, used to sign in")
	account := cl.fs.String("account", "", "`ID` of an existing account the user will own")
	accountName := cl.fs.String("account-name", "", "`NAME` of the new account when --account is not given")
	if _, done, err := cl.parse(args, 0, 0); done {
		return err
	}
	if err := cl.required("email", *email); err != nil {
		return err
	}
	if *account != "" && *accountName != "" {
		return usageError("amp users add: give --account or --account-name, not both")
	}
	line, err := bufio.NewReader(e.stdin).ReadString('\n')
	password := strings.TrimRight(line, "\r\n")
	if password == "" {
		if err != nil {
			return usageError("amp users add: no password on standard input (%v)", err)
		}
		return usageError("amp users add: the password on standard input is empty")
	}
	a, err := openAdmin(ctx, e, &cl.cfg)
	if err != nil {
		return err
	}
	// The sign-up form's rules, applied by the service for both.
	u, err := a.svc.AddUser(ctx, service.NewUser{
		Email: *email, Password: password, AccountID: *account, AccountName: *accountName,
	})
	if cerr := a.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, u.ID)
	return nil
}

func runUsersResetPassword(ctx context.Context, e *env, args []string) error {
	cl := newCmdLine(e, "users reset-password", subSynopsis(userCommands(), "reset-password"), `
Print a one-time link that lets the dashboard user with --email choose a
new password, for a user locked out on a server that sends no email (see
serve --smtp-url). Pass it to the user by a channel you trust: whoever
opens it can set the password. It works once, within 24 hours; using it
signs out every session of the user. Issuing it changes nothing until it
is used, and the account's audit log records it.

The link starts with --public-url (AMP_PUBLIC_URL), the address users reach
the server at, or else http://--addr.`, append(slices.Clone(adminSettings), "addr", "public-url")...)
	email := cl.fs.String("email", "", "the user's `EMAIL`")
	if _, done, err := cl.parse(args, 0, 0); done {
		return err
	}
	if err := cl.required("email", *email); err != nil {
		return err
	}
	secret, err := withAdmin(ctx, e, &cl.cfg, func(a *admin) (string, error) {
		return a.svc.IssueResetLink(ctx, *email)
	})
	if err != nil {
		return err
	}
	base := cl.cfg.PublicURL
	if base == "" {
		base = "http://" + cl.cfg.Addr
	}
	fmt.Fprintln(e.stdout, base+"/dashboard/reset?t="+url.QueryEscape(secret))
	return nil
}

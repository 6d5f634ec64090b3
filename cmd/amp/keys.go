package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/internal/service"
)

func keyCommands() []subcommand {
	return []subcommand{
		{"create", "--data DIR --account ID --mode test|live [--name N] [--scopes a,b] [--rate-limit N] [--expires-in DURATION]", "create a key and print it", runKeysCreate},
		{"list", "--data DIR --account ID", "list an account's keys, masked", runKeysList},
		{"revoke", "--data DIR KEY_OR_ID", "revoke a key at once", runKeysRevoke},
		{"roll", "--data DIR KEY_OR_ID [--grace now|1h|24h|7d]", "replace a key, keeping the old one valid for a grace period", runKeysRoll},
		{"quarantine", "--data DIR KEY_OR_ID [--reason TEXT]", "hold back a key that may have leaked, until it is restored", runKeysQuarantine},
		{"restore", "--data DIR KEY_OR_ID", "lift a key's quarantine", runKeysRestore},
		{"on-leak", "--data DIR --account ID quarantine|revoke", "choose what happens to keys a secret scanner reports", runKeysOnLeak},
	}
}

func runKeys(ctx context.Context, e *env, args []string) error {
	return runGroup(ctx, e, "keys", `API keys authenticate requests as "Authorization: Bearer <key>". A key
belongs to one account and one mode (test or live), carries scopes
(context, outcome, profiles:read, profiles:write), and is stored only as a
SHA-256 hash: the full key is printed once, at creation.`, keyCommands(), args)
}

func runKeysCreate(ctx context.Context, e *env, args []string) error {
	cl := newCmdLine(e, "keys create", subSynopsis(keyCommands(), "create"), `
Create an API key and print it, alone, on standard output. It is shown
only this once: store it in a secret manager or an environment variable
(AMP_API_KEY).`, adminSettings...)
	account := cl.fs.String("account", "", "the account's `ID`")
	mode := cl.fs.String("mode", "", "`MODE`: test (free, data reset monthly) or live (metered)")
	name := cl.fs.String("name", "", "a `NAME` to recognise the key by")
	scopes := cl.fs.String("scopes", "", "comma-separated `SCOPES` among context, outcome, profiles:read, profiles:write (default all)")
	rateLimit := cl.fs.Int("rate-limit", 0, "the key's own limit, `N` requests/second from 1 to the plan's rate; it can only lower it (default the plan's)")
	expiresIn := cl.fs.String("expires-in", "", "lifetime of the key, a `DURATION` such as 90d or 36h, at most 10 years (default never)")
	if _, done, err := cl.parse(args, 0, 0); done {
		return err
	}
	if err := cl.required("account", *account); err != nil {
		return err
	}
	if err := cl.required("mode", *mode); err != nil {
		return err
	}
	opts := service.KeyOptions{Name: *name, RateLimit: *rateLimit}
	for s := range strings.SplitSeq(*scopes, ",") {
		if s = strings.TrimSpace(s); s != "" {
			opts.Scopes = append(opts.Scopes, amp.Scope(s))
		}
	}
	if *expiresIn != "" {
		d, err := parseDuration(*expiresIn)
		if err != nil {
			return usageError("amp keys create: --expires-in: %v", err)
		}
		if d == 0 {
			// 0 means "never" to the service; asked for, it is no lifetime.
			d = -1
		}
		// The key's rules (name, scopes, rate, lifetime) are the service's,
		// with the messages the dashboard shows too.
		opts.ExpiresIn = d
	}
	created, err := withAdmin(ctx, e, &cl.cfg, func(a *admin) (*service.CreatedKey, error) {
		return a.svc.CreateKey(ctx, *account, amp.Mode(*mode), opts)
	})
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, created.Secret)
	return nil
}

func runKeysList(ctx context.Context, e *env, args []string) error {
	cl := newCmdLine(e, "keys list", subSynopsis(keyCommands(), "list"), `
List an account's keys, oldest first. Keys are shown masked (mode and last
4 characters): the full key is never stored, so it cannot be shown again.
STATUS is active, expiring (a key with a lifetime), rolled (replaced by a
roll and working until the end of its grace period, in EXPIRES), expired,
revoked or quarantined; an active key older than --key-rotation-age is
marked "rotation due". ROLL links the two keys of a roll: "to key_…" on
the old key, "from key_…" on its replacement.`,
		append([]string{"key-rotation-age"}, adminSettings...)...)
	account := cl.fs.String("account", "", "the account's `ID`")
	if _, done, err := cl.parse(args, 0, 0); done {
		return err
	}
	if err := cl.required("account", *account); err != nil {
		return err
	}
	a, err := openAdmin(ctx, e, &cl.cfg)
	if err != nil {
		return err
	}
	if _, err := a.svc.Account(ctx, *account); err != nil {
		a.Close()
		return err
	}
	keys, err := a.svc.Keys(ctx, *account)
	now := a.svc.Now()
	if cerr := a.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tKEY\tNAME\tSTATUS\tSCOPES\tRATE/S\tEXPIRES\tCREATED\tLAST USED\tROLL")
	for _, k := range keys {
		rate := "plan"
		if k.RateLimit > 0 {
			rate = fmt.Sprint(k.RateLimit)
		}
		scopes := make([]string, len(k.Scopes))
		for i, s := range k.Scopes {
			scopes[i] = string(s)
		}
		roll := "-"
		switch {
		case k.RolledTo != "":
			roll = "to " + k.RolledTo
		case k.RolledFrom != "":
			roll = "from " + k.RolledFrom
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, k.Masked(), dash(amp.PrintableName(k.Name)), keyStatus(k, now, cl.cfg.KeyRotationAge),
			strings.Join(scopes, ","), rate, timeOrDash(k.ExpiresAt), k.CreatedAt.UTC().Format(time.RFC3339), timeOrDash(k.LastUsedAt), roll)
	}
	return tw.Flush()
}

// keyStatus is a key's status for the list; an active key older than the
// rotation age is marked as due for rotation (key.rotation_due).
func keyStatus(k *amp.APIKey, now time.Time, rotationAge time.Duration) string {
	st := k.Status(now)
	if st.Usable() && rotationAge > 0 && now.Sub(k.CreatedAt) >= rotationAge {
		return string(st) + ", rotation due"
	}
	return string(st)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func timeOrDash(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

func runKeysRevoke(ctx context.Context, e *env, args []string) error {
	cl := newCmdLine(e, "keys revoke", subSynopsis(keyCommands(), "revoke"), `
Revoke a key, given in full or by its id (key_…). A running server refuses
it within a second, with 401 UNAUTHORIZED. Revoking a revoked key is not an
error. Give - to read the key from standard input, which keeps it out of
the process list and the shell history.`, adminSettings...)
	account := cl.fs.String("account", "", "only revoke the key if it belongs to this account `ID`")
	k, err := keyAction(ctx, e, cl, args, func(a *admin, key string) (*amp.APIKey, error) {
		return a.svc.RevokeKey(ctx, *account, key)
	})
	if err != nil || k == nil {
		return err
	}
	fmt.Fprintf(e.stdout, "revoked %s (%s)\n", k.ID, k.Masked())
	return nil
}

// keyAction is the body of the commands that do one thing to one key given
// in full, by id or as - (read from standard input): it parses args, opens
// the store, runs do and closes the store. A nil key with a nil error means
// the command line asked for help.
func keyAction(ctx context.Context, e *env, cl *cmdLine, args []string, do func(a *admin, key string) (*amp.APIKey, error)) (*amp.APIKey, error) {
	pos, done, err := cl.parse(args, 1, 1)
	if done {
		return nil, err
	}
	if pos[0], err = keyArg(e, pos[0]); err != nil {
		return nil, err
	}
	return withAdmin(ctx, e, &cl.cfg, func(a *admin) (*amp.APIKey, error) { return do(a, pos[0]) })
}

func runKeysRoll(ctx context.Context, e *env, args []string) error {
	cl := newCmdLine(e, "keys roll", subSynopsis(keyCommands(), "roll"), `
Replace a key, given in full or by its id: print a new key with the same
account, mode, name, scopes and limits, alone, on standard output, and keep
the old key valid for the grace period, after which it answers 401
KEY_EXPIRED. Deploy the new key within the grace period. Give - to read
the old key from standard input.`, adminSettings...)
	account := cl.fs.String("account", "", "only roll the key if it belongs to this account `ID`")
	graceFlag := cl.fs.String("grace", "24h", "how long the old key keeps working: now, or a `DURATION` up to 7d (e.g. 1h, 24h, 7d)")
	pos, done, err := cl.parse(args, 1, 1)
	if done {
		return err
	}
	if pos[0], err = keyArg(e, pos[0]); err != nil {
		return err
	}
	var grace time.Duration
	if *graceFlag != "now" {
		if grace, err = parseDuration(*graceFlag); err != nil {
			return usageError("amp keys roll: --grace: %v", err)
		}
	}
	created, err := withAdmin(ctx, e, &cl.cfg, func(a *admin) (*service.CreatedKey, error) {
		return a.svc.RollKey(ctx, *account, pos[0], grace)
	})
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, created.Secret)
	return nil
}

// keyArg returns the KEY_OR_ID argument, read from standard input when it
// is "-".
func keyArg(e *env, arg string) (string, error) {
	if arg != "-" {
		return arg, nil
	}
	b, err := io.ReadAll(io.LimitReader(e.stdin, 1024))
	if err != nil {
		return "", fmt.Errorf("read key from standard input: %w", err)
	}
	key := strings.TrimSpace(string(b))
	if key == "" {
		return "", usageError("no key on standard input")
	}
	return key, nil
}

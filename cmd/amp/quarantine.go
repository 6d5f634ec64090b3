package main

import (
	"context"
	"fmt"

	"github.com/amp-protocol/amp"
)

func runKeysQuarantine(ctx context.Context, e *env, args []string) error {
	cl := newCmdLine(e, "keys quarantine", subSynopsis(keyCommands(), "quarantine"), `
Quarantine a key, given in full or by its id, that may have leaked: a
running server refuses it within a second with 401 KEY_QUARANTINED, whose
message gives the reason, until "amp keys restore" lifts the quarantine.
Unlike a revocation it can be undone; to replace the key, "amp keys roll"
it. The account's webhook endpoints receive key.quarantined. A secret
scanner's report quarantines keys the same way (see "amp keys on-leak").
Give - to read the key from standard input.`, adminSettings...)
	account := cl.fs.String("account", "", "only quarantine the key if it belongs to this account `ID`")
	reason := cl.fs.String("reason", "", "why, in `TEXT` shown to the key's callers (at most 200 bytes)")
	k, err := keyAction(ctx, e, cl, args, func(a *admin, key string) (*amp.APIKey, error) {
		return a.svc.QuarantineKey(ctx, *account, key, *reason)
	})
	if err != nil || k == nil {
		return err
	}
	fmt.Fprintf(e.stdout, "quarantined %s (%s): %s\n", k.ID, k.Masked(), k.QuarantineReason)
	return nil
}

func runKeysRestore(ctx context.Context, e *env, args []string) error {
	cl := newCmdLine(e, "keys restore", subSynopsis(keyCommands(), "restore"), `
Lift a key's quarantine, given in full or by its id: a running server
accepts it again within a second. Restore a key only once you know its
exposure did no harm (or after rolling it, so that the old key serves its
grace period). Give - to read the key from standard input.`, adminSettings...)
	account := cl.fs.String("account", "", "only restore the key if it belongs to this account `ID`")
	k, err := keyAction(ctx, e, cl, args, func(a *admin, key string) (*amp.APIKey, error) {
		return a.svc.RestoreKey(ctx, *account, key)
	})
	if err != nil || k == nil {
		return err
	}
	fmt.Fprintf(e.stdout, "restored %s (%s)\n", k.ID, k.Masked())
	return nil
}

func runKeysOnLeak(ctx context.Context, e *env, args []string) error {
	cl := newCmdLine(e, "keys on-leak", subSynopsis(keyCommands(), "on-leak"), `
Choose what happens to the account's keys that a secret scanner reports
found in public (POST /v1/secret-scanning/github): quarantine (the
default; the owner can restore the key) or revoke (final). Either way the
account's endpoints receive key.leak_suspected.`, adminSettings...)
	account := cl.fs.String("account", "", "the account's `ID`")
	pos, done, err := cl.parse(args, 1, 1)
	if done {
		return err
	}
	if err := cl.required("account", *account); err != nil {
		return err
	}
	if _, err := withAdmin(ctx, e, &cl.cfg, func(a *admin) (struct{}, error) {
		return struct{}{}, a.svc.SetLeakAction(ctx, *account, amp.LeakAction(pos[0]))
	}); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "keys of %s found by a secret scanner: %s\n", *account, pos[0])
	return nil
}

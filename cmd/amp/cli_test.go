package main

import (
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/amp-protocol/amp"
)

func TestHelp(t *testing.T) {
	out := mustAmp(t, nil, "help")
	for _, c := range commands() {
		if !regexp.MustCompile(`(?m)^\s+` + c.name + `\s+\S`).MatchString(out) {
			t.Errorf("amp help does not list %s:\n%s", c.name, out)
		}
	}
	if got := mustAmp(t, nil, "--help"); got != out {
		t.Errorf("amp --help differs from amp help")
	}
	if got := mustAmp(t, nil, "help", "keys", "create"); !strings.Contains(got, "Usage: amp keys create") || !strings.Contains(got, "--expires-in DURATION") {
		t.Errorf("amp help keys create:\n%s", got)
	}
	for _, args := range [][]string{{}, {"nope"}, {"keys"}, {"keys", "nope"}, {"serve", "--nope"}, {"serve", "extra"}} {
		_, _, err := ampCmd(t, nil, nil, "", args...)
		if !errors.Is(err, errUsage) {
			t.Errorf("amp %v: got %v, want a usage error", args, err)
		}
	}
}

func TestEveryCommandHasHelp(t *testing.T) {
	var paths [][]string
	for _, c := range commands() {
		paths = append(paths, []string{c.name})
	}
	for _, s := range accountCommands() {
		paths = append(paths, []string{"accounts", s.name})
	}
	for _, s := range keyCommands() {
		paths = append(paths, []string{"keys", s.name})
	}
	for _, s := range userCommands() {
		paths = append(paths, []string{"users", s.name})
	}
	for _, p := range paths {
		out, errOut, err := ampCmd(t, nil, nil, "", append(p, "-h")...)
		if err != nil || !strings.HasPrefix(out, "Usage: amp ") && !strings.Contains(out, "Usage:") {
			t.Errorf("amp %s -h: err %v, stdout %q, stderr %q", strings.Join(p, " "), err, out, errOut)
		}
	}
}

func TestVersion(t *testing.T) {
	if out := mustAmp(t, nil, "version"); !regexp.MustCompile(`^amp \S+.* go1\.\d+`).MatchString(out) {
		t.Errorf("amp version printed %q", out)
	}
}

func TestAdminCommands(t *testing.T) {
	dir := t.TempDir()
	fails := func(t *testing.T, wantIn string, args ...string) {
		t.Helper()
		_, _, err := ampCmd(t, nil, nil, "", args...)
		if err == nil || !strings.Contains(err.Error(), wantIn) {
			t.Errorf("amp %s: got %v, want an error with %q", strings.Join(args, " "), err, wantIn)
		}
	}

	acct := strings.TrimSpace(mustAmp(t, nil, "accounts", "create", "--data", dir, "--name", "acme"))
	big := strings.TrimSpace(mustAmp(t, nil, "accounts", "create", "--data", dir, "--name", "big", "--plan", "enterprise", "--rate", "2500"))
	list := mustAmp(t, nil, "accounts", "list", "--data", dir)
	for _, want := range []string{acct + `\s+acme\s+starter\s+10\s+100000\s+0%`, big + `\s+big\s+enterprise\s+2500\s+unlimited\s+0%`} {
		if !regexp.MustCompile(want).MatchString(list) {
			t.Errorf("accounts list lacks %q:\n%s", want, list)
		}
	}
	fails(t, "plan must be", "accounts", "create", "--data", dir, "--name", "x", "--plan", "gold")
	fails(t, "enterprise plan only", "accounts", "create", "--data", dir, "--name", "x", "--rate", "50")
	fails(t, "--name is required", "accounts", "create", "--data", dir)
	fails(t, "No such account", "accounts", "set-plan", "--data", dir, "--account", "acct_nope", "--plan", "pro")
	fails(t, "between 0 and 100", "accounts", "set-holdout", "--data", dir, "--account", acct, "--percent", "101")

	// Moving an enterprise account to pro drops its custom rate.
	if out := mustAmp(t, nil, "accounts", "set-plan", "--data", dir, "--account", big, "--plan", "pro"); !strings.Contains(out, "plan pro, 100 requests/second") {
		t.Errorf("set-plan printed %q", out)
	}

	key := strings.TrimSpace(mustAmp(t, nil, "keys", "create", "--data", dir, "--account", acct, "--mode", "test",
		"--name", "ci", "--scopes", "context, outcome", "--rate-limit", "5", "--expires-in", "7d"))
	if mode, err := amp.ParseKey(key); err != nil || mode != amp.ModeTest {
		t.Fatalf("keys create printed %q", key)
	}
	fails(t, "mode must be", "keys", "create", "--data", dir, "--account", acct, "--mode", "prod")
	fails(t, "Unknown scope", "keys", "create", "--data", dir, "--account", acct, "--mode", "live", "--scopes", "admin")
	fails(t, "No such account", "keys", "create", "--data", dir, "--account", "acct_nope", "--mode", "live")
	fails(t, "--expires-in", "keys", "create", "--data", dir, "--account", acct, "--mode", "live", "--expires-in", "soon")

	kl := mustAmp(t, nil, "keys", "list", "--data", dir, "--account", acct)
	if !regexp.MustCompile(`key_\S+\s+amp_sk_test_…` + key[len(key)-4:] + `\s+ci\s+expiring\s+context,outcome\s+5\s+\d{4}-`).MatchString(kl) {
		t.Errorf("keys list:\n%s", kl)
	}
	id := regexp.MustCompile(`key_\S+`).FindString(kl)
	fails(t, "No such account", "keys", "list", "--data", dir, "--account", "acct_nope")

	// Roll by id, then revoke the new key read from standard input.
	fails(t, "between 0 and 7 days", "keys", "roll", "--data", dir, id, "--grace", "8d")
	rolled := strings.TrimSpace(mustAmp(t, nil, "keys", "roll", "--data", dir, id, "--grace", "1h"))
	if _, err := amp.ParseKey(rolled); err != nil || rolled == key {
		t.Fatalf("keys roll printed %q", rolled)
	}
	out, _, err := ampCmd(t, nil, nil, rolled+"\n", "keys", "revoke", "--data", dir, "-")
	if err != nil || !strings.HasPrefix(out, "revoked key_") {
		t.Fatalf("keys revoke -: %q, %v", out, err)
	}
	kl = mustAmp(t, nil, "keys", "list", "--data", dir, "--account", acct)
	// The rolled key works for its grace hour (rolled); its replacement is
	// revoked; each names the other.
	if strings.Count(kl, "revoked") != 1 || strings.Count(kl, " rolled ") != 1 || strings.Contains(kl, " active ") {
		t.Errorf("after roll and revoke, keys list:\n%s", kl)
	}
	newID := regexp.MustCompile(`(?m)^(key_\S+).*\srevoked\s`).FindStringSubmatch(kl)
	if newID == nil || !regexp.MustCompile(`(?m)^`+id+`\s.*\srolled\s.*to `+newID[1]+`$`).MatchString(kl) ||
		!regexp.MustCompile(`(?m)^`+newID[1]+`\s.*from `+id+`$`).MatchString(kl) {
		t.Errorf("keys list does not link the keys of the roll:\n%s", kl)
	}
	fails(t, "rolled already", "keys", "roll", "--data", dir, id)
	fails(t, "No such API key", "keys", "revoke", "--data", dir, "key_nope")
	fails(t, "No such API key", "keys", "revoke", "--data", dir, "--account", big, id)
	fails(t, "want 1 argument", "keys", "revoke", "--data", dir)
	fails(t, "want 1 argument", "keys", "revoke", "--data", dir, "a", "b")
	fails(t, "--out is required", "backup", "--data", dir)
}

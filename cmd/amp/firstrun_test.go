package main

import (
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

var (
	dashboardLineRE = regexp.MustCompile(`(?m)^Dashboard: (http://\S+/dashboard/)$`)
	setupLinkRE     = regexp.MustCompile(`(?m)^\s+(http://\S+/dashboard/join\?t=\S+)\s*$`)
)

func getBody(t *testing.T, u string) (int, string) {
	t.Helper()
	res, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// The first start names the dashboard and prints a setup link that claims
// the default account; once the account has a user, no link is printed,
// and the operator's reset link opens the reset page.
func TestFirstRunSetupAndResetLink(t *testing.T) {
	var lg logs
	dir := t.TempDir()
	srv := startServe(t, &lg, dir)
	out := srv.Stdout.String()
	m := dashboardLineRE.FindStringSubmatch(out)
	if m == nil || m[1] != srv.URL+"/dashboard/" {
		t.Fatalf("no dashboard line for %s in:\n%s", srv.URL, out)
	}
	link := setupLinkRE.FindStringSubmatch(out)
	if link == nil {
		t.Fatalf("no setup link in:\n%s", out)
	}
	status, body := getBody(t, link[1])
	if status != http.StatusOK || !strings.Contains(body, "<strong>owner</strong> of the <strong>default</strong> account") {
		t.Fatalf("setup page: %d\n%s", status, body)
	}
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}

	// The operator gives the default account its owner instead.
	var acct string
	for _, line := range strings.Split(mustAmp(t, &lg, "accounts", "list", "--data", dir), "\n") {
		if f := strings.Fields(line); len(f) > 1 && strings.Contains(line, "default") {
			acct = f[0]
		}
	}
	if _, errOut, err := ampCmd(t, &lg, nil, "a long enough password\n", "users", "add", "--data", dir, "--email", "ops@example.com", "--account", acct); err != nil {
		t.Fatalf("users add: %v\n%s", err, errOut)
	}
	srv = startServe(t, &lg, dir)
	if out := srv.Stdout.String(); setupLinkRE.MatchString(out) || !dashboardLineRE.MatchString(out) {
		t.Fatalf("second start, the default account owned:\n%s", out)
	}

	if _, _, err := ampCmd(t, &lg, nil, "", "users", "reset-password", "--data", dir, "--email", "nobody@example.com"); err == nil {
		t.Error("reset-password for an unknown email succeeded")
	}
	reset := strings.TrimSpace(mustAmp(t, &lg, "users", "reset-password", "--data", dir, "--email", "ops@example.com", "--public-url", srv.URL))
	if !strings.HasPrefix(reset, srv.URL+"/dashboard/reset?t=") {
		t.Fatalf("reset-password printed %q", reset)
	}
	status, body = getBody(t, reset)
	if status != http.StatusOK || !strings.Contains(body, "ops@example.com") {
		t.Fatalf("reset page: %d\n%s", status, body)
	}
}

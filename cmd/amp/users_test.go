package main

import (
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestUsersAdd adds a dashboard user with the CLI while a server whose
// sign-up is closed runs on the same data directory, and checks that the
// server refuses sign-ups. (Signing in is covered by the dashboard's tests.)
func TestUsersAdd(t *testing.T) {
	var lg logs
	dir := t.TempDir()
	srv := startServe(t, &lg, dir, "--signup", "closed")

	acct := strings.TrimSpace(mustAmp(t, &lg, "accounts", "create", "--data", dir, "--name", "ops"))
	out, errOut, err := ampCmd(t, &lg, nil, "a long enough password\n", "users", "add", "--data", dir, "--email", "ops@example.com", "--account", acct)
	if err != nil {
		t.Fatalf("users add: %v\n%s", err, errOut)
	}
	if strings.TrimSpace(out) == "" {
		t.Fatal("users add printed no user id")
	}
	if _, _, err := ampCmd(t, &lg, nil, "another long password\n", "users", "add", "--data", dir, "--email", "other@example.com", "--account", acct); err == nil {
		t.Fatal("a second user for one account was accepted")
	}
	if _, _, err := ampCmd(t, &lg, nil, "", "users", "add", "--data", dir, "--email", "x@example.com"); !errors.Is(err, errUsage) {
		t.Fatalf("no password on stdin: got %v, want a usage error", err)
	}

	res, err := http.Get(srv.URL + "/dashboard/signup")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode == http.StatusOK && strings.Contains(string(body), `name="password"`) {
		t.Fatalf("sign-up form served with --signup closed")
	}
	if res, err := http.PostForm(srv.URL+"/dashboard/signup", url.Values{"email": {"new@example.com"}, "password": {"a long enough password"}}); err == nil {
		res.Body.Close()
		if res.StatusCode < 400 {
			t.Fatalf("sign-up post with --signup closed: status %d", res.StatusCode)
		}
	}
}

package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	_ "modernc.org/sqlite"

	"github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/client"
)

// keyMaterialRE matches anything that looks like a full or partial AMP key:
// the prefix followed by more than the 4 characters a masked key shows.
var keyMaterialRE = regexp.MustCompile(`amp_sk_(live|test)_[0-9A-Za-z]{5,}`)

// TestNoKeyMaterial runs a full session (serve, every administrative
// command, requests with real, revoked, rolled, expired, bogus and
// misplaced keys), then checks that no log line and no database column or
// file byte holds a key.
func TestNoKeyMaterial(t *testing.T) {
	lg := &logs{}
	dir := t.TempDir()
	s := startServe(t, lg, dir)
	ctx := context.Background()

	first := firstKeyRE.FindStringSubmatch(s.Stdout.String())
	if first == nil {
		t.Fatalf("no first key printed:\n%s", s.Stdout.String())
	}
	secrets := []string{first[1]}
	var cliErrors []string // errors run returned: main prints them to stderr
	amp1 := func(args ...string) string {
		out, errOut, err := ampCmd(t, lg, nil, "", args...)
		if err != nil {
			t.Fatalf("amp %s: %v\n%s", strings.Join(args, " "), err, errOut)
		}
		return strings.TrimSpace(out)
	}
	ampFail := func(stdin string, args ...string) {
		_, _, err := ampCmd(t, lg, nil, stdin, args...)
		if err == nil {
			t.Fatalf("amp %s succeeded, want an error", strings.Join(args, " "))
		}
		cliErrors = append(cliErrors, err.Error())
	}

	acct := amp1("accounts", "create", "--data", dir, "--name", "leak check", "--plan", "pro")
	live := amp1("keys", "create", "--data", dir, "--account", acct, "--mode", "live", "--name", "prod")
	test := amp1("keys", "create", "--data", dir, "--account", acct, "--mode", "test", "--expires-in", "30d")
	toRevoke := amp1("keys", "create", "--data", dir, "--account", acct, "--mode", "live")
	toRoll := amp1("keys", "create", "--data", dir, "--account", acct, "--mode", "live")
	rolled := amp1("keys", "roll", "--data", dir, "--grace", "now", toRoll)
	secrets = append(secrets, live, test, toRevoke, toRoll, rolled)
	if out, _, err := ampCmd(t, lg, nil, toRevoke+"\n", "keys", "revoke", "--data", dir, "-"); err != nil || strings.Contains(out, toRevoke) {
		t.Fatalf("keys revoke -: %q, %v", out, err)
	}
	amp1("keys", "list", "--data", dir, "--account", acct)
	amp1("accounts", "list", "--data", dir)
	amp1("backup", "--data", dir, "--out", filepath.Join(t.TempDir(), "b.db"))

	// Keys that are not keys of this server.
	unknown, err := amp.NewKey(rand.Reader, amp.ModeLive) // well-formed, valid checksum, never issued
	if err != nil {
		t.Fatal(err)
	}
	badChecksum := live[:len(live)-1] + flip(live[len(live)-1])
	secrets = append(secrets, unknown, badChecksum)
	ampFail("", "keys", "revoke", "--data", dir, unknown)
	ampFail("", "keys", "roll", "--data", dir, badChecksum)
	ampFail("", "keys", "revoke", "--data", dir, "--account", "acct_nope", live)

	// Requests: successful ones with every route, then failures.
	for _, k := range []string{first[1], live, test, rolled} {
		c := s.newClient(t, k)
		mc, err := c.GetContext(ctx, amp.ContextRequest{UserID: "user_1", Task: "write the summary"})
		if err != nil {
			t.Fatalf("context: %v", err)
		}
		if err := c.ReportOutcome(ctx, amp.OutcomeRequest{RequestID: mc.RequestID, Started: client.Bool(true)}); err != nil {
			t.Fatal(err)
		}
		framing := amp.FramingLearning
		if _, err := c.UpdateProfile(ctx, "user_2", amp.ProfileUpdate{PreferredFraming: &framing}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.GetProfile(ctx, "user_1"); err != nil {
			t.Fatal(err)
		}
		if err := c.DeleteProfile(ctx, "user_2"); err != nil {
			t.Fatal(err)
		}
	}
	for _, k := range []string{toRevoke, toRoll, unknown, badChecksum, live + "x", "amp_sk_live_short"} {
		_, err := s.newClient(t, k).GetProfile(ctx, "user_1")
		if client.ErrorCode(err) != amp.CodeUnauthorized && client.ErrorCode(err) != amp.CodeKeyExpired && client.ErrorCode(err) != amp.CodeRateLimitExceeded {
			t.Errorf("bad key: got %v, want 401", err)
		}
	}
	// Keys where they do not belong: the wrong scheme or header, the query
	// string, the path.
	for _, r := range []struct {
		path   string
		header [2]string
	}{
		{"/v1/profile/user_1", [2]string{"Authorization", live}},
		{"/v1/profile/user_1", [2]string{"Authorization", "Basic " + live}},
		{"/v1/profile/user_1", [2]string{"X-Api-Key", live}},
		{"/v1/profile/user_1?api_key=" + live, [2]string{}},
		{"/v1/profile/" + unknown, [2]string{"Authorization", "Bearer " + live}},
		{"/v1/nowhere/" + live, [2]string{"Authorization", "Bearer " + live}},
	} {
		req, _ := http.NewRequest("GET", s.URL+r.path, nil)
		if r.header[0] != "" {
			req.Header.Set(r.header[0], r.header[1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	// Enough failures from one address to trip the per-IP limit.
	for range 25 {
		s.newClient(t, unknown).GetProfile(ctx, "user_1")
	}
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}

	t.Run("Logs", func(t *testing.T) {
		text := lg.String() + strings.Join(cliErrors, "\n")
		if !strings.Contains(text, "status=401") || !strings.Contains(text, "api key created") {
			t.Fatalf("the logs miss the session (no 401 or key creation logged):\n%s", text)
		}
		if m := keyMaterialRE.FindStringIndex(text); m != nil {
			t.Logf("context: %q", text[max(0, m[0]-300):min(len(text), m[1]+100)])
		}
		checkNoSecrets(t, "logs", text, secrets)
		if m := keyMaterialRE.FindString(text); m != "" {
			t.Errorf("logs hold key material %q", m)
		}
	})
	t.Run("ServeStdout", func(t *testing.T) {
		// serve prints the first key on purpose, once with its curl line;
		// nothing else of it, and no other key, may appear.
		out := s.Stdout.String()
		if n := strings.Count(out, first[1]); n != 2 {
			t.Errorf("serve printed the first key %d times, want 2 (key and curl line)", n)
		}
		checkNoSecrets(t, "serve stdout", out, secrets[1:])
	})
	t.Run("DatabaseDump", func(t *testing.T) {
		dump := dumpDatabase(t, filepath.Join(dir, DatabaseFile))
		for _, k := range []string{live, test, first[1]} {
			if !strings.Contains(dump, amp.HashKey(k)) {
				t.Fatalf("the dump lacks the hash of a key: it does not read the keys table")
			}
		}
		checkNoSecrets(t, "database dump", dump, secrets)
		if m := keyMaterialRE.FindString(dump); m != "" {
			t.Errorf("the database holds key material %q", m)
		}
		// Free pages, the WAL and the shared-memory file too.
		for _, f := range []string{DatabaseFile, DatabaseFile + "-wal", DatabaseFile + "-shm"} {
			b, err := os.ReadFile(filepath.Join(dir, f))
			if os.IsNotExist(err) {
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			checkNoSecrets(t, f, string(b), secrets)
		}
	})
}

func flip(c byte) string {
	if c == 'A' {
		return "B"
	}
	return "A"
}

// checkNoSecrets fails if text holds a key, its id part (everything after
// "amp_sk_mode_") or its 24 random characters.
func checkNoSecrets(t *testing.T, where, text string, secrets []string) {
	t.Helper()
	for _, s := range secrets {
		id := s[len("amp_sk_live_"):]
		for _, part := range []string{s, id, id[:24]} {
			if strings.Contains(text, part) {
				t.Errorf("%s hold key material %q (of key …%s)", where, part, s[len(s)-4:])
			}
		}
	}
}

// dumpDatabase returns every value of every column of every table, as text.
func dumpDatabase(t *testing.T, path string) string {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query("SELECT name FROM sqlite_schema WHERE type = 'table'")
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, name)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	for _, table := range tables {
		rows, err := db.Query(fmt.Sprintf("SELECT * FROM %q", table))
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&sb, "%s:", table)
			for i, v := range vals {
				if b, ok := v.([]byte); ok {
					v = string(b)
				}
				fmt.Fprintf(&sb, " %s=%v", cols[i], v)
			}
			sb.WriteString("\n")
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
	}
	return sb.String()
}

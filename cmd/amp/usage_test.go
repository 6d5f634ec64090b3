package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/client"
	"github.com/amp-protocol/amp/internal/sqlite"
)

// ampUsage runs `amp usage args` and returns its standard output.
func ampUsage(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	var out, errb lockedBuffer
	e := &env{getenv: mapEnv(nil), stdin: strings.NewReader(stdin), stdout: &out, stderr: &errb}
	err := runUsage(context.Background(), e, args)
	return out.String(), err
}

func TestUsageCommand(t *testing.T) {
	dir := t.TempDir()
	acct := strings.TrimSpace(mustAmp(t, nil, "accounts", "create", "--data", dir, "--name", "acme"))
	secret := strings.TrimSpace(mustAmp(t, nil, "keys", "create", "--data", dir, "--account", acct, "--mode", "live"))
	kl := mustAmp(t, nil, "keys", "list", "--data", dir, "--account", acct)
	keyID := regexp.MustCompile(`key_\S+`).FindString(kl)

	// A week of steady use from the US, then, in the last hour, a burst and
	// traffic from Great Britain.
	db, err := sqlite.Open(context.Background(), filepath.Join(dir, DatabaseFile), sqlite.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	row := func(g amp.Granularity, at time.Time, status int, country string, n int64) amp.UsageRow {
		return amp.UsageRow{Granularity: g, Start: g.Truncate(at), AccountID: acct, Mode: amp.ModeLive, KeyID: keyID,
			Route: "POST /v1/context", StatusClass: status / 100, Country: country, Requests: n}
	}
	var rows []amp.UsageRow
	for h := 2; h < 7*24; h++ {
		rows = append(rows, row(amp.GranularityHour, now.Add(-time.Duration(h)*time.Hour), 200, "US", 60))
		if h%24 == 0 {
			rows = append(rows, row(amp.GranularityDay, now.Add(-time.Duration(h)*time.Hour), 200, "US", 60*24))
		}
	}
	for _, g := range amp.Granularities {
		rows = append(rows,
			row(g, now.Add(-10*time.Minute), 200, "US", 400),
			row(g, now.Add(-10*time.Minute), 500, "US", 100),
			row(g, now.Add(-5*time.Minute), 200, "GB", 20))
	}
	if err := db.AddUsage(context.Background(), rows); err != nil {
		t.Fatal(err)
	}
	if err := db.AddQuotaUsage(context.Background(), []amp.QuotaDelta{{AccountID: acct, Month: amp.MonthStart(now), Delta: 420}}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	out, err := ampUsage(t, "", "--data", dir, "--key", keyID, "--window", "1h")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`Usage of key ` + keyID + ` \(live\) of account ` + acct,
		`Requests\s+520\n`,
		`Error rate\s+19\.2% \(4xx 0, 5xx 100\)`,
		`Live quota\s+420 of 100000 \(0\.4%\) this month; resets \d{4}-\d\d-01T00:00:00Z`,
		`Suspected leak\s+YES`,
		`- 500 requests in the minute of .*the key's usual 1\.0 a minute`,
		`- 20 requests from GB, a country the key had never used`,
		`US\s+500\s+96\.2%`,
		`GB\s+20\s+3\.8%`,
	} {
		if !regexp.MustCompile(want).MatchString(out) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}

	// The full key from standard input, as JSON.
	out, err = ampUsage(t, secret+"\n", "--data", dir, "--key", "-", "--window", "1h", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var got usageOutput
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("--json output %q: %v", out, err)
	}
	if got.Report.KeyID != keyID || got.Report.Requests != 520 || !got.Report.Flags.SuspectedLeak || got.Quota.Used != 420 {
		t.Errorf("--json report: key %s, %d requests, leak %v, quota %+v", got.Report.KeyID, got.Report.Requests, got.Report.Flags.SuspectedLeak, got.Quota)
	}

	// The account over a week, by hour, lists its key as flagged.
	out, err = ampUsage(t, "", "--data", dir, "--account", acct, "--window", "7d")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(keyID+`\s+live\s+\d+\s+[\d.]+%\s+YES`).MatchString(out) || !strings.Contains(out, "by hour") {
		t.Errorf("account report:\n%s", out)
	}

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--data", dir}, "--account or --key is required"},
		{[]string{"--data", dir, "--account", acct, "--window", "soon"}, "--window"},
		{[]string{"--data", dir, "--account", acct, "--mode", "prod"}, "--mode must be"},
		{[]string{"--data", dir, "--account", "acct_nope"}, "No such account."},
		{[]string{"--data", dir, "--key", "key_nope"}, "No such API key."},
		{[]string{"--data", dir, "--account", "acct_other", "--key", keyID}, "No such API key."},
	} {
		if _, err := ampUsage(t, "", c.args...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("amp usage %s: %v, want an error with %q", strings.Join(c.args, " "), err, c.want)
		}
	}
}

// TestUsageCountsRefused: requests of a key refused by its rate limit, and
// those with the key once revoked, are metered and shown by amp usage
// beside the admitted ones; the throttled burst of a leaked key shows.
func TestUsageCountsRefused(t *testing.T) {
	dir := t.TempDir()
	s := startServe(t, nil, dir)
	acct := strings.TrimSpace(mustAmp(t, nil, "accounts", "create", "--data", dir, "--name", "leaky", "--plan", "enterprise", "--rate", "100000"))
	secret := strings.TrimSpace(mustAmp(t, nil, "keys", "create", "--data", dir, "--account", acct, "--mode", "live", "--rate-limit", "5"))
	c := s.newClient(t, secret)
	statuses := map[int]int{}
	sent := 0
	get := func() int {
		sent++
		_, err := c.GetProfile(context.Background(), "nobody")
		var ce *client.Error
		if !errors.As(err, &ce) {
			t.Fatalf("GET profile: %v", err)
		}
		statuses[ce.Status]++
		return ce.Status
	}
	for range 26 {
		get()
	}
	if statuses[429] == 0 || statuses[404]+statuses[429] != 26 {
		t.Fatalf("statuses %v: want 26 answers, some of them 429", statuses)
	}
	mustAmp(t, nil, "keys", "revoke", "--data", dir, secret)
	// The server applies a revocation by another process within a second;
	// until then the key still works.
	for tries := 0; get() != 401; tries++ {
		if tries == 100 {
			t.Fatalf("the revoked key still works: %v", statuses)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := s.Stop(); err != nil { // flushes the meter
		t.Fatal(err)
	}
	out, err := ampUsage(t, "", "--data", dir, "--key", secret, "--window", "1h", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Report struct {
			Requests      int64 `json:"requests"`
			RateLimited   int64 `json:"rateLimited"`
			QuotaExceeded int64 `json:"quotaExceeded"`
			AuthFailed    int64 `json:"authFailed"`
		} `json:"report"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v in %s", err, out)
	}
	r := rep.Report
	if r.Requests != int64(sent) || r.RateLimited != int64(statuses[429]) || r.AuthFailed != int64(statuses[401]) {
		t.Errorf("usage: %d requests, %d rate-limited, %d failed key; want %d, %d, %d\n%s",
			r.Requests, r.RateLimited, r.AuthFailed, sent, statuses[429], statuses[401], out)
	}
	text, err := ampUsage(t, "", "--data", dir, "--key", secret, "--window", "1h")
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("rate-limited %d,", statuses[429]); !strings.Contains(text, want) {
		t.Errorf("amp usage does not show %q:\n%s", want, text)
	}
}

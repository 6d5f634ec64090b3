package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/client"
)

func TestFirstStart(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	s := startServe(t, nil, dir)
	out := s.Stdout.String()

	if !strings.Contains(out, `Created the "default" account`) || !strings.Contains(out, "plan starter") {
		t.Errorf("first start does not announce the default account:\n%s", out)
	}
	keys := firstKeyRE.FindAllStringSubmatch(out, -1)
	if len(keys) != 1 {
		t.Fatalf("got %d keys printed, want 1:\n%s", len(keys), out)
	}
	key := keys[0][1]
	if mode, err := amp.ParseKey(key); err != nil || mode != amp.ModeTest {
		t.Fatalf("printed key %q: mode %q, err %v; want a valid test key", key, mode, err)
	}

	// The curl line must work as printed: run its request as curl would.
	m := regexp.MustCompile(`(?m)^\s+(curl .*)$`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no curl line:\n%s", out)
	}
	status, body := runCurlLine(t, m[1])
	if status != http.StatusOK {
		t.Fatalf("curl line answered HTTP %d: %s", status, body)
	}
	var mc amp.Context
	if err := json.Unmarshal(body, &mc); err != nil || !strings.HasPrefix(mc.RequestID, "req_") || !mc.Framing.Valid() {
		t.Errorf("curl line answered %s (decode error %v)", body, err)
	}
	if !strings.Contains(m[1], s.URL+"/v1/context") {
		t.Errorf("curl line %q does not use the bound address %s", m[1], s.URL)
	}

	// The database holds one account, "default" on plan starter, with one
	// test key.
	list := mustAmp(t, nil, "accounts", "list", "--data", dir)
	if lines := strings.Split(strings.TrimSpace(list), "\n"); len(lines) != 2 || !strings.Contains(lines[1], " default ") || !strings.Contains(lines[1], " starter ") {
		t.Fatalf("accounts list:\n%s", list)
	}
	acct := strings.Fields(strings.Split(list, "\n")[1])[0]
	kl := mustAmp(t, nil, "keys", "list", "--data", dir, "--account", acct)
	if lines := strings.Split(strings.TrimSpace(kl), "\n"); len(lines) != 2 || !strings.Contains(lines[1], "amp_sk_test_…"+key[len(key)-4:]) {
		t.Errorf("keys list:\n%s", kl)
	}
	if strings.Contains(kl, key) {
		t.Errorf("keys list shows the full key:\n%s", kl)
	}

	// A restart on the same data prints no key and creates nothing.
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	s2 := startServe(t, nil, dir)
	if out2 := s2.Stdout.String(); strings.Contains(out2, "amp_sk_") || strings.Contains(out2, "Created") {
		t.Errorf("second start printed:\n%s", out2)
	}
	if got := mustAmp(t, nil, "accounts", "list", "--data", dir); strings.Count(got, "\n") != 2 {
		t.Errorf("after restart, accounts list:\n%s", got)
	}
}

// runCurlLine performs the request of a one-line curl command (URL, -H
// headers, -d data; POST when there is data) with net/http.
func runCurlLine(t *testing.T, line string) (int, []byte) {
	t.Helper()
	words, err := shellWords(line)
	if err != nil {
		t.Fatalf("curl line %q: %v", line, err)
	}
	if len(words) < 2 || words[0] != "curl" {
		t.Fatalf("not a curl command: %q", line)
	}
	var url, data string
	hasData := false
	method := ""
	headers := http.Header{}
	for i := 1; i < len(words); i++ {
		switch w := words[i]; w {
		case "-H", "--header":
			i++
			k, v, ok := strings.Cut(words[i], ":")
			if !ok {
				t.Fatalf("bad header %q", words[i])
			}
			headers.Add(strings.TrimSpace(k), strings.TrimSpace(v))
		case "-d", "--data":
			i++
			data, hasData = words[i], true
		case "-X", "--request":
			i++
			method = words[i]
		default:
			if strings.HasPrefix(w, "-") {
				t.Fatalf("curl option %q not supported by this test", w)
			}
			url = w
		}
	}
	if method == "" {
		method = http.MethodGet
		if hasData {
			method = http.MethodPost
		}
	}
	var body io.Reader
	if hasData {
		body = strings.NewReader(data)
	}
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header = headers
	if hasData && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded") // as curl does
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// TestEndToEnd runs the real server in-process and drives every route
// through the Go client, with administrative commands run against the same
// data directory while it serves.
func TestEndToEnd(t *testing.T) {
	dir := t.TempDir()
	s := startServe(t, nil, dir)
	ctx := context.Background()

	acct := strings.TrimSpace(mustAmp(t, nil, "accounts", "create", "--data", dir, "--name", "e2e", "--plan", "enterprise", "--rate", "100000"))
	if !strings.HasPrefix(acct, "acct_") || strings.ContainsAny(acct, " \n") {
		t.Fatalf("accounts create printed %q, want the id alone", acct)
	}
	liveKey := strings.TrimSpace(mustAmp(t, nil, "keys", "create", "--data", dir, "--account", acct, "--mode", "live", "--name", "e2e live"))
	testKey := strings.TrimSpace(mustAmp(t, nil, "keys", "create", "--data", dir, "--account", acct, "--mode", "test"))
	for _, k := range []struct{ key, mode string }{{liveKey, "live"}, {testKey, "test"}} {
		if mode, err := amp.ParseKey(k.key); err != nil || string(mode) != k.mode {
			t.Fatalf("keys create printed %q (mode %q, %v), want a %s key alone", k.key, mode, err, k.mode)
		}
	}
	live := s.newClient(t, liveKey)

	t.Run("Context", func(t *testing.T) {
		mc, err := live.GetContext(ctx, amp.ContextRequest{UserID: "user_123", Task: "build a login page", Complexity: amp.TaskComplexityMedium, TaskType: "coding",
			Metadata: json.RawMessage(`{"source":"chat"}`)})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(mc.RequestID, "req_") || !mc.Framing.Valid() || !mc.Style.Valid() || !mc.Handling.Valid() || !mc.Encouragement.Valid() {
			t.Errorf("got %+v", mc)
		}
		if mc.Metadata.ProfilePhase != amp.PhaseColdStart || mc.Metadata.InteractionCount != 0 || mc.Confidence <= 0 || mc.Confidence > 1 || mc.Rationale == "" {
			t.Errorf("got %+v, want a cold start", mc)
		}
		_, err = live.GetContext(ctx, amp.ContextRequest{UserID: "", Task: "x"})
		wantCode(t, err, 400, amp.CodeInvalidUserID)
		_, err = live.GetContext(ctx, amp.ContextRequest{UserID: "u", Task: ""})
		wantCode(t, err, 400, amp.CodeInvalidTask)
	})

	t.Run("OutcomesAndPhases", func(t *testing.T) {
		var last string
		for i := range 5 {
			mc, err := live.GetContext(ctx, amp.ContextRequest{UserID: "user_phases", Task: "write the report"})
			if err != nil {
				t.Fatal(err)
			}
			if mc.Metadata.InteractionCount != i {
				t.Errorf("context %d: interactionCount %d, want %d", i, mc.Metadata.InteractionCount, i)
			}
			err = live.ReportOutcome(ctx, amp.OutcomeRequest{RequestID: mc.RequestID, Started: client.Bool(true), Completed: client.Bool(i%2 == 0),
				TimeToStart: client.Float(15), FlowState: client.Bool(true), Satisfaction: client.Float(0.9)})
			if err != nil {
				t.Fatalf("outcome %d: %v", i, err)
			}
			last = mc.RequestID
		}
		err := live.ReportOutcome(ctx, amp.OutcomeRequest{RequestID: last, Started: client.Bool(false)})
		wantCode(t, err, 409, amp.CodeOutcomeAlreadyReported)
		err = live.ReportOutcome(ctx, amp.OutcomeRequest{RequestID: "req_doesnotexist000000000000", Started: client.Bool(true)})
		wantCode(t, err, 404, amp.CodeInvalidRequestID)
		mc, err := live.GetContext(ctx, amp.ContextRequest{UserID: "user_phases", Task: "write the report"})
		if err != nil {
			t.Fatal(err)
		}
		if mc.Metadata.ProfilePhase != amp.PhaseLearning || mc.Metadata.InteractionCount != 5 {
			t.Errorf("after 5 outcomes: got %+v, want learning with 5 interactions", mc.Metadata)
		}
		p, err := live.GetProfile(ctx, "user_phases")
		if err != nil {
			t.Fatal(err)
		}
		if p.TotalInteractions != 5 || p.CompletionRate != 0.6 || p.ProfilePhase != amp.PhaseLearning || p.ProfileVersion != amp.ProfileVersion {
			t.Errorf("profile: got %+v", p)
		}
		// A requestId of live mode is unknown to test mode.
		err = s.newClient(t, testKey).ReportOutcome(ctx, amp.OutcomeRequest{RequestID: mc.RequestID, Started: client.Bool(true)})
		wantCode(t, err, 404, amp.CodeInvalidRequestID)
	})

	t.Run("Profiles", func(t *testing.T) {
		framing, style := amp.FramingMicroTask, amp.StyleTechnical
		p, err := live.UpdateProfile(ctx, "user/with space", amp.ProfileUpdate{PreferredFraming: &framing, CommunicationStyle: &style,
			Metadata: json.RawMessage(`{"imported":true}`)})
		if err != nil {
			t.Fatal(err)
		}
		if p.UserID != "user/with space" || p.PreferredFraming != framing || p.CommunicationStyle != style {
			t.Errorf("PUT: got %+v", p)
		}
		bad := amp.Framing("bossy")
		_, err = live.UpdateProfile(ctx, "user/with space", amp.ProfileUpdate{PreferredFraming: &bad})
		wantCode(t, err, 400, amp.CodeInvalidPreference)
		got, err := live.GetProfile(ctx, "user/with space")
		if err != nil {
			t.Fatal(err)
		}
		if got.PreferredFraming != framing || string(got.Metadata) != `{"imported":true}` {
			t.Errorf("GET: got %+v", got)
		}
		// The test mode of the same account sees nothing of live mode.
		_, err = s.newClient(t, testKey).GetProfile(ctx, "user/with space")
		wantCode(t, err, 404, amp.CodeNotFound)
		if err := live.DeleteProfile(ctx, "user/with space"); err != nil {
			t.Fatal(err)
		}
		_, err = live.GetProfile(ctx, "user/with space")
		wantCode(t, err, 404, amp.CodeNotFound)
		err = live.DeleteProfile(ctx, "user/with space")
		wantCode(t, err, 404, amp.CodeNotFound)
	})

	t.Run("UnauthenticatedRoutes", func(t *testing.T) {
		for _, path := range []string{"/healthz", "/readyz", "/v1/openapi.json"} {
			resp, err := http.Get(s.URL + path)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Errorf("GET %s: HTTP %d %s", path, resp.StatusCode, body)
			}
			if path == "/v1/openapi.json" && !json.Valid(body) {
				t.Errorf("openapi.json is not JSON")
			}
		}
		_, err := s.newClient(t, "amp_sk_live_000000000000000000000000000000").GetProfile(ctx, "u")
		wantCode(t, err, 401, amp.CodeUnauthorized)
	})

	t.Run("ScopedKey", func(t *testing.T) {
		key := strings.TrimSpace(mustAmp(t, nil, "keys", "create", "--data", dir, "--account", acct, "--mode", "live", "--scopes", "context,profiles:read"))
		c := s.newClient(t, key)
		mc, err := c.GetContext(ctx, amp.ContextRequest{UserID: "scoped", Task: "t"})
		if err != nil {
			t.Fatal(err)
		}
		err = c.ReportOutcome(ctx, amp.OutcomeRequest{RequestID: mc.RequestID, Started: client.Bool(true)})
		wantCode(t, err, 403, amp.CodeForbidden)
		_, err = c.UpdateProfile(ctx, "scoped", amp.ProfileUpdate{})
		wantCode(t, err, 403, amp.CodeForbidden)
	})

	t.Run("KeyRateLimit", func(t *testing.T) {
		key := strings.TrimSpace(mustAmp(t, nil, "keys", "create", "--data", dir, "--account", acct, "--mode", "live", "--rate-limit", "1"))
		c := s.newClient(t, key)
		var err error
		for range 50 {
			if _, err = c.GetProfile(ctx, "user_phases"); err != nil {
				break
			}
		}
		wantCode(t, err, 429, amp.CodeRateLimitExceeded)
		var e *client.Error
		if errors.As(err, &e); e.RetryAfter <= 0 {
			t.Errorf("429 without a Retry-After: %+v", e)
		}
	})

	t.Run("RevokeWhileServing", func(t *testing.T) {
		key := strings.TrimSpace(mustAmp(t, nil, "keys", "create", "--data", dir, "--account", acct, "--mode", "live"))
		c := s.newClient(t, key)
		if _, err := c.GetProfile(ctx, "user_phases"); err != nil {
			t.Fatal(err) // the server now has the key cached
		}
		out := mustAmp(t, nil, "keys", "revoke", "--data", dir, key)
		if !strings.HasPrefix(out, "revoked key_") || strings.Contains(out, key) {
			t.Errorf("keys revoke printed %q", out)
		}
		// The contract: refused on every instance within 1 s of the
		// revocation. Any request from then on must be refused.
		time.Sleep(time.Second)
		_, err := c.GetProfile(ctx, "user_phases")
		wantCode(t, err, 401, amp.CodeUnauthorized)
	})

	t.Run("RollWhileServing", func(t *testing.T) {
		old := strings.TrimSpace(mustAmp(t, nil, "keys", "create", "--data", dir, "--account", acct, "--mode", "live", "--name", "rolled"))
		oldC := s.newClient(t, old)
		if _, err := oldC.GetProfile(ctx, "user_phases"); err != nil {
			t.Fatal(err)
		}
		// With a grace period both keys work.
		graced := strings.TrimSpace(mustAmp(t, nil, "keys", "roll", "--data", dir, old, "--grace", "1h"))
		if _, err := amp.ParseKey(graced); err != nil || graced == old {
			t.Fatalf("keys roll printed %q", graced)
		}
		time.Sleep(time.Second)
		for _, k := range []string{old, graced} {
			if _, err := s.newClient(t, k).GetProfile(ctx, "user_phases"); err != nil {
				t.Errorf("during the grace period: %v", err)
			}
		}
		// Rolling with --grace now ends the old key at once.
		next := strings.TrimSpace(mustAmp(t, nil, "keys", "roll", "--data", dir, "--grace", "now", graced))
		time.Sleep(time.Second)
		_, err := s.newClient(t, graced).GetProfile(ctx, "user_phases")
		wantCode(t, err, 401, amp.CodeKeyExpired)
		if _, err := s.newClient(t, next).GetProfile(ctx, "user_phases"); err != nil {
			t.Errorf("the new key: %v", err)
		}
	})

	t.Run("SetPlanWhileServing", func(t *testing.T) {
		other := strings.TrimSpace(mustAmp(t, nil, "accounts", "create", "--data", dir, "--name", "switcher", "--plan", "pro"))
		key := strings.TrimSpace(mustAmp(t, nil, "keys", "create", "--data", dir, "--account", other, "--mode", "test"))
		if got := rateLimitHeader(t, s.URL, key); got != "100" {
			t.Errorf("pro: RateLimit-Limit %q, want 100", got)
		}
		out := mustAmp(t, nil, "accounts", "set-plan", "--data", dir, "--account", other, "--plan", "enterprise", "--rate", "5000")
		if !strings.Contains(out, "enterprise") {
			t.Errorf("set-plan printed %q", out)
		}
		time.Sleep(time.Second)
		if got := rateLimitHeader(t, s.URL, key); got != "5000" {
			t.Errorf("enterprise 5000: RateLimit-Limit %q, want 5000", got)
		}
		mustAmp(t, nil, "accounts", "set-holdout", "--data", dir, "--account", other, "--percent", "25")
		if list := mustAmp(t, nil, "accounts", "list", "--data", dir); !regexp.MustCompile(other + `\s+switcher\s+enterprise\s+5000\s+unlimited\s+25%`).MatchString(list) {
			t.Errorf("accounts list:\n%s", list)
		}
	})

	t.Run("BackupWhileServing", func(t *testing.T) {
		dest := filepath.Join(t.TempDir(), "backup.db")
		mustAmp(t, nil, "backup", "--data", dir, "--out", dest)
		db, err := sql.Open("sqlite", dest)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var accounts, outcomes int
		if err := db.QueryRow("SELECT count(*) FROM accounts").Scan(&accounts); err != nil {
			t.Fatal(err)
		}
		if err := db.QueryRow("SELECT count(*) FROM outcomes").Scan(&outcomes); err != nil {
			t.Fatal(err)
		}
		if accounts < 3 || outcomes != 5 {
			t.Errorf("backup holds %d accounts and %d outcomes, want >= 3 and 5", accounts, outcomes)
		}
		if _, _, err := ampCmd(t, nil, nil, "", "backup", "--data", dir, "--out", dest); err == nil {
			t.Errorf("a backup over an existing file succeeded")
		}
	})

	if err := s.Stop(); err != nil {
		t.Fatalf("graceful shutdown: %v", err)
	}
	if !strings.Contains(s.Stderr.String(), "msg=stopped") {
		t.Errorf("no clean stop in the log:\n%s", s.Stderr.String())
	}
}

// rateLimitHeader returns the RateLimit-Limit of an authenticated request.
func rateLimitHeader(t *testing.T, base, key string) string {
	t.Helper()
	req, _ := http.NewRequest("GET", base+"/v1/profile/nobody", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.Header.Get("RateLimit-Limit")
}

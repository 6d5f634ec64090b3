package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/client"
)

// eventually polls cond every 10 ms until it holds, failing after a
// minute: it waits for background work, and asserts nothing about speed.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(time.Minute); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("%s: not within a minute", what)
		}
	}
}

func TestWebhooksCommands(t *testing.T) {
	lg := &logs{}
	dir := t.TempDir()
	var status atomic.Int32
	status.Store(http.StatusOK)
	var got atomic.Int32
	var secret atomic.Value
	secret.Store("")
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if _, err := client.VerifyWebhook(body, r.Header.Get(client.SignatureHeader), secret.Load().(string), 0); err != nil {
			t.Errorf("delivery: %v", err)
		}
		got.Add(1)
		w.WriteHeader(int(status.Load()))
	}))
	defer rcv.Close()

	acct := strings.TrimSpace(mustAmp(t, lg, "accounts", "create", "--data", dir, "--name", "hooks"))
	key := strings.TrimSpace(mustAmp(t, lg, "keys", "create", "--data", dir, "--account", acct, "--mode", "test"))
	// Loopback is refused without the setting.
	if _, _, err := ampCmd(t, lg, nil, "", "webhooks", "add", "--data", dir, "--account", acct, "--mode", "test", "--url", rcv.URL, "--events", "all"); err == nil {
		t.Fatal("a loopback endpoint was accepted without --webhook-allow-private")
	}
	out := mustAmp(t, lg, "webhooks", "add", "--data", dir, "--account", acct, "--mode", "test", "--url", rcv.URL, "--events", "all", "--webhook-allow-private", "true")
	var epID string
	for line := range strings.SplitSeq(strings.TrimSpace(out), "\n") {
		k, v, _ := strings.Cut(line, " ")
		switch k {
		case "endpoint":
			epID = v
		case "secret":
			secret.Store(v)
		}
	}
	if list := mustAmp(t, lg, "webhooks", "list", "--data", dir, "--account", acct); !strings.Contains(list, epID) || strings.Contains(list, secret.Load().(string)) {
		t.Fatalf("webhooks list:\n%s", list)
	}

	srv := startServe(t, lg, dir, "--webhook-allow-private", "true")
	mustAmp(t, lg, "webhooks", "test", "--data", dir, epID)
	eventually(t, "the test event's delivery", func() bool { return got.Load() == 1 })
	eventually(t, "the delivery log's success", func() bool {
		return strings.Contains(mustAmp(t, lg, "webhooks", "deliveries", "--data", dir, "--account", acct, "--status", "succeeded"), "webhook.test")
	})

	// A failing endpoint: the log shows the 500; replay sends it again.
	status.Store(http.StatusInternalServerError)
	mustAmp(t, lg, "webhooks", "test", "--data", dir, epID)
	eventually(t, "the failed attempt", func() bool {
		return strings.Contains(mustAmp(t, lg, "webhooks", "deliveries", "--data", dir, "--account", acct, "--status", "pending"), "HTTP 500")
	})
	deliveries := mustAmp(t, lg, "webhooks", "deliveries", "--data", dir, "--account", acct, "--status", "succeeded")
	first := strings.Fields(strings.Split(strings.TrimSpace(deliveries), "\n")[1])[0]
	status.Store(http.StatusOK)
	before := got.Load()
	mustAmp(t, lg, "webhooks", "replay", "--data", dir, first)
	eventually(t, "the replay", func() bool { return got.Load() > before })
	if show := mustAmp(t, lg, "webhooks", "show", "--data", dir, first); strings.Count(show, "\n") < 4 {
		t.Fatalf("webhooks show after a replay lists fewer than 2 attempts:\n%s", show)
	}
	// Filters and pages: two test-mode webhook.test deliveries.
	rows := func(out string) []string { return strings.Split(strings.TrimSpace(out), "\n")[1:] }
	all := rows(mustAmp(t, lg, "webhooks", "deliveries", "--data", dir, "--account", acct, "--type", "webhook.test", "--mode", "test"))
	if len(all) != 2 {
		t.Fatalf("webhook.test deliveries of test mode: %q", all)
	}
	newest, older := strings.Fields(all[0])[0], strings.Fields(all[1])[0]
	if page := rows(mustAmp(t, lg, "webhooks", "deliveries", "--data", dir, "--account", acct, "--before", newest)); len(page) != 1 || !strings.HasPrefix(page[0], older) {
		t.Fatalf("the page after %s: %q, want %s", newest, page, older)
	}
	for _, f := range [][]string{{"--type", "key.expiring"}, {"--mode", "live"}} {
		if r := rows(mustAmp(t, lg, append([]string{"webhooks", "deliveries", "--data", dir, "--account", acct}, f...)...)); len(r) != 0 {
			t.Fatalf("deliveries %v: %q, want none", f, r)
		}
	}

	// Quarantine through the CLI reaches the running server within a
	// second (its key cache's TTL), and restore undoes it.
	c := srv.newClient(t, key)
	ctx := context.Background()
	if _, err := c.GetContext(ctx, amp.ContextRequest{UserID: "u", Task: "t"}); err != nil {
		t.Fatal(err)
	}
	mustAmp(t, lg, "keys", "quarantine", "--data", dir, "--reason", "pasted in a chat", key)
	eventually(t, "the quarantine", func() bool {
		_, err := c.GetContext(ctx, amp.ContextRequest{UserID: "u", Task: "t"})
		return client.ErrorCode(err) == amp.CodeKeyQuarantined
	})
	if list := mustAmp(t, lg, "keys", "list", "--data", dir, "--account", acct); !strings.Contains(list, "quarantined") {
		t.Fatalf("keys list does not show the quarantine:\n%s", list)
	}
	mustAmp(t, lg, "keys", "restore", "--data", dir, key)
	eventually(t, "the restore", func() bool {
		_, err := c.GetContext(ctx, amp.ContextRequest{UserID: "u", Task: "t"})
		return err == nil
	})
	mustAmp(t, lg, "webhooks", "update", "--data", dir, epID, "--disable")
	mustAmp(t, lg, "webhooks", "roll-secret", "--data", dir, epID, "--grace", "now")
	mustAmp(t, lg, "webhooks", "remove", "--data", dir, epID)
	if list := mustAmp(t, lg, "webhooks", "list", "--data", dir, "--account", acct); strings.Contains(list, epID) {
		t.Fatalf("a removed endpoint is listed:\n%s", list)
	}
}

func TestServeSecretScanning(t *testing.T) {
	lg := &logs{}
	dir := t.TempDir()
	priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	doc, _ := json.Marshal(map[string]any{"public_keys": []map[string]any{{
		"key_identifier": "k1", "key": string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})), "is_current": true}}})
	keysFile := filepath.Join(t.TempDir(), "keys.json")
	if err := os.WriteFile(keysFile, doc, 0o600); err != nil {
		t.Fatal(err)
	}
	acct := strings.TrimSpace(mustAmp(t, lg, "accounts", "create", "--data", dir, "--name", "scan"))
	key := strings.TrimSpace(mustAmp(t, lg, "keys", "create", "--data", dir, "--account", acct, "--mode", "live"))
	srv := startServe(t, lg, dir, "--secret-scanning-keys", keysFile)
	body, _ := json.Marshal([]amp.FoundToken{{Token: key, Type: "amp_secret_key", URL: "https://github.com/o/r/blob/main/x", Source: "content"}})
	sum := sha256.Sum256(body)
	sig, _ := ecdsa.SignASN1(rand.Reader, priv, sum[:])
	req, _ := http.NewRequest("POST", srv.URL+"/v1/secret-scanning/github", bytes.NewReader(body))
	req.Header.Set("Github-Public-Key-Identifier", "k1")
	req.Header.Set("Github-Public-Key-Signature", base64.StdEncoding.EncodeToString(sig))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var fb []amp.TokenFeedback
	if err := json.NewDecoder(resp.Body).Decode(&fb); err != nil || resp.StatusCode != 200 || len(fb) != 1 || fb[0].Label != amp.TruePositive {
		t.Fatalf("alert: %d %+v %v", resp.StatusCode, fb, err)
	}
	_, err = srv.newClient(t, key).GetContext(context.Background(), amp.ContextRequest{UserID: "u", Task: "t"})
	wantCode(t, err, 401, amp.CodeKeyQuarantined)
}

func TestKeyStatus(t *testing.T) {
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	ago := func(d time.Duration) *time.Time { t := now.Add(-d); return &t }
	for _, c := range []struct {
		k    amp.APIKey
		want string
	}{
		{amp.APIKey{CreatedAt: *ago(89 * 24 * time.Hour)}, "active"},
		{amp.APIKey{CreatedAt: *ago(90 * 24 * time.Hour)}, "active, rotation due"},
		{amp.APIKey{CreatedAt: *ago(200 * 24 * time.Hour), RevokedAt: ago(time.Hour)}, "revoked"},
		{amp.APIKey{CreatedAt: *ago(time.Hour), QuarantinedAt: ago(time.Minute)}, "quarantined"},
		{amp.APIKey{CreatedAt: *ago(time.Hour), ExpiresAt: ago(time.Minute)}, "expired"},
	} {
		if got := keyStatus(&c.k, now, DefaultKeyRotationAge); got != c.want {
			t.Errorf("keyStatus(%+v) = %q, want %q", c.k, got, c.want)
		}
	}
}

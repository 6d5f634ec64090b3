package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/client"
)

// postgresURL returns the URL of a fresh database on the server named by
// AMP_TEST_POSTGRES_URL, dropped when the test ends, or skips the test.
func postgresURL(t *testing.T) string {
	t.Helper()
	admin := os.Getenv("AMP_TEST_POSTGRES_URL")
	if admin == "" {
		t.Skip("AMP_TEST_POSTGRES_URL not set: amp serve on PostgreSQL not tested (.ci/run starts a server)")
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatalf("connect to AMP_TEST_POSTGRES_URL: %v", err)
	}
	defer conn.Close(ctx)
	b := make([]byte, 8)
	rand.Read(b)
	name := "amp_cmd_" + hex.EncodeToString(b) // hex: safe to splice
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(ctx, admin)
		if err != nil {
			t.Errorf("drop %s: %v", name, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop %s: %v", name, err)
		}
	})
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

// TestServeOnPostgres runs serve and the key commands on PostgreSQL
// (--database-url): first start, the routes, and a revocation by the CLI
// refused by the running server within a second.
func TestServeOnPostgres(t *testing.T) {
	dbURL := postgresURL(t)
	s := startServe(t, nil, t.TempDir(), "--database-url", dbURL)
	m := firstKeyRE.FindStringSubmatch(s.Stdout.String())
	if m == nil {
		t.Fatalf("no first key printed:\n%s", s.Stdout.String())
	}
	ctx := context.Background()
	c := s.newClient(t, m[1])
	mc, err := c.GetContext(ctx, amp.ContextRequest{UserID: "pg_user", Task: "ship it"})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.ReportOutcome(ctx, amp.OutcomeRequest{RequestID: mc.RequestID, Started: client.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	p, err := c.GetProfile(ctx, "pg_user")
	if err != nil || p.TotalInteractions != 1 {
		t.Fatalf("profile: %+v, %v", p, err)
	}

	list := mustAmp(t, nil, "accounts", "list", "--database-url", dbURL)
	acct := strings.Fields(strings.Split(list, "\n")[1])[0]
	key := strings.TrimSpace(mustAmp(t, nil, "keys", "create", "--database-url", dbURL, "--account", acct, "--mode", "live"))
	kc := s.newClient(t, key)
	if _, err := kc.GetProfile(ctx, "nobody"); client.ErrorCode(err) != amp.CodeNotFound {
		t.Fatalf("new key: got %v, want NOT_FOUND", err)
	}
	mustAmp(t, nil, "keys", "revoke", "--database-url", dbURL, key)
	time.Sleep(time.Second)
	_, err = kc.GetProfile(ctx, "nobody")
	wantCode(t, err, 401, amp.CodeUnauthorized)

	if _, _, err := ampCmd(t, nil, nil, "", "backup", "--database-url", dbURL, "--out", t.TempDir()+"/b.db"); err == nil || !strings.Contains(err.Error(), "pg_dump") {
		t.Errorf("backup on PostgreSQL: got %v, want a pointer to pg_dump", err)
	}
}

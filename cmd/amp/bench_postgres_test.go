package main

import (
	"context"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

// TestBenchPostgres runs a very short bench with a PostgreSQL phase and
// checks that the side-by-side table has every store and target, without
// errors, and that the scratch database is gone afterwards. Speed itself
// is not asserted.
func TestBenchPostgres(t *testing.T) {
	admin := os.Getenv("AMP_TEST_POSTGRES_URL")
	if admin == "" {
		t.Skip("AMP_TEST_POSTGRES_URL not set: amp bench's PostgreSQL phase not tested (scripts/pg-test-server.sh start prints one; .ci/run starts it)")
	}
	redisURL := os.Getenv("AMP_TEST_REDIS_URL")
	args := []string{"bench", "--duration", "300ms", "--warmup", "50ms", "--concurrency", "4",
		"--rate", "100", "--rate-duration", "300ms", "--rate-workers", "8", "--users", "20", "--postgres-url", admin,
		"--pg-stats-settle", "100ms", "--redis-url", redisURL}
	out := mustAmp(t, nil, args...)
	for _, row := range []string{`none\s+echo \(net/http\)`, `SQLite\s+context`, `PostgreSQL\s+context`, `SQLite\s+outcome`, `PostgreSQL\s+outcome`} {
		// store, target, requests/s, p99, /echo, p99 at fixed rate, errors
		m := regexp.MustCompile(`(?m)^\s*` + row + `\s+(\d+)\s+([\d.]+)ms\s+(-|[\d.]+)\s+(-|[\d.]+ms)\s+(\d+)\s*$`).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("no side-by-side row %q:\n%s", row, out)
		}
		if m[1] == "0" {
			t.Errorf("%s: 0 requests/s:\n%s", row, out)
		}
		if m[5] != "0" {
			t.Errorf("%s: %s errors:\n%s", row, m[5], out)
		}
	}
	// The database's work per request. With a short settle time the
	// transaction counts are approximate (even negative), so only their
	// presence is checked.
	if !strings.Contains(out, "approximate") {
		t.Errorf("a short --pg-stats-settle is not said to make the counts approximate:\n%s", out)
	}
	for _, target := range []string{"context", "outcome"} {
		// target, xacts, WAL flushes, lock waits, DB CPU, amp CPU
		m := regexp.MustCompile(`(?m)^\s*` + target + `\s+(-?[\d.]+)\s+(-|[\d.]+)\s+([\d.]+)\s+(-|-?\d+)\s+(\d+)\s*$`).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("no per-request row for %s:\n%s", target, out)
		}
	}
	if redisURL != "" {
		// target, instances, requests/s, p50, p99, /echo, /one, xacts, WAL flushes, lock waits, DB CPU, amp CPU, errors
		for _, row := range []string{`context\s+one`, `context\s+A of two`, `context\s+B of two`, `context\s+A\+B`,
			`outcome\s+one`, `outcome\s+A of two`, `outcome\s+B of two`, `outcome\s+A\+B`} {
			m := regexp.MustCompile(`(?m)^\s*` + row + `\s+(\d+)\s+(-|[\d.]+ms)\s+(-|[\d.]+ms)\s+[\d.]+\s+[\d.]+\s+(-|-?[\d.]+)\s+(-|[\d.]+)\s+(-|[\d.]+)\s+(-|-?\d+)\s+(-|\d+)\s+(\d+)\s*$`).FindStringSubmatch(out)
			if m == nil {
				t.Fatalf("no two-instance row %q:\n%s", row, out)
			}
			if m[1] == "0" || m[9] != "0" {
				t.Errorf("two-instance row %q: %s requests/s, %s errors:\n%s", row, m[1], m[9], out)
			}
		}
	} else {
		t.Log("AMP_TEST_REDIS_URL not set: the two-instance phase not tested")
	}
	if !strings.Contains(out, "PostgreSQL 1") || strings.Contains(out, "first PostgreSQL error") || strings.Contains(out, "could not drop") {
		t.Errorf("unexpected PostgreSQL phase output:\n%s", out)
	}
	// The scratch database was dropped.
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var left int
	name := regexp.MustCompile(`amp_bench_[0-9a-f]+`).FindString(out)
	if name == "" {
		t.Fatalf("the scratch database is not named:\n%s", out)
	}
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_database WHERE datname = $1", name).Scan(&left); err != nil {
		t.Fatal(err)
	}
	if left != 0 {
		t.Errorf("the scratch database %s is left on the server", name)
	}
}

func TestBenchPostgresBadURL(t *testing.T) {
	_, _, err := ampCmd(t, nil, nil, "", "bench", "--duration", "10ms", "--warmup", "0s", "--rate-duration", "10ms",
		"--postgres-url", "mysql://nope")
	if err == nil || !strings.Contains(err.Error(), "--postgres-url") {
		t.Fatalf("got %v, want an error naming --postgres-url", err)
	}
}

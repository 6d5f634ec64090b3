package main

import (
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestBench runs a very short bench and checks that it measured every
// target without errors. Speed itself is not asserted: machines differ.
func TestBench(t *testing.T) {
	out := mustAmp(t, nil, "bench", "--duration", "300ms", "--warmup", "50ms", "--concurrency", "4",
		"--rate", "200", "--rate-duration", "300ms", "--rate-workers", "8", "--users", "20")
	// The service's rows show the SQLite store's writes per commit, the
	// echo's a dash.
	perCommit := map[string]string{`echo \(net/http\)`: `-`, `POST /v1/context`: `[\d.]+`, `MCP get_context`: `[\d.]+`, `POST /v1/outcome`: `[\d.]+`}
	for _, target := range []string{`echo \(net/http\)`, `POST /v1/context`, `MCP get_context`, `POST /v1/outcome`} {
		// target, requests/s, p50, p99, requests, errors, writes/commit,
		// CPU per request (where the platform reports it)
		m := regexp.MustCompile(`(?m)^\s*` + target + `\s+(\d+)\s+([\d.]+)ms\s+([\d.]+)ms\s+(\d+)\s+(\d+)\s+(` + perCommit[target] + `)\s+(\d+µs|-)\s*$`).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("no closed-loop line for %s:\n%s", target, out)
		}
		if rate, _ := strconv.Atoi(m[1]); rate <= 0 {
			t.Errorf("%s: %s requests/s", target, m[1])
		}
		if m[5] != "0" {
			t.Errorf("%s: %s errors:\n%s", target, m[5], out)
		}
		if n, err := strconv.ParseFloat(m[6], 64); err == nil && n < 1 {
			t.Errorf("%s: %s writes per commit, want at least 1", target, m[6])
		}
		if runtime.GOOS == "linux" && (m[7] == "-" || m[7] == "0µs") {
			t.Errorf("%s: CPU per request %s, want a measured time", target, m[7])
		}
	}
	verdicts := map[string]string{`echo \(net/http\)`: `-`, `POST /v1/context`: `met|MISSED`, `POST /v1/outcome`: `met|MISSED`}
	for _, target := range []string{`echo \(net/http\)`, `POST /v1/context`, `POST /v1/outcome`} {
		// target, achieved/s, p50, p99, max, errors, writes/commit, verdict
		m := regexp.MustCompile(`(?m)^\s*` + target + `\s+(\d+)\s+([\d.]+)ms\s+([\d.]+)ms\s+([\d.]+)ms\s+(\d+)\s+(` + perCommit[target] + `)\s+(` + verdicts[target] + `)\s*$`).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("no fixed-rate line for %s:\n%s", target, out)
		}
		if m[5] != "0" {
			t.Errorf("fixed rate %s: %s errors:\n%s", target, m[5], out)
		}
	}
	for _, want := range []string{"context/echo", "outcome/echo", "mcp/context"} {
		if !regexp.MustCompile(want + `\s+\d+\.\d\d`).MatchString(out) {
			t.Errorf("no %s ratio:\n%s", want, out)
		}
	}
	// The MCP phase alternates with /v1/context and compares their CPU time
	// per request too, where the platform reports it.
	if !regexp.MustCompile(`mcp/context\s+\d+\.\d\d  \(MCP get_context vs POST /v1/context in \d+ alternating slices of \d+ms each: \d+ vs \d+ requests/s`).MatchString(out) {
		t.Errorf("no alternating MCP measurement:\n%s", out)
	}
	if runtime.GOOS == "linux" && !regexp.MustCompile(`mcp cpu\s+\d+\.\d\d  \(CPU time per request, MCP get_context over POST /v1/context in the same slices: \d+µs vs \d+µs\)`).MatchString(out) {
		t.Errorf("no MCP CPU ratio:\n%s", out)
	}
	if strings.Contains(out, "first error") {
		t.Errorf("bench reported an error:\n%s", out)
	}
}

func TestLoadResultQuantile(t *testing.T) {
	r := &loadResult{OK: 100, Elapsed: 2 * time.Second}
	for i := 1; i <= 100; i++ {
		r.Latencies = append(r.Latencies, time.Duration(i)*time.Millisecond)
	}
	for q, want := range map[float64]time.Duration{0.5: 50 * time.Millisecond, 0.99: 99 * time.Millisecond, 1: 100 * time.Millisecond, 0: time.Millisecond} {
		if got := r.Quantile(q); got != want {
			t.Errorf("Quantile(%v) = %v, want %v", q, got, want)
		}
	}
	if r.Rate() != 50 {
		t.Errorf("Rate() = %v, want 50", r.Rate())
	}
	if (&loadResult{}).Quantile(0.5) != 0 {
		t.Error("the quantile of nothing is not 0")
	}
}

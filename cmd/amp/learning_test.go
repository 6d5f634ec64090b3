package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/internal/learn"
	"github.com/amp-protocol/amp/internal/sim"
)

func TestSimulateCommand(t *testing.T) {
	dir := t.TempDir()
	svg := filepath.Join(dir, "curve.svg")
	run := func(args ...string) string {
		t.Helper()
		var out, errOut bytes.Buffer
		if err := runSimulate(context.Background(), args, &out, &errOut); err != nil {
			t.Fatalf("amp simulate %v: %v", args, err)
		}
		return out.String()
	}
	first := run("--seed", "31337", "--family", "taste", "--arrival", "launch", "--users", "60", "--interactions", "25", "--out", svg)
	for _, want := range []string{"seeds 31337, 60 users × 25 interactions", "taste", "launch", "engine", "baseline", "best fixed", "score 21–25",
		"Learning curve: " + svg, "Reliability of engine's confidence", "expected calibration error", "Answers by profile phase", "cold_start "} {
		if !strings.Contains(first, want) {
			t.Errorf("output lacks %q:\n%s", want, first)
		}
	}
	if b, err := os.ReadFile(svg); err != nil || !bytes.HasPrefix(b, []byte("<svg ")) || !bytes.Contains(b, []byte("<polyline ")) {
		t.Errorf("no SVG of the curves written: %v", err)
	}
	if again := run("--seed", "31337", "--family", "taste", "--arrival", "launch", "--users", "60", "--interactions", "25", "--out", svg); again != first {
		t.Errorf("same seed, different output:\n%s\n%s", first, again)
	}
	var rep struct {
		Groups []struct {
			Family   string
			Arrival  string
			Policies []struct {
				Name    string
				Windows []struct{ Mean float64 }
			}
		}
		Calibration []struct{ ECE float64 }
	}
	if err := json.Unmarshal([]byte(run("--seeds", "5-6", "--arrival", "staggered", "--users", "30", "--interactions", "8", "--out", "", "--json")), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Groups) != 3 || len(rep.Groups[0].Policies) != 3 || len(rep.Groups[0].Policies[0].Windows) != 2 || len(rep.Calibration) != 1 {
		t.Errorf("JSON report: %+v", rep)
	}

	// --probe scores the population's default and leaves the engine's
	// scores as they were.
	probed := run("--seed", "31337", "--family", "taste", "--arrival", "launch", "--users", "60", "--interactions", "25", "--out", svg, "--probe", "500")
	for _, want := range []string{"Population default of taste/launch", "500 (", "1500 (", "best joint", "best option per dimension", "best by expected reward"} {
		if !strings.Contains(probed, want) {
			t.Errorf("--probe output lacks %q:\n%s", want, probed)
		}
	}
	if table := first[:strings.Index(first, "Normalised score")]; !strings.HasPrefix(probed, table) {
		t.Errorf("--probe changed the engine's scores:\n%s\n%s", first, probed)
	}

	var out bytes.Buffer
	if err := runSimulate(context.Background(), []string{"-h"}, &out, &out); err != nil || !strings.Contains(out.String(), "--drift") {
		t.Errorf("-h: %v\n%s", err, out.String())
	}
	for _, bad := range [][]string{{"--users", "0"}, {"--server", "http://x"}, {"extra"}, {"--nope"}, {"--family", "x"}, {"--arrival", "x"}, {"--seeds", "5-3"}, {"--scenario", "x"}, {"--server", "http://x", "--key", "k"}, {"--probe", "-1"}} {
		if err := runSimulate(context.Background(), bad, &out, &out); !errors.Is(err, errUsage) {
			t.Errorf("amp simulate %v: err = %v, want a usage error", bad, err)
		}
	}
}

// logStore is a store that holds only logged decisions.
type logStore struct {
	amp.Store // the commands use only Decisions and Close
	logs      []*amp.LoggedDecision
	closed    bool
}

func (s *logStore) Decisions(_ context.Context, t amp.Tenant, since time.Time, limit int) ([]*amp.LoggedDecision, error) {
	var out []*amp.LoggedDecision
	for _, d := range s.logs {
		if d.Tenant == t && !d.CreatedAt.Before(since) {
			out = append(out, d)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].CreatedAt.Before(out[j].CreatedAt) })
	return out[:min(limit, len(out))], nil
}

func (s *logStore) Close() error { s.closed = true; return nil }

// simulatedStore logs a simulated engine with a 30% holdout; its decisions
// are made from 2026-01-01 on, in account "sim", test mode.
func simulatedStore(t *testing.T) *logStore {
	t.Helper()
	agent := sim.NewLearnerAgent(learn.New(learn.Config{}), 3)
	agent.HoldoutPercent = 30
	agent.Record = true
	if _, err := sim.Run(context.Background(), sim.Generate(3, 120, false), 15, "engine", agent, nil); err != nil {
		t.Fatal(err)
	}
	return &logStore{logs: agent.Log}
}

func TestLiftCommand(t *testing.T) {
	store := simulatedStore(t)
	var gotDir string
	open := func(_ context.Context, dir string) (amp.Store, error) { gotDir = dir; return store, nil }
	now := time.Date(2026, 1, 20, 0, 0, 0, 0, time.UTC)
	var out bytes.Buffer
	err := liftCommand(context.Background(), []string{"--data", "/tmp/d", "--account", "sim", "--mode", "test", "--since", "2025-12-31"}, &out, open, now)
	if err != nil {
		t.Fatal(err)
	}
	if gotDir != "/tmp/d" || !store.closed {
		t.Errorf("store: dir %q, closed %v", gotDir, store.closed)
	}
	for _, want := range []string{"personalised", "holdout", "lift:", "95% interval"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	if err := liftCommand(context.Background(), []string{"--account", "sim", "--mode", "test", "--since", "30d", "--json"}, &out, open, now); err != nil {
		t.Fatal(err)
	}
	var rep struct{ Holdout, Personalised struct{ Users int } }
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil || rep.Holdout.Users != 50 || rep.Personalised.Users != 70 {
		t.Errorf("JSON report %s: %v", out.String(), err)
	}
	if err := liftCommand(context.Background(), []string{"--account", "sim"}, &out, nil, now); !errors.Is(err, errNoStoreWired) {
		t.Errorf("no opener: err = %v", err)
	}
	for _, bad := range [][]string{{}, {"--account", "a", "--mode", "prod"}, {"--account", "a", "--since", "yesterday"}} {
		if err := liftCommand(context.Background(), bad, &out, open, now); !errors.Is(err, errUsage) {
			t.Errorf("amp lift %v: err = %v, want a usage error", bad, err)
		}
	}
}

func TestEvaluateCommand(t *testing.T) {
	store := simulatedStore(t)
	open := func(context.Context, string) (amp.Store, error) { return store, nil }
	now := time.Date(2026, 1, 20, 0, 0, 0, 0, time.UTC)
	var out bytes.Buffer
	if err := evaluateCommand(context.Background(), []string{"--account", "sim", "--mode", "test", "--since", "30d"}, &out, open, now); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"1800 decisions", "logged", "uniform", "population default", "engine", "completion SNIPS"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	if err := evaluateCommand(context.Background(), []string{"--account", "sim", "--mode", "test", "--since", "30d", "--limit", "100", "--json"}, &out, open, now); err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Decisions int
		Estimates []struct{ Policy string }
	}
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil || rep.Decisions != 100 || len(rep.Estimates) != 4 {
		t.Errorf("JSON %s: %v", out.String(), err)
	}
	out.Reset()
	if err := evaluateCommand(context.Background(), []string{"--account", "other", "--mode", "test"}, &out, open, now); err != nil || !strings.Contains(out.String(), "No decisions") {
		t.Errorf("no data: %v\n%s", err, out.String())
	}
}

func TestParseSinceFlag(t *testing.T) {
	now := time.Date(2026, 5, 10, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"30d":                  now.Add(-30 * 24 * time.Hour),
		"12h":                  now.Add(-12 * time.Hour),
		"2026-01-31":           time.Date(2026, 1, 31, 0, 0, 0, 0, time.UTC),
		"2026-01-31T10:00:00Z": time.Date(2026, 1, 31, 10, 0, 0, 0, time.UTC),
	} {
		if got, err := parseSinceFlag(in, now); err != nil || !got.Equal(want) {
			t.Errorf("parseSinceFlag(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "-3h", "soon", "xd"} {
		if _, err := parseSinceFlag(bad, now); err == nil {
			t.Errorf("parseSinceFlag(%q) succeeded", bad)
		}
	}
}

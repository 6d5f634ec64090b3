package main

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/client"
)

// client returns a client of the instance with key, without retries.
func (in *childServer) client(t *testing.T, key string) *client.Client {
	t.Helper()
	c, err := client.New(key, client.WithBaseURL(in.URL+"/v1"), client.WithMaxRetries(0), client.WithTimeout(30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestMultiInstance runs two `amp serve` processes on one PostgreSQL
// database and one Redis, as docs/deploy.md describes, and proves what
// issue 5 asks of them: learning state is shared, the account's rate limit
// holds across both, a revoked key is refused by every instance within a
// second, and a SIGKILL of one instance under load loses no acknowledged
// outcome.
func TestMultiInstance(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the amp binary and runs two servers; skipped in -short mode")
	}
	redisURL := os.Getenv("AMP_TEST_REDIS_URL")
	if os.Getenv("AMP_TEST_POSTGRES_URL") == "" {
		t.Skip("AMP_TEST_POSTGRES_URL not set: the multi-instance test needs PostgreSQL (scripts/pg-test-server.sh start prints one; .ci/run starts it)")
	}
	if redisURL == "" {
		t.Skip("AMP_TEST_REDIS_URL not set: the multi-instance test needs Redis (scripts/redis-test-server.sh start prints one; .ci/run starts it)")
	}
	dbURL := postgresURL(t)
	bin := ampBinary(t)
	db := "--database-url=" + dbURL

	// The deploy steps: migrate once, create the accounts and keys, then
	// start the instances (which find accounts, so neither creates the
	// default one).
	if out := runBin(t, bin, "migrate", db); !strings.Contains(out, "postgres database schema is up to date") {
		t.Fatalf("amp migrate printed %q", out)
	}
	acct := runBin(t, bin, "accounts", "create", db, "--name", "multi", "--plan", "enterprise", "--rate", "1000000")
	key := runBin(t, bin, "keys", "create", db, "--account", acct, "--mode", "live", "--name", "main")

	env := []string{"AMP_DATABASE_URL=" + dbURL, "AMP_REDIS_URL=" + redisURL}
	a := startChild(t, bin, "A", nil, env...)
	b := startChild(t, bin, "B", nil, env...)
	if !strings.Contains(a.stderr.String(), "shared through redis") {
		t.Fatalf("instance A does not use Redis; stderr:\n%s", a.stderr.String())
	}
	ctx := context.Background()

	t.Run("OutcomeThroughBChangesContextOnA", func(t *testing.T) {
		ca, cb := a.client(t, key), b.client(t, key)
		const user = "shared_user"
		for round := range 7 {
			mc, err := ca.GetContext(ctx, amp.ContextRequest{UserID: user, Task: "write the release notes", TaskType: "writing"})
			if err != nil {
				t.Fatal(err)
			}
			// Each outcome reported through B is in the very next context
			// A gives: in the count, and in the phase from the fifth.
			if got := mc.Metadata.InteractionCount; got != round {
				t.Fatalf("round %d: A's context has interactionCount %d, want %d (the outcomes reported through B)", round, got, round)
			}
			wantPhase := amp.PhaseColdStart
			if round >= 5 {
				wantPhase = amp.PhaseLearning
			}
			if mc.Metadata.ProfilePhase != wantPhase {
				t.Fatalf("round %d: A's context has phase %s, want %s", round, mc.Metadata.ProfilePhase, wantPhase)
			}
			if err := cb.ReportOutcome(ctx, amp.OutcomeRequest{RequestID: mc.RequestID, Started: client.Bool(true),
				Completed: client.Bool(true), Satisfaction: client.Float(0.9)}); err != nil {
				t.Fatalf("round %d: outcome through B for A's requestId: %v", round, err)
			}
		}
		// And the other way round, with the profile read through A.
		mc, err := cb.GetContext(ctx, amp.ContextRequest{UserID: user, Task: "write the release notes"})
		if err != nil {
			t.Fatal(err)
		}
		if err := ca.ReportOutcome(ctx, amp.OutcomeRequest{RequestID: mc.RequestID, Started: client.Bool(false)}); err != nil {
			t.Fatal(err)
		}
		if err := cb.ReportOutcome(ctx, amp.OutcomeRequest{RequestID: mc.RequestID, Started: client.Bool(true)}); client.ErrorCode(err) != amp.CodeOutcomeAlreadyReported {
			t.Fatalf("a second outcome through the other instance: got %v, want OUTCOME_ALREADY_REPORTED", err)
		}
		p, err := ca.GetProfile(ctx, user)
		if err != nil {
			t.Fatal(err)
		}
		if p.TotalInteractions != 8 {
			t.Fatalf("A's profile has %d interactions, want 8", p.TotalInteractions)
		}
	})

	t.Run("RateLimitHeldAcrossInstances", func(t *testing.T) {
		const rate = 50
		acct := runBin(t, bin, "accounts", "create", db, "--name", "limited", "--plan", "enterprise", "--rate", fmt.Sprint(rate))
		// One key per instance: the account's rate is shared by its keys
		// and by the instances.
		keys := []string{
			runBin(t, bin, "keys", "create", db, "--account", acct, "--mode", "live", "--name", "on-a"),
			runBin(t, bin, "keys", "create", db, "--account", acct, "--mode", "live", "--name", "on-b"),
		}
		const (
			perInstance = 4
			length      = 3 * time.Second
		)
		var ok, limited, failed [2]atomic.Int64
		var wg sync.WaitGroup
		start := time.Now()
		end := start.Add(length)
		for i, in := range []*childServer{a, b} {
			for range perInstance {
				wg.Go(func() {
					hc := &http.Client{Timeout: 30 * time.Second}
					for time.Now().Before(end) {
						req, _ := http.NewRequest(http.MethodGet, in.URL+"/v1/profile/nobody", nil)
						req.Header.Set("Authorization", "Bearer "+keys[i])
						resp, err := hc.Do(req)
						if err != nil {
							failed[i].Add(1)
							continue
						}
						resp.Body.Close()
						switch resp.StatusCode {
						case http.StatusNotFound: // admitted: the profile does not exist
							ok[i].Add(1)
						case http.StatusTooManyRequests:
							limited[i].Add(1)
						default:
							failed[i].Add(1)
						}
					}
				})
			}
		}
		wg.Wait()
		elapsed := time.Since(start)
		admitted := ok[0].Load() + ok[1].Load()
		// A full bucket (one second's worth) plus the refill over the
		// measured time; each instance alone would allow that much.
		allowed := rate + rate*elapsed.Seconds()
		t.Logf("%s: admitted %d (A %d, B %d), limited %d, allowed by the limit %.0f",
			elapsed.Round(time.Millisecond), admitted, ok[0].Load(), ok[1].Load(), limited[0].Load()+limited[1].Load(), allowed)
		if f := failed[0].Load() + failed[1].Load(); f > 0 {
			t.Fatalf("%d requests failed", f)
		}
		if limited[0].Load() == 0 || limited[1].Load() == 0 {
			t.Fatalf("an instance was never limited (A %d, B %d): the load did not exceed the rate", limited[0].Load(), limited[1].Load())
		}
		if ok[0].Load() == 0 || ok[1].Load() == 0 {
			t.Fatalf("an instance admitted nothing (A %d, B %d)", ok[0].Load(), ok[1].Load())
		}
		if dev := math.Abs(float64(admitted)-allowed) / allowed; dev > 0.10 {
			t.Fatalf("admitted %d across both instances, %.0f%% off the %.0f the account's rate allows (want within 10%%)",
				admitted, 100*dev, allowed)
		}
	})

	t.Run("RevokedKeyRefusedEverywhereWithinOneSecond", func(t *testing.T) {
		victim := runBin(t, bin, "keys", "create", db, "--account", acct, "--mode", "live", "--name", "victim")
		clients := []*client.Client{a.client(t, victim), b.client(t, victim)}
		// Both instances have just authenticated the key, so each holds it
		// in its cache.
		for i, c := range clients {
			if _, err := c.GetProfile(ctx, "nobody"); client.ErrorCode(err) != amp.CodeNotFound {
				t.Fatalf("instance %d before the revocation: got %v, want NOT_FOUND", i, err)
			}
		}
		// The revocation goes through the shared database, as `amp keys
		// revoke` (or any instance) writes it; docs/api.md#keys gives every
		// instance one second from then.
		runBin(t, bin, "keys", "revoke", db, victim)
		deadline := time.Now().Add(time.Second)
		for i, c := range clients {
			for {
				_, err := c.GetProfile(ctx, "nobody")
				if client.ErrorCode(err) == amp.CodeUnauthorized {
					break
				}
				if client.ErrorCode(err) != amp.CodeNotFound {
					t.Fatalf("instance %s: got %v, want NOT_FOUND (still cached) or UNAUTHORIZED", []string{"A", "B"}[i], err)
				}
				if time.Now().After(deadline) {
					t.Fatalf("instance %s still accepts the key more than 1 s after its revocation", []string{"A", "B"}[i])
				}
				time.Sleep(5 * time.Millisecond)
			}
		}
		// And it stays refused.
		for _, c := range clients {
			_, err := c.GetProfile(ctx, "nobody")
			wantCode(t, err, 401, amp.CodeUnauthorized)
		}
	})

	t.Run("QuotaHeldAcrossInstances", func(t *testing.T) {
		acct := runBin(t, bin, "accounts", "create", db, "--name", "quota", "--plan", "pro")
		live := runBin(t, bin, "keys", "create", db, "--account", acct, "--mode", "live")
		test := runBin(t, bin, "keys", "create", db, "--account", acct, "--mode", "test")
		// The stored count leaves 6 of the plan's monthly requests; the
		// instances seed the shared count from it.
		const left = 6
		conn, err := pgx.Connect(ctx, dbURL)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		month := amp.MonthStart(time.Now())
		if _, err := conn.Exec(ctx, "INSERT INTO quota_usage (account_id, month, requests) VALUES ($1, $2, $3)",
			acct, month, amp.PlanPro.MonthlyQuota()-left); err != nil {
			t.Fatal(err)
		}
		clients := []*client.Client{a.client(t, live), b.client(t, live)}
		for i := range left {
			if _, err := clients[i%2].GetContext(ctx, amp.ContextRequest{UserID: "q", Task: "t"}); err != nil {
				t.Fatalf("live request %d of the %d left, on instance %d: %v", i+1, left, i%2, err)
			}
		}
		for i, c := range clients {
			_, err := c.GetContext(ctx, amp.ContextRequest{UserID: "q", Task: "t"})
			wantCode(t, err, 429, amp.CodeQuotaExceeded)
			if i == 0 && !time.Now().Before(month.AddDate(0, 1, 0)) {
				t.Skip("the month ended during the test")
			}
		}
		// Test mode is not counted.
		if _, err := b.client(t, test).GetContext(ctx, amp.ContextRequest{UserID: "q", Task: "t"}); err != nil {
			t.Fatalf("a test key after the live quota is used up: %v", err)
		}
	})

	t.Run("SIGKILLUnderLoadLosesNoAcknowledgedOutcome", func(t *testing.T) {
		const (
			workers   = 8
			users     = 10
			killAfter = 200 // acknowledged outcomes before A is killed
			afterKill = 100 // acknowledged outcomes B must serve after it
		)
		type report struct {
			user  string
			acked bool
		}
		var (
			mu      sync.Mutex
			reports = make(map[string]*report)
			acked   atomic.Int64
			killed  atomic.Bool
			stop    atomic.Bool
			wg      sync.WaitGroup
		)
		ca, cb := a.client(t, key), b.client(t, key)
		for w := range workers {
			wg.Go(func() {
				for i := 0; !stop.Load(); i++ {
					// Context on one instance, outcome on the other; once A
					// is dead, B alone.
					cx, co := ca, cb
					if (w+i)%2 == 1 {
						cx, co = cb, ca
					}
					if killed.Load() {
						cx, co = cb, cb
					}
					user := fmt.Sprintf("kill_user_%d", (w+i*workers)%users)
					mc, err := cx.GetContext(ctx, amp.ContextRequest{UserID: user, Task: "fix the flaky test", TaskType: "debugging"})
					if err != nil {
						if !killed.Load() {
							t.Errorf("context before the kill: %v", err)
							return
						}
						continue // A died under this request
					}
					r := &report{user: user}
					mu.Lock()
					reports[mc.RequestID] = r
					mu.Unlock()
					err = co.ReportOutcome(ctx, amp.OutcomeRequest{RequestID: mc.RequestID, Started: client.Bool(true),
						Completed: client.Bool(i%3 != 0), Satisfaction: client.Float(0.7)})
					if err != nil {
						if !killed.Load() {
							t.Errorf("outcome before the kill: %v", err)
							return
						}
						continue
					}
					mu.Lock()
					r.acked = true
					mu.Unlock()
					acked.Add(1)
				}
			})
		}
		waitAcked := func(n int64) {
			for acked.Load() < n && !t.Failed() {
				select {
				case <-a.exited:
					if !killed.Load() {
						t.Errorf("instance A exited by itself:\n%s", a.stderr.String())
						return
					}
				case <-b.exited:
					t.Errorf("instance B exited:\n%s", b.stderr.String())
					return
				case <-time.After(5 * time.Millisecond):
				}
			}
		}
		waitAcked(killAfter)
		killed.Store(true)
		if err := a.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		<-a.exited
		atKill := acked.Load()
		waitAcked(atKill + afterKill)
		stop.Store(true)
		wg.Wait()
		if t.Failed() {
			return
		}
		ackedBy, sentBy := make(map[string]int), make(map[string]int)
		for _, r := range reports {
			sentBy[r.user]++
			if r.acked {
				ackedBy[r.user]++
			}
		}
		t.Logf("A killed after %d acknowledged outcomes; %d acknowledged in all, %d sent or in flight", atKill, acked.Load(), len(reports))
		for user := range sentBy {
			p, err := cb.GetProfile(ctx, user)
			if err != nil {
				t.Fatalf("profile of %s: %v", user, err)
			}
			if p.TotalInteractions < ackedBy[user] || p.TotalInteractions > sentBy[user] {
				t.Errorf("%s: %d outcomes stored; %d were acknowledged, %d sent", user, p.TotalInteractions, ackedBy[user], sentBy[user])
			}
		}
		// Reporting each outcome again through B tells which are stored:
		// every acknowledged one must answer 409.
		for id, r := range reports {
			err := cb.ReportOutcome(ctx, amp.OutcomeRequest{RequestID: id, Started: client.Bool(false)})
			switch {
			case client.ErrorCode(err) == amp.CodeOutcomeAlreadyReported:
			case err != nil:
				t.Errorf("re-reporting %s: %v", id, err)
			case r.acked:
				t.Errorf("acknowledged outcome %s of %s was lost: a second report succeeded", id, r.user)
			}
		}
	})
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

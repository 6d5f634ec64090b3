package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/client"
)

// hookReceiver is a webhook endpoint for the crash test. While hold is
// open it records each delivery and then never answers, so that a
// delivery is in flight when the server is killed.
type hookReceiver struct {
	srv     *httptest.Server
	secret  string
	mu      sync.Mutex
	byEvent map[string]int    // deliveries seen per event id
	users   map[string]string // event id → the erased user
	acked   map[string]bool   // event ids answered 204
	bad     []string
	hold    chan struct{}
	seen    chan struct{} // one send per delivery, without blocking
}

func newHookReceiver(t *testing.T) *hookReceiver {
	r := &hookReceiver{byEvent: map[string]int{}, users: map[string]string{}, acked: map[string]bool{}, hold: make(chan struct{}), seen: make(chan struct{}, 10_000)}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		ev, err := client.VerifyWebhook(body, req.Header.Get(client.SignatureHeader), r.secret, 0)
		switch {
		case err != nil:
			r.bad = append(r.bad, err.Error())
		case ev.ID != req.Header.Get("AMP-Event-Id") || ev.Type != amp.EventProfileDeleted:
			r.bad = append(r.bad, fmt.Sprintf("event %s/%s under header id %s", ev.ID, ev.Type, req.Header.Get("AMP-Event-Id")))
		default:
			var d amp.ProfileDeletedData
			json.Unmarshal(ev.Data, &d)
			r.byEvent[ev.ID]++
			if prev, ok := r.users[ev.ID]; ok && prev != d.UserID {
				r.bad = append(r.bad, fmt.Sprintf("event %s carried user %s, then %s", ev.ID, prev, d.UserID))
			}
			r.users[ev.ID] = d.UserID
		}
		hold := r.hold
		r.mu.Unlock()
		r.seen <- struct{}{}
		select {
		case <-hold:
		case <-req.Context().Done(): // the server died with the request open
			return
		}
		w.WriteHeader(http.StatusNoContent)
		if err == nil {
			r.mu.Lock()
			r.acked[ev.ID] = true
			r.mu.Unlock()
			r.seen <- struct{}{}
		}
	}))
	t.Cleanup(r.srv.Close)
	return r
}

// TestCrashMidDeliveryLosesNoEvent kills `amp serve` with SIGKILL while a
// webhook delivery is in flight, restarts it on the same data, and checks
// that every event committed before the kill (a profile.deleted receipt of
// an erasure answered 200) reaches the endpoint, duplicates carrying the
// same event id.
func TestCrashMidDeliveryLosesNoEvent(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the amp binary and kills it; skipped in -short mode")
	}
	bin := ampBinary(t)
	dir := t.TempDir()
	rcv := newHookReceiver(t)
	acct := runBin(t, bin, "accounts", "create", "--data", dir, "--name", "hooks", "--plan", "enterprise", "--rate", "100000")
	key := runBin(t, bin, "keys", "create", "--data", dir, "--account", acct, "--mode", "test")
	out := runBin(t, bin, "webhooks", "add", "--data", dir, "--account", acct, "--mode", "test", "--url", rcv.srv.URL+"/hook",
		"--events", "profile.deleted", "--webhook-allow-private", "true")
	for line := range strings.SplitSeq(out, "\n") {
		if s, ok := strings.CutPrefix(line, "secret "); ok {
			rcv.secret = s
		}
	}
	if !strings.HasPrefix(rcv.secret, "whsec_") {
		t.Fatalf("amp webhooks add printed %q", out)
	}
	serveArgs := []string{"--data", dir, "--webhook-allow-private", "true", "--webhook-timeout", "1s"}
	srv := startChild(t, bin, "hooks", serveArgs)
	ctx := context.Background()
	c, err := client.New(key, client.WithBaseURL(srv.URL+"/v1"), client.WithMaxRetries(0))
	if err != nil {
		t.Fatal(err)
	}
	const users = 40
	erased := map[string]bool{}
	for i := range users {
		user := fmt.Sprintf("user_%d", i)
		if _, err := c.GetContext(ctx, amp.ContextRequest{UserID: user, Task: "t"}); err != nil {
			t.Fatal(err)
		}
		if err := c.DeleteProfile(ctx, user); err != nil {
			t.Fatal(err)
		}
		erased[user] = true // its receipt is committed: the erasure was answered
	}
	// A delivery is in flight, held by the receiver: kill the server now.
	select {
	case <-rcv.seen:
	case <-srv.exited:
		t.Fatalf("the server exited by itself:\n%s", srv.stderr.String())
	case <-time.After(time.Minute):
		t.Fatal("no delivery reached the endpoint within a minute")
	}
	if err := srv.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-srv.exited
	rcv.mu.Lock()
	inFlight := len(rcv.byEvent)
	close(rcv.hold) // from now on the receiver answers 204
	rcv.mu.Unlock()
	t.Logf("killed with %d deliveries received and unanswered, of %d committed events", inFlight, users)

	startChild(t, bin, "restarted", serveArgs)
	deadline := time.After(2 * time.Minute)
	for {
		rcv.mu.Lock()
		got := map[string]bool{}
		for id := range rcv.acked {
			got[rcv.users[id]] = true
		}
		rcv.mu.Unlock()
		if len(got) == users {
			break
		}
		select {
		case <-rcv.seen:
		case <-deadline:
			t.Fatalf("after the restart, %d of %d committed events were delivered and answered", len(got), users)
		}
	}
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	if len(rcv.bad) > 0 {
		t.Fatalf("bad deliveries: %v", rcv.bad)
	}
	dups := 0
	for id, n := range rcv.byEvent {
		if n > 1 {
			dups += n - 1
		}
		if !erased[rcv.users[id]] {
			t.Errorf("event %s is about user %s, who was not erased", id, rcv.users[id])
		}
	}
	if len(rcv.byEvent) != users {
		t.Errorf("%d distinct event ids for %d erasures", len(rcv.byEvent), users)
	}
	if inFlight > 0 && dups == 0 {
		t.Errorf("the %d deliveries in flight at the kill were not delivered again", inFlight)
	}
	t.Logf("%d events delivered, %d duplicate deliveries, each identified by its event id", len(rcv.byEvent), dups)
}

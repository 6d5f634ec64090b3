package service_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/internal/password"
	"github.com/amp-protocol/amp/internal/service"
)

// Finished requests reach the request log through Run's writer, and a
// member finds them by key, status and request id; other tenants' entries
// stay out.
func TestRequestLog(t *testing.T) {
	ctx := context.Background()
	tm := newTeam(t)
	svc, err := service.New(service.Config{Store: tm.db, Learner: fixedLearner{}, Now: tm.clock.Now, Seed: 3, Users: tm.db, AllowSignup: true, Requests: tm.db,
		Country: func(string) string { return "FR" }, Passwords: password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}})
	if err != nil {
		t.Fatal(err)
	}
	owner, err := svc.Session(ctx, tm.owner.Token)
	if err != nil {
		t.Fatal(err)
	}
	viewer := tm.join(t, "viewer@example.com", amp.RoleViewer)
	viewer, err = svc.Session(ctx, viewer.Token)
	if err != nil {
		t.Fatal(err)
	}
	k, err := svc.CreateKeyAs(ctx, owner, amp.ModeTest, service.KeyOptions{Name: "ci"})
	if err != nil {
		t.Fatal(err)
	}
	other, err := svc.SignUp(ctx, service.SignUp{Email: "else@example.com", Password: goodPassword, ClientIP: tm.ip()})
	if err != nil {
		t.Fatal(err)
	}
	p := &service.Principal{Key: k.Key, Account: owner.Account()}
	svc.Start()
	for i := range 6 {
		status, code := 200, ""
		if i%3 == 2 {
			status, code = 400, amp.CodeInvalidRequest
		}
		svc.Finish(ctx, p, amp.RequestEvent{KeyID: k.Key.ID, AccountID: k.Key.AccountID, Mode: amp.ModeTest, Route: "POST /v1/context",
			Status: status, Code: code, ClientIP: "203.0.113.1", Duration: time.Millisecond, At: tm.clock.Now().Add(time.Duration(i) * time.Second),
			RequestID: fmt.Sprintf("req_%d", i)})
	}
	// Another account's request with a request id the owner will search.
	svc.Finish(ctx, &service.Principal{Key: &amp.APIKey{ID: "key_x", AccountID: other.Account().ID, Mode: amp.ModeTest}, Account: other.Account()},
		amp.RequestEvent{KeyID: "key_x", AccountID: other.Account().ID, Mode: amp.ModeTest, Route: "POST /v1/context", Status: 200,
			At: tm.clock.Now(), RequestID: "req_other"})
	if err := svc.Close(); err != nil { // writes what is still queued
		t.Fatal(err)
	}

	es, err := svc.RequestLog(ctx, viewer, amp.ModeTest, service.RequestLogQuery{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 6 || es[0].RequestID != "req_5" || es[0].Country != "FR" || es[0].Latency != time.Millisecond {
		t.Fatalf("request log: %d entries, first %+v", len(es), es[0])
	}
	es, err = svc.RequestLog(ctx, owner, amp.ModeTest, service.RequestLogQuery{Status: "4xx", Limit: 10})
	if err != nil || len(es) != 2 || es[0].Code != amp.CodeInvalidRequest {
		t.Fatalf("4xx: %d entries, %v", len(es), err)
	}
	es, err = svc.RequestLog(ctx, owner, amp.ModeTest, service.RequestLogQuery{RequestID: " req_3 ", Limit: 10})
	if err != nil || len(es) != 1 || es[0].RequestID != "req_3" {
		t.Fatalf("by request id: %v, %v", es, err)
	}
	es, err = svc.RequestLog(ctx, owner, amp.ModeTest, service.RequestLogQuery{RequestID: "req_other", Limit: 10})
	if err != nil || len(es) != 0 {
		t.Fatalf("another account's request: %v, %v", es, err)
	}
	es, err = svc.RequestLog(ctx, owner, amp.ModeLive, service.RequestLogQuery{Limit: 10})
	if err != nil || len(es) != 0 {
		t.Fatalf("live mode: %v, %v", es, err)
	}
	_, err = svc.RequestLog(ctx, owner, amp.ModeTest, service.RequestLogQuery{Status: "600", Limit: 10})
	wantCode(t, err, amp.CodeInvalidRequest)
	_, err = svc.RequestLog(ctx, owner, amp.ModeTest, service.RequestLogQuery{Status: "teapot", Limit: 10})
	wantCode(t, err, amp.CodeInvalidRequest)
	es, err = svc.RequestLog(ctx, owner, amp.ModeTest, service.RequestLogQuery{Status: "200", KeyID: k.Key.ID, Limit: 10})
	if err != nil || len(es) != 4 {
		t.Fatalf("200 by key: %d, %v", len(es), err)
	}
}

package service_test

import (
	"context"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/internal/learn"
	"github.com/amp-protocol/amp/internal/service"
	"github.com/amp-protocol/amp/internal/sqlite"
	"github.com/amp-protocol/amp/internal/testclock"
)

// TestTaskTextReachesTheLearner: the learner reads the request's task text
// (the engine maps it onto a kind of task), and a request without a
// taskType is logged with the kind the learner read, so its outcome
// teaches that kind; one with a taskType keeps it as sent.
func TestTaskTextReachesTheLearner(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "amp.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	svc, err := service.New(service.Config{Store: db, Learner: learn.New(learn.Config{}),
		Now: testclock.New(time.Date(2026, 3, 14, 12, 0, 0, 0, time.UTC)).Now, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	acct, err := svc.CreateAccount(ctx, "acme", amp.PlanStarter, 0)
	if err != nil {
		t.Fatal(err)
	}
	k, err := svc.CreateKey(ctx, acct.ID, amp.ModeTest, service.KeyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := svc.Authenticate(ctx, k.Secret, "10.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	for _, req := range []*amp.ContextRequest{
		{UserID: "u", Task: "Fix the crash in the payment service"},
		{UserID: "u", Task: "Fix the crash in the payment service", TaskType: "Bug fixing"},
		{UserID: "u", Task: "Continue where we left off"},
	} {
		if _, err := svc.GetContext(ctx, p, svc.NewRequestID(), req); err != nil {
			t.Fatal(err)
		}
	}
	logs, err := db.Decisions(ctx, p.Tenant(), time.Time{}, 10)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range logs {
		got = append(got, d.TaskType)
	}
	// In any order: the three decisions share their creation time.
	sort.Strings(got)
	want := []string{"", "Bug fixing", "debugging"}
	if len(got) != len(want) {
		t.Fatalf("logged task types %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("logged task types %q, want %q", got, want)
			break
		}
	}
}

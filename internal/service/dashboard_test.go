package service_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/internal/service"
)

func TestPrepareAccount(t *testing.T) {
	f := newFixture(t)
	a, err := f.svc.PrepareAccount("  Engines  ", "")
	if err != nil {
		t.Fatal(err)
	}
	if a.Name != "Engines" || a.Plan != amp.PlanStarter || !strings.HasPrefix(a.ID, "acct_") || !a.CreatedAt.Equal(f.clock.Now()) {
		t.Errorf("PrepareAccount = %+v", a)
	}
	// Not stored: the caller stores it with its own rows.
	if _, err := f.svc.Account(context.Background(), a.ID); amp.ErrorCode(err) != amp.CodeNotFound {
		t.Errorf("a prepared account is readable: %v", err)
	}
	for _, bad := range []struct {
		name string
		plan amp.Plan
	}{{"", amp.PlanStarter}, {strings.Repeat("x", amp.MaxAccountNameBytes+1), amp.PlanStarter}, {"ok", "gold"}} {
		_, err := f.svc.PrepareAccount(bad.name, bad.plan)
		wantCode(t, err, amp.CodeInvalidRequest)
	}
}

func TestProfileDetailAndErase(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	p := principal(t, f, f.key(t, amp.ModeTest, service.KeyOptions{}))
	started := true
	var ids []string
	for range 3 {
		c, err := f.svc.GetContext(ctx, p, f.svc.NewRequestID(), &amp.ContextRequest{UserID: "u1", Task: "t"})
		if err != nil {
			t.Fatal(err)
		}
		if err := f.svc.ReportOutcome(ctx, p, &amp.OutcomeRequest{RequestID: c.RequestID, Started: &started}); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, c.RequestID)
		f.clock.Advance(time.Second)
	}
	tenant := p.Tenant()

	d, err := f.svc.ProfileDetail(ctx, tenant, "u1", 2)
	if err != nil {
		t.Fatal(err)
	}
	if d.Profile.UserID != "u1" || d.Profile.TotalInteractions != 3 || d.Summary == nil || d.Summary.Preferred != fixedRec {
		t.Errorf("ProfileDetail = %+v, summary %+v", d.Profile, d.Summary)
	}
	if len(d.Outcomes) != 2 || d.Outcomes[0].RequestID != ids[2] || d.Outcomes[1].RequestID != ids[1] {
		t.Errorf("outcomes %v, want the latest two, newest first", d.Outcomes)
	}
	if d, err := f.svc.ProfileDetail(ctx, tenant, "u1", 1_000_000); err != nil || len(d.Outcomes) != 3 {
		t.Errorf("ProfileDetail with a huge limit: %v, %d outcomes", err, len(d.Outcomes))
	}
	// Another mode or account is another tenant.
	_, err = f.svc.ProfileDetail(ctx, amp.Tenant{AccountID: tenant.AccountID, Mode: amp.ModeLive}, "u1", 10)
	wantCode(t, err, amp.CodeNotFound)
	_, err = f.svc.ProfileDetail(ctx, amp.Tenant{AccountID: "acct_other", Mode: amp.ModeTest}, "u1", 10)
	wantCode(t, err, amp.CodeNotFound)
	_, err = f.svc.ProfileDetail(ctx, amp.Tenant{AccountID: tenant.AccountID, Mode: "prod"}, "u1", 10)
	wantCode(t, err, amp.CodeInvalidRequest)
	_, err = f.svc.ProfileDetail(ctx, tenant, "", 10)
	wantCode(t, err, amp.CodeInvalidUserID)

	wantCode(t, f.svc.EraseProfile(ctx, amp.Tenant{AccountID: "acct_other", Mode: amp.ModeTest}, "u1"), amp.CodeNotFound)
	wantCode(t, f.svc.EraseProfile(ctx, amp.Tenant{AccountID: tenant.AccountID, Mode: amp.ModeLive}, "u1"), amp.CodeNotFound)
	if err := f.svc.EraseProfile(ctx, tenant, "u1"); err != nil {
		t.Fatal(err)
	}
	_, err = f.svc.GetProfile(ctx, p, "u1")
	wantCode(t, err, amp.CodeNotFound)
	// Its pending requests went with it.
	err = f.svc.ReportOutcome(ctx, p, &amp.OutcomeRequest{RequestID: ids[0], Started: &started})
	wantCode(t, err, amp.CodeInvalidRequestID)
}

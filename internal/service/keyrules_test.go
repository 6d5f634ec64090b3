package service_test

import (
	"context"
	"strings"
	"testing"

	"github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/internal/service"
)

func TestKeyRateWithinThePlan(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	planRate := f.acct.Plan.Rate(0)
	if _, err := f.svc.CreateKey(ctx, f.acct.ID, amp.ModeLive, service.KeyOptions{RateLimit: planRate}); err != nil {
		t.Errorf("a key at the plan's rate: %v", err)
	}
	_, err := f.svc.CreateKey(ctx, f.acct.ID, amp.ModeLive, service.KeyOptions{RateLimit: planRate + 1})
	wantCode(t, err, amp.CodeInvalidRequest)
	if !strings.Contains(amp.ErrorMessage(err), "from 1 to the plan's 10") {
		t.Errorf("message %q", amp.ErrorMessage(err))
	}
	// Names are trimmed before they are checked and stored.
	k, err := f.svc.CreateKey(ctx, f.acct.ID, amp.ModeLive, service.KeyOptions{Name: "  ci  "})
	if err != nil || k.Key.Name != "ci" {
		t.Errorf("a padded name: %+v, %v", k, err)
	}
}

// A key whose name was stored before names were checked can still be
// rolled; the new key gets the name's printable form.
func TestRollKeyWithALegacyName(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	created, err := f.svc.CreateKey(ctx, f.acct.ID, amp.ModeTest, service.KeyOptions{Name: "ci"})
	if err != nil {
		t.Fatal(err)
	}
	legacy := *created.Key
	legacy.Name = "bad\x07name"
	if err := f.store.UpdateKey(ctx, &legacy); err != nil {
		t.Fatal(err)
	}
	rolled, err := f.svc.RollKey(ctx, f.acct.ID, created.Key.ID, 0)
	if err != nil {
		t.Fatalf("roll: %v", err)
	}
	if rolled.Key.Name != "bad\uFFFDname" {
		t.Errorf("the rolled key's name is %q", rolled.Key.Name)
	}
}

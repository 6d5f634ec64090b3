package httpapi_test

import (
	"context"
	"testing"
	"time"

	"github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/internal/service"
)

// TestRefusedRequestsMetered: a request refused at the door by the rate
// limit or the quota, or made with a revoked, quarantined or expired key,
// is metered against the key with its admission, so that a throttled
// burst from a leaked key shows in usage; an unknown key has no account to
// count against and is not.
func TestRefusedRequestsMetered(t *testing.T) {
	refusing := map[amp.Admission]error{
		amp.AdmissionRateLimited:   amp.Errorf(amp.CodeRateLimitExceeded, "Rate limit exceeded.").WithDetails(map[string]any{"retryAfter": 1}),
		amp.AdmissionQuotaExceeded: amp.Errorf(amp.CodeQuotaExceeded, "Quota exceeded."),
	}
	for admission, err := range refusing {
		t.Run(admission.String(), func(t *testing.T) {
			f := newFixture(t, limiterRefusing(amp.RateState{Limit: 10}, err))
			wantError(t, f.do(t, post("/v1/context", f.liveKey, map[string]any{"userId": "u", "task": "t"})), 429, amp.ErrorCode(err))
			ev := f.meter.next(t)
			if ev.Admission != admission || ev.Status != 429 || ev.AccountID != f.acct.ID || ev.KeyID == "" || ev.Route != "POST /v1/context" {
				t.Errorf("event = %+v, want %s, 429, on the key", ev, admission)
			}
		})
	}
	t.Run("FailedKey", func(t *testing.T) {
		f := newFixture(t)
		ctx := context.Background()
		revoked, err := f.svc.CreateKey(ctx, f.acct.ID, amp.ModeLive, service.KeyOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.RevokeKey(ctx, f.acct.ID, revoked.Key.ID); err != nil {
			t.Fatal(err)
		}
		wantError(t, f.do(t, request{method: "GET", path: "/v1/profile/u", key: revoked.Secret}), 401, amp.CodeUnauthorized)
		ev := f.meter.next(t)
		if ev.Admission != amp.AdmissionAuthFailed || ev.Status != 401 || ev.KeyID != revoked.Key.ID || ev.Route != "GET /v1/profile/{userId}" {
			t.Errorf("revoked key: event = %+v, want auth_failed, 401, on the key", ev)
		}
		expiring, err := f.svc.CreateKey(ctx, f.acct.ID, amp.ModeTest, service.KeyOptions{ExpiresIn: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		f.clock.Advance(2 * time.Hour)
		wantError(t, f.do(t, request{method: "GET", path: "/v1/profile/u", key: expiring.Secret}), 401, amp.CodeKeyExpired)
		if ev := f.meter.next(t); ev.Admission != amp.AdmissionAuthFailed || ev.KeyID != expiring.Key.ID || ev.Mode != amp.ModeTest {
			t.Errorf("expired key: event = %+v, want auth_failed on the key", ev)
		}
		quarantined, err := f.svc.CreateKey(ctx, f.acct.ID, amp.ModeLive, service.KeyOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.QuarantineKey(ctx, f.acct.ID, quarantined.Key.ID, "found in a public repository"); err != nil {
			t.Fatal(err)
		}
		wantError(t, f.do(t, request{method: "GET", path: "/v1/profile/u", key: quarantined.Secret}), 401, amp.CodeKeyQuarantined)
		if ev := f.meter.next(t); ev.Admission != amp.AdmissionAuthFailed || ev.KeyID != quarantined.Key.ID || ev.Status != 401 {
			t.Errorf("quarantined key: event = %+v, want auth_failed, 401, on the key", ev)
		}
		// An unknown key, then an admitted request: the next event is the
		// admitted one.
		wantError(t, f.do(t, request{method: "GET", path: "/v1/profile/u", key: "amp_sk_live_unknown"}), 401, amp.CodeUnauthorized)
		wantError(t, f.do(t, request{method: "GET", path: "/v1/profile/u", key: f.liveKey}), 404, amp.CodeNotFound)
		if ev := f.meter.next(t); ev.Admission != amp.AdmissionAdmitted || ev.Status != 404 {
			t.Errorf("event = %+v, want the admitted 404", ev)
		}
	})
}

package dashboard_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/internal/service"
)

func serviceKey(name string) service.KeyOptions { return service.KeyOptions{Name: name} }

var secretRE = regexp.MustCompile(`whsec_[0-9A-Za-z]{32}`)

// endpoints returns the account's endpoints, from the store.
func (e *env) endpoints(accountID string) []*amp.WebhookEndpoint {
	e.t.Helper()
	eps, err := e.db.WebhookEndpoints(context.Background(), accountID)
	if err != nil {
		e.t.Fatal(err)
	}
	return eps
}

// An endpoint's life in the dashboard: added with its secret shown once
// (post, redirect, get: a reload creates nothing and shows no secret),
// edited, disabled and enabled, its secret rolled, a test event sent and
// found in the log, a failed delivery replayed, and removed after a
// confirmation. Its URL is shown escaped wherever it appears.
func TestWebhookEndpointPages(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.signup("owner@example.com")
	acct := e.account("owner@example.com")

	r := c.get("/dashboard/test/webhooks")
	wantStatus(t, "webhooks page", r, http.StatusOK)
	wantContains(t, "webhooks page", r.body, "No test endpoints yet", `id="new-endpoint"`, `value="key.quarantined" checked`)

	// Mistakes are shown next to their field, and nothing is created.
	r = c.submit("/dashboard/test/webhooks", "/dashboard/test/webhooks", url.Values{"url": {"https://hooks.example.com/amp"}})
	wantStatus(t, "no event types", r, http.StatusBadRequest)
	wantContains(t, "no event types", r.body, `id="events-error"`, "Choose at least one event type")
	r = c.submit("/dashboard/live/webhooks", "/dashboard/live/webhooks", url.Values{"url": {"http://hooks.example.com/amp"}, "events": {"key.quarantined"}})
	wantStatus(t, "live http URL", r, http.StatusBadRequest)
	wantContains(t, "live http URL", r.body, `id="endpoint-url-error"`, "Invalid endpoint URL")
	r = c.submit("/dashboard/test/webhooks", "/dashboard/test/webhooks", url.Values{"url": {"https://127.0.0.1/amp"}, "events": {"key.quarantined"}})
	wantStatus(t, "loopback URL", r, http.StatusBadRequest)
	if n := len(e.endpoints(acct.ID)); n != 0 {
		t.Fatalf("refused forms created %d endpoints", n)
	}

	hostile := `https://hooks.example.com/in?a=<script>alert(1)</script>&b="x"`
	r = c.submit("/dashboard/test/webhooks", "/dashboard/test/webhooks", url.Values{
		"url": {hostile}, "description": {"<b>ops</b>"}, "events": {"key.quarantined", "webhook.test"}})
	wantStatus(t, "add endpoint", r, http.StatusSeeOther)
	eps := e.endpoints(acct.ID)
	if len(eps) != 1 || eps[0].Mode != amp.ModeTest || eps[0].URL != hostile {
		t.Fatalf("endpoints after adding: %+v", eps)
	}
	ep := eps[0]
	created := r.location()
	if created != "/dashboard/test/webhooks/"+ep.ID+"/created" {
		t.Fatalf("redirected to %q", created)
	}
	r = c.get(created)
	wantStatus(t, "secret page", r, http.StatusOK)
	if got := secretRE.FindAllString(r.body, -1); len(got) == 0 || got[0] != ep.Secret {
		t.Fatalf("the secret page shows %v, want %s", got, ep.Secret)
	}
	wantContains(t, "secret page", r.body, "shown only once", "&lt;script&gt;")
	wantLacks(t, "secret page", r.body, "<script>alert", "<b>ops")
	if h := r.header.Get("Cache-Control"); h != "no-store" {
		t.Errorf("secret page Cache-Control %q", h)
	}
	// Reload: no secret, nothing created.
	r = c.get(created)
	wantStatus(t, "reloaded secret page", r, http.StatusOK)
	wantContains(t, "reloaded secret page", r.body, "was shown once")
	if secretRE.MatchString(r.body) {
		t.Fatal("a reload shows the secret again")
	}
	if n := len(e.endpoints(acct.ID)); n != 1 {
		t.Fatalf("reloading created endpoints: %d", n)
	}
	// A forged cookie shows nothing: the page checks it against the
	// endpoint's secret.
	u, _ := url.Parse(e.srv.URL + created)
	c.jar.SetCookies(u, []*http.Cookie{{Name: "amp_new_whsec", Value: "whsec_" + strings.Repeat("A", 32), Path: created}})
	if r = c.get(created); strings.Contains(r.body, "whsec_AAAA") {
		t.Fatal("the secret page shows a secret it was not issued")
	}

	// The list, escaped, without the secret.
	r = c.get("/dashboard/test/webhooks")
	wantContains(t, "list", r.body, "&lt;script&gt;alert(1)&lt;/script&gt;", "&lt;b&gt;ops&lt;/b&gt;", "Enabled", "none yet")
	wantLacks(t, "list", r.body, ep.Secret, "<script>alert")
	// The other mode's list does not show it.
	wantLacks(t, "live list", c.get("/dashboard/live/webhooks").body, ep.ID)
	wantStatus(t, "the endpoint in the other mode", c.get("/dashboard/live/webhooks/"+ep.ID), http.StatusNotFound)

	// Edit.
	page := "/dashboard/test/webhooks/" + ep.ID
	r = c.submit(page, page, url.Values{"url": {"https://hooks.example.com/v2"}, "description": {"ops"}, "events": {"key.rotation_due", "key.expiring"}})
	wantStatus(t, "edit", r, http.StatusSeeOther)
	got, _ := e.db.WebhookEndpoint(context.Background(), ep.ID)
	if got.URL != "https://hooks.example.com/v2" || len(got.EventTypes) != 2 || got.EventTypes[0] != amp.EventKeyExpiring {
		t.Fatalf("after editing: %+v", got)
	}
	r = c.submit(page, page, url.Values{"url": {"ftp://x"}, "events": {"key.expiring"}})
	wantStatus(t, "edit with a bad URL", r, http.StatusBadRequest)
	wantContains(t, "edit with a bad URL", r.body, `id="endpoint-url-error"`)

	// Disable, then a test event is refused; enable.
	r = c.submit(page, page+"/status", url.Values{"status": {"disable"}})
	wantStatus(t, "disable", r, http.StatusSeeOther)
	wantContains(t, "disabled endpoint", c.get(page+"?done=disabled").body, "Disabled", "receives no new deliveries")
	r = c.submit(page, page+"/test", nil)
	wantStatus(t, "test event to a disabled endpoint", r, http.StatusBadRequest)
	wantContains(t, "test event to a disabled endpoint", r.body, "disabled; enable it first")
	wantStatus(t, "enable", c.submit(page, page+"/status", url.Values{"status": {"enable"}}), http.StatusSeeOther)

	// Roll the secret with a grace: both sign meanwhile.
	r = c.get(page + "/roll")
	wantStatus(t, "roll page", r, http.StatusOK)
	wantContains(t, "roll page", r.body, "Grace period for the old secret")
	wantStatus(t, "roll without a grace", c.submit(page+"/roll", page+"/roll", url.Values{"grace": {"12y"}}), http.StatusBadRequest)
	r = c.submit(page+"/roll", page+"/roll", url.Values{"grace": {"24h"}})
	wantStatus(t, "roll", r, http.StatusSeeOther)
	r = c.get(r.location())
	rolled, _ := e.db.WebhookEndpoint(context.Background(), ep.ID)
	if s := secretRE.FindString(r.body); s != rolled.Secret || s == ep.Secret || rolled.PreviousSecret != ep.Secret {
		t.Fatalf("rolled secret shown %q; stored %q, previous %q (was %q)", s, rolled.Secret, rolled.PreviousSecret, ep.Secret)
	}
	wantContains(t, "rolled secret page", r.body, "also signs every delivery until")

	// Send a test event: it is in the log, pending.
	r = c.submit(page, page+"/test", nil)
	wantStatus(t, "test event", r, http.StatusSeeOther)
	r = c.get(r.location())
	wantContains(t, "log after a test event", r.body, "webhook.test", "Pending", "is on its way")
	ds, _ := e.db.WebhookDeliveries(context.Background(), amp.DeliveryQuery{AccountID: acct.ID})
	if len(ds) != 1 || ds[0].EventType != amp.EventWebhookTest {
		t.Fatalf("deliveries: %+v", ds)
	}
	d := ds[0]
	detail := "/dashboard/test/webhook-deliveries/" + d.ID
	r = c.get(detail)
	wantStatus(t, "delivery detail", r, http.StatusOK)
	wantContains(t, "delivery detail", r.body, d.EventID, "Request body", "The exact bytes", "&#34;type&#34;: &#34;webhook.test&#34;")
	wantLacks(t, "pending delivery detail", r.body, "/replay")
	wantStatus(t, "replay a pending delivery", c.submit(detail, detail+"/replay", nil), http.StatusBadRequest)

	// It fails; its answer shows; replay.
	at := e.clock.Now()
	d.Status, d.Attempts, d.LastStatus, d.LastError, d.LastAttemptAt = amp.DeliveryFailed, 1, 500, "HTTP 500: <oops>", &at
	if err := e.db.SaveDelivery(context.Background(), d, &amp.DeliveryAttempt{DeliveryID: d.ID, Attempt: 1, At: at, Status: 500, Latency: 42 * time.Millisecond, Error: d.LastError}); err != nil {
		t.Fatal(err)
	}
	r = c.get("/dashboard/test/webhook-deliveries?status=failed")
	wantContains(t, "failed filter", r.body, "Failed", d.ID)
	wantLacks(t, "delivered filter", c.get("/dashboard/test/webhook-deliveries?status=delivered").body, `id="delivery-`+d.ID)
	wantLacks(t, "type filter", c.get("/dashboard/test/webhook-deliveries?type=key.expiring").body, `id="delivery-`+d.ID)
	wantStatus(t, "unknown status filter", c.get("/dashboard/test/webhook-deliveries?status=nope"), http.StatusBadRequest)
	r = c.get(detail)
	wantContains(t, "failed delivery detail", r.body, "HTTP 500: &lt;oops&gt;", "42.0 ms", "/replay")
	r = c.submit(detail, detail+"/replay", nil)
	wantStatus(t, "replay", r, http.StatusSeeOther)
	if again, _ := e.db.WebhookDelivery(context.Background(), d.ID); again.Status != amp.DeliveryPending {
		t.Fatalf("after a replay: %+v", again)
	}
	wantContains(t, "after a replay", c.get(r.location()).body, "pending again")

	// Remove after confirmation.
	r = c.get(page + "/remove")
	wantStatus(t, "remove confirmation", r, http.StatusOK)
	wantContains(t, "remove confirmation", r.body, "cannot be undone")
	wantStatus(t, "remove", c.submit(page+"/remove", page+"/remove", nil), http.StatusSeeOther)
	if n := len(e.endpoints(acct.ID)); n != 0 {
		t.Fatalf("after removing: %d endpoints", n)
	}
	wantStatus(t, "a removed endpoint", c.get(page), http.StatusNotFound)
}

// A viewer reads the endpoints and the log, never a secret, and every
// change they post by hand is refused by the service.
func TestWebhookPagesForAViewer(t *testing.T) {
	e := newEnv(t)
	owner := e.client()
	owner.signup("owner@example.com")
	acct := e.account("owner@example.com")
	viewer := e.join(owner.invite("", amp.RoleViewer), "viewer@example.com")
	r := owner.submit("/dashboard/test/webhooks", "/dashboard/test/webhooks", url.Values{"url": {"https://hooks.example.com/a"}, "events": {"key.quarantined"}})
	wantStatus(t, "owner adds", r, http.StatusSeeOther)
	ep := e.endpoints(acct.ID)[0]
	page := "/dashboard/test/webhooks/" + ep.ID

	r = viewer.get("/dashboard/test/webhooks")
	wantStatus(t, "viewer's list", r, http.StatusOK)
	wantContains(t, "viewer's list", r.body, "hooks.example.com/a", "Your role (viewer) reads endpoints")
	wantLacks(t, "viewer's list", r.body, `id="new-endpoint"`, ep.Secret)
	r = viewer.get(page)
	wantStatus(t, "viewer's endpoint page", r, http.StatusOK)
	wantLacks(t, "viewer's endpoint page", r.body, "Send test event", "Roll signing secret", ep.Secret)
	// The secret page, even with its cookie, is the owner's once.
	r = viewer.get(page + "/created")
	if secretRE.MatchString(r.body) {
		t.Fatal("a viewer sees a secret")
	}
	for _, p := range []struct{ path, from string }{
		{"/dashboard/test/webhooks", "/dashboard/test/webhooks"},
		{page, page},
		{page + "/status", page},
		{page + "/test", page},
		{page + "/roll", "/dashboard/test/webhooks"},
		{page + "/remove", "/dashboard/test/webhooks"},
	} {
		r := viewer.submit(p.from, p.path, url.Values{"url": {"https://hooks.example.com/b"}, "events": {"key.expiring"}, "status": {"disable"}, "grace": {"0"}})
		wantStatus(t, "viewer posts "+p.path, r, http.StatusForbidden)
	}
	wantStatus(t, "viewer's roll page", viewer.get(page+"/roll"), http.StatusForbidden)
	if got, _ := e.db.WebhookEndpoint(context.Background(), ep.ID); got.Secret != ep.Secret || got.Disabled || got.URL != ep.URL {
		t.Fatalf("a viewer changed the endpoint: %+v", got)
	}
}

// A quarantined key puts a banner on every page of its mode, saying which
// key, why, where a scanner found it and when; owners and admins restore
// or roll it from there (audited), others see the banner only.
func TestQuarantineBanner(t *testing.T) {
	e := newEnv(t)
	owner := e.client()
	owner.signup("owner@example.com")
	acct := e.account("owner@example.com")
	dev := e.join(owner.invite("", amp.RoleDeveloper), "dev@example.com")
	ctx := context.Background()
	k, err := e.svc.CreateKey(ctx, acct.ID, amp.ModeTest, serviceKey("leaky"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"keys", "usage", "webhooks", "settings"} {
		wantLacks(t, "before the quarantine: "+p, owner.get("/dashboard/test/"+p).body, "quarantine-banner")
	}
	q, err := e.svc.QuarantineKey(ctx, acct.ID, k.Key.ID, "found in public by a secret scanner")
	if err != nil {
		t.Fatal(err)
	}
	// As a scanner's report leaves it: with the URL it gave.
	q.QuarantineURL = `https://github.com/example/repo/blob/main/.env?x="><script>`
	if err := e.db.UpdateKey(ctx, q); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Second) // past the key cache

	for _, p := range []string{"keys", "usage", "requests", "webhooks", "settings", "plan"} {
		r := owner.get("/dashboard/test/" + p)
		wantStatus(t, "page "+p, r, http.StatusOK)
		wantContains(t, "banner on "+p, r.body, `class="quarantine-banner"`, "leaky", k.Key.Masked(), "found in public by a secret scanner",
			"where it was found", "/keys/"+k.Key.ID+"/restore", "/keys/"+k.Key.ID+"/roll")
		wantLacks(t, "banner on "+p, r.body, `"><script>`)
	}
	wantLacks(t, "live pages", owner.get("/dashboard/live/keys").body, "quarantine-banner")
	r := dev.get("/dashboard/test/usage")
	wantContains(t, "developer's banner", r.body, `class="quarantine-banner"`, "An owner or admin can roll or restore it")
	wantLacks(t, "developer's banner", r.body, "/keys/"+k.Key.ID+"/restore")
	wantStatus(t, "developer restores", dev.submit("/dashboard/test/usage", "/dashboard/test/keys/"+k.Key.ID+"/restore", nil), http.StatusForbidden)
	wantStatus(t, "developer's roll page", dev.get("/dashboard/test/keys/"+k.Key.ID+"/roll"), http.StatusForbidden)
	wantStatus(t, "developer rolls", dev.submit("/dashboard/test/usage", "/dashboard/test/keys/"+k.Key.ID+"/roll", url.Values{"grace": {"0"}}), http.StatusForbidden)

	// The owner restores it: the banner goes, the key works, it is audited.
	r = owner.submit("/dashboard/test/usage", "/dashboard/test/keys/"+k.Key.ID+"/restore", nil)
	wantStatus(t, "restore", r, http.StatusSeeOther)
	r = owner.get(r.location())
	wantContains(t, "after restoring", r.body, "restored from quarantine")
	wantLacks(t, "after restoring", r.body, "quarantine-banner")
	e.clock.Advance(time.Second)
	if status, _ := e.api("POST", "/v1/context", k.Secret, "", contextBody("user-1")); status != http.StatusOK {
		t.Errorf("a restored key: %d", status)
	}
	es, _ := e.db.AuditEvents(ctx, acct.ID, 0, 1)
	if len(es) != 1 || es[0].Action != amp.AuditKeyRestored || es[0].ActorEmail != "owner@example.com" {
		t.Fatalf("last audit entry: %+v", es)
	}

	// Quarantined again, then rolled from the banner: a new key that works.
	if _, err := e.svc.QuarantineKey(ctx, acct.ID, k.Key.ID, ""); err != nil {
		t.Fatal(err)
	}
	rollPage := "/dashboard/test/keys/" + k.Key.ID + "/roll"
	wantStatus(t, "roll page of a quarantined key", owner.get(rollPage), http.StatusOK)
	r = owner.submit(rollPage, rollPage, url.Values{"grace": {"0"}})
	wantStatus(t, "roll a quarantined key", r, http.StatusSeeOther)
	r = owner.get(r.location())
	secret := regexp.MustCompile(`amp_sk_test_[0-9A-Za-z]{30}`).FindString(r.body)
	if secret == "" {
		t.Fatal("no new key shown after rolling a quarantined key")
	}
	e.clock.Advance(time.Second)
	if status, _ := e.api("POST", "/v1/context", secret, "", contextBody("user-1")); status != http.StatusOK {
		t.Errorf("the key replacing a quarantined one: %d", status)
	}
	wantLacks(t, "after rolling", owner.get("/dashboard/test/keys").body, "quarantine-banner")
}

// Keys older than the rotation age are marked, with a call to roll them;
// keys that expire within a week are marked too.
func TestRotationDueMark(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.signup("owner@example.com")
	acct := e.account("owner@example.com")
	if _, err := e.svc.CreateKey(context.Background(), acct.ID, amp.ModeTest, serviceKey("old")); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.CreateKey(context.Background(), acct.ID, amp.ModeTest, service.KeyOptions{Name: "short", ExpiresIn: 95 * 24 * time.Hour}); err != nil {
		t.Fatal(err)
	}
	r := c.get("/dashboard/test/keys")
	wantLacks(t, "new keys", r.body, "Rotation due", "Expires soon")
	wantContains(t, "new keys", r.body, "Expires in 95 days")
	e.clock.Advance(90 * 24 * time.Hour)
	c = e.client() // the old session has ended
	c.login("owner@example.com", testPassword)
	r = c.get("/dashboard/test/keys")
	wantContains(t, "90-day-old keys", r.body, "Rotation due", "Older than 90 days", "Roll now", "Expires soon: in 5 days")
}

// The delivery log pages 50 at a time, newest first, and the filters
// follow the pages.
func TestWebhookDeliveryLogPages(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.signup("owner@example.com")
	acct := e.account("owner@example.com")
	ctx := context.Background()
	ep, err := e.svc.CreateWebhookEndpoint(ctx, acct.ID, amp.ModeTest, service.EndpointOptions{URL: "https://hooks.example.com/a", EventTypes: []amp.EventType{amp.EventKeyQuarantined}})
	if err != nil {
		t.Fatal(err)
	}
	var events []string // newest first
	for range 53 {
		e.clock.Advance(time.Second)
		ev, err := e.svc.SendTestEvent(ctx, acct.ID, ep.Endpoint.ID)
		if err != nil {
			t.Fatal(err)
		}
		events = append([]string{ev.ID}, events...)
	}
	rowRE := regexp.MustCompile(`<tr id="delivery-(whd_[0-9A-Za-z]+)">`)
	nextRE := regexp.MustCompile(`href="([^"]+)" rel="next"`)
	page := "/dashboard/test/webhook-deliveries?type=webhook.test"
	var seen []string
	for range 3 {
		r := c.get(page)
		wantStatus(t, "log page", r, http.StatusOK)
		for _, m := range rowRE.FindAllStringSubmatch(r.body, -1) {
			d, err := e.db.WebhookDelivery(ctx, m[1])
			if err != nil {
				t.Fatal(err)
			}
			seen = append(seen, d.EventID)
		}
		m := nextRE.FindStringSubmatch(r.body)
		if m == nil {
			break
		}
		page = strings.ReplaceAll(m[1], "&amp;", "&")
		if !strings.Contains(page, "type=webhook.test") {
			t.Fatalf("the next page drops the filter: %s", page)
		}
	}
	if len(seen) != len(events) {
		t.Fatalf("the pages show %d deliveries, want %d", len(seen), len(events))
	}
	for i := range events {
		if seen[i] != events[i] {
			t.Fatalf("row %d: %s, want %s (newest first)", i, seen[i], events[i])
		}
	}
	r := c.get("/dashboard/test/webhook-deliveries?before=whd_gone")
	wantStatus(t, "a page that no longer exists", r, http.StatusBadRequest)
	wantContains(t, "a page that no longer exists", r.body, "start from the first page")
}

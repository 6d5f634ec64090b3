package dashboard_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/internal/service"
	"github.com/amp-protocol/amp/internal/webhook"
)

// The webhook walk in headless Chromium: the owner adds an endpoint
// pointed at a test receiver and copies its secret, sends a test event,
// which a delivery worker (ticked by the test) delivers and the log shows
// delivered; the receiver then fails, the failed delivery is replayed and
// delivered; a quarantined key puts its banner on the pages, and the
// owner restores it. Every new page is screenshot at both widths and
// audited as in TestBrowserEndToEnd.
func TestBrowserWebhooks(t *testing.T) {
	path, dir := browserSetup(t, "amp-dashboard-webhook-screenshots-")

	e := newEnv(t, withService(func(c *service.Config) { c.Events.AllowPrivateTargets = true }))
	// The receiver verifies each delivery's signature with the secret the
	// page showed.
	var mu sync.Mutex
	var secret string
	var got []string
	status := http.StatusNoContent
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		if err := webhook.Verify(r.Header.Get(webhook.SignatureHeader), body, secret, 5*time.Minute, e.clock.Now()); err != nil {
			http.Error(w, "bad signature: "+err.Error(), http.StatusBadRequest)
			return
		}
		got = append(got, r.Header.Get("AMP-Event-Id"))
		if status != http.StatusNoContent {
			http.Error(w, "receiver down for maintenance", status)
			return
		}
		w.WriteHeader(status)
	}))
	defer rcv.Close()
	worker, err := webhook.New(webhook.Config{Store: e.db, AllowPrivate: true, Now: e.clock.Now, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	tick := func() {
		t.Helper()
		if _, err := worker.Tick(context.Background()); err != nil {
			t.Fatal(err)
		}
	}

	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck, chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true), chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true), chromedp.Flag("force-color-profile", "srgb"),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 900),
	)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(allocCtx)
	defer cancel()
	// A guard against a hung browser, not an assertion about speed.
	ctx, cancelTimeout := context.WithTimeout(ctx, 3*time.Minute)
	defer cancelTimeout()
	b := &browserRun{t: t, ctx: ctx, e: e, dir: dir}

	// Sign up in the browser.
	b.open("/dashboard/signup", "#email")
	b.do("sign up",
		chromedp.SendKeys(chromedp.CSS("#email"), "owner@example.com"),
		chromedp.SendKeys(chromedp.CSS("#password"), testPassword),
		chromedp.SendKeys(chromedp.CSS("#account_name"), "Hooks Inc"),
		chromedp.Click(chromedp.CSS(`button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS("#key-name")),
	)
	acct := e.account("owner@example.com")

	// Add an endpoint; the secret page shows the secret once.
	b.do("webhooks link", chromedp.Click(chromedp.CSS(`.sidebar a[href$="/webhooks"]`)), chromedp.WaitVisible(chromedp.CSS("#endpoint-url")))
	b.page("webhooks-empty")
	b.do("add endpoint",
		chromedp.SendKeys(chromedp.CSS("#endpoint-url"), rcv.URL+"/amp"),
		chromedp.SendKeys(chromedp.CSS("#endpoint-description"), "the receiver"),
		chromedp.Click(chromedp.CSS(`form[action$="/webhooks"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS("#signing-secret")),
	)
	b.page("webhook-created")
	s, err := chromedp.Run(ctx, chromedp.Value(chromedp.CSS("#signing-secret")))
	if err != nil || !strings.HasPrefix(s, "whsec_") {
		t.Fatalf("secret field %q, %v", s, err)
	}
	mu.Lock()
	secret = s
	mu.Unlock()
	b.do("reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("main .card")))
	if n := eval[int](b, "secret after reload", `document.querySelectorAll('#signing-secret').length`); n != 0 {
		t.Error("the reloaded page shows the secret again")
	}
	eps := e.endpoints(acct.ID)
	if len(eps) != 1 {
		t.Fatalf("endpoints: %d", len(eps))
	}
	epPage := "/dashboard/test/webhooks/" + eps[0].ID

	// Send a test event; the worker delivers it; the log says delivered.
	b.open(epPage, "main h1")
	b.page("webhook-endpoint")
	b.do("send test event", chromedp.Click(chromedp.CSS(`form[action$="/test"] button`)), chromedp.WaitVisible(chromedp.CSS(".flash")))
	tick()
	b.do("reload the log", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("table.deliveries")))
	if got := b.text("table.deliveries"); !strings.Contains(got, "Delivered") || !strings.Contains(got, "webhook.test") {
		t.Errorf("the log after delivery: %q", got)
	}
	b.page("webhook-deliveries")
	mu.Lock()
	if len(got) != 1 {
		t.Errorf("the receiver verified %d deliveries, want 1", len(got))
	}
	status = http.StatusServiceUnavailable
	mu.Unlock()

	// The receiver fails: a second test event fails for good, as after
	// the retry window; replay it once the receiver is back.
	b.open(epPage, "main h1")
	b.do("send another test event", chromedp.Click(chromedp.CSS(`form[action$="/test"] button`)), chromedp.WaitVisible(chromedp.CSS(".flash")))
	tick()
	ds, _ := e.db.WebhookDeliveries(context.Background(), amp.DeliveryQuery{AccountID: acct.ID, Status: amp.DeliveryPending})
	if len(ds) != 1 || ds[0].LastStatus != http.StatusServiceUnavailable {
		t.Fatalf("after a failed attempt: %+v", ds)
	}
	d := ds[0]
	d.Status = amp.DeliveryFailed
	if err := e.db.SaveDelivery(context.Background(), d, nil); err != nil {
		t.Fatal(err)
	}
	b.open("/dashboard/test/webhook-deliveries?status=failed", "table.deliveries")
	b.do("open the failed delivery", chromedp.Click(chromedp.CSS(`#delivery-`+d.ID+` a`)), chromedp.WaitVisible(chromedp.CSS(`form[action$="/replay"]`)))
	if got := b.text("main"); !strings.Contains(got, "HTTP 503: receiver down for maintenance") {
		t.Errorf("the failed delivery's page lacks the receiver's answer: %q", got)
	}
	b.page("webhook-delivery-failed")
	mu.Lock()
	status = http.StatusNoContent
	mu.Unlock()
	b.do("replay", chromedp.Click(chromedp.CSS(`form[action$="/replay"] button`)), chromedp.WaitVisible(chromedp.CSS(".flash")))
	tick()
	b.do("reload the delivery", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(".facts")))
	if got := b.text(".facts"); !strings.Contains(got, "Delivered") {
		t.Errorf("after the replay: %q", got)
	}
	mu.Lock()
	if len(got) != 3 || got[2] != d.EventID {
		t.Errorf("the receiver got %v, want the replayed %s last", got, d.EventID)
	}
	mu.Unlock()

	// A quarantined key: the banner, then restore.
	k, err := e.svc.CreateKey(context.Background(), acct.ID, amp.ModeTest, service.KeyOptions{Name: "leaky"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.QuarantineKey(context.Background(), acct.ID, k.Key.ID, "pasted in a public gist"); err != nil {
		t.Fatal(err)
	}
	b.open("/dashboard/test/usage", ".quarantine-banner")
	if got := b.text(".quarantine-banner"); !strings.Contains(got, "leaky") || !strings.Contains(got, "pasted in a public gist") {
		t.Errorf("the banner says %q", got)
	}
	b.page("quarantine-banner")
	b.do("restore", chromedp.Click(chromedp.CSS(`.quarantine-banner form[action$="/restore"] button`)), chromedp.WaitVisible(chromedp.CSS(".flash")))
	if n := eval[int](b, "banner after restore", `document.querySelectorAll('.quarantine-banner').length`); n != 0 {
		t.Error("the banner stays after the restore")
	}
	if got, _ := e.db.Key(context.Background(), k.Key.ID); got.Quarantined() {
		t.Error("the key is still quarantined")
	}
	b.keyboard("/dashboard/test/webhooks", "main h1")
}

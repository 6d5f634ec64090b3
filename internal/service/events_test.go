package service_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/internal/ratelimit"
	"github.com/amp-protocol/amp/internal/secretscan"
	"github.com/amp-protocol/amp/internal/service"
	"github.com/amp-protocol/amp/internal/sqlite"
	"github.com/amp-protocol/amp/internal/testclock"
)

// eventFixture is a service over a store with an outbox, with one endpoint
// per mode subscribed to every event type.
type eventFixture struct {
	db    *sqlite.DB
	svc   *service.Service
	clock *testclock.Clock
	acct  *amp.Account
	eps   map[amp.Mode]*amp.WebhookEndpoint
}

var quietDB = sqlite.WithLogger(slog.New(slog.DiscardHandler))

var eventT0 = time.Date(2026, 3, 14, 12, 0, 0, 0, time.UTC)

func newEventFixture(t *testing.T, cfg service.Config) *eventFixture {
	t.Helper()
	ctx := t.Context()
	db := cfg.Store
	var sdb *sqlite.DB
	if db == nil {
		var err error
		sdb, err = sqlite.Open(ctx, filepath.Join(t.TempDir(), "amp.db"), quietDB)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { sdb.Close() })
		cfg.Store = sdb
	} else {
		sdb = db.(*sqlite.DB)
	}
	f := &eventFixture{db: sdb, clock: testclock.New(eventT0), eps: map[amp.Mode]*amp.WebhookEndpoint{}}
	if cfg.Now == nil {
		cfg.Now = f.clock.Now
	}
	cfg.Learner, cfg.Seed = fixedLearner{}, 1
	var err error
	if f.svc, err = service.New(cfg); err != nil {
		t.Fatal(err)
	}
	if f.acct, err = f.svc.CreateAccount(ctx, "acme", amp.PlanStarter, 0); err != nil {
		t.Fatal(err)
	}
	for _, m := range []amp.Mode{amp.ModeTest, amp.ModeLive} {
		c, err := f.svc.CreateWebhookEndpoint(ctx, f.acct.ID, m, service.EndpointOptions{URL: "https://hooks.example.com/" + string(m), EventTypes: amp.EventTypes})
		if err != nil {
			t.Fatal(err)
		}
		f.eps[m] = c.Endpoint
	}
	return f
}

// events returns the events delivered to the endpoint of mode, oldest first.
func (f *eventFixture) events(t *testing.T, mode amp.Mode) []amp.Event {
	t.Helper()
	ds, err := f.svc.WebhookDeliveries(t.Context(), amp.DeliveryQuery{AccountID: f.acct.ID, EndpointID: f.eps[mode].ID})
	if err != nil {
		t.Fatal(err)
	}
	var out []amp.Event
	for _, d := range slices.Backward(ds) {
		ev, err := f.db.WebhookEvent(t.Context(), d.EventID)
		if err != nil {
			t.Fatal(err)
		}
		var e amp.Event
		if err := json.Unmarshal(ev.Payload, &e); err != nil {
			t.Fatal(err)
		}
		if e.ID != ev.ID || e.Type != d.EventType || e.AccountID != f.acct.ID || e.Mode != mode {
			t.Fatalf("event body %+v does not match its record %s/%s", e, ev.ID, d.EventType)
		}
		out = append(out, e)
	}
	return out
}

func (f *eventFixture) ofType(t *testing.T, mode amp.Mode, typ amp.EventType) []amp.Event {
	var out []amp.Event
	for _, e := range f.events(t, mode) {
		if e.Type == typ {
			out = append(out, e)
		}
	}
	return out
}

func (f *eventFixture) check(t *testing.T) {
	t.Helper()
	if err := f.svc.CheckEvents(t.Context()); err != nil {
		t.Fatal(err)
	}
}

func data[T any](t *testing.T, e amp.Event) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(e.Data, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestEventKeyExpiring(t *testing.T) {
	f := newEventFixture(t, service.Config{})
	k, err := f.svc.CreateKey(t.Context(), f.acct.ID, amp.ModeLive, service.KeyOptions{Name: "ci", ExpiresIn: 10 * 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	f.check(t)
	f.clock.Advance(3*24*time.Hour - time.Second)
	f.check(t)
	if n := len(f.ofType(t, amp.ModeLive, amp.EventKeyExpiring)); n != 0 {
		t.Fatalf("key.expiring fired %d times more than 7 days before expiry", n)
	}
	f.clock.Advance(time.Second)
	f.check(t)
	f.clock.Advance(time.Hour)
	f.check(t) // once only
	evs := f.ofType(t, amp.ModeLive, amp.EventKeyExpiring)
	if len(evs) != 1 {
		t.Fatalf("key.expiring fired %d times, want once", len(evs))
	}
	d := data[amp.KeyExpiringData](t, evs[0])
	if d.Key.ID != k.Key.ID || d.Key.Name != "ci" || d.Key.MaskedKey != k.Key.Masked() || !d.ExpiresAt.Equal(*k.Key.ExpiresAt) {
		t.Fatalf("key.expiring data: %+v", d)
	}
	if len(f.ofType(t, amp.ModeTest, amp.EventKeyExpiring)) != 0 {
		t.Fatal("a live key's event reached the test-mode endpoint")
	}
}

func TestEventKeyRotationDue(t *testing.T) {
	f := newEventFixture(t, service.Config{Events: service.EventConfig{RotationAge: 30 * 24 * time.Hour}})
	k, _ := f.svc.CreateKey(t.Context(), f.acct.ID, amp.ModeTest, service.KeyOptions{})
	f.clock.Advance(30*24*time.Hour - time.Minute)
	f.check(t)
	if n := len(f.ofType(t, amp.ModeTest, amp.EventKeyRotationDue)); n != 0 {
		t.Fatalf("key.rotation_due fired before the rotation age: %d", n)
	}
	f.clock.Advance(time.Minute)
	f.check(t)
	f.check(t)
	evs := f.ofType(t, amp.ModeTest, amp.EventKeyRotationDue)
	if len(evs) != 1 {
		t.Fatalf("key.rotation_due fired %d times, want once", len(evs))
	}
	if d := data[amp.KeyRotationDueData](t, evs[0]); d.Key.ID != k.Key.ID || d.AgeDays != 30 || d.RotationAgeDays != 30 {
		t.Fatalf("key.rotation_due data: %+v", d)
	}
	// The default age is 90 days.
	f2 := newEventFixture(t, service.Config{})
	f2.svc.CreateKey(t.Context(), f2.acct.ID, amp.ModeTest, service.KeyOptions{})
	f2.clock.Advance(89 * 24 * time.Hour)
	f2.check(t)
	if len(f2.ofType(t, amp.ModeTest, amp.EventKeyRotationDue)) != 0 {
		t.Fatal("key.rotation_due fired at 89 days with the default age")
	}
	f2.clock.Advance(24 * time.Hour)
	f2.check(t)
	if len(f2.ofType(t, amp.ModeTest, amp.EventKeyRotationDue)) != 1 {
		t.Fatal("key.rotation_due did not fire at 90 days")
	}
}

func TestEventQuotaThreshold(t *testing.T) {
	clock := testclock.New(eventT0)
	lim := ratelimit.New(ratelimit.Config{Now: clock.Now})
	f := newEventFixture(t, service.Config{Now: clock.Now, Limiter: lim, Events: service.EventConfig{
		QuotaUsage: func(ctx context.Context, a *amp.Account, now time.Time) (int64, error) {
			q, err := lim.QuotaUsage(ctx, a, now)
			return q.Used, err
		},
	}})
	f.clock = clock
	secret, _ := f.svc.CreateKey(t.Context(), f.acct.ID, amp.ModeLive, service.KeyOptions{})
	p, err := f.svc.Authenticate(t.Context(), secret.Secret, "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	quota := amp.PlanStarter.MonthlyQuota()
	served := int64(0)
	serve := func(upTo int64) {
		for ; served < upTo; served++ {
			// A second between requests keeps the rate limit out of it.
			clock.Advance(time.Millisecond * 100)
			if _, err := f.svc.Admit(t.Context(), p); err != nil {
				t.Fatalf("request %d: %v", served, err)
			}
			f.svc.Finish(t.Context(), p, amp.RequestEvent{KeyID: p.Key.ID, AccountID: f.acct.ID, Mode: amp.ModeLive, Status: 200})
		}
	}
	thresholds := func() []int {
		var out []int
		for _, e := range f.ofType(t, amp.ModeLive, amp.EventQuotaThreshold) {
			out = append(out, data[amp.QuotaThresholdData](t, e).Threshold)
		}
		slices.Sort(out) // events of one check share a millisecond
		return out
	}
	serve(quota*80/100 - 1)
	f.check(t)
	if got := thresholds(); len(got) != 0 {
		t.Fatalf("below 80%%: thresholds %v fired", got)
	}
	serve(quota * 80 / 100)
	f.check(t)
	f.check(t)
	if got := thresholds(); !slices.Equal(got, []int{80}) {
		t.Fatalf("at 80%%: thresholds %v, want [80]", got)
	}
	serve(quota)
	f.check(t)
	if got := thresholds(); !slices.Equal(got, []int{80, 95, 100}) {
		t.Fatalf("at 100%%: thresholds %v, want [80 95 100]", got)
	}
	var e amp.Event
	for _, x := range f.ofType(t, amp.ModeLive, amp.EventQuotaThreshold) {
		if data[amp.QuotaThresholdData](t, x).Threshold == 100 {
			e = x
		}
	}
	if d := data[amp.QuotaThresholdData](t, e); d.Used != quota || d.Quota != quota || d.Month != amp.MonthStart(clock.Now()).Format("2006-01") {
		t.Fatalf("quota.threshold data: %+v", d)
	}
	if len(f.ofType(t, amp.ModeTest, amp.EventQuotaThreshold)) != 0 {
		t.Fatal("the live quota's event reached the test-mode endpoint")
	}
}

func TestEventRateLimitSustained(t *testing.T) {
	clock := testclock.New(eventT0)
	lim := ratelimit.New(ratelimit.Config{Now: clock.Now})
	f := newEventFixture(t, service.Config{Now: clock.Now, Limiter: lim, Events: service.EventConfig{RateLimitSustained: 5 * time.Minute}})
	f.clock = clock
	k, _ := f.svc.CreateKey(t.Context(), f.acct.ID, amp.ModeTest, service.KeyOptions{RateLimit: 1})
	p, err := f.svc.Authenticate(t.Context(), k.Secret, "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	hammer := func(d time.Duration) {
		for end := clock.Now().Add(d); clock.Now().Before(end); clock.Advance(20 * time.Second) {
			for range 5 {
				f.svc.Admit(t.Context(), p)
			}
		}
	}
	hammer(4 * time.Minute)
	f.check(t)
	if n := len(f.ofType(t, amp.ModeTest, amp.EventRateLimitSustained)); n != 0 {
		t.Fatalf("rate_limit.sustained fired after 4 minutes of a 5-minute threshold")
	}
	// A pause of more than a minute ends the stretch: it starts over.
	clock.Advance(2 * time.Minute)
	hammer(4 * time.Minute)
	f.check(t)
	if n := len(f.ofType(t, amp.ModeTest, amp.EventRateLimitSustained)); n != 0 {
		t.Fatalf("two 4-minute stretches made a sustained one")
	}
	hammer(2 * time.Minute)
	f.check(t)
	f.check(t)
	evs := f.ofType(t, amp.ModeTest, amp.EventRateLimitSustained)
	if len(evs) != 1 {
		t.Fatalf("rate_limit.sustained fired %d times, want once", len(evs))
	}
	if d := data[amp.RateLimitSustainedData](t, evs[0]); d.Key.ID != k.Key.ID || d.Minutes < 5 {
		t.Fatalf("rate_limit.sustained data: %+v", d)
	}
}

func TestEventLeakSuspectedFromUsage(t *testing.T) {
	clock := testclock.New(eventT0)
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "amp.db"), quietDB)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	f := newEventFixture(t, service.Config{Store: db, Now: clock.Now, Events: service.EventConfig{Usage: db}})
	f.clock = clock
	k, _ := f.svc.CreateKey(t.Context(), f.acct.ID, amp.ModeLive, service.KeyOptions{Name: "prod"})
	row := func(g amp.Granularity, start time.Time, country string, n int64) amp.UsageRow {
		return amp.UsageRow{Granularity: g, Start: g.Truncate(start), AccountID: f.acct.ID, Mode: amp.ModeLive, KeyID: k.Key.ID,
			Route: "POST /v1/context", StatusClass: 2, Country: country, Requests: n}
	}
	// A week of steady use from France: 60 requests in each of 10 hours.
	var rows []amp.UsageRow
	for h := range 10 {
		at := clock.Now().Add(-3*24*time.Hour + time.Duration(h)*time.Hour)
		rows = append(rows, row(amp.GranularityHour, at, "FR", 60), row(amp.GranularityDay, at, "FR", 60))
	}
	if err := db.AddUsage(t.Context(), rows); err != nil {
		t.Fatal(err)
	}
	f.check(t)
	if n := len(f.ofType(t, amp.ModeLive, amp.EventKeyLeakSuspected)); n != 0 {
		t.Fatalf("steady use raised %d leak events", n)
	}
	// Now a burst, from a country the key never used.
	now := clock.Now().Add(-10 * time.Minute)
	burst := []amp.UsageRow{row(amp.GranularityMinute, now, "KP", 900), row(amp.GranularityHour, now, "KP", 900), row(amp.GranularityDay, now, "KP", 900)}
	if err := db.AddUsage(t.Context(), burst); err != nil {
		t.Fatal(err)
	}
	f.check(t)
	f.check(t)
	evs := f.ofType(t, amp.ModeLive, amp.EventKeyLeakSuspected)
	sources := map[amp.LeakSource]amp.KeyLeakSuspectedData{}
	for _, e := range evs {
		d := data[amp.KeyLeakSuspectedData](t, e)
		sources[d.Source] = d
	}
	if len(evs) != 2 || sources[amp.LeakBurst].Key.ID != k.Key.ID || sources[amp.LeakNewCountry].Country != "KP" {
		t.Fatalf("leak events: %+v, want one burst and one new country (KP)", sources)
	}
	if sources[amp.LeakBurst].Action != amp.LeakActionNone || len(sources[amp.LeakBurst].Reasons) != 1 {
		t.Fatalf("a usage signal acted on the key, or gave no reason: %+v", sources[amp.LeakBurst])
	}
}

func TestEventProfileDeleted(t *testing.T) {
	f := newEventFixture(t, service.Config{})
	k, _ := f.svc.CreateKey(t.Context(), f.acct.ID, amp.ModeTest, service.KeyOptions{})
	p, err := f.svc.Authenticate(t.Context(), k.Secret, "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	yes := true
	for i := range 3 {
		id := f.svc.NewRequestID()
		if _, err := f.svc.GetContext(t.Context(), p, id, &amp.ContextRequest{UserID: "user-42", Task: fmt.Sprint("task ", i)}); err != nil {
			t.Fatal(err)
		}
		if i < 2 {
			if err := f.svc.ReportOutcome(t.Context(), p, &amp.OutcomeRequest{RequestID: id, Started: &yes, Completed: &yes}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := f.svc.DeleteProfile(t.Context(), p, "user-42"); err != nil {
		t.Fatal(err)
	}
	evs := f.ofType(t, amp.ModeTest, amp.EventProfileDeleted)
	if len(evs) != 1 {
		t.Fatalf("profile.deleted fired %d times, want once", len(evs))
	}
	d := data[amp.ProfileDeletedData](t, evs[0])
	want := amp.ProfileDeletedData{UserID: "user-42", Mode: amp.ModeTest, DeletedAt: eventT0, Erased: amp.ErasedCounts{Profiles: 1, Outcomes: 2, Interactions: 2}}
	if d != want {
		t.Fatalf("erasure receipt %+v, want %+v", d, want)
	}
	// Erasing nothing is NOT_FOUND and records no receipt.
	wantCode(t, f.svc.DeleteProfile(t.Context(), p, "user-42"), amp.CodeNotFound)
	if len(f.ofType(t, amp.ModeTest, amp.EventProfileDeleted)) != 1 {
		t.Fatal("a failed erasure recorded a receipt")
	}
}

func TestQuarantineAndRestore(t *testing.T) {
	f := newEventFixture(t, service.Config{})
	k, _ := f.svc.CreateKey(t.Context(), f.acct.ID, amp.ModeLive, service.KeyOptions{Name: "web"})
	if _, err := f.svc.Authenticate(t.Context(), k.Secret, "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.QuarantineKey(t.Context(), f.acct.ID, k.Key.ID, "pasted in a forum"); err != nil {
		t.Fatal(err)
	}
	_, err := f.svc.Authenticate(t.Context(), k.Secret, "192.0.2.1")
	wantCode(t, err, amp.CodeKeyQuarantined)
	var ae *amp.Error
	if !errors.As(err, &ae) || ae.Details["reason"] != "pasted in a forum" {
		t.Fatalf("the refusal does not say why: %v", err)
	}
	evs := f.ofType(t, amp.ModeLive, amp.EventKeyQuarantined)
	if len(evs) != 1 {
		t.Fatalf("key.quarantined fired %d times", len(evs))
	}
	if d := data[amp.KeyQuarantinedData](t, evs[0]); d.Key.ID != k.Key.ID || d.Reason != "pasted in a forum" || !d.QuarantinedAt.Equal(eventT0) {
		t.Fatalf("key.quarantined data: %+v", d)
	}
	// Quarantining again changes nothing and fires nothing.
	if _, err := f.svc.QuarantineKey(t.Context(), f.acct.ID, k.Key.ID, "again"); err != nil {
		t.Fatal(err)
	}
	if len(f.ofType(t, amp.ModeLive, amp.EventKeyQuarantined)) != 1 {
		t.Fatal("a second quarantine fired again")
	}
	// Another account cannot restore it.
	other, _ := f.svc.CreateAccount(t.Context(), "other", amp.PlanStarter, 0)
	_, err = f.svc.RestoreKey(t.Context(), other.ID, k.Key.ID)
	wantCode(t, err, amp.CodeNotFound)
	if _, err := f.svc.RestoreKey(t.Context(), f.acct.ID, k.Key.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Authenticate(t.Context(), k.Secret, "192.0.2.1"); err != nil {
		t.Fatalf("a restored key is refused: %v", err)
	}
	_, err = f.svc.RestoreKey(t.Context(), f.acct.ID, k.Key.ID)
	wantCode(t, err, amp.CodeInvalidRequest)
}

// scannerKeys is a fixed set of scanner public keys.
type scannerKeys map[string]*ecdsa.PublicKey

func (s scannerKeys) Key(_ context.Context, id string) (*ecdsa.PublicKey, error) {
	if k, ok := s[id]; ok {
		return k, nil
	}
	return nil, secretscan.ErrUnknownKey
}

func signAlert(t testing.TB, k *ecdsa.PrivateKey, body []byte) string {
	sum := sha256.Sum256(body)
	sig, err := ecdsa.SignASN1(rand.Reader, k, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(sig)
}

func tokenHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func TestSecretScanningAlert(t *testing.T) {
	priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	clock := testclock.New(eventT0)
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "amp.db"), quietDB)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	cfg := service.Config{Store: db, Now: clock.Now, Events: service.EventConfig{ScannerKeys: scannerKeys{"gh-1": &priv.PublicKey}}}
	f := newEventFixture(t, cfg)
	// A second instance over the same store, whose key cache is warm.
	cfg.Learner = fixedLearner{}
	other, err := service.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	live, _ := f.svc.CreateKey(t.Context(), f.acct.ID, amp.ModeLive, service.KeyOptions{Name: "leaked"})
	if _, err := other.Authenticate(t.Context(), live.Secret, "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	revoked, _ := f.svc.CreateKey(t.Context(), f.acct.ID, amp.ModeTest, service.KeyOptions{})
	f.svc.RevokeKey(t.Context(), "", revoked.Key.ID)
	unknown, _ := amp.NewKey(rand.Reader, amp.ModeLive) // well-formed, never issued
	// The last character changed (to x, or to y where it is x already),
	// so that the checksum fails.
	last := "x"
	if strings.HasSuffix(live.Secret, "x") {
		last = "y"
	}
	malformed := live.Secret[:len(live.Secret)-1] + last
	found := []amp.FoundToken{
		{Token: live.Secret, Type: "amp_secret_key", URL: "https://github.com/o/r/blob/main/.env", Source: "content"},
		{Token: unknown, Type: "amp_secret_key", URL: "https://github.com/o/r/blob/main/a", Source: "content"},
		{Token: malformed, Type: "amp_secret_key", Source: "commit"},
		{Token: "ghp_notours", Type: "other"},
		{Token: revoked.Secret, Type: "amp_secret_key", Source: "content"},
		{Token: live.Secret, Type: "amp_secret_key", Source: "issue"}, // the same key twice
	}
	body, _ := json.Marshal(found)
	sig := signAlert(t, priv, body)

	// Refused: no headers, unknown key id, a signature of another body.
	_, err = f.svc.ReportLeakedTokens(t.Context(), "", "", body)
	wantCode(t, err, amp.CodeUnauthorized)
	_, err = f.svc.ReportLeakedTokens(t.Context(), "gh-2", sig, body)
	wantCode(t, err, amp.CodeUnauthorized)
	altered := append([]byte(nil), body...)
	altered[len(altered)-3] ^= 1
	_, err = f.svc.ReportLeakedTokens(t.Context(), "gh-1", sig, altered)
	wantCode(t, err, amp.CodeUnauthorized)
	if k, _ := db.Key(t.Context(), live.Key.ID); k.Quarantined() {
		t.Fatal("a refused alert quarantined the key")
	}

	fb, err := f.svc.ReportLeakedTokens(t.Context(), "gh-1", sig, body)
	if err != nil {
		t.Fatal(err)
	}
	want := []amp.TokenLabel{amp.TruePositive, amp.FalsePositive, amp.FalsePositive, amp.FalsePositive, amp.TruePositive, amp.TruePositive}
	for i, w := range want {
		if fb[i].Label != w || fb[i].TokenHash != tokenHash(found[i].Token) || fb[i].TokenType != found[i].Type {
			t.Errorf("feedback %d: %+v, want %s for %s", i, fb[i], w, found[i].Token[:min(12, len(found[i].Token))])
		}
	}
	// Quarantined within the request; the other instance refuses it once
	// its cache entry (500 ms) has expired.
	k, _ := db.Key(t.Context(), live.Key.ID)
	if !k.Quarantined() {
		t.Fatal("the found key is not quarantined")
	}
	if k.QuarantineURL != "https://github.com/o/r/blob/main/.env" {
		t.Errorf("the quarantine keeps the URL %q, want where the scanner found it", k.QuarantineURL)
	}
	wantCode(t, func() error { _, err := f.svc.Authenticate(t.Context(), live.Secret, "192.0.2.1"); return err }(), amp.CodeKeyQuarantined)
	clock.Advance(500 * time.Millisecond)
	_, err = other.Authenticate(t.Context(), live.Secret, "192.0.2.1")
	wantCode(t, err, amp.CodeKeyQuarantined)

	// The owner is told: key.leak_suspected (scanner) and key.quarantined.
	leaks := f.ofType(t, amp.ModeLive, amp.EventKeyLeakSuspected)
	quars := f.ofType(t, amp.ModeLive, amp.EventKeyQuarantined)
	if len(leaks) != 1 || len(quars) != 1 {
		t.Fatalf("%d leak and %d quarantine events, want 1 each", len(leaks), len(quars))
	}
	if d := data[amp.KeyLeakSuspectedData](t, leaks[0]); d.Source != amp.LeakScanner || d.Action != amp.LeakActionQuarantine ||
		d.URL != found[0].URL || d.Key.ID != live.Key.ID {
		t.Fatalf("key.leak_suspected data: %+v", d)
	}
	// The same alert again changes nothing more.
	if _, err := f.svc.ReportLeakedTokens(t.Context(), "gh-1", sig, body); err != nil {
		t.Fatal(err)
	}
	if len(f.ofType(t, amp.ModeLive, amp.EventKeyLeakSuspected)) != 1 {
		t.Fatal("a repeated alert fired again")
	}

	// An account set to revoke has its found keys revoked.
	if err := f.svc.SetLeakAction(t.Context(), f.acct.ID, amp.LeakActionRevoke); err != nil {
		t.Fatal(err)
	}
	k2, _ := f.svc.CreateKey(t.Context(), f.acct.ID, amp.ModeLive, service.KeyOptions{})
	body2, _ := json.Marshal([]amp.FoundToken{{Token: k2.Secret, Type: "amp_secret_key"}})
	if _, err := f.svc.ReportLeakedTokens(t.Context(), "gh-1", signAlert(t, priv, body2), body2); err != nil {
		t.Fatal(err)
	}
	if got, _ := db.Key(t.Context(), k2.Key.ID); got.RevokedAt == nil || got.Quarantined() {
		t.Fatalf("with the revoke setting, the key is %+v", got)
	}

	// Malformed bodies.
	for _, b := range []string{`{}`, `[`, `[{"token":1}]`, `[] []`} {
		_, err := f.svc.ReportLeakedTokens(t.Context(), "gh-1", signAlert(t, priv, []byte(b)), []byte(b))
		wantCode(t, err, amp.CodeInvalidRequest)
	}
}

func TestSecretScanningLargeBatch(t *testing.T) {
	priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	f := newEventFixture(t, service.Config{Events: service.EventConfig{ScannerKeys: scannerKeys{"gh-1": &priv.PublicKey}}})
	var found []amp.FoundToken
	var leaked []string
	for i := range 1000 {
		tok, _ := amp.NewKey(rand.Reader, amp.ModeLive)
		if i%100 == 0 {
			k, err := f.svc.CreateKey(t.Context(), f.acct.ID, amp.ModeLive, service.KeyOptions{})
			if err != nil {
				t.Fatal(err)
			}
			tok = k.Secret
			leaked = append(leaked, k.Key.ID)
		}
		found = append(found, amp.FoundToken{Token: tok, Type: "amp_secret_key", URL: "https://github.com/o/r", Source: "content"})
	}
	body, _ := json.Marshal(found)
	fb, err := f.svc.ReportLeakedTokens(t.Context(), "gh-1", signAlert(t, priv, body), body)
	if err != nil {
		t.Fatal(err)
	}
	positives := 0
	for i, x := range fb {
		if (x.Label == amp.TruePositive) != (i%100 == 0) {
			t.Fatalf("token %d labelled %s", i, x.Label)
		}
		if x.Label == amp.TruePositive {
			positives++
		}
	}
	if positives != 10 {
		t.Fatalf("%d true positives, want 10", positives)
	}
	for _, id := range leaked {
		if k, _ := f.db.Key(t.Context(), id); !k.Quarantined() {
			t.Fatalf("key %s of the batch is not quarantined", id)
		}
	}
}

func TestWebhookEndpointAdmin(t *testing.T) {
	f := newEventFixture(t, service.Config{})
	ctx := t.Context()
	for _, c := range []struct {
		mode amp.Mode
		url  string
		ok   bool
	}{
		{amp.ModeLive, "http://hooks.example.com/x", false}, // live needs https
		{amp.ModeTest, "http://hooks.example.com/x", true},
		{amp.ModeTest, "https://127.0.0.1/x", false},
		{amp.ModeTest, "https://[fd00::1]/x", false},
		{amp.ModeTest, "not a url", false},
	} {
		_, err := f.svc.CreateWebhookEndpoint(ctx, f.acct.ID, c.mode, service.EndpointOptions{URL: c.url, EventTypes: []amp.EventType{amp.EventKeyQuarantined}})
		if (err == nil) != c.ok {
			t.Errorf("%s %s: %v, want ok=%v", c.mode, c.url, err, c.ok)
		}
	}
	_, err := f.svc.CreateWebhookEndpoint(ctx, f.acct.ID, amp.ModeTest, service.EndpointOptions{URL: "https://h.example.com"})
	wantCode(t, err, amp.CodeInvalidRequest) // no event types
	_, err = f.svc.CreateWebhookEndpoint(ctx, f.acct.ID, amp.ModeTest, service.EndpointOptions{URL: "https://h.example.com", EventTypes: []amp.EventType{"key.nope"}})
	wantCode(t, err, amp.CodeInvalidRequest)

	// With private targets allowed, loopback is accepted.
	f2 := newEventFixture(t, service.Config{Events: service.EventConfig{AllowPrivateTargets: true}})
	if _, err := f2.svc.CreateWebhookEndpoint(ctx, f2.acct.ID, amp.ModeTest, service.EndpointOptions{URL: "http://127.0.0.1:9/x", EventTypes: amp.EventTypes}); err != nil {
		t.Fatal(err)
	}

	// Roll: old and new both valid during the grace.
	ep := f.eps[amp.ModeTest]
	rolled, err := f.svc.RollWebhookSecret(ctx, f.acct.ID, ep.ID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if got := rolled.Endpoint.SigningSecrets(f.clock.Now()); len(got) != 2 || got[0] != rolled.Secret || got[1] != ep.Secret {
		t.Fatalf("during the grace, secrets %v", got)
	}
	if got := rolled.Endpoint.SigningSecrets(f.clock.Now().Add(time.Hour)); len(got) != 1 {
		t.Fatalf("after the grace, secrets %v", got)
	}
	_, err = f.svc.RollWebhookSecret(ctx, f.acct.ID, ep.ID, 8*24*time.Hour)
	wantCode(t, err, amp.CodeInvalidRequest)

	// Test event reaches this endpoint only.
	ev, err := f.svc.SendTestEvent(ctx, f.acct.ID, ep.ID)
	if err != nil || ev == nil {
		t.Fatalf("SendTestEvent: %v", err)
	}
	if n := len(f.ofType(t, amp.ModeTest, amp.EventWebhookTest)); n != 1 {
		t.Fatalf("test event delivered %d times to its endpoint", n)
	}
	if n := len(f.ofType(t, amp.ModeLive, amp.EventWebhookTest)); n != 0 {
		t.Fatal("the test event reached another endpoint")
	}

	// Replay: only finished deliveries; another account's is not found.
	ds, _ := f.svc.WebhookDeliveries(ctx, amp.DeliveryQuery{AccountID: f.acct.ID, EndpointID: ep.ID})
	_, err = f.svc.ReplayDelivery(ctx, f.acct.ID, ds[0].ID)
	wantCode(t, err, amp.CodeInvalidRequest) // still pending
	d := ds[0]
	d.Status = amp.DeliveryFailed
	if err := f.db.SaveDelivery(ctx, d, nil); err != nil {
		t.Fatal(err)
	}
	_, err = f.svc.ReplayDelivery(ctx, "acct_other", d.ID)
	wantCode(t, err, amp.CodeNotFound)
	f.clock.Advance(time.Minute)
	r, err := f.svc.ReplayDelivery(ctx, f.acct.ID, d.ID)
	if err != nil || r.Status != amp.DeliveryPending || !r.NextAttemptAt.Equal(f.clock.Now()) {
		t.Fatalf("replay: %+v %v", r, err)
	}

	// Disabled endpoints receive nothing new.
	yes := true
	if _, err := f.svc.UpdateWebhookEndpoint(ctx, f.acct.ID, ep.ID, service.EndpointChange{Disabled: &yes}); err != nil {
		t.Fatal(err)
	}
	f.svc.QuarantineKey(ctx, f.acct.ID, func() string {
		k, _ := f.svc.CreateKey(ctx, f.acct.ID, amp.ModeTest, service.KeyOptions{})
		return k.Key.ID
	}(), "")
	if n := len(f.ofType(t, amp.ModeTest, amp.EventKeyQuarantined)); n != 0 {
		t.Fatal("a disabled endpoint got a delivery")
	}
	if err := f.svc.DeleteWebhookEndpoint(ctx, f.acct.ID, ep.ID); err != nil {
		t.Fatal(err)
	}
	_, err = f.svc.WebhookEndpoint(ctx, f.acct.ID, ep.ID)
	wantCode(t, err, amp.CodeNotFound)
}

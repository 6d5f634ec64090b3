package storetest

import (
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/amp-protocol/amp"
)

// WebhookBackend is what RunWebhooks tests: the outbox beside the accounts
// and keys it refers to.
type WebhookBackend interface {
	amp.AccountStore
	amp.KeyStore
	amp.WebhookStore
}

// RunWebhooks runs the conformance suite of amp.WebhookStore, and of the
// quarantine fields of amp.APIKey, as subtests of t. open must return a new,
// open store on an empty database each time; reopen, when not nil, opens
// again the database of a closed store (the outbox must survive it). The
// choices the suite fixes beyond the interface's comments:
//
//   - Endpoints, events and deliveries come back equal to what was stored,
//     times in UTC to the microsecond; a delivery's latency to the
//     microsecond.
//   - A delivery whose claim's lease has not ended is not claimed again;
//     once it ends, it is. Concurrent claims return disjoint deliveries.
//   - SaveDelivery of the same attempt number twice keeps the first entry.
func RunWebhooks(t *testing.T, open func(t *testing.T) WebhookBackend, reopen func(t *testing.T, closed WebhookBackend) WebhookBackend) {
	s := &hookSuite{open: open, reopen: reopen}
	t.Run("KeyQuarantine", s.testQuarantine)
	t.Run("WebhookEndpoints", s.testEndpoints)
	t.Run("WebhookOutbox", s.testOutbox)
	t.Run("WebhookDedupe", s.testDedupe)
	t.Run("WebhookDeliveryQuery", s.testQuery)
	t.Run("WebhookDeliveryFiltersAndPages", s.testQueryPages)
	t.Run("WebhookConcurrentClaims", s.testConcurrentClaims)
	t.Run("WebhookPrune", s.testPrune)
	t.Run("WebhookEndpointDelete", s.testEndpointDelete)
	if reopen != nil {
		t.Run("WebhookOutboxSurvivesReopen", s.testReopen)
	}
}

type hookSuite struct {
	open   func(t *testing.T) WebhookBackend
	reopen func(t *testing.T, closed WebhookBackend) WebhookBackend
}

func (s *hookSuite) store(t *testing.T) WebhookBackend {
	t.Helper()
	st := s.open(t)
	if st == nil {
		t.Fatal("open returned a nil store")
	}
	closeAtEnd(t, st)
	for _, id := range []string{"acct_hook_a", "acct_hook_b"} {
		noErr(t, "CreateAccount", st.CreateAccount(t.Context(), dashAccount(id)))
	}
	return st
}

func closeAtEnd(t *testing.T, st any) {
	if c, ok := st.(io.Closer); ok {
		var once sync.Once
		t.Cleanup(func() {
			once.Do(func() {
				if err := c.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
		})
	}
}

func hookEndpoint(id, account string, mode amp.Mode) *amp.WebhookEndpoint {
	return &amp.WebhookEndpoint{
		ID: id, AccountID: account, Mode: mode, URL: "https://example.com/hooks/" + id, Description: "endpoint " + id,
		EventTypes: []amp.EventType{amp.EventKeyQuarantined, amp.EventQuotaThreshold},
		Secret:     "whsec_" + id, CreatedAt: at(0), UpdatedAt: at(0),
	}
}

func hookEvent(id, account string, typ amp.EventType, created time.Time) *amp.WebhookEvent {
	body, _ := json.Marshal(map[string]any{"id": id, "type": typ, "data": map[string]any{"n": 1}})
	return &amp.WebhookEvent{ID: id, AccountID: account, Mode: amp.ModeLive, Type: typ, Payload: body, CreatedAt: created}
}

func hookDelivery(id string, ev *amp.WebhookEvent, endpointID string) *amp.WebhookDelivery {
	return &amp.WebhookDelivery{
		ID: id, EventID: ev.ID, EndpointID: endpointID, AccountID: ev.AccountID, Mode: ev.Mode, EventType: ev.Type,
		Status: amp.DeliveryPending, NextAttemptAt: ev.CreatedAt, CreatedAt: ev.CreatedAt,
	}
}

func sameJSON(t *testing.T, what string, got, want json.RawMessage) {
	t.Helper()
	var g, w any
	noErr(t, what+": decode got", json.Unmarshal(got, &g))
	noErr(t, what+": decode want", json.Unmarshal(want, &w))
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("%s: got %s, want %s", what, got, want)
	}
}

func sameEvent(t *testing.T, what string, got, want *amp.WebhookEvent) {
	t.Helper()
	sameJSON(t, what+": payload", got.Payload, want.Payload)
	g, w := *got, *want
	g.Payload, w.Payload = nil, nil
	w.CreatedAt = w.CreatedAt.UTC()
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("%s:\n got %+v\nwant %+v", what, g, w)
	}
}

func sameValue[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s:\n got %+v\nwant %+v", what, got, want)
	}
}

func (s *hookSuite) testQuarantine(t *testing.T) {
	st := s.store(t)
	ctx := t.Context()
	k := newKey("key_hook_q", amp.Tenant{AccountID: "acct_hook_a", Mode: amp.ModeLive}, at(0))
	noErr(t, "CreateKey", st.CreateKey(ctx, k))
	got, err := st.KeyByHash(ctx, k.Hash)
	noErr(t, "KeyByHash", err)
	if got.QuarantinedAt != nil || got.QuarantineReason != "" || got.Quarantined() {
		t.Fatalf("a new key came back quarantined: %v %q", got.QuarantinedAt, got.QuarantineReason)
	}
	got.QuarantinedAt, got.QuarantineReason = ptr(at(time.Minute).In(elsewhere)), "found in a public repository"
	got.QuarantineURL = "https://github.com/example/repo/blob/main/.env"
	noErr(t, "UpdateKey", st.UpdateKey(ctx, got))
	again, err := st.Key(ctx, k.ID)
	noErr(t, "Key", err)
	if again.QuarantinedAt == nil || !again.QuarantinedAt.Equal(at(time.Minute)) || again.QuarantinedAt.Location() != time.UTC ||
		again.QuarantineReason != "found in a public repository" || again.QuarantineURL != got.QuarantineURL {
		t.Fatalf("quarantine came back as %v %q %q", again.QuarantinedAt, again.QuarantineReason, again.QuarantineURL)
	}
	again.QuarantinedAt, again.QuarantineReason, again.QuarantineURL = nil, "", ""
	noErr(t, "UpdateKey (restore)", st.UpdateKey(ctx, again))
	keys, err := st.Keys(ctx, "acct_hook_a")
	noErr(t, "Keys", err)
	if len(keys) != 1 || keys[0].QuarantinedAt != nil || keys[0].QuarantineReason != "" || keys[0].QuarantineURL != "" {
		t.Fatalf("restored key came back as %+v", keys)
	}
	// A quarantined key is created as such too (a store restored from a
	// backup keeps it).
	k2 := newKey("key_hook_q2", amp.Tenant{AccountID: "acct_hook_a", Mode: amp.ModeTest}, at(0))
	k2.QuarantinedAt, k2.QuarantineReason = ptr(at(time.Hour)), "reported"
	noErr(t, "CreateKey quarantined", st.CreateKey(ctx, k2))
	got2, err := st.Key(ctx, k2.ID)
	noErr(t, "Key", err)
	if got2.QuarantinedAt == nil || !got2.QuarantinedAt.Equal(at(time.Hour)) || got2.QuarantineReason != "reported" {
		t.Fatalf("created quarantined key came back as %v %q", got2.QuarantinedAt, got2.QuarantineReason)
	}
}

func (s *hookSuite) testEndpoints(t *testing.T) {
	st := s.store(t)
	ctx := t.Context()
	e := hookEndpoint("we_1", "acct_hook_a", amp.ModeLive)
	e.CreatedAt = e.CreatedAt.In(elsewhere)
	noErr(t, "CreateWebhookEndpoint", st.CreateWebhookEndpoint(ctx, e))
	wantErr(t, "CreateWebhookEndpoint duplicate", st.CreateWebhookEndpoint(ctx, hookEndpoint("we_1", "acct_hook_a", amp.ModeLive)), amp.ErrConflict)
	wantErr(t, "CreateWebhookEndpoint unknown account", st.CreateWebhookEndpoint(ctx, hookEndpoint("we_x", "acct_nobody", amp.ModeLive)), amp.ErrNotFound)
	e2 := hookEndpoint("we_2", "acct_hook_a", amp.ModeTest)
	e2.CreatedAt = at(time.Second)
	e2.EventTypes = nil
	noErr(t, "CreateWebhookEndpoint 2", st.CreateWebhookEndpoint(ctx, e2))
	noErr(t, "CreateWebhookEndpoint b", st.CreateWebhookEndpoint(ctx, hookEndpoint("we_b", "acct_hook_b", amp.ModeLive)))

	got, err := st.WebhookEndpoint(ctx, "we_1")
	noErr(t, "WebhookEndpoint", err)
	want := *e
	want.CreatedAt = want.CreatedAt.UTC()
	sameValue(t, "WebhookEndpoint", *got, want)
	_, err = st.WebhookEndpoint(ctx, "we_none")
	wantErr(t, "WebhookEndpoint unknown", err, amp.ErrNotFound)

	list, err := st.WebhookEndpoints(ctx, "acct_hook_a")
	noErr(t, "WebhookEndpoints", err)
	if len(list) != 2 || list[0].ID != "we_1" || list[1].ID != "we_2" {
		t.Fatalf("WebhookEndpoints: got %d, want we_1 then we_2", len(list))
	}
	if len(list[1].EventTypes) != 0 {
		t.Fatalf("an endpoint without event types came back with %v", list[1].EventTypes)
	}

	got.URL = "https://example.org/new"
	got.Description = "moved"
	got.EventTypes = []amp.EventType{amp.EventProfileDeleted}
	got.PreviousSecret, got.Secret = got.Secret, "whsec_rolled"
	got.PreviousSecretExpiresAt = ptr(at(24 * time.Hour))
	got.Disabled = true
	got.UpdatedAt = at(time.Hour)
	got.CreatedAt = at(-time.Hour) // not changeable
	noErr(t, "UpdateWebhookEndpoint", st.UpdateWebhookEndpoint(ctx, got))
	again, err := st.WebhookEndpoint(ctx, "we_1")
	noErr(t, "WebhookEndpoint after update", err)
	want2 := *got
	want2.CreatedAt = at(0)
	sameValue(t, "WebhookEndpoint after update", *again, want2)
	wantErr(t, "UpdateWebhookEndpoint unknown", st.UpdateWebhookEndpoint(ctx, hookEndpoint("we_none", "acct_hook_a", amp.ModeLive)), amp.ErrNotFound)
	wantErr(t, "DeleteWebhookEndpoint unknown", st.DeleteWebhookEndpoint(ctx, "we_none"), amp.ErrNotFound)
	noErr(t, "DeleteWebhookEndpoint", st.DeleteWebhookEndpoint(ctx, "we_2"))
	_, err = st.WebhookEndpoint(ctx, "we_2")
	wantErr(t, "WebhookEndpoint deleted", err, amp.ErrNotFound)
}

func (s *hookSuite) testOutbox(t *testing.T) {
	st := s.store(t)
	ctx := t.Context()
	noErr(t, "endpoint", st.CreateWebhookEndpoint(ctx, hookEndpoint("we_1", "acct_hook_a", amp.ModeLive)))
	noErr(t, "endpoint", st.CreateWebhookEndpoint(ctx, hookEndpoint("we_2", "acct_hook_a", amp.ModeLive)))
	ev := hookEvent("evt_1", "acct_hook_a", amp.EventKeyQuarantined, at(0))
	d1, d2 := hookDelivery("whd_1", ev, "we_1"), hookDelivery("whd_2", ev, "we_2")
	d2.NextAttemptAt = at(time.Minute) // not due yet
	ok, err := st.EnqueueEvent(ctx, ev, []*amp.WebhookDelivery{d1, d2})
	noErr(t, "EnqueueEvent", err)
	if !ok {
		t.Fatal("EnqueueEvent without a dedupe key reported a duplicate")
	}
	gotEv, err := st.WebhookEvent(ctx, "evt_1")
	noErr(t, "WebhookEvent", err)
	sameEvent(t, "WebhookEvent", gotEv, ev)
	_, err = st.WebhookEvent(ctx, "evt_none")
	wantErr(t, "WebhookEvent unknown", err, amp.ErrNotFound)

	// Only the due delivery is claimed, with its event and endpoint.
	lease := 30 * time.Second
	due, err := st.ClaimDeliveries(ctx, at(time.Second), lease, 10)
	noErr(t, "ClaimDeliveries", err)
	if len(due) != 1 || due[0].Delivery.ID != "whd_1" {
		t.Fatalf("ClaimDeliveries: got %d deliveries, want whd_1 alone", len(due))
	}
	if due[0].Endpoint.ID != "we_1" || due[0].Endpoint.Secret != "whsec_we_1" {
		t.Fatalf("claimed delivery's endpoint: %+v", due[0].Endpoint)
	}
	sameEvent(t, "claimed delivery's event", due[0].Event, ev)
	if !due[0].Delivery.NextAttemptAt.Equal(at(time.Second + lease)) {
		t.Fatalf("claimed delivery's NextAttemptAt = %v, want the lease's end %v", due[0].Delivery.NextAttemptAt, at(time.Second+lease))
	}
	// The lease holds it back...
	due, err = st.ClaimDeliveries(ctx, at(2*time.Second), lease, 10)
	noErr(t, "ClaimDeliveries during lease", err)
	if len(due) != 0 {
		t.Fatalf("ClaimDeliveries during the lease returned %d", len(due))
	}
	// ...until it ends, as if its worker had died; d2 is due by then too.
	due, err = st.ClaimDeliveries(ctx, at(time.Minute), lease, 10)
	noErr(t, "ClaimDeliveries after lease", err)
	ids := []string{}
	for _, dd := range due {
		ids = append(ids, dd.Delivery.ID)
	}
	slices.Sort(ids)
	sameValue(t, "ClaimDeliveries after the lease", ids, []string{"whd_1", "whd_2"})
	// A limit of 1 claims one.
	due, err = st.ClaimDeliveries(ctx, at(time.Hour), lease, 1)
	noErr(t, "ClaimDeliveries limit", err)
	if len(due) != 1 {
		t.Fatalf("ClaimDeliveries with limit 1 returned %d", len(due))
	}

	// A failed attempt, then a success.
	d := due[0].Delivery
	fail := &amp.DeliveryAttempt{DeliveryID: d.ID, Attempt: 1, At: at(time.Hour), Status: 500, Latency: 1234 * time.Microsecond, Error: "HTTP 500"}
	d.Attempts, d.LastAttemptAt, d.LastStatus, d.LastLatency, d.LastError = 1, &fail.At, 500, fail.Latency, fail.Error
	d.NextAttemptAt = at(2 * time.Hour)
	noErr(t, "SaveDelivery failed", st.SaveDelivery(ctx, d, fail))
	noErr(t, "SaveDelivery same attempt again", st.SaveDelivery(ctx, d, &amp.DeliveryAttempt{DeliveryID: d.ID, Attempt: 1, At: at(time.Hour), Error: "other"}))
	got, err := st.WebhookDelivery(ctx, d.ID)
	noErr(t, "WebhookDelivery", err)
	sameValue(t, "WebhookDelivery after a failure", *got, *d)
	okAt := at(2 * time.Hour)
	success := &amp.DeliveryAttempt{DeliveryID: d.ID, Attempt: 2, At: okAt, Status: 204, Latency: 5 * time.Millisecond}
	d.Status, d.Attempts, d.LastAttemptAt, d.LastStatus, d.LastLatency, d.LastError = amp.DeliverySucceeded, 2, &okAt, 204, success.Latency, ""
	noErr(t, "SaveDelivery succeeded", st.SaveDelivery(ctx, d, success))
	log, err := st.DeliveryAttempts(ctx, d.ID)
	noErr(t, "DeliveryAttempts", err)
	if len(log) != 2 {
		t.Fatalf("DeliveryAttempts: %d entries, want 2", len(log))
	}
	sameValue(t, "first attempt", *log[0], *fail)
	sameValue(t, "second attempt", *log[1], *success)
	// A finished delivery is never claimed.
	due, err = st.ClaimDeliveries(ctx, at(100*time.Hour), lease, 10)
	noErr(t, "ClaimDeliveries after success", err)
	for _, dd := range due {
		if dd.Delivery.ID == d.ID {
			t.Fatal("a succeeded delivery was claimed")
		}
	}
	wantErr(t, "SaveDelivery unknown", st.SaveDelivery(ctx, hookDelivery("whd_none", ev, "we_1"), nil), amp.ErrNotFound)
	_, err = st.WebhookDelivery(ctx, "whd_none")
	wantErr(t, "WebhookDelivery unknown", err, amp.ErrNotFound)
}

func (s *hookSuite) testDedupe(t *testing.T) {
	st := s.store(t)
	ctx := t.Context()
	noErr(t, "endpoint", st.CreateWebhookEndpoint(ctx, hookEndpoint("we_1", "acct_hook_a", amp.ModeLive)))
	noErr(t, "endpoint", st.CreateWebhookEndpoint(ctx, hookEndpoint("we_b", "acct_hook_b", amp.ModeLive)))
	ev := hookEvent("evt_1", "acct_hook_a", amp.EventQuotaThreshold, at(0))
	ev.DedupeKey = "quota.threshold:2025-03:80"
	ok, err := st.EnqueueEvent(ctx, ev, []*amp.WebhookDelivery{hookDelivery("whd_1", ev, "we_1")})
	noErr(t, "EnqueueEvent", err)
	if !ok {
		t.Fatal("first event with a dedupe key was not stored")
	}
	dup := hookEvent("evt_2", "acct_hook_a", amp.EventQuotaThreshold, at(time.Minute))
	dup.DedupeKey = ev.DedupeKey
	ok, err = st.EnqueueEvent(ctx, dup, []*amp.WebhookDelivery{hookDelivery("whd_2", dup, "we_1")})
	noErr(t, "EnqueueEvent duplicate", err)
	if ok {
		t.Fatal("an event with a stored dedupe key was stored again")
	}
	_, err = st.WebhookEvent(ctx, "evt_2")
	wantErr(t, "WebhookEvent of the duplicate", err, amp.ErrNotFound)
	_, err = st.WebhookDelivery(ctx, "whd_2")
	wantErr(t, "WebhookDelivery of the duplicate", err, amp.ErrNotFound)
	// Another account may use the same key.
	other := hookEvent("evt_3", "acct_hook_b", amp.EventQuotaThreshold, at(0))
	other.DedupeKey = ev.DedupeKey
	ok, err = st.EnqueueEvent(ctx, other, []*amp.WebhookDelivery{hookDelivery("whd_3", other, "we_b")})
	noErr(t, "EnqueueEvent other account", err)
	if !ok {
		t.Fatal("a dedupe key of another account blocked an event")
	}
	got, err := st.WebhookEvent(ctx, "evt_1")
	noErr(t, "WebhookEvent", err)
	if got.DedupeKey != ev.DedupeKey {
		t.Fatalf("DedupeKey came back as %q", got.DedupeKey)
	}
	// Events without a key never collide; an event without deliveries is
	// kept too (the account had no endpoint for it).
	for i := range 2 {
		e := hookEvent(fmt.Sprintf("evt_nokey_%d", i), "acct_hook_a", amp.EventProfileDeleted, at(0))
		ok, err := st.EnqueueEvent(ctx, e, nil)
		noErr(t, "EnqueueEvent without key", err)
		if !ok {
			t.Fatal("an event without a dedupe key was reported a duplicate")
		}
	}
	// A delivery to an unknown endpoint fails the whole event.
	bad := hookEvent("evt_bad", "acct_hook_a", amp.EventProfileDeleted, at(0))
	_, err = st.EnqueueEvent(ctx, bad, []*amp.WebhookDelivery{hookDelivery("whd_bad", bad, "we_none")})
	if err == nil {
		t.Fatal("EnqueueEvent with a delivery to an unknown endpoint succeeded")
	}
	_, err = st.WebhookEvent(ctx, "evt_bad")
	wantErr(t, "WebhookEvent of a failed enqueue", err, amp.ErrNotFound)
}

func (s *hookSuite) testQuery(t *testing.T) {
	st := s.store(t)
	ctx := t.Context()
	noErr(t, "endpoint", st.CreateWebhookEndpoint(ctx, hookEndpoint("we_1", "acct_hook_a", amp.ModeLive)))
	noErr(t, "endpoint", st.CreateWebhookEndpoint(ctx, hookEndpoint("we_2", "acct_hook_a", amp.ModeLive)))
	noErr(t, "endpoint", st.CreateWebhookEndpoint(ctx, hookEndpoint("we_b", "acct_hook_b", amp.ModeLive)))
	for i := range 5 {
		ev := hookEvent(fmt.Sprintf("evt_%d", i), "acct_hook_a", amp.EventKeyQuarantined, at(time.Duration(i)*time.Minute))
		ds := []*amp.WebhookDelivery{hookDelivery(fmt.Sprintf("whd_%d_1", i), ev, "we_1"), hookDelivery(fmt.Sprintf("whd_%d_2", i), ev, "we_2")}
		if i%2 == 0 {
			ds[0].Status = amp.DeliveryFailed
		}
		_, err := st.EnqueueEvent(ctx, ev, ds)
		noErr(t, "EnqueueEvent", err)
	}
	evb := hookEvent("evt_b", "acct_hook_b", amp.EventKeyQuarantined, at(0))
	_, err := st.EnqueueEvent(ctx, evb, []*amp.WebhookDelivery{hookDelivery("whd_b", evb, "we_b")})
	noErr(t, "EnqueueEvent b", err)

	ids := func(ds []*amp.WebhookDelivery) []string {
		out := []string{}
		for _, d := range ds {
			out = append(out, d.ID)
		}
		return out
	}
	all, err := st.WebhookDeliveries(ctx, amp.DeliveryQuery{AccountID: "acct_hook_a"})
	noErr(t, "WebhookDeliveries", err)
	if len(all) != 10 || all[0].CreatedAt.Before(all[9].CreatedAt) {
		t.Fatalf("WebhookDeliveries: %v, want 10 newest first", ids(all))
	}
	one, err := st.WebhookDeliveries(ctx, amp.DeliveryQuery{AccountID: "acct_hook_a", EndpointID: "we_1", Limit: 2})
	noErr(t, "WebhookDeliveries endpoint", err)
	sameValue(t, "WebhookDeliveries of we_1, 2 newest", ids(one), []string{"whd_4_1", "whd_3_1"})
	failed, err := st.WebhookDeliveries(ctx, amp.DeliveryQuery{AccountID: "acct_hook_a", Status: amp.DeliveryFailed})
	noErr(t, "WebhookDeliveries failed", err)
	sameValue(t, "failed deliveries", ids(failed), []string{"whd_4_1", "whd_2_1", "whd_0_1"})
	b, err := st.WebhookDeliveries(ctx, amp.DeliveryQuery{AccountID: "acct_hook_b"})
	noErr(t, "WebhookDeliveries b", err)
	sameValue(t, "account b's deliveries", ids(b), []string{"whd_b"})
	// Failed deliveries are not claimed.
	due, err := st.ClaimDeliveries(ctx, at(time.Hour), time.Minute, 100)
	noErr(t, "ClaimDeliveries", err)
	if len(due) != 8 {
		t.Fatalf("ClaimDeliveries: %d, want the 8 pending", len(due))
	}
}

// testQueryPages checks the filters by mode and event type and the pages
// of the log: following Before from the last row of each page visits
// every delivery once, newest first.
func (s *hookSuite) testQueryPages(t *testing.T) {
	st := s.store(t)
	ctx := t.Context()
	noErr(t, "endpoint", st.CreateWebhookEndpoint(ctx, hookEndpoint("we_l", "acct_hook_a", amp.ModeLive)))
	noErr(t, "endpoint", st.CreateWebhookEndpoint(ctx, hookEndpoint("we_t", "acct_hook_a", amp.ModeTest)))
	var want []string
	for i := range 7 {
		typ := amp.EventKeyQuarantined
		if i%3 == 0 {
			typ = amp.EventQuotaThreshold
		}
		// Two deliveries of events created at the same instant: the id
		// breaks the tie, and pages must not skip or repeat either.
		created := at(time.Duration(i/2) * time.Minute)
		ev := hookEvent(fmt.Sprintf("evt_p%d", i), "acct_hook_a", typ, created)
		_, err := st.EnqueueEvent(ctx, ev, []*amp.WebhookDelivery{hookDelivery(fmt.Sprintf("whd_p%d", i), ev, "we_l")})
		noErr(t, "EnqueueEvent", err)
		want = append([]string{fmt.Sprintf("whd_p%d", i)}, want...)
	}
	tev := hookEvent("evt_t", "acct_hook_a", amp.EventKeyQuarantined, at(time.Hour))
	tev.Mode = amp.ModeTest
	_, err := st.EnqueueEvent(ctx, tev, []*amp.WebhookDelivery{hookDelivery("whd_t", tev, "we_t")})
	noErr(t, "EnqueueEvent test mode", err)

	ids := func(ds []*amp.WebhookDelivery) []string {
		out := []string{}
		for _, d := range ds {
			out = append(out, d.ID)
		}
		return out
	}
	test, err := st.WebhookDeliveries(ctx, amp.DeliveryQuery{AccountID: "acct_hook_a", Mode: amp.ModeTest})
	noErr(t, "WebhookDeliveries test mode", err)
	sameValue(t, "test-mode deliveries", ids(test), []string{"whd_t"})
	quota, err := st.WebhookDeliveries(ctx, amp.DeliveryQuery{AccountID: "acct_hook_a", EventType: amp.EventQuotaThreshold})
	noErr(t, "WebhookDeliveries by type", err)
	sameValue(t, "quota.threshold deliveries", ids(quota), []string{"whd_p6", "whd_p3", "whd_p0"})

	var got []string
	before := ""
	for range 10 {
		page, err := st.WebhookDeliveries(ctx, amp.DeliveryQuery{AccountID: "acct_hook_a", Mode: amp.ModeLive, Before: before, Limit: 3})
		noErr(t, "WebhookDeliveries page", err)
		if len(page) == 0 {
			break
		}
		got = append(got, ids(page)...)
		before = page[len(page)-1].ID
	}
	sameValue(t, "pages of the live log", got, want)
	after, err := st.WebhookDeliveries(ctx, amp.DeliveryQuery{AccountID: "acct_hook_a", Before: "whd_p3", EventType: amp.EventQuotaThreshold})
	noErr(t, "WebhookDeliveries page by type", err)
	sameValue(t, "quota.threshold deliveries after whd_p3", ids(after), []string{"whd_p0"})
	none, err := st.WebhookDeliveries(ctx, amp.DeliveryQuery{AccountID: "acct_hook_a", Before: "whd_missing"})
	noErr(t, "WebhookDeliveries after a missing id", err)
	sameValue(t, "deliveries after a missing id", ids(none), []string{})
}

func (s *hookSuite) testConcurrentClaims(t *testing.T) {
	st := s.store(t)
	ctx := t.Context()
	noErr(t, "endpoint", st.CreateWebhookEndpoint(ctx, hookEndpoint("we_1", "acct_hook_a", amp.ModeLive)))
	const n = 60
	for i := range n {
		ev := hookEvent(fmt.Sprintf("evt_%02d", i), "acct_hook_a", amp.EventKeyQuarantined, at(time.Duration(i)*time.Millisecond))
		_, err := st.EnqueueEvent(ctx, ev, []*amp.WebhookDelivery{hookDelivery(fmt.Sprintf("whd_%02d", i), ev, "we_1")})
		noErr(t, "EnqueueEvent", err)
	}
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 10 {
				due, err := st.ClaimDeliveries(ctx, at(time.Second), time.Hour, 5)
				if err != nil {
					t.Errorf("ClaimDeliveries: %v", err)
					return
				}
				mu.Lock()
				for _, d := range due {
					seen[d.Delivery.ID]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(seen) != n {
		t.Fatalf("concurrent claims found %d of %d deliveries", len(seen), n)
	}
	for id, c := range seen {
		if c != 1 {
			t.Fatalf("delivery %s was claimed %d times during its lease", id, c)
		}
	}
}

func (s *hookSuite) testPrune(t *testing.T) {
	st := s.store(t)
	ctx := t.Context()
	noErr(t, "endpoint", st.CreateWebhookEndpoint(ctx, hookEndpoint("we_1", "acct_hook_a", amp.ModeLive)))
	mk := func(id string, created time.Time, status amp.DeliveryStatus) {
		ev := hookEvent(id, "acct_hook_a", amp.EventKeyQuarantined, created)
		d := hookDelivery("whd_"+id, ev, "we_1")
		d.Status = status
		_, err := st.EnqueueEvent(ctx, ev, []*amp.WebhookDelivery{d})
		noErr(t, "EnqueueEvent", err)
		if status != amp.DeliveryPending {
			noErr(t, "SaveDelivery", st.SaveDelivery(ctx, d, &amp.DeliveryAttempt{DeliveryID: d.ID, Attempt: 1, At: created, Status: 200}))
		}
	}
	mk("old_done", at(-48*time.Hour), amp.DeliverySucceeded)
	mk("old_failed", at(-48*time.Hour), amp.DeliveryFailed)
	mk("old_pending", at(-48*time.Hour), amp.DeliveryPending)
	mk("new_done", at(0), amp.DeliverySucceeded)
	n, err := st.PruneWebhookEvents(ctx, at(-time.Hour))
	noErr(t, "PruneWebhookEvents", err)
	if n != 2 {
		t.Fatalf("PruneWebhookEvents deleted %d, want the 2 old finished events", n)
	}
	for id, gone := range map[string]bool{"old_done": true, "old_failed": true, "old_pending": false, "new_done": false} {
		_, err := st.WebhookEvent(ctx, id)
		if gone {
			wantErr(t, "WebhookEvent "+id, err, amp.ErrNotFound)
			_, err = st.WebhookDelivery(ctx, "whd_"+id)
			wantErr(t, "WebhookDelivery of pruned "+id, err, amp.ErrNotFound)
			log, err := st.DeliveryAttempts(ctx, "whd_"+id)
			noErr(t, "DeliveryAttempts", err)
			if len(log) != 0 {
				t.Fatalf("the log of pruned %s survived", id)
			}
		} else {
			noErr(t, "WebhookEvent "+id, err)
		}
	}
}

func (s *hookSuite) testEndpointDelete(t *testing.T) {
	st := s.store(t)
	ctx := t.Context()
	noErr(t, "endpoint", st.CreateWebhookEndpoint(ctx, hookEndpoint("we_1", "acct_hook_a", amp.ModeLive)))
	ev := hookEvent("evt_1", "acct_hook_a", amp.EventKeyQuarantined, at(0))
	d := hookDelivery("whd_1", ev, "we_1")
	_, err := st.EnqueueEvent(ctx, ev, []*amp.WebhookDelivery{d})
	noErr(t, "EnqueueEvent", err)
	noErr(t, "SaveDelivery", st.SaveDelivery(ctx, d, &amp.DeliveryAttempt{DeliveryID: d.ID, Attempt: 1, At: at(0), Status: 500, Error: "x"}))
	noErr(t, "DeleteWebhookEndpoint", st.DeleteWebhookEndpoint(ctx, "we_1"))
	_, err = st.WebhookDelivery(ctx, "whd_1")
	wantErr(t, "delivery of a deleted endpoint", err, amp.ErrNotFound)
	due, err := st.ClaimDeliveries(ctx, at(time.Hour), time.Minute, 10)
	noErr(t, "ClaimDeliveries", err)
	if len(due) != 0 {
		t.Fatalf("a deleted endpoint's delivery was claimed")
	}
}

func (s *hookSuite) testReopen(t *testing.T) {
	st := s.open(t)
	ctx := t.Context()
	noErr(t, "CreateAccount", st.CreateAccount(ctx, dashAccount("acct_hook_a")))
	noErr(t, "endpoint", st.CreateWebhookEndpoint(ctx, hookEndpoint("we_1", "acct_hook_a", amp.ModeLive)))
	ev := hookEvent("evt_1", "acct_hook_a", amp.EventKeyQuarantined, at(0))
	_, err := st.EnqueueEvent(ctx, ev, []*amp.WebhookDelivery{hookDelivery("whd_1", ev, "we_1")})
	noErr(t, "EnqueueEvent", err)
	if c, ok := st.(io.Closer); ok {
		noErr(t, "Close", c.Close())
	}
	st2 := s.reopen(t, st)
	closeAtEnd(t, st2)
	due, err := st2.ClaimDeliveries(ctx, at(time.Second), time.Minute, 10)
	noErr(t, "ClaimDeliveries after reopen", err)
	if len(due) != 1 || due[0].Delivery.ID != "whd_1" {
		t.Fatalf("after reopening, %d deliveries were due, want whd_1", len(due))
	}
	sameEvent(t, "event after reopen", due[0].Event, ev)
}

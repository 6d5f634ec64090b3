package storetest

import (
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/amp-protocol/amp"
)

// RunRequestLog runs the conformance suite of amp.RequestLogStore as
// subtests of t. open must return a new, open store on an empty database
// each time; a store that implements io.Closer is closed at the end.
func RunRequestLog(t *testing.T, open func(t *testing.T) amp.RequestLogStore) {
	st := func(t *testing.T) amp.RequestLogStore {
		s := open(t)
		if c, ok := s.(io.Closer); ok {
			var once sync.Once
			t.Cleanup(func() { once.Do(func() { c.Close() }) })
		}
		return s
	}
	t.Run("RequestLogFilters", func(t *testing.T) { testRequestLogFilters(t, st(t)) })
	t.Run("RequestLogPrune", func(t *testing.T) { testRequestLogPrune(t, st(t)) })
}

func reqEntry(tn amp.Tenant, i int, key string, status int) *amp.RequestLogEntry {
	e := &amp.RequestLogEntry{Tenant: tn, At: at(time.Duration(i) * time.Second), KeyID: key, Route: "POST /v1/context",
		Status: status, Latency: time.Duration(i)*time.Millisecond + 250*time.Microsecond, Country: "FR", RequestID: fmt.Sprintf("req_%03d", i)}
	if status >= 400 {
		e.Code = amp.CodeInvalidRequest
	}
	return e
}

func testRequestLogFilters(t *testing.T, st amp.RequestLogStore) {
	ctx := t.Context()
	a := amp.Tenant{AccountID: "acct_a", Mode: amp.ModeTest}
	var entries []*amp.RequestLogEntry
	for i := range 10 {
		key, status := "key_1", 200
		if i%2 == 1 {
			key = "key_2"
		}
		if i%3 == 0 {
			status = 400 + i
		}
		entries = append(entries, reqEntry(a, i, key, status))
	}
	// Other tenants' entries, which no read of a may return.
	entries = append(entries, reqEntry(amp.Tenant{AccountID: "acct_a", Mode: amp.ModeLive}, 50, "key_3", 200),
		reqEntry(amp.Tenant{AccountID: "acct_b", Mode: amp.ModeTest}, 51, "key_1", 200))
	noErr(t, "AppendRequests", st.AppendRequests(ctx, entries))
	noErr(t, "AppendRequests none", st.AppendRequests(ctx, nil))

	ids := func(es []*amp.RequestLogEntry) []string {
		var out []string
		for _, e := range es {
			out = append(out, e.RequestID)
		}
		return out
	}
	check := func(what string, f amp.RequestLogFilter, want ...string) {
		t.Helper()
		got, err := st.Requests(ctx, a, f)
		noErr(t, what, err)
		if fmt.Sprint(ids(got)) != fmt.Sprint(want) {
			t.Errorf("%s: %v, want %v", what, ids(got), want)
		}
	}
	check("newest three", amp.RequestLogFilter{Limit: 3}, "req_009", "req_008", "req_007")
	check("by key", amp.RequestLogFilter{KeyID: "key_2", Limit: 3}, "req_009", "req_007", "req_005")
	check("4xx", amp.RequestLogFilter{StatusMin: 400, StatusMax: 499, Limit: 10}, "req_009", "req_006", "req_003", "req_000")
	check("by request id", amp.RequestLogFilter{RequestID: "req_004", Limit: 10}, "req_004")
	check("another tenant's request id", amp.RequestLogFilter{RequestID: "req_050", Limit: 10})
	check("a page before", amp.RequestLogFilter{Before: at(3 * time.Second), Limit: 10}, "req_002", "req_001", "req_000")
	check("key and status", amp.RequestLogFilter{KeyID: "key_1", StatusMin: 200, StatusMax: 299, Limit: 10}, "req_008", "req_004", "req_002")
	check("no limit", amp.RequestLogFilter{})

	got, err := st.Requests(ctx, a, amp.RequestLogFilter{RequestID: "req_009", Limit: 1})
	noErr(t, "Requests", err)
	if len(got) != 1 {
		t.Fatal("req_009 not found")
	}
	var d diff
	w := entries[9]
	eq(&d, "AccountID", got[0].AccountID, w.AccountID)
	eq(&d, "Mode", got[0].Mode, w.Mode)
	d.time("At", got[0].At, w.At)
	eq(&d, "KeyID", got[0].KeyID, w.KeyID)
	eq(&d, "Route", got[0].Route, w.Route)
	eq(&d, "Status", got[0].Status, w.Status)
	eq(&d, "Code", got[0].Code, w.Code)
	eq(&d, "Latency", got[0].Latency, w.Latency)
	eq(&d, "Country", got[0].Country, w.Country)
	d.check(t, "stored entry")
}

func testRequestLogPrune(t *testing.T, st amp.RequestLogStore) {
	ctx := t.Context()
	a := amp.Tenant{AccountID: "acct_a", Mode: amp.ModeTest}
	b := amp.Tenant{AccountID: "acct_b", Mode: amp.ModeTest}
	var entries []*amp.RequestLogEntry
	for i := range 10 {
		entries = append(entries, reqEntry(a, i, "key_1", 200), reqEntry(b, i, "key_2", 200))
	}
	noErr(t, "AppendRequests", st.AppendRequests(ctx, entries))
	// Older than 2 s go, then each tenant keeps its newest 5.
	n, err := st.PruneRequests(ctx, at(2*time.Second), 5)
	noErr(t, "PruneRequests", err)
	if n != 10 {
		t.Errorf("PruneRequests deleted %d, want 10", n)
	}
	for _, tn := range []amp.Tenant{a, b} {
		got, err := st.Requests(ctx, tn, amp.RequestLogFilter{Limit: 100})
		noErr(t, "Requests", err)
		if len(got) != 5 || got[4].RequestID != "req_005" {
			t.Errorf("%s after pruning: %d entries", tn.AccountID, len(got))
		}
	}
}

package metrics_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/amp-protocol/amp/internal/metrics"
)

func TestHandlerExposesObservations(t *testing.T) {
	m := metrics.New()
	m.Observe("POST /v1/context", 200, 3*time.Millisecond)
	m.Observe("POST /v1/context", 200, 30*time.Millisecond)
	m.Observe("POST /v1/context", 429, time.Millisecond)
	m.Observe("", 404, time.Millisecond)
	m.Limited(metrics.ReasonRate)
	m.Limited(metrics.ReasonQuota)
	m.Limited(metrics.ReasonQuota)
	m.StoreError("usage_flush")
	m.Dropped(3)

	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status = %d, want 200", resp.StatusCode)
	}
	for _, want := range []string{
		`amp_http_requests_total{route="POST /v1/context",status="200"} 2`,
		`amp_http_requests_total{route="POST /v1/context",status="429"} 1`,
		`amp_http_requests_total{route="unmatched",status="404"} 1`,
		`amp_http_request_duration_seconds_bucket{route="POST /v1/context",le="0.005"} 2`,
		`amp_http_request_duration_seconds_count{route="POST /v1/context"} 3`,
		`amp_limited_requests_total{reason="rate"} 1`,
		`amp_limited_requests_total{reason="quota"} 2`,
		`amp_limited_requests_total{reason="auth"} 0`,
		`amp_store_errors_total{op="usage_flush"} 1`,
		`amp_usage_events_dropped_total 3`,
		`go_goroutines `,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("exposition lacks %q", want)
		}
	}
}

func TestSetsAreIndependent(t *testing.T) {
	a, b := metrics.New(), metrics.New()
	a.Limited(metrics.ReasonRate)
	if got := testutil.CollectAndCount(b.Registry(), "amp_limited_requests_total"); got != 3 {
		t.Fatalf("series in b = %d, want the 3 zero-initialised reasons", got)
	}
	if got, err := testutil.GatherAndCount(b.Registry(), "amp_http_requests_total"); err != nil || got != 0 {
		t.Fatalf("b has %d request series (err %v), want 0", got, err)
	}
}

func BenchmarkObserve(b *testing.B) {
	m := metrics.New()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m.Observe("POST /v1/context", 200, time.Millisecond)
		}
	})
}

// A nil set counts nothing and does not panic: components built without
// metrics (tests, tools) need no set of their own.
func TestNilCountsNothing(t *testing.T) {
	var m *metrics.Metrics
	m.Observe("GET /v1/profile/{userId}", 200, time.Millisecond)
	m.Limited(metrics.ReasonRate)
	m.StoreError("usage_flush")
	m.Dropped(3)
}

package httpapi_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// The benchmarks drive the whole server in-process (no sockets): auth with
// a cached key, decoding, the service, the fake learner and the real
// SQLite store in a temp dir, from GOMAXPROCS goroutines.

func benchServe(b *testing.B, f *fixture, method, path, body string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	r.Header.Set("Authorization", "Bearer "+f.liveKey)
	rec := httptest.NewRecorder()
	f.server.ServeHTTP(rec, r)
	return rec
}

func BenchmarkContext(b *testing.B) {
	f := newFixture(b, func(o *options) { o.noServer = true; o.discardLogs = true })
	var n atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			body := fmt.Sprintf(`{"userId":"user_%d","task":"write the quarterly report","taskType":"writing","complexity":"medium"}`, n.Add(1)%1000)
			if rec := benchServe(b, f, "POST", "/v1/context", body); rec.Code != http.StatusOK {
				b.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
		}
	})
}

func BenchmarkOutcome(b *testing.B) {
	f := newFixture(b, func(o *options) { o.noServer = true; o.discardLogs = true })
	// One fresh requestId per iteration, issued before the clock starts.
	ids := make([]string, b.N)
	for i := range ids {
		rec := benchServe(b, f, "POST", "/v1/context", fmt.Sprintf(`{"userId":"user_%d","task":"t"}`, i%1000))
		if rec.Code != http.StatusOK {
			b.Fatalf("context: status %d: %s", rec.Code, rec.Body)
		}
		ids[i] = rec.Header().Get("X-Request-Id")
	}
	var next atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			id := ids[next.Add(1)-1]
			body := `{"requestId":"` + id + `","started":true,"completed":true,"timeToStart":42,"satisfaction":0.8}`
			if rec := benchServe(b, f, "POST", "/v1/outcome", body); rec.Code != http.StatusOK {
				b.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
		}
	})
}

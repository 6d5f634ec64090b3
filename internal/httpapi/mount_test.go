package httpapi_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/amp-protocol/amp/internal/httpx"
	"github.com/amp-protocol/amp/internal/metrics"
)

// pagedFrontEnd is a mounted front end with error pages of its own, like
// the dashboard.
type pagedFrontEnd struct{ mux *http.ServeMux }

func (p *pagedFrontEnd) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if _, pattern := p.mux.Handler(r); pattern != "" {
		httpx.SetRoute(r, pattern)
	}
	p.mux.ServeHTTP(w, r)
}

func (p *pagedFrontEnd) ServeError(w http.ResponseWriter, _ *http.Request, status int) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write([]byte("<p>our own error page</p>"))
}

// Front ends mounted on the Server share its chain: request ids, the
// access log, metrics by route pattern and the one panic recovery, which
// answers in the mounted front end's own format when it has one.
func TestMountedFrontEnds(t *testing.T) {
	reg := metrics.New()
	f := newFixture(t, func(o *options) { o.metrics = reg; o.noServer = true })
	paged := &pagedFrontEnd{mux: http.NewServeMux()}
	paged.mux.HandleFunc("GET /web/ok", func(w http.ResponseWriter, r *http.Request) {
		httpx.FromContext(r.Context()).UserID = "usr_1"
		w.Write([]byte("fine"))
	})
	paged.mux.HandleFunc("GET /web/boom", func(http.ResponseWriter, *http.Request) { panic("the secret cause") })
	f.server.Mount("/web", paged)
	f.server.Mount("/plain", http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("the secret cause") }))
	f.server.Handle(http.MethodGet, "/metrics", reg.Handler(), true)

	do := func(method, path string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		f.server.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
		return rec
	}
	ok := do("GET", "/web/ok")
	if ok.Code != 200 || ok.Body.String() != "fine" || ok.Header().Get("X-Request-Id") == "" {
		t.Errorf("GET /web/ok: %d %q, X-Request-Id %q", ok.Code, ok.Body, ok.Header().Get("X-Request-Id"))
	}
	boom := do("GET", "/web/boom")
	if boom.Code != 500 || !strings.Contains(boom.Body.String(), "our own error page") || boom.Header().Get("X-Request-Id") == "" {
		t.Errorf("a panic in a paged front end: %d %q", boom.Code, boom.Body)
	}
	plain := do("GET", "/plain/x")
	var env struct {
		Error struct{ Code, RequestID string }
	}
	if err := json.Unmarshal(plain.Body.Bytes(), &env); plain.Code != 500 || err != nil || env.Error.Code != "INTERNAL_ERROR" ||
		env.Error.RequestID != plain.Header().Get("X-Request-Id") {
		t.Errorf("a panic in a plain front end: %d %s", plain.Code, plain.Body)
	}
	for _, rec := range []*httptest.ResponseRecorder{boom, plain} {
		if strings.Contains(rec.Body.String(), "secret cause") {
			t.Errorf("the panic's cause reached the client: %s", rec.Body)
		}
	}
	// HEAD answers like GET on an exact route; other methods are the API's.
	if rec := do("HEAD", "/metrics"); rec.Code != 200 {
		t.Errorf("HEAD /metrics: %d", rec.Code)
	}
	if rec := do("POST", "/metrics"); rec.Code != 404 {
		t.Errorf("POST /metrics: %d, want the API's 404", rec.Code)
	}

	lines := f.logs.lines(t)
	var sawOK, sawBoom bool
	for _, l := range lines {
		switch {
		case l["msg"] == "request" && l["route"] == "GET /web/ok":
			sawOK = l["user_id"] == "usr_1" && l["request_id"] == ok.Header().Get("X-Request-Id")
		case l["msg"] == "request" && l["route"] == "GET /web/boom":
			sawBoom = l["status"] == float64(500) && l["code"] == "INTERNAL_ERROR"
		}
	}
	if !sawOK || !sawBoom {
		t.Errorf("access log of the mounted routes: ok %v, boom %v", sawOK, sawBoom)
	}
	m := do("GET", "/metrics").Body.String()
	for _, want := range []string{
		`amp_http_requests_total{route="GET /web/ok",status="200"} 1`,
		`amp_http_requests_total{route="GET /web/boom",status="500"} 1`,
		`amp_http_requests_total{route="unmatched",status="500"} 1`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

func TestMountRefusesBadPrefixes(t *testing.T) {
	f := newFixture(t, func(o *options) { o.noServer = true })
	f.server.Mount("/taken", http.NotFoundHandler())
	for _, p := range []string{"", "/", "/trailing/", "/a/../b", "/taken"} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Mount(%q) accepted", p)
				}
			}()
			f.server.Mount(p, http.NotFoundHandler())
		}()
	}
}

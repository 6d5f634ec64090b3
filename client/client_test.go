package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/client"
)

const testKey = "amp_sk_test_0123456789abcdefghijklmnABCDEF"

// recorder is a fake AMP server: it answers each request with the next
// scripted reply and remembers what it received.
type recorder struct {
	t       *testing.T
	mu      sync.Mutex
	replies []func(w http.ResponseWriter, r *http.Request)
	got     []received
}

type received struct {
	Method, Path, RawPath string
	Header                http.Header
	Body                  string
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rec.mu.Lock()
	n := len(rec.got)
	rec.got = append(rec.got, received{r.Method, r.URL.Path, r.URL.EscapedPath(), r.Header.Clone(), string(body)})
	var reply func(http.ResponseWriter, *http.Request)
	if n < len(rec.replies) {
		reply = rec.replies[n]
	}
	rec.mu.Unlock()
	if reply == nil {
		rec.t.Errorf("unexpected request %d: %s %s", n+1, r.Method, r.URL.Path)
		http.Error(w, "unexpected", http.StatusTeapot)
		return
	}
	reply(w, r)
}

func (rec *recorder) requests() []received {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]received(nil), rec.got...)
}

func jsonReply(status int, v any, headers ...string) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(headers); i += 2 {
			w.Header().Set(headers[i], headers[i+1])
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(v)
	}
}

func errorReply(status int, code string, details map[string]any, headers ...string) func(http.ResponseWriter, *http.Request) {
	return jsonReply(status, amp.ErrorBody{Error: amp.ErrorDetail{
		Code: code, Message: "message for " + code, Details: details,
		RequestID: "req_err", Timestamp: time.Date(2026, 1, 15, 10, 30, 0, 0, time.UTC),
	}}, headers...)
}

// dropConnection closes the connection without an answer: a network error
// from the client's point of view.
func dropConnection(w http.ResponseWriter, r *http.Request) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(err)
	}
	conn.Close()
}

// sleeps records the client's waits without waiting.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.d = append(s.d, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *sleeps) all() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.d...)
}

func newClient(t *testing.T, rec *recorder, opts ...client.Option) (*client.Client, *sleeps) {
	t.Helper()
	srv := httptest.NewServer(rec)
	t.Cleanup(srv.Close)
	sl := &sleeps{}
	opts = append([]client.Option{
		client.WithBaseURL(srv.URL + "/v1"),
		client.WithSleep(sl.sleep),
		client.WithJitter(func() float64 { return 0.5 }),
	}, opts...)
	c, err := client.New(testKey, opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c, sl
}

func TestGetContext(t *testing.T) {
	want := amp.Context{
		RequestID: "req_abc123",
		Recommendation: amp.Recommendation{
			Framing: amp.FramingMicroTask, Style: amp.StyleBriefDirective,
			Handling: amp.HandlingBreakIntoSteps, Encouragement: amp.EncouragementModerate,
		},
		Confidence: 0.87,
		Rationale:  "User has 85% completion rate with step-by-step guidance",
		Metadata:   amp.ContextMetadata{ProfilePhase: amp.PhaseOptimised, InteractionCount: 47},
	}
	rec := &recorder{t: t, replies: []func(http.ResponseWriter, *http.Request){jsonReply(200, want)}}
	c, _ := newClient(t, rec)
	got, err := c.GetContext(context.Background(), amp.ContextRequest{
		UserID: "user_123", Task: "build a login page", Complexity: amp.TaskComplexityMedium, TaskType: "coding",
		Metadata: json.RawMessage(`{"source":"chat"}`),
	})
	if err != nil {
		t.Fatalf("GetContext: %v", err)
	}
	if fmt.Sprint(*got) != fmt.Sprint(want) {
		t.Errorf("got %+v, want %+v", *got, want)
	}
	r := rec.requests()[0]
	if r.Method != "POST" || r.Path != "/v1/context" {
		t.Errorf("got %s %s, want POST /v1/context", r.Method, r.Path)
	}
	if got, want := r.Header.Get("Authorization"), "Bearer "+testKey; got != want {
		t.Errorf("Authorization: got %q, want %q", got, want)
	}
	if got := r.Header.Get("Content-Type"); got != "application/json" {
		t.Errorf("Content-Type: got %q", got)
	}
	if got := r.Header.Get("User-Agent"); !strings.HasPrefix(got, "amp-go/") {
		t.Errorf("User-Agent: got %q", got)
	}
	var body map[string]any
	if err := json.Unmarshal([]byte(r.Body), &body); err != nil {
		t.Fatal(err)
	}
	wantBody := map[string]any{"userId": "user_123", "task": "build a login page", "complexity": "medium",
		"taskType": "coding", "metadata": map[string]any{"source": "chat"}}
	if fmt.Sprint(body) != fmt.Sprint(wantBody) {
		t.Errorf("body: got %v, want %v", body, wantBody)
	}
}

func TestReportOutcome(t *testing.T) {
	rec := &recorder{t: t, replies: []func(http.ResponseWriter, *http.Request){
		jsonReply(200, amp.OutcomeResponse{Success: true, Message: amp.OutcomeReportedMessage}),
	}}
	c, _ := newClient(t, rec)
	err := c.ReportOutcome(context.Background(), amp.OutcomeRequest{
		RequestID: "req_abc123", Started: client.Bool(true), Completed: client.Bool(false), TimeToStart: client.Float(120),
	})
	if err != nil {
		t.Fatalf("ReportOutcome: %v", err)
	}
	r := rec.requests()[0]
	if r.Method != "POST" || r.Path != "/v1/outcome" {
		t.Errorf("got %s %s, want POST /v1/outcome", r.Method, r.Path)
	}
	if want := `{"requestId":"req_abc123","started":true,"completed":false,"timeToStart":120}`; r.Body != want {
		t.Errorf("body: got %s, want %s", r.Body, want)
	}
}

func TestProfileRoutes(t *testing.T) {
	prof := amp.Profile{UserID: "team/a b", PreferredFraming: amp.FramingAchievement, ProfileVersion: amp.ProfileVersion}
	rec := &recorder{t: t, replies: []func(http.ResponseWriter, *http.Request){
		jsonReply(200, prof),
		jsonReply(200, prof),
		jsonReply(200, amp.DeleteResponse{Success: true}),
	}}
	c, _ := newClient(t, rec)
	ctx := context.Background()
	framing := amp.FramingAchievement
	got, err := c.UpdateProfile(ctx, "team/a b", amp.ProfileUpdate{PreferredFraming: &framing})
	if err != nil {
		t.Fatalf("UpdateProfile: %v", err)
	}
	if got.UserID != prof.UserID || got.PreferredFraming != prof.PreferredFraming {
		t.Errorf("UpdateProfile: got %+v", got)
	}
	if _, err := c.GetProfile(ctx, "team/a b"); err != nil {
		t.Fatalf("GetProfile: %v", err)
	}
	if err := c.DeleteProfile(ctx, "team/a b"); err != nil {
		t.Fatalf("DeleteProfile: %v", err)
	}
	reqs := rec.requests()
	wantMethods := []string{"PUT", "GET", "DELETE"}
	for i, r := range reqs {
		if r.Method != wantMethods[i] || r.RawPath != "/v1/profile/team%2Fa%20b" {
			t.Errorf("request %d: got %s %s, want %s /v1/profile/team%%2Fa%%20b", i, r.Method, r.RawPath, wantMethods[i])
		}
	}
	if want := `{"preferredFraming":"achievement"}`; reqs[0].Body != want {
		t.Errorf("PUT body: got %s, want %s", reqs[0].Body, want)
	}
	if reqs[1].Body != "" || reqs[1].Header.Get("Content-Type") != "" {
		t.Errorf("GET sent a body or Content-Type: %q %q", reqs[1].Body, reqs[1].Header.Get("Content-Type"))
	}
}

func TestErrorDecoding(t *testing.T) {
	t.Run("Envelope", func(t *testing.T) {
		rec := &recorder{t: t, replies: []func(http.ResponseWriter, *http.Request){
			errorReply(404, amp.CodeNotFound, map[string]any{"userId": "u"}),
		}}
		c, _ := newClient(t, rec)
		_, err := c.GetProfile(context.Background(), "u")
		var e *client.Error
		if !errors.As(err, &e) {
			t.Fatalf("got %T %v, want *client.Error", err, err)
		}
		if e.Status != 404 || e.Code != amp.CodeNotFound || e.Message != "message for NOT_FOUND" ||
			e.RequestID != "req_err" || e.Details["userId"] != "u" || e.Timestamp.IsZero() {
			t.Errorf("got %+v", e)
		}
		if client.ErrorCode(err) != amp.CodeNotFound {
			t.Errorf("ErrorCode: got %q", client.ErrorCode(err))
		}
		if !strings.Contains(err.Error(), "NOT_FOUND") || !strings.Contains(err.Error(), "req_err") {
			t.Errorf("Error(): %q lacks code or request id", err.Error())
		}
	})
	t.Run("NotAnEnvelope", func(t *testing.T) {
		rec := &recorder{t: t, replies: []func(http.ResponseWriter, *http.Request){
			func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("X-Request-Id", "req_proxy")
				http.Error(w, "<html>bad gateway</html>", http.StatusBadGateway)
			},
		}}
		c, _ := newClient(t, rec)
		_, err := c.GetProfile(context.Background(), "u")
		var e *client.Error
		if !errors.As(err, &e) || e.Status != 502 || e.Code != amp.CodeServiceUnavailable || e.RequestID != "req_proxy" {
			t.Errorf("got %#v", err)
		}
	})
	t.Run("BadSuccessBody", func(t *testing.T) {
		rec := &recorder{t: t, replies: []func(http.ResponseWriter, *http.Request){
			func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "not json") },
		}}
		c, _ := newClient(t, rec)
		if _, err := c.GetProfile(context.Background(), "u"); err == nil || client.ErrorCode(err) != "" {
			t.Errorf("got %v, want a decode error", err)
		}
	})
}

func TestRetries(t *testing.T) {
	okContext := jsonReply(200, amp.Context{RequestID: "req_ok"})
	tests := []struct {
		name      string
		replies   []func(http.ResponseWriter, *http.Request)
		opts      []client.Option
		wantCode  string // "" for success
		wantCalls int
		wantWaits []time.Duration
	}{
		{
			name:      "RetryAfterHeaderOn429",
			replies:   []func(http.ResponseWriter, *http.Request){errorReply(429, amp.CodeRateLimitExceeded, map[string]any{"retryAfter": 7}, "Retry-After", "2"), okContext},
			wantCalls: 2, wantWaits: []time.Duration{2 * time.Second},
		},
		{
			name:      "DetailsRetryAfterOn503",
			replies:   []func(http.ResponseWriter, *http.Request){errorReply(503, amp.CodeServiceUnavailable, map[string]any{"retryAfter": 3}), okContext},
			wantCalls: 2, wantWaits: []time.Duration{3 * time.Second},
		},
		{
			name: "JitteredBackoffWithoutRetryAfter",
			replies: []func(http.ResponseWriter, *http.Request){
				errorReply(503, amp.CodeServiceUnavailable, nil), errorReply(503, amp.CodeServiceUnavailable, nil), okContext,
			},
			// jitter 0.5 of 500 ms, then of 1 s.
			wantCalls: 3, wantWaits: []time.Duration{250 * time.Millisecond, 500 * time.Millisecond},
		},
		{
			name:      "NetworkError",
			replies:   []func(http.ResponseWriter, *http.Request){dropConnection, okContext},
			wantCalls: 2, wantWaits: []time.Duration{250 * time.Millisecond},
		},
		{
			name: "GivesUpAfterMaxRetries",
			replies: []func(http.ResponseWriter, *http.Request){
				errorReply(429, amp.CodeRateLimitExceeded, nil, "Retry-After", "1"),
				errorReply(429, amp.CodeRateLimitExceeded, nil, "Retry-After", "1"),
				errorReply(429, amp.CodeRateLimitExceeded, nil, "Retry-After", "1"),
			},
			wantCode: amp.CodeRateLimitExceeded, wantCalls: 3, wantWaits: []time.Duration{time.Second, time.Second},
		},
		{
			name:      "NoRetriesWhenDisabled",
			replies:   []func(http.ResponseWriter, *http.Request){errorReply(503, amp.CodeServiceUnavailable, nil)},
			opts:      []client.Option{client.WithMaxRetries(0)},
			wantCode:  amp.CodeServiceUnavailable,
			wantCalls: 1,
		},
		{name: "No400Retry", replies: []func(http.ResponseWriter, *http.Request){errorReply(400, amp.CodeInvalidTask, nil)}, wantCode: amp.CodeInvalidTask, wantCalls: 1},
		{name: "No401Retry", replies: []func(http.ResponseWriter, *http.Request){errorReply(401, amp.CodeUnauthorized, nil)}, wantCode: amp.CodeUnauthorized, wantCalls: 1},
		{name: "No500Retry", replies: []func(http.ResponseWriter, *http.Request){errorReply(500, amp.CodeInternal, nil)}, wantCode: amp.CodeInternal, wantCalls: 1},
		{
			name:      "NoQuotaRetry",
			replies:   []func(http.ResponseWriter, *http.Request){errorReply(429, amp.CodeQuotaExceeded, map[string]any{"period": "month"}, "Retry-After", "3600")},
			wantCode:  amp.CodeQuotaExceeded,
			wantCalls: 1,
		},
		{
			name:      "RetryAfterTooLong",
			replies:   []func(http.ResponseWriter, *http.Request){errorReply(429, amp.CodeRateLimitExceeded, nil, "Retry-After", "600")},
			wantCode:  amp.CodeRateLimitExceeded,
			wantCalls: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{t: t, replies: tt.replies}
			c, sl := newClient(t, rec, tt.opts...)
			got, err := c.GetContext(context.Background(), amp.ContextRequest{UserID: "u", Task: "t"})
			if code := client.ErrorCode(err); code != tt.wantCode || (tt.wantCode == "" && err != nil) {
				t.Fatalf("got error %v, want code %q", err, tt.wantCode)
			}
			if tt.wantCode == "" && got.RequestID != "req_ok" {
				t.Errorf("got %+v", got)
			}
			if n := len(rec.requests()); n != tt.wantCalls {
				t.Errorf("got %d calls, want %d", n, tt.wantCalls)
			}
			if got := sl.all(); fmt.Sprint(got) != fmt.Sprint(tt.wantWaits) && !(len(got) == 0 && len(tt.wantWaits) == 0) {
				t.Errorf("waits: got %v, want %v", got, tt.wantWaits)
			}
			for i, r := range rec.requests() {
				if r.Body != `{"userId":"u","task":"t"}` {
					t.Errorf("attempt %d sent body %q", i+1, r.Body)
				}
			}
		})
	}
}

func TestBackoffIsBounded(t *testing.T) {
	replies := make([]func(http.ResponseWriter, *http.Request), 13)
	for i := range replies {
		replies[i] = errorReply(503, amp.CodeServiceUnavailable, nil)
	}
	rec := &recorder{t: t, replies: replies}
	c, sl := newClient(t, rec, client.WithMaxRetries(12), client.WithJitter(func() float64 { return 0.999999 }))
	if _, err := c.GetProfile(context.Background(), "u"); client.ErrorCode(err) != amp.CodeServiceUnavailable {
		t.Fatalf("got %v", err)
	}
	waits := sl.all()
	if len(waits) != 12 {
		t.Fatalf("got %d waits, want 12", len(waits))
	}
	for i, w := range waits {
		ceiling := min(8*time.Second, 500*time.Millisecond<<i)
		if w <= 0 || w >= ceiling {
			t.Errorf("wait %d: got %v, want in (0, %v)", i, w, ceiling)
		}
	}
}

func TestRetryRespectsDeadline(t *testing.T) {
	rec := &recorder{t: t, replies: []func(http.ResponseWriter, *http.Request){
		errorReply(429, amp.CodeRateLimitExceeded, nil, "Retry-After", "30"),
	}}
	c, sl := newClient(t, rec)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := c.GetContext(ctx, amp.ContextRequest{UserID: "u", Task: "t"})
	if client.ErrorCode(err) != amp.CodeRateLimitExceeded {
		t.Fatalf("got %v, want the 429", err)
	}
	if len(sl.all()) != 0 {
		t.Errorf("waited %v past the deadline", sl.all())
	}
}

func TestOutcomeLostAnswer(t *testing.T) {
	t.Run("RetryFindsItStored", func(t *testing.T) {
		rec := &recorder{t: t, replies: []func(http.ResponseWriter, *http.Request){
			dropConnection,
			errorReply(409, amp.CodeOutcomeAlreadyReported, nil),
		}}
		c, _ := newClient(t, rec)
		if err := c.ReportOutcome(context.Background(), amp.OutcomeRequest{RequestID: "req_1", Started: client.Bool(true)}); err != nil {
			t.Errorf("got %v, want success: the lost attempt stored the outcome", err)
		}
	})
	t.Run("GenuineDuplicate", func(t *testing.T) {
		rec := &recorder{t: t, replies: []func(http.ResponseWriter, *http.Request){
			errorReply(409, amp.CodeOutcomeAlreadyReported, nil),
		}}
		c, _ := newClient(t, rec)
		err := c.ReportOutcome(context.Background(), amp.OutcomeRequest{RequestID: "req_1", Started: client.Bool(true)})
		if client.ErrorCode(err) != amp.CodeOutcomeAlreadyReported {
			t.Errorf("got %v, want OUTCOME_ALREADY_REPORTED", err)
		}
	})
}

func TestPerAttemptTimeout(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	rec := &recorder{t: t, replies: []func(http.ResponseWriter, *http.Request){
		func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-release:
			}
		},
	}}
	c, _ := newClient(t, rec, client.WithTimeout(50*time.Millisecond), client.WithMaxRetries(0))
	_, err := c.GetProfile(context.Background(), "u")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got %v, want a deadline error", err)
	}
	if strings.Contains(fmt.Sprint(err), testKey) {
		t.Errorf("error quotes the key: %v", err)
	}
}

func TestCancelledContext(t *testing.T) {
	rec := &recorder{t: t}
	c, _ := newClient(t, rec)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.GetProfile(ctx, "u"); !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}
	if n := len(rec.requests()); n != 0 {
		t.Errorf("sent %d requests on a cancelled context", n)
	}
}

func TestNew(t *testing.T) {
	t.Run("KeyFromEnvironment", func(t *testing.T) {
		for _, tt := range []struct{ apiKey, ampKey, want string }{
			{"amp_sk_test_a", "amp_sk_test_b", "amp_sk_test_a"},
			{"", "amp_sk_test_b", "amp_sk_test_b"},
		} {
			t.Setenv("AMP_API_KEY", tt.apiKey)
			t.Setenv("AMP_KEY", tt.ampKey)
			var gotAuth string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				gotAuth = r.Header.Get("Authorization")
				io.WriteString(w, `{"success":true}`)
			}))
			c, err := client.New("", client.WithBaseURL(srv.URL+"/v1"))
			if err != nil {
				t.Fatal(err)
			}
			if err := c.DeleteProfile(context.Background(), "u"); err != nil {
				t.Fatal(err)
			}
			srv.Close()
			if gotAuth != "Bearer "+tt.want {
				t.Errorf("got %q, want Bearer %s", gotAuth, tt.want)
			}
		}
	})
	t.Run("NoKey", func(t *testing.T) {
		t.Setenv("AMP_API_KEY", "")
		t.Setenv("AMP_KEY", "")
		if _, err := client.New(""); err == nil {
			t.Error("got nil error without a key")
		}
	})
	t.Run("BadBaseURL", func(t *testing.T) {
		for _, u := range []string{"api.amp-protocol.dev/v1", "ftp://x/v1", "http://", "::"} {
			if _, err := client.New(testKey, client.WithBaseURL(u)); err == nil {
				t.Errorf("base URL %q: got nil error", u)
			}
		}
	})
	t.Run("TrailingSlash", func(t *testing.T) {
		rec := &recorder{t: t, replies: []func(http.ResponseWriter, *http.Request){jsonReply(200, amp.DeleteResponse{Success: true})}}
		srv := httptest.NewServer(rec)
		defer srv.Close()
		c, err := client.New(testKey, client.WithBaseURL(srv.URL+"/v1/"))
		if err != nil {
			t.Fatal(err)
		}
		if err := c.DeleteProfile(context.Background(), "u"); err != nil {
			t.Fatal(err)
		}
		if p := rec.requests()[0].Path; p != "/v1/profile/u" {
			t.Errorf("got path %q", p)
		}
	})
}

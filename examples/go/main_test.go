package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/amp-protocol/amp"
)

// TestAgent runs the agent against a stand-in AMP server: it must turn the
// context into a prompt and report what the user answered.
func TestAgent(t *testing.T) {
	var outcome amp.OutcomeRequest
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/v1/context":
			json.NewEncoder(w).Encode(amp.Context{RequestID: "req_1", Recommendation: amp.Recommendation{
				Framing: amp.FramingMicroTask, Style: amp.StyleTechnical,
				Handling: amp.HandlingHintsOnly, Encouragement: amp.EncouragementNone,
			}})
		case "/v1/outcome":
			json.NewDecoder(r.Body).Decode(&outcome)
			json.NewEncoder(w).Encode(amp.OutcomeResponse{Success: true, Message: amp.OutcomeReportedMessage})
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	t.Setenv("AMP_API_KEY", "amp_sk_test_example")
	var out strings.Builder
	err := run(context.Background(), []string{"--base-url", srv.URL + "/v1", "build a login page"}, strings.NewReader("y\nn\ny\n"), &out)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"series of small, quick steps", "Be precise and technical", "Give hints rather than", "Outcome reported"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if outcome.RequestID != "req_1" || outcome.Started == nil || !*outcome.Started ||
		outcome.Completed == nil || *outcome.Completed || outcome.FlowState == nil || !*outcome.FlowState {
		t.Fatalf("reported outcome %+v, want started, not completed, in flow", outcome)
	}
}

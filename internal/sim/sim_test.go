package sim_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/internal/learn"
	"github.com/amp-protocol/amp/internal/sim"
)

// Seeds 1 to 30 tuned the engine; the tests use others.
const heldOutSeed = 4242

func TestScoreScale(t *testing.T) {
	p := sim.Generate(heldOutSeed, 100, false)
	ctx := context.Background()
	oracle, err := sim.Run(ctx, p, 20, "oracle", sim.OracleAgent{Population: p}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := oracle.Window(1, 20).Score; math.Abs(got-1) > 1e-9 {
		t.Errorf("oracle score = %v, want 1", got)
	}
	uniform, err := sim.Run(ctx, p, 20, "uniform", sim.NewUniformAgent(1), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := uniform.Window(1, 20).Score; math.Abs(got) > 0.05 {
		t.Errorf("uniform score = %v, want about 0", got)
	}
	if c, u := oracle.Window(1, 20).CompletionRate, uniform.Window(1, 20).CompletionRate; c <= u {
		t.Errorf("oracle completes %.2f, uniform %.2f", c, u)
	}
}

func TestSameSeedSameResult(t *testing.T) {
	run := func() *sim.Result {
		p := sim.Generate(7, 60, true)
		r, err := sim.Run(context.Background(), p, 15, "engine", sim.NewLearnerAgent(learn.New(learn.Config{}), 7), nil)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	a, b := run(), run()
	if !reflect.DeepEqual(a, b) {
		t.Error("two runs with the same seed differ")
	}
	c, err := sim.Run(context.Background(), sim.Generate(8, 60, true), 15, "engine", sim.NewLearnerAgent(learn.New(learn.Config{}), 8), nil)
	if err != nil {
		t.Fatal(err)
	}
	if reflect.DeepEqual(a.Curve, c.Curve) {
		t.Error("different seeds give the same result")
	}
}

func TestDriftChangesOnlyTaste(t *testing.T) {
	still := sim.Generate(11, 200, false)
	moving := sim.Generate(11, 200, true)
	changed := 0
	for i, u := range moving.Users {
		for _, k := range []int{1, 35} {
			a, b := still.Interaction(still.Users[i], k), moving.Interaction(u, k)
			if a.Context != b.Context {
				t.Fatalf("drift changed user %d's context", i)
			}
		}
		if u.DriftAt == 0 {
			continue
		}
		before := moving.Best(moving.Interaction(u, u.DriftAt-1))
		after := moving.Best(moving.Interaction(u, u.DriftAt))
		stillAfter := still.Best(still.Interaction(still.Users[i], u.DriftAt))
		if before != after && after != stillAfter {
			changed++
		}
	}
	if changed < 40 {
		t.Errorf("only %d of 200 users changed their best recommendation with drift", changed)
	}
}

// TestEngineBeatsBaseline checks the targets on populations the
// engine was not tuned on.
func TestEngineBeatsBaseline(t *testing.T) {
	if testing.Short() {
		t.Skip("simulation of 2 × 300 users")
	}
	for _, seed := range []uint64{heldOutSeed, 9001} {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			p := sim.Generate(seed, 300, false)
			ctx := context.Background()
			eng, err := sim.Run(ctx, p, 40, "engine", sim.NewLearnerAgent(learn.New(learn.Config{}), seed), nil)
			if err != nil {
				t.Fatal(err)
			}
			base, err := sim.Run(ctx, p, 40, "baseline", sim.NewBaselineAgent(seed), nil)
			if err != nil {
				t.Fatal(err)
			}
			e5, e40, e2140 := eng.Window(1, 5).Score, eng.Window(1, 40).Score, eng.Window(21, 40).Score
			b40 := base.Window(1, 40).Score
			t.Logf("engine %.3f %.3f %.3f, baseline 1–40 %.3f", e5, e40, e2140, b40)
			if e5 < 0.30 || e40 < 0.45 || e2140 < 0.55 {
				t.Errorf("engine scores %.3f (1–5), %.3f (1–40), %.3f (21–40); want ≥ 0.30, 0.45, 0.55", e5, e40, e2140)
			}
			if e40 < 1.3*b40 {
				t.Errorf("engine %.3f over 1–40 is not 1.3× the baseline's %.3f", e40, b40)
			}
			checkPhases(t, eng.Phases, 300*40)
		})
	}
}

// checkPhases holds the engine's answers to the documentation's phases:
// every answer counted, exploration falling and confidence growing from
// phase to phase, within the documented bands for cold start (0.2–0.4)
// and learning (0.5–0.7, with some room).
func checkPhases(t *testing.T, phases []sim.PhaseStats, answers int) {
	t.Helper()
	if len(phases) != 3 {
		t.Fatalf("answers in %d phases, want 3: %+v", len(phases), phases)
	}
	total := 0
	for i, ph := range phases {
		total += ph.Answers
		t.Logf("%s: %d answers, explored %.2f, confidence %.2f", ph.Phase, ph.Answers, ph.ExploredShare, ph.MeanConfidence)
		if i > 0 {
			if prev := phases[i-1]; ph.ExploredShare >= prev.ExploredShare || ph.MeanConfidence <= prev.MeanConfidence {
				t.Errorf("%s explores %.2f with confidence %.2f after %s's %.2f and %.2f: want less exploration, more confidence",
					ph.Phase, ph.ExploredShare, ph.MeanConfidence, prev.Phase, prev.ExploredShare, prev.MeanConfidence)
			}
		}
	}
	if total != answers {
		t.Errorf("%d answers counted, want %d", total, answers)
	}
	if c := phases[0].MeanConfidence; c < 0.2 || c > 0.4 {
		t.Errorf("cold-start confidence %.2f, want in [0.2, 0.4]", c)
	}
	if c := phases[1].MeanConfidence; c < 0.45 || c > 0.75 {
		t.Errorf("learning confidence %.2f, want in [0.45, 0.75]", c)
	}
}

// fakeServer is a minimal AMP server on the engine, enough to check what
// the HTTP agent sends and that it retries when told to.
type fakeServer struct {
	t        *testing.T
	mu       sync.Mutex
	e        *learn.Engine
	users    map[string][]byte
	outcomes map[string]int
	pop      []byte
	pending  map[string]*amp.Decision
	seq      int
	throttle int // answer this many requests with 429 first
	rng      *rand.Rand
}

func (f *fakeServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.Header.Get("Authorization") != "Bearer amp_sk_test_key" || r.Header.Get("Content-Type") != "application/json" {
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	if f.throttle > 0 {
		f.throttle--
		w.Header().Set("Retry-After", "2")
		w.WriteHeader(http.StatusTooManyRequests)
		json.NewEncoder(w).Encode(amp.ErrorBody{Error: amp.ErrorDetail{Code: amp.CodeRateLimitExceeded}})
		return
	}
	switch r.URL.Path {
	case "/v1/context":
		var req amp.ContextRequest
		dec := json.NewDecoder(r.Body)
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil || req.Validate() != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		ch, err := f.e.Decide(&amp.DecideInput{User: f.users[req.UserID], Population: f.pop,
			Context: amp.LearnContext{TaskType: req.TaskType, Complexity: req.Complexity}, Rand: f.rng})
		if err != nil {
			f.t.Error(err)
			return
		}
		f.seq++
		id := fmt.Sprintf("req_%d", f.seq)
		f.pending[id] = &amp.Decision{RequestID: id, UserID: req.UserID, TaskType: req.TaskType, TaskComplexity: req.Complexity, Recommendation: ch.Recommendation}
		json.NewEncoder(w).Encode(amp.Context{RequestID: id, Recommendation: ch.Recommendation, Confidence: ch.Confidence, Rationale: ch.Rationale,
			Metadata: amp.ContextMetadata{ProfilePhase: amp.PhaseFor(f.outcomes[req.UserID]), InteractionCount: f.outcomes[req.UserID], ExplorationMode: ch.Explored}})
	case "/v1/outcome":
		var req amp.OutcomeRequest
		dec := json.NewDecoder(r.Body)
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil || req.Validate() != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		d := f.pending[req.RequestID]
		if d == nil {
			http.Error(w, "unknown request", http.StatusNotFound)
			return
		}
		delete(f.pending, req.RequestID)
		l, err := f.e.Learn(&amp.LearnInput{User: f.users[d.UserID], Population: f.pop, Decision: d,
			Outcome: &amp.OutcomeRecord{Started: *req.Started, Completed: req.Completed, TimeToStart: req.TimeToStart, FlowState: req.FlowState, Satisfaction: req.Satisfaction}})
		if err != nil {
			f.t.Error(err)
			return
		}
		f.users[d.UserID] = l.User
		if f.pop, err = f.e.MergePopulation(f.pop, [][]byte{l.PopulationDelta}); err != nil {
			f.t.Error(err)
			return
		}
		f.outcomes[d.UserID]++
		json.NewEncoder(w).Encode(amp.OutcomeResponse{Success: true, Message: amp.OutcomeReportedMessage})
	default:
		http.NotFound(w, r)
	}
}

func TestHTTPAgent(t *testing.T) {
	f := &fakeServer{t: t, e: learn.New(learn.Config{}), users: map[string][]byte{}, outcomes: map[string]int{}, pending: map[string]*amp.Decision{},
		throttle: 3, rng: rand.New(rand.NewPCG(1, 1))}
	srv := httptest.NewServer(f)
	defer srv.Close()
	agent := sim.NewHTTPAgent(srv.URL+"/", "amp_sk_test_key", "simtest-")
	var slept []time.Duration
	agent.Sleep = func(_ context.Context, d time.Duration) error { slept = append(slept, d); return nil }
	p := sim.Generate(heldOutSeed, 20, false)
	res, err := sim.Run(context.Background(), p, 5, "server", agent, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Window(1, 5).N != 100 {
		t.Errorf("scored %d interactions, want 100", res.Window(1, 5).N)
	}
	if len(f.pending) != 0 {
		t.Errorf("%d decisions got no outcome", len(f.pending))
	}
	if len(f.users) != 20 {
		t.Errorf("server saw %d users, want 20", len(f.users))
	}
	// Five interactions each, after 0 to 4 outcomes: all in cold start,
	// as the server said.
	if ph := res.Phases; len(ph) != 1 || ph[0].Phase != amp.PhaseColdStart || ph[0].Answers != 100 {
		t.Errorf("phases as the server reported them: %+v; want 100 cold_start answers", ph)
	}
	if agent.Retried != 3 || len(slept) != 3 || slept[0] != 2*time.Second {
		t.Errorf("retried %d times, slept %v; want 3 retries of 2s", agent.Retried, slept)
	}
	bad := sim.NewHTTPAgent(srv.URL, "amp_sk_test_wrong", "x")
	if _, err := sim.Run(context.Background(), p, 1, "bad", bad, nil); err == nil {
		t.Error("a wrong key did not fail the run")
	}
}

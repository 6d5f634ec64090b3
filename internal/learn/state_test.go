package learn

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/amp-protocol/amp"
)

// sampleStates returns a user and population state with every kind of
// section filled.
func sampleStates(t testing.TB) (user, pop []byte) {
	t.Helper()
	e := New(Config{})
	rng := rand.New(rand.NewPCG(1, 1))
	ctxs := []amp.LearnContext{{TaskType: "debugging", Complexity: amp.TaskComplexityHigh}, {TaskType: "writing"}, {Complexity: amp.TaskComplexityLow}}
	for i := range 30 {
		ctx := ctxs[i%len(ctxs)]
		ch, err := e.Decide(&amp.DecideInput{User: user, Population: pop, Context: ctx, Rand: rng})
		if err != nil {
			t.Fatal(err)
		}
		ok := rng.IntN(2) == 0
		l, err := e.Learn(&amp.LearnInput{User: user, Population: pop, Outcome: &amp.OutcomeRecord{Started: ok, Completed: &ok},
			Decision: &amp.Decision{TaskType: ctx.TaskType, TaskComplexity: ctx.Complexity, Recommendation: ch.Recommendation}})
		if err != nil {
			t.Fatal(err)
		}
		user = l.User
		if pop, err = e.MergePopulation(pop, [][]byte{l.PopulationDelta}); err != nil {
			t.Fatal(err)
		}
	}
	user, err := e.ApplyPreferences(user, pop, &amp.Preferences{Style: amp.StyleTechnical})
	if err != nil {
		t.Fatal(err)
	}
	return user, pop
}

func TestStateRoundTrip(t *testing.T) {
	user, pop := sampleStates(t)
	u, err := decodeUser(user, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := u.encode(); !bytes.Equal(got, user) {
		t.Error("user state does not survive decode and encode")
	}
	p, err := decodePopulation(pop, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := p.encode(); !bytes.Equal(got, pop) {
		t.Error("population state does not survive decode and encode")
	}
	if _, err := decodeUser(pop, nil); !errors.Is(err, ErrBadState) {
		t.Errorf("a population decoded as a user: err = %v", err)
	}
	if _, err := decodePopulation(user, nil); !errors.Is(err, ErrBadState) {
		t.Errorf("a user decoded as a population: err = %v", err)
	}
	for n := range len(user) {
		if _, err := decodeUser(user[:n], nil); n > 0 && err == nil {
			t.Fatalf("truncated user state (%d of %d bytes) decoded", n, len(user))
		}
	}
}

func TestDocumentedSizes(t *testing.T) {
	// The documentation of MaxUserStateBytes and cellBytes quotes these.
	if MaxUserStateBytes != 2540 || MaxPopulationStateBytes != 11426 || cellBytes != 208 || popCellBytes != 408 {
		t.Errorf("sizes changed: user %d, population %d, cell %d; update the documentation", MaxUserStateBytes, MaxPopulationStateBytes, cellBytes)
	}
}

// FuzzState feeds arbitrary bytes to every entry point as user and
// population state: nothing may panic, and anything accepted must encode
// back to the same bytes.
func FuzzState(f *testing.F) {
	user, pop := sampleStates(f)
	f.Add(user)
	f.Add(pop)
	f.Add(user[:len(user)/2])
	f.Add([]byte{})
	f.Add([]byte("am"))
	e := New(Config{})
	rec := amp.Recommendation{Framing: amp.FramingLearning, Style: amp.StyleTechnical, Handling: amp.HandlingHintsOnly, Encouragement: amp.EncouragementHigh}
	f.Fuzz(func(t *testing.T, b []byte) {
		if u, err := decodeUser(b, nil); err == nil {
			if got := u.encode(); len(b) > 0 && !bytes.Equal(got, b) {
				t.Errorf("accepted user state does not round-trip")
			}
		} else if !errors.Is(err, ErrBadState) {
			t.Errorf("error %v does not wrap ErrBadState", err)
		}
		if p, err := decodePopulation(b, nil); err == nil {
			// An older format is read and written as the current one, so
			// only the current one comes back byte for byte; what is
			// written must always read back the same.
			got := p.encode()
			if len(b) > 0 && b[3] == popVersion && !bytes.Equal(got, b) {
				t.Errorf("accepted population state does not round-trip")
			}
			if q, err := decodePopulation(got, nil); err != nil || !bytes.Equal(q.encode(), got) {
				t.Errorf("re-encoded population state does not round-trip: %v", err)
			}
		}
		rng := rand.New(rand.NewPCG(1, 2))
		ctx := amp.LearnContext{TaskType: "debugging", Complexity: amp.TaskComplexityHigh}
		if ch, err := e.Decide(&amp.DecideInput{User: b, Population: pop, Context: ctx, Rand: rng}); err == nil {
			if ch.Propensity <= 0 || ch.Propensity > 1 || ch.Confidence < 0 || ch.Confidence > 1 {
				t.Errorf("choice out of range: %+v", ch)
			}
		}
		_, _ = e.Decide(&amp.DecideInput{User: user, Population: b, Context: ctx, Rand: rng})
		d := &amp.Decision{TaskType: "debugging", Recommendation: rec}
		o := &amp.OutcomeRecord{Started: true}
		_, _ = e.Learn(&amp.LearnInput{User: b, Population: pop, Decision: d, Outcome: o})
		_, _ = e.Learn(&amp.LearnInput{User: user, Population: b, Decision: d, Outcome: o})
		_, _ = e.ApplyPreferences(b, b, &amp.Preferences{Framing: amp.FramingChallenge})
		_, _ = e.Summarize(b, b)
	})
}

// TestMergeIsOrderIndependent merges the same deltas, from outcomes of
// many users, kinds, complexities and epochs (some late, some from before
// the population's origin), in shuffled orders and batches, and checks
// that every result is the same state up to float64 rounding.
func TestMergeIsOrderIndependent(t *testing.T) {
	e := New(Config{})
	rng := rand.New(rand.NewPCG(4, 4))
	cxs := []amp.TaskComplexity{"", amp.TaskComplexityLow, amp.TaskComplexityMedium, amp.TaskComplexityHigh}
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	var deltas [][]byte
	users := map[int][]byte{}
	var pop []byte
	for i := range 2000 {
		tk := ""
		if rng.IntN(10) > 0 {
			tk = fmt.Sprintf("type-%d", rng.IntN(MaxPopulationTaskTypes-2))
		}
		d := &amp.Decision{TaskType: tk, TaskComplexity: cxs[rng.IntN(4)],
			Recommendation: amp.Options{rng.IntN(4), rng.IntN(4), rng.IntN(4), rng.IntN(4)}.Recommendation()}
		ok := rng.IntN(2) == 0
		u := rng.IntN(40)
		// Outcomes up to 60 days apart, reported out of order.
		now := start.Add(time.Duration(rng.IntN(60*24)) * time.Hour)
		l, err := e.Learn(&amp.LearnInput{User: users[u], Population: pop, Decision: d, Outcome: &amp.OutcomeRecord{Started: true, Completed: &ok}, Now: now})
		if err != nil {
			t.Fatal(err)
		}
		users[u] = l.User
		deltas = append(deltas, l.PopulationDelta)
		if i == 500 {
			// Later outcomes are learned against a population that knows
			// the first 500, as a store folding deltas in the background
			// would give them.
			if pop, err = e.MergePopulation(nil, deltas); err != nil {
				t.Fatal(err)
			}
		}
	}
	merge := func(order []int, batch int) *popState {
		var pop []byte
		for i := 0; i < len(order); i += batch {
			var bs [][]byte
			for _, j := range order[i:min(i+batch, len(order))] {
				bs = append(bs, deltas[j])
			}
			var err error
			if pop, err = e.MergePopulation(pop, bs); err != nil {
				t.Fatal(err)
			}
		}
		p, err := decodePopulation(pop, nil)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	order := make([]int, len(deltas))
	for i := range order {
		order[i] = i
	}
	ref := merge(order, 1)
	if ref.CovN[0] == 0 {
		t.Fatal("no covariance samples merged")
	}
	if len(ref.Tasks) != MaxPopulationTaskTypes-2 || ref.Outcomes != float64(len(deltas)) {
		t.Fatalf("reference population: %d kinds, %v outcomes", len(ref.Tasks), ref.Outcomes)
	}
	for trial, batch := range []int{1, 7, 100, 2000} {
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		got := merge(order, batch)
		if got.Origin != ref.Origin || len(got.Tasks) != len(ref.Tasks) {
			t.Fatalf("trial %d: origin %d, %d kinds; want %d, %d", trial, got.Origin, len(got.Tasks), ref.Origin, len(ref.Tasks))
		}
		near := func(what string, a, b float64) {
			if math.Abs(a-b) > 1e-9*math.Max(1, math.Abs(b)) {
				t.Errorf("trial %d (batches of %d): %s = %v, want %v", trial, batch, what, a, b)
			}
		}
		near("noise n", got.NoiseN, ref.NoiseN)
		for k := range numCov {
			near("covariance n", got.CovN[k], ref.CovN[k])
			near("covariance sum", got.CovS[k], ref.CovS[k])
		}
		near("noise ss", got.NoiseSS, ref.NoiseSS)
		near("spread n", got.TauN, ref.TauN)
		near("spread sum", got.TauS, ref.TauS)
		gc, rc := got.cells(), ref.cells()
		for i := range gc {
			near("N", gc[i].N, rc[i].N)
			near("S", gc[i].S, rc[i].S)
			near("K", gc[i].K, rc[i].K)
			for d := range numDims {
				for a := range numArms {
					near("arm N", gc[i].Arms[d][a].N, rc[i].Arms[d][a].N)
					near("arm S", gc[i].Arms[d][a].S, rc[i].Arms[d][a].S)
					near("arm C", gc[i].Arms[d][a].C, rc[i].Arms[d][a].C)
				}
			}
		}
		for i := range got.Tasks {
			if got.Tasks[i].Key != ref.Tasks[i].Key {
				t.Errorf("trial %d: kind %d is %q, want %q", trial, i, got.Tasks[i].Key, ref.Tasks[i].Key)
			}
		}
	}
	// Old outcomes weigh less: the population's weight of the global cell
	// is below the count of outcomes, by the decay over up to 60 days.
	if ref.Global.N >= float64(len(deltas)) || ref.Global.N < 0.6*float64(len(deltas)) {
		t.Errorf("global weight %v of %d outcomes over 60 days with a 90-day half-life", ref.Global.N, len(deltas))
	}
}

// TestReadsVersion1Populations: a population stored by an earlier release
// (format version 1, float32 cells discounted per outcome) is read, keeps
// what it knew through the first merge of new outcomes, and is written
// back as the current version.
func TestReadsVersion1Populations(t *testing.T) {
	// seq 100, noiseVar 0.05 from 400 samples, no complexity cells, one
	// task cell "writing"; the global cell holds 50 outcomes last updated
	// at seq 90, all with option 0 on every dimension, reward sum 30.
	var w writer
	w.b = append(w.b, magic0, magic1, kindPopulation, formatVersion)
	w.u32(100)
	w.f32(0.05)
	w.f32(400)
	w.u8(0)
	w.u8(1)
	c := cell{Seq: 90, N: 50, S: 30, K: 50}
	for d := range numDims {
		c.Arms[d][0] = arm{N: 50, S: 30, C: 25}
	}
	w.cell(&c)
	w.u8(byte(len("writing")))
	w.b = append(w.b, "writing"...)
	w.cell(&c)
	p, err := decodePopulation(w.b, nil)
	if err != nil {
		t.Fatal(err)
	}
	f := math.Pow(v1PopulationDiscount, 10)
	if math.Abs(p.Global.N-50*f) > 1e-3 || len(p.Tasks) != 1 || p.Tasks[0].Key != "writing" || math.Abs(p.NoiseSS/p.NoiseN-0.05) > 1e-6 {
		t.Fatalf("decoded %+v", p)
	}
	e := New(Config{})
	ok := true
	l, err := e.Learn(&amp.LearnInput{Population: w.b, Decision: &amp.Decision{TaskType: "writing", Recommendation: amp.Options{0, 0, 0, 0}.Recommendation()},
		Outcome: &amp.OutcomeRecord{Started: true, Completed: &ok}, Now: time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	merged, err := e.MergePopulation(w.b, [][]byte{l.PopulationDelta})
	if err != nil {
		t.Fatal(err)
	}
	if merged[3] != popVersion {
		t.Errorf("merged population is version %d", merged[3])
	}
	q, err := decodePopulation(merged, nil)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(q.Global.N-(50*f+1)) > 1e-3 || q.Origin != epochOf(time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("after one merge: weight %v (want %v), origin %d", q.Global.N, 50*f+1, q.Origin)
	}
}

package learn

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

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
	if MaxUserStateBytes != 2540 || MaxPopulationStateBytes != 5218 || cellBytes != 208 {
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
			if got := p.encode(); len(b) > 0 && !bytes.Equal(got, b) {
				t.Errorf("accepted population state does not round-trip")
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

// TestTeachPopulationMatchesFullEncode checks that rewriting only the
// changed cells gives the bytes a full decode, update and encode gives,
// through new task types, evictions and new complexity cells.
func TestTeachPopulationMatchesFullEncode(t *testing.T) {
	e := New(Config{})
	rng := rand.New(rand.NewPCG(4, 4))
	cxs := []amp.TaskComplexity{"", amp.TaskComplexityLow, amp.TaskComplexityMedium, amp.TaskComplexityHigh}
	var pop []byte
	for i := range 3000 {
		tk := ""
		if rng.IntN(10) > 0 {
			tk = fmt.Sprintf("type-%d", rng.IntN(MaxPopulationTaskTypes+6))
		}
		cx := cxs[rng.IntN(4)]
		if i < 200 {
			cx = "" // complexity cells appear later, among task cells
		}
		arms := [numDims]int{rng.IntN(4), rng.IntN(4), rng.IntN(4), rng.IntN(4)}
		ev := evidence{reward: rng.Float64(), arms: arms, success: float64(rng.IntN(2)), known: 1}

		// Reference: everything decoded, updated, encoded.
		full, err := decodePopulation(pop, nil)
		if err != nil {
			t.Fatal(err)
		}
		full.Seq++
		ref := ev
		ref.add(&full.Global, full.Seq, e.cfg.PopulationDiscount)
		if tk != "" {
			c := full.task(tk)
			if c == nil {
				full.Tasks = addTask(full.Tasks, tk, MaxPopulationTaskTypes, full.Seq, e.cfg.PopulationDiscount)
				c = full.task(tk)
			}
			ref.add(&c.cell, full.Seq, e.cfg.PopulationDiscount)
		}
		if c := complexityIndex(cx); c >= 0 {
			ref.add(&full.Cx[c], full.Seq, e.cfg.PopulationDiscount)
		}
		want := full.encode()

		p, err := decodePopulation(pop, &tk)
		if err != nil {
			t.Fatal(err)
		}
		got, err := e.teachPopulation(pop, p, tk, complexityIndex(cx), &ev)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("outcome %d (task %q, complexity %q): bytes differ from a full encode", i, tk, cx)
		}
		pop = got
	}
}

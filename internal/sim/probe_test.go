package sim

import (
	"context"
	"math"
	"testing"

	"github.com/amp-protocol/amp/internal/learn"
)

// The joint reference is BestFixed's score, computed another way.
func TestReferenceJointIsBestFixed(t *testing.T) {
	for _, f := range Families {
		p := GenerateScenario(Realistic(f, ArrivalStaggered), 7, 40)
		ref := ReferenceDefaults(p, 8)
		want := BestFixed(p, 8).Window(1, 8).Score
		if math.Abs(ref.Joint-want) > 1e-9 {
			t.Errorf("%s: joint reference %.6f, BestFixed %.6f", f, ref.Joint, want)
		}
		if ref.Marginal > ref.Joint+1e-9 || ref.Reward > ref.Joint+1e-9 {
			t.Errorf("%s: a reference above the best joint recommendation: %+v", f, ref)
		}
	}
}

// The probe only reads: the engine decides and learns as without it, and
// it scores the population's default at every checkpoint and at the end.
func TestProbeChangesNothing(t *testing.T) {
	sc := Realistic(FamilyTaste, ArrivalLaunch)
	p := GenerateScenario(sc, 3, 60)
	const n = 10
	plain := NewLearnerAgent(learn.New(learn.DefaultConfig()), 3)
	plain.MergeEvery = sc.MergeEvery
	want, err := Run(context.Background(), p, n, "engine", plain, nil)
	if err != nil {
		t.Fatal(err)
	}
	probe := NewProbeAgent(learn.New(learn.DefaultConfig()), p, n, 3, 100)
	probe.MergeEvery = sc.MergeEvery
	got, err := Run(context.Background(), p, n, "engine", probe, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k := range want.Curve {
		if got.Curve[k] != want.Curve[k] {
			t.Fatalf("interaction %d: with the probe %+v, without %+v", k+1, got.Curve[k], want.Curve[k])
		}
	}
	if len(probe.Points) != 60*n/100+1 {
		t.Fatalf("%d probe points, want %d", len(probe.Points), 60*n/100+1)
	}
	last := probe.Points[len(probe.Points)-1]
	if last.Decisions != 60*n || last.Outcomes == 0 {
		t.Errorf("last point %+v", last)
	}
	for _, pt := range probe.Points {
		if pt.Score > probe.Reference.Joint+1e-9 {
			t.Errorf("the population default scores %.3f, above the best fixed %.3f", pt.Score, probe.Reference.Joint)
		}
	}
}

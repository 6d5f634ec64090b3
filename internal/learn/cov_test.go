package learn

import (
	"math"
	"testing"
)

// TestConditionSpreadsEvidence: with an independent prior the conditioned
// effects are the fit's; with a prior correlating two options, evidence
// about one moves the other (the right way) and narrows its variance,
// while an option correlated with neither stays where the fit put it.
func TestConditionSpreadsEvidence(t *testing.T) {
	const sigma2 = 0.08
	var prior, n, x, ep [numOpts]float64
	for i := range numOpts {
		prior[i] = 0.01
		ep[i] = 0.02 * float64(i%numArms)
	}
	// Option 0 of the first dimension tried 6 times, fitted above the
	// population's effect; option 4 (first of the second dimension) never.
	n[0] = 6
	for i := range numOpts {
		x[i] = ep[i]
	}
	x[0] = ep[0] + 0.05

	var diag [numOpts][numOpts]float64
	for i := range numOpts {
		diag[i][i] = prior[i]
	}
	var mean, vr [numOpts]float64
	if !condition(&diag, &prior, &n, &x, &ep, sigma2, &mean, &vr) {
		t.Fatal("independent prior refused")
	}
	for i := range numOpts {
		want := sigma2 / (n[i] + sigma2/prior[i])
		if math.Abs(mean[i]-x[i]) > 1e-12 || math.Abs(vr[i]-want) > 1e-12 {
			t.Fatalf("independent prior, option %d: mean %v var %v, want %v %v", i, mean[i], vr[i], x[i], want)
		}
	}

	corr := diag
	corr[0][4], corr[4][0] = 0.8*0.01, 0.8*0.01
	if !condition(&corr, &prior, &n, &x, &ep, sigma2, &mean, &vr) {
		t.Fatal("correlated prior refused")
	}
	if d := mean[4] - ep[4]; d <= 0.01 {
		t.Errorf("correlated option moved by %v, want a clear positive shift", d)
	}
	if vr[4] >= prior[4] {
		t.Errorf("correlated option's variance %v, want below its prior %v", vr[4], prior[4])
	}
	if math.Abs(mean[8]-ep[8]) > 1e-12 || math.Abs(vr[8]-prior[8]) > 1e-12 {
		t.Errorf("uncorrelated option: mean %v var %v, want %v %v", mean[8], vr[8], ep[8], prior[8])
	}
}

// TestVersion2DeltasMerge: a delta of the previous release (version 2, no
// covariance sample) still merges, teaching the cells and not the
// covariance.
func TestVersion2DeltasMerge(t *testing.T) {
	d := populationDelta{task: "writing", complexity: -1, epoch: 500000, ev: evidence{reward: 0.7, arms: [numDims]int{1, 2, 3, 0}, success: 1, known: 1}}
	b := d.encode()
	b[0] = 2
	pop, err := New(Config{}).MergePopulation(nil, [][]byte{b})
	if err != nil {
		t.Fatal(err)
	}
	p, err := decodePopulation(pop, nil)
	if err != nil {
		t.Fatal(err)
	}
	if p.Global.N != 1 || p.CovN[0] != 0 || len(p.Tasks) != 1 {
		t.Errorf("merged %v outcomes, covariance weight %v, %d kinds", p.Global.N, p.CovN[0], len(p.Tasks))
	}
	b[2] = 2 // a covariance flag in a version 2 delta
	if _, err := New(Config{}).MergePopulation(nil, [][]byte{b}); err == nil {
		t.Error("version 2 delta with a covariance flag merged")
	}
}

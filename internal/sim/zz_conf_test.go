package sim

import (
	"context"
	"fmt"
	"testing"

	"github.com/amp-protocol/amp/internal/learn"
)

func TestConf(t *testing.T) {
	if *exploreSeeds == "" {
		t.Skip()
	}
	p := Generate(7, 300, false)
	ag := NewLearnerAgent(learn.New(exploreConfig(t)), 7)
	ag.Record = true
	Run(context.Background(), p, 40, "x", ag, nil)
	var sum, n, expl [4]float64
	for _, l := range ag.Log {
		b := 0
		switch {
		case l.Interactions >= 20:
			b = 2
		case l.Interactions >= 5:
			b = 1
		}
		if l.Interactions == 0 {
			b = 3
		}
		sum[b] += l.Confidence
		n[b]++
		if l.Explored {
			expl[b]++
		}
	}
	for b, name := range []string{"cold", "learning", "optimised", "first"} {
		fmt.Printf("%s conf %.3f explored %.3f\n", name, sum[b]/n[b], expl[b]/n[b])
	}
	for _, l := range ag.Log[len(ag.Log)-3:] {
		fmt.Println(l.Interactions, l.Confidence)
	}
}

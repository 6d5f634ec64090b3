package sim

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/internal/learn"
)

type greedyPop struct {
	e   *learn.Engine
	pop []byte
}

func (g greedyPop) Decide(_ context.Context, it *Interaction) (amp.Recommendation, any, error) {
	dist, err := g.e.Distribution(&amp.DecideInput{Population: g.pop, Context: it.Context, Holdout: true})
	if err != nil {
		return amp.Recommendation{}, nil, err
	}
	var arms [numDims]int
	for d := range numDims {
		for a := range numArms {
			if dist[d][a] > dist[d][arms[d]] {
				arms[d] = a
			}
		}
	}
	return recOf(arms), nil, nil
}
func (g greedyPop) Report(context.Context, any, *amp.OutcomeRequest) error { return nil }

func TestDiag(t *testing.T) {
	if *exploreSeeds == "" {
		t.Skip()
	}
	var tot [3]float64
	n := 0
	for _, s := range strings.Split(*exploreSeeds, ",") {
		seed, _ := strconv.ParseUint(s, 10, 64)
		p := Generate(seed, *exploreUsers, false)
		e := learn.New(exploreConfig(t))
		ag := NewLearnerAgent(e, seed)
		ag.HoldoutPercent = *exploreHoldout
		r, _ := Run(context.Background(), p, 40, "x", ag, nil)
		g, _ := Run(context.Background(), p, 40, "g", greedyPop{e, ag.Population()}, nil)
		o, _ := Run(context.Background(), p, 40, "o", levelOracle{p, 0}, nil)

		fmt.Printf("seed %d run %.3f greedy-on-learned-pop %.3f pop-oracle %.3f\n", seed, r.Window(21, 40).Score, g.Window(1, 40).Score, o.Window(1, 40).Score)
		tot[0] += r.Window(21, 40).Score
		tot[1] += g.Window(1, 40).Score
		tot[2] += o.Window(1, 40).Score
		n++
	}
	fmt.Printf("MEAN %.3f %.3f %.3f\n", tot[0]/float64(n), tot[1]/float64(n), tot[2]/float64(n))
}

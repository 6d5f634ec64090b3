package sim

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/internal/learn"
)

func TestPopLearn(t *testing.T) {
	if *exploreSeeds == "" {
		t.Skip()
	}
	checkpoints := []int{250, 500, 1000, 2000, 4000, 8000}
	sum := make([]float64, len(checkpoints))
	n := 0
	for _, s := range strings.Split(*exploreSeeds, ",") {
		seed, _ := strconv.ParseUint(s, 10, 64)
		p := Generate(seed, *exploreUsers, false)
		cfg := exploreConfig(t)
		e := learn.New(cfg)
		rng := rand.New(rand.NewPCG(seed, 9))
		var pop []byte
		sched := p.Schedule(40)
		ci := 0
		for i, it := range sched {
			rec := recOf([numDims]int{rng.IntN(4), rng.IntN(4), rng.IntN(4), rng.IntN(4)})
			o := p.Outcome(it, rec)
			d := &amp.Decision{TaskType: it.Context.TaskType, TaskComplexity: it.Context.Complexity, Recommendation: rec, Holdout: true}
			l, err := e.Learn(&amp.LearnInput{Population: pop, Decision: d, Outcome: outcomeRecord(d, o, d.CreatedAt)})
			if err != nil {
				t.Fatal(err)
			}
			pop = l.Population
			if ci < len(checkpoints) && i+1 == checkpoints[ci] {
				g, _ := Run(context.Background(), p, 40, "g", greedyPop{e, pop}, nil)
				sum[ci] += g.Window(1, 40).Score
				ci++
			}
		}
		n++
	}
	for i, c := range checkpoints {
		fmt.Printf("%d:%.3f ", c, sum[i]/float64(n))
	}
	fmt.Println()
}

func TestPopLearnEngine(t *testing.T) {
	if *exploreSeeds == "" {
		t.Skip()
	}
	checkpoints := []int{250, 500, 1000, 2000, 4000, 8000}
	sum := make([]float64, len(checkpoints))
	n := 0
	for _, s := range strings.Split(*exploreSeeds, ",") {
		seed, _ := strconv.ParseUint(s, 10, 64)
		p := Generate(seed, *exploreUsers, false)
		e := learn.New(exploreConfig(t))
		ag := NewLearnerAgent(e, seed)
		ag.HoldoutPercent = *exploreHoldout
		ci := 0
		for i, it := range p.Schedule(40) {
			rec, tk, err := ag.Decide(context.Background(), it)
			if err != nil {
				t.Fatal(err)
			}
			if err := ag.Report(context.Background(), tk, p.Outcome(it, rec)); err != nil {
				t.Fatal(err)
			}
			if ci < len(checkpoints) && i+1 == checkpoints[ci] {
				g, _ := Run(context.Background(), p, 40, "g", greedyPop{e, ag.Population()}, nil)
				sum[ci] += g.Window(1, 40).Score
				ci++
			}
		}
		n++
	}
	for i, c := range checkpoints {
		fmt.Printf("%d:%.3f ", c, sum[i]/float64(n))
	}
	fmt.Println()
}

package learn_test

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"testing"

	"github.com/amp-protocol/amp"
)

func TestDbgDrift(t *testing.T) {
	var when []int
	for seed := uint64(1); seed <= 30; seed++ {
		w := newWorld(seed)
		w.trainBackground(t, 40, 8)
		ctx := amp.LearnContext{TaskType: "coding"}
		luck := rand.New(rand.NewPCG(seed, 6))
		prefers := func(f amp.Framing) func(amp.Recommendation) bool {
			return func(r amp.Recommendation) bool {
				if r.Framing == f {
					return luck.Float64() < 0.9
				}
				return luck.Float64() < 0.1
			}
		}
		for range 60 {
			w.step(t, "d", ctx, prefers(amp.FramingAchievement))
		}
		got := 999
		for i := range 100 {
			w.step(t, "d", ctx, prefers(amp.FramingLearning))
			dist, _ := w.e.Distribution(&amp.DecideInput{User: w.users["d"], Population: w.pop, Context: ctx})
			if dist[0][1] > 0.5 {
				got = i + 1
				break
			}
		}
		when = append(when, got)
	}
	sort.Ints(when)
	fmt.Println(when)
}

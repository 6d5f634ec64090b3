package learn

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/amp-protocol/amp"
)

func dbgWorld(t *testing.T, seed uint64, trace bool) int {
	e := New(Config{})
	rng := rand.New(rand.NewPCG(seed, 1))
	var pop []byte
	users := map[string][]byte{}
	step := func(u string, ctx amp.LearnContext, likes func(amp.Recommendation) bool) amp.Recommendation {
		ch, err := e.Decide(&amp.DecideInput{User: users[u], Population: pop, Context: ctx, Rand: rng})
		if err != nil {
			t.Fatal(err)
		}
		ok := likes(ch.Recommendation)
		l, _ := e.Learn(&amp.LearnInput{User: users[u], Population: pop, Decision: &amp.Decision{TaskType: ctx.TaskType, Recommendation: ch.Recommendation}, Outcome: &amp.OutcomeRecord{Started: ok, Completed: &ok}})
		users[u], pop = l.User, l.Population
		return ch.Recommendation
	}
	luck := rand.New(rand.NewPCG(77, 7))
	for i := range 40 {
		f := amp.Framings[luck.IntN(4)]
		h := amp.Handlings[luck.IntN(4)]
		ctx := amp.LearnContext{TaskType: []string{"coding", "debugging", "writing"}[i%3]}
		for range 8 {
			step(fmt.Sprint("bg", i), ctx, func(r amp.Recommendation) bool {
				p := 0.15
				if r.Framing == f {
					p += 0.35
				}
				if r.Handling == h {
					p += 0.35
				}
				return luck.Float64() < p
			})
		}
	}
	ctx := amp.LearnContext{TaskType: "coding"}
	luck = rand.New(rand.NewPCG(seed, 6))
	prefers := func(f amp.Framing) func(amp.Recommendation) bool {
		return func(r amp.Recommendation) bool {
			if r.Framing == f {
				return luck.Float64() < 0.9
			}
			return luck.Float64() < 0.1
		}
	}
	show := func(tag string, r amp.Recommendation) {
		u, _ := decodeUser(users["d"], nil)
		p, _ := decodePopulation(pop, nil)
		var est estimate
		e.estimateFor(u, p, "coding", -1, &est)
		var pol policy
		e.policyFor(&est, &pol)
		var n [4]float64
		for a := range 4 {
			n[a] = u.Global.Arms[0][a].N
		}
		fmt.Printf("%s %-11s L=%.2f sur=%.2f short=%.2f alarm=%.2f eu0=%.3f p0=%.2f n0=%.1f\n", tag, r.Framing, est.userLevel, u.Surprise, u.Shortfall, pol.alarm, est.eu[0], pol.prob[0], n)
	}
	for i := range 60 {
		r := step("d", ctx, prefers(amp.FramingAchievement))
		if trace && i%10 == 9 {
			show(fmt.Sprint("p1 ", i), r)
		}
	}
	for i := range 100 {
		r := step("d", ctx, prefers(amp.FramingLearning))
		if trace && (i < 30 || i%10 == 9) {
			show(fmt.Sprint("p2 ", i), r)
		}
		dist, _ := e.Distribution(&amp.DecideInput{User: users["d"], Population: pop, Context: ctx})
		if !trace && dist[0][1] > 0.5 {
			return i + 1
		}
	}
	return 999
}

func TestDbgStuck(t *testing.T) {
	for seed := uint64(1); seed <= 30; seed++ {
		if dbgWorld(t, seed, false) == 999 {
			fmt.Println("stuck seed", seed)
			dbgWorld(t, seed, true)
			return
		}
	}
}

package sim

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/amp-protocol/amp"
)

type levelOracle struct {
	p     *Population
	level int // 0 population, 1 persona
}

func (o levelOracle) Decide(_ context.Context, it *Interaction) (amp.Recommendation, any, error) {
	p := o.p
	var arms [numDims]int
	for d := range numDims {
		best := -1e9
		for a := range numArms {
			v := p.global[d][a]
			if it.task >= 0 {
				v += p.task[it.task][d][a]
			}
			if it.cx >= 0 {
				v += p.cx[it.cx][d][a]
			}
			if o.level == 0 {
				// average persona
				for k := range p.personas {
					w := p.personaCW[k]
					if k > 0 {
						w -= p.personaCW[k-1]
					}
					v += w / p.personaCW[len(p.personaCW)-1] * p.personas[k].pref[d][a]
					if it.task >= 0 {
						v += w / p.personaCW[len(p.personaCW)-1] * p.personas[k].task[it.task][d][a]
					}
				}
			} else {
				v += p.personas[it.User.Persona].pref[d][a]
				if it.task >= 0 {
					v += p.personas[it.User.Persona].task[it.task][d][a]
				}
			}
			if v > best {
				best, arms[d] = v, a
			}
		}
	}
	return recOf(arms), nil, nil
}
func (o levelOracle) Report(context.Context, any, *amp.OutcomeRequest) error { return nil }

func TestOracles(t *testing.T) {
	if *exploreSeeds == "" {
		t.Skip()
	}
	var s0, s1 float64
	n := 0
	for _, s := range strings.Split(*exploreSeeds, ",") {
		seed, _ := strconv.ParseUint(s, 10, 64)
		p := Generate(seed, *exploreUsers, false)
		r0, _ := Run(context.Background(), p, 40, "pop", levelOracle{p, 0}, nil)
		r1, _ := Run(context.Background(), p, 40, "persona", levelOracle{p, 1}, nil)
		a, b := r0.Window(1, 40).Score, r1.Window(1, 40).Score
		fmt.Printf("seed %d pop %.3f persona %.3f\n", seed, a, b)
		s0 += a
		s1 += b
		n++
	}
	fmt.Printf("MEAN pop %.3f persona %.3f\n", s0/float64(n), s1/float64(n))
}

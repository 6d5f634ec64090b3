package sim

import (
	"context"
	"flag"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/amp-protocol/amp/internal/learn"
)

var exploreSeeds = flag.String("explore", "", "comma-separated seeds to explore")
var exploreUsers = flag.Int("eusers", 300, "")
var exploreDrift = flag.Bool("edrift", false, "")
var exploreCfg = flag.String("ecfg", "", "")
var exploreBase = flag.Bool("ebase", true, "")
var exploreHoldout = flag.Int("eholdout", 0, "")
var exploreCurve = flag.Bool("ecurve", false, "")
var exploreAgentSeed = flag.Uint64("easeed", 0, "")
var exploreFamily = flag.String("efam", "", "")

func exploreConfig(t *testing.T) learn.Config {
	c := learn.DefaultConfig()
	if *exploreCfg == "" {
		return c
	}
	for _, kv := range strings.Split(*exploreCfg, ",") {
		k, v, _ := strings.Cut(kv, "=")
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			t.Fatal(err)
		}
		rv := reflect.ValueOf(&c).Elem().FieldByName(k)
		if !rv.IsValid() {
			t.Fatalf("no field %s", k)
		}
		rv.SetFloat(f)
	}
	return c
}

func TestExplore(t *testing.T) {
	if *exploreSeeds == "" {
		t.Skip("no -explore")
	}
	var tot [2][3]float64
	var curve [40]float64
	n := 0
	for _, s := range strings.Split(*exploreSeeds, ",") {
		seed, _ := strconv.ParseUint(s, 10, 64)
		pp := DrawParams(seed)
		switch *exploreFamily {
		case "personas": // no shared taste
			pp.GlobalScale, pp.PersonaScale = 0.05, 0.6
		case "weak": // small effects
			pp.GlobalScale, pp.PersonaScale, pp.IndividualScale, pp.TaskScale = pp.GlobalScale/2, pp.PersonaScale/2, pp.IndividualScale/2, pp.TaskScale/2
		case "indiv": // every user different
			pp.PersonaScale, pp.IndividualScale = 0.1, 0.5
		case "minimal": // only started and completed, no context
			pp.ReportFlow, pp.ReportSatisfaction, pp.ReportTimeToStart, pp.ReportCompleted = 0, 0, 0, 1
			pp.TaskTypes = nil
			pp.NoComplexityShare = 1
		}
		p := Build(seed, pp, *exploreUsers, *exploreDrift)
		ag := NewLearnerAgent(learn.New(exploreConfig(t)), seed+*exploreAgentSeed)
		ag.HoldoutPercent = *exploreHoldout
		eng, err := Run(context.Background(), p, 40, "engine", ag, nil)
		if err != nil {
			t.Fatal(err)
		}
		base := eng
		if *exploreBase {
			base, _ = Run(context.Background(), p, 40, "baseline", NewBaselineAgent(seed), nil)
		}
		line := fmt.Sprintf("seed %3d K=%d T=%d |", seed, p.Personas, len(p.TaskTypes))
		for i, r := range []*Result{eng, base} {
			for j, w := range [][2]int{{1, 5}, {1, 40}, {21, 40}} {
				x := r.Window(w[0], w[1])
				line += fmt.Sprintf(" %.3f", x.Score)
				tot[i][j] += x.Score
			}
			line += fmt.Sprintf(" (c%.2f) |", r.Window(1, 40).CompletionRate)
		}
		n++
		for k := range 40 {
			curve[k] += eng.Curve[k].Score()
		}
		fmt.Println(line)
	}
	if *exploreCurve {
		for k := range 40 {
			fmt.Printf("%d:%.2f ", k+1, curve[k]/float64(n))
		}
		fmt.Println()
	}
	fmt.Printf("MEAN engine %.3f %.3f %.3f  base %.3f %.3f %.3f ratio %.2f\n", tot[0][0]/float64(n), tot[0][1]/float64(n), tot[0][2]/float64(n), tot[1][0]/float64(n), tot[1][1]/float64(n), tot[1][2]/float64(n), tot[0][1]/tot[1][1])
}

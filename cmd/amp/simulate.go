package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/amp-protocol/amp/internal/learn"
	"github.com/amp-protocol/amp/internal/sim"
)

const simulateSynopsis = "[--seeds LIST | --seed N] [--family F] [--arrival A] [--scenario realistic|ideal] [--users U] [--interactions N] [--drift] [--ablations] [--probe N] [--out FILE] [--server URL --key KEY] [--json]"

const simulateDoc = `
Simulate users of an AMP integration and score policies on them.

Populations come in three families built differently on purpose (see
docs/learning.md): personas (users deviate a little from one of 3 to 6
personas), taste (users are points of a 2- or 3-dimensional taste space),
and contextual (individual tastes, with individual preferences per task
type). Users arrive all at once (launch) or staggered. Every parameter of a
population comes from its seed, so each seed is a population of its own;
the same seeds give the same output.

The realistic scenario (the default) is how agents report in practice:
every request sends task text but only half send a taskType; 60% of
contexts ever get an outcome, each after the same user's next 0 to 2
contexts; the population's deltas are merged in batches of 25. The ideal
scenario sends every taskType and reports every outcome at once.

Per family and arrival pattern, over the seeds, printed as mean ± standard
deviation: the normalised score over interactions 1–5, 1–N and 21–N of the
learning engine (in process), the per-user factorised Beta-Thompson
baseline, and the best fixed recommendation per task type known in
hindsight from the simulator's truth (the reference line); the normalised
score is (E[chosen] − E[uniform]) / (E[oracle] − E[uniform]) of the
expected completion probabilities, 0 uniform random and 1 an oracle that
knows every user's preferences. "passes fixed" is the first interaction
from which the engine's score (over the seeds) is at or above the best
fixed default's at every later interaction.

Then, for the engine (and the server) over every run: a reliability table
(confidence bucket → answers, mean confidence, observed share of the
recommended options that were the user's best, mean expected completion)
with its expected calibration error against that share, and the answers by
profile phase: the share with explorationMode true and the mean confidence.

With --ablations, the engine also runs with each of its parts turned back
to what it was before: task kinds (contexts keyed by the exact taskType,
text ignored), reward (the earlier recipe), hierarchy (users do not borrow
from the population), estimated shrinkage (a fixed prior weight instead of
the one estimated from the tenant's data) and tempered exploration (plain
probability matching).

With --probe N, every N decisions of the engine's run (and at its end)
the population's default is scored: per task type of the population, and
for requests without one, the option the holdout policy is most likely to
draw on each dimension, recommended to every interaction of that type; it
is printed by decisions made, mean over seeds, next to three fixed
references per task type from the simulator's truth: the best joint
recommendation (the best fixed line), the best option per dimension on
average over the others (what a model additive over dimensions can find),
and the joint recommendation with the highest expected reward (what the
reward recipe ranks first). The engine's own scores do not change.

The engine was tuned on family personas, seeds 1 to 30; the default seeds,
1001 to 1005, and every seed of the other families are held out.

With --server and --key, the same simulation also plays against a running
AMP server through POST /v1/context and /v1/outcome, for one population
(one --seed, --family and --arrival): the server keeps what it learns in
the account's population, so use a key of a fresh account for each run
(a test-mode key;
a starter plan's 10 requests/second makes 300 users × 40 interactions take
about 40 minutes, so prefer a pro or enterprise account or fewer users).
The learning curve of the first family, arrival and seed is written as an
SVG image.`

// runSimulate runs `amp simulate`.
func runSimulate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("amp simulate", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	seed := fs.Uint64("seed", 0, "one population `SEED` (instead of --seeds)")
	seedList := fs.String("seeds", "1001-1005", "population seeds: a comma-separated `LIST` of seeds and ranges such as 1001-1005")
	family := fs.String("family", "all", "population `FAMILY`: personas, taste, contextual or all")
	arrival := fs.String("arrival", "all", "`ARRIVAL` pattern: launch, staggered or all")
	scenario := fs.String("scenario", "realistic", "`SCENARIO`: realistic (text, sparse and late outcomes) or ideal")
	users := fs.Int("users", 300, "the number of simulated `USERS`")
	interactions := fs.Int("interactions", 40, "`N` interactions per user")
	drift := fs.Bool("drift", false, "let about half the users change taste mid-way")
	ablations := fs.Bool("ablations", false, "also run the engine with each of its parts turned back: task kinds, reward, hierarchy, tempered exploration")
	probeEvery := fs.Int("probe", 0, "score the population's default every `N` decisions of the engine's run (0: off)")
	out := fs.String("out", "simulation.svg", "write the learning curve to this SVG `FILE` (empty: none)")
	server := fs.String("server", "", "also play against the AMP server at `URL` (e.g. http://127.0.0.1:8080)")
	key := fs.String("key", "", "the API `KEY` for --server (a test-mode key)")
	prefix := fs.String("user-prefix", "", "userId `PREFIX` on the server (default sim-SEED-TIME-, so runs do not share users)")
	asJSON := fs.Bool("json", false, "print the results as JSON")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printFlagUsage(stdout, "amp simulate "+simulateSynopsis, simulateDoc, fs)
			return nil
		}
		return usageError("amp simulate: %v; usage: amp simulate %s", err, simulateSynopsis)
	}
	seeds, err := parseSeeds(*seedList)
	if *seed != 0 {
		seeds, err = []uint64{*seed}, nil
	}
	families, ferr := pickFamilies(*family)
	arrivals, aerr := pickArrivals(*arrival)
	switch {
	case fs.NArg() > 0:
		return usageError("amp simulate: unexpected argument %q", fs.Arg(0))
	case err != nil:
		return usageError("amp simulate: --seeds: %v", err)
	case ferr != nil:
		return usageError("amp simulate: --family: %v", ferr)
	case aerr != nil:
		return usageError("amp simulate: --arrival: %v", aerr)
	case *scenario != "realistic" && *scenario != "ideal":
		return usageError("amp simulate: --scenario must be realistic or ideal")
	case *users < 1 || *users > 1_000_000:
		return usageError("amp simulate: --users must be between 1 and 1000000")
	case *interactions < 1 || *interactions > 10_000:
		return usageError("amp simulate: --interactions must be between 1 and 10000")
	case len(seeds)*len(families)*len(arrivals) > 1000:
		return usageError("amp simulate: at most 1000 runs (seeds × families × arrivals)")
	case *probeEvery < 0 || *probeEvery > 1_000_000:
		return usageError("amp simulate: --probe must be between 0 and 1000000")
	case (*server == "") != (*key == ""):
		return usageError("amp simulate: --server and --key go together")
	case *server != "" && len(seeds)*len(families)*len(arrivals) > 1:
		// A server keeps what it learns in the account's population, so a
		// second population played against it would meet a trained one.
		return usageError("amp simulate: --server plays one population: give one --seed, --family and --arrival, and a key of a fresh account for each")
	}

	n := *interactions
	rep := &simReport{Seeds: seeds, Users: *users, Interactions: n, Drift: *drift, Scenario: *scenario}
	rep.windows = [][2]int{{1, min(5, n)}, {1, n}}
	if n >= 21 {
		rep.windows = append(rep.windows, [2]int{21, n})
	}
	var plotted []*sim.Result
	var plotTitle string
	for _, f := range families {
		for _, a := range arrivals {
			sc := sim.Realistic(f, a)
			if *scenario == "ideal" {
				sc = sim.Ideal(f, a)
			}
			sc.Drift = *drift
			rep.ScenarioDetail = sc
			g := &simGroup{Family: f, Arrival: a}
			for _, s := range seeds {
				pop := sim.GenerateScenario(sc, s, *users)
				var results []*sim.Result
				if *server != "" {
					p := *prefix
					if p == "" {
						p = fmt.Sprintf("sim-%s-%s-%d-%d-", f, a, s, time.Now().Unix())
					}
					agent := sim.NewHTTPAgent(*server, *key, p)
					start := time.Now()
					progress := func(done, total int) {
						fmt.Fprintf(stderr, "amp simulate: %s/%s seed %d: %d/%d interactions against %s (%s)\n", f, a, s, done, total, *server, time.Since(start).Round(time.Second))
					}
					r, err := sim.Run(ctx, pop, n, "server", agent, progress)
					if err != nil {
						return fmt.Errorf("amp simulate: %w", err)
					}
					if agent.Retried > 0 {
						fmt.Fprintf(stderr, "amp simulate: %d requests were rate limited and retried\n", agent.Retried)
					}
					results = append(results, r)
				}
				var engineAgent sim.Agent
				var probe *sim.ProbeAgent
				if *probeEvery > 0 {
					probe = sim.NewProbeAgent(learn.New(learn.DefaultConfig()), pop, n, s, *probeEvery)
					probe.MergeEvery = sc.MergeEvery
					engineAgent = probe
				} else {
					la := sim.NewLearnerAgent(learn.New(learn.DefaultConfig()), s)
					la.MergeEvery = sc.MergeEvery
					engineAgent = la
				}
				engine, err := sim.Run(ctx, pop, n, "engine", engineAgent, nil)
				if err != nil {
					return fmt.Errorf("amp simulate: %w", err)
				}
				if probe != nil {
					g.addProbe(probe)
				}
				baseline, err := sim.Run(ctx, pop, n, "baseline", sim.NewBaselineAgent(s), nil)
				if err != nil {
					return fmt.Errorf("amp simulate: %w", err)
				}
				results = append(results, engine, baseline, sim.BestFixed(pop, n))
				if *ablations {
					for _, ab := range simAblations {
						la := sim.NewLearnerAgent(learn.New(ab.cfg), s)
						la.MergeEvery = sc.MergeEvery
						r, err := sim.Run(ctx, pop, n, ab.name, la, nil)
						if err != nil {
							return fmt.Errorf("amp simulate: %w", err)
						}
						results = append(results, r)
					}
				}
				g.add(results)
				rep.addCalibration(results)
				if plotted == nil {
					plotted = results
					plotTitle = fmt.Sprintf("AMP simulation: %s, %s, seed %d, %d users", f, a, s, *users)
				}
			}
			rep.Groups = append(rep.Groups, g.summary(rep.windows, n))
		}
	}
	if *out != "" && plotted != nil {
		fh, err := os.Create(*out)
		if err != nil {
			return fmt.Errorf("amp simulate: %w", err)
		}
		if *drift {
			plotTitle += ", drift"
		}
		err = sim.WritePlot(fh, plotTitle, plotted...)
		if cerr := fh.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("amp simulate: write %s: %w", *out, err)
		}
		rep.Plot = *out
	}
	rep.finish()
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	return rep.print(stdout)
}

// simAblations are the engine with one part turned back each.
var simAblations = []struct {
	name string
	cfg  learn.Config
}{
	{"engine −task kinds", learn.Config{ExactTaskTypes: true}},
	{"engine −reward", learn.Config{LegacyReward: true}},
	{"engine −hierarchy", learn.Config{UserPrior: 1e-3, LevelPrior: 1e-3, FixedShrinkage: true}},
	{"engine −estimated shrinkage", learn.Config{FixedShrinkage: true}},
	{"engine −tempering", learn.Config{Temper: 1, PopulationTemper: 1}},
}

// parseSeeds reads "1001-1005,7".
func parseSeeds(s string) ([]uint64, error) {
	var out []uint64
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.ParseUint(lo, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not a seed", part)
		}
		b := a
		if isRange {
			if b, err = strconv.ParseUint(hi, 10, 64); err != nil || b < a {
				return nil, fmt.Errorf("%q is not a range of seeds", part)
			}
		}
		if b-a >= 1000 {
			return nil, fmt.Errorf("%q: at most 1000 seeds", part)
		}
		for x := a; x <= b; x++ {
			out = append(out, x)
		}
	}
	if len(out) > 1000 {
		return nil, errors.New("at most 1000 seeds")
	}
	return out, nil
}

func pickFamilies(s string) ([]sim.Family, error) {
	if s == "all" {
		return sim.Families, nil
	}
	f, ok := sim.ParseFamily(s)
	if !ok {
		return nil, fmt.Errorf("unknown family %q (personas, taste, contextual or all)", s)
	}
	return []sim.Family{f}, nil
}

func pickArrivals(s string) ([]sim.Arrival, error) {
	switch s {
	case "all":
		return sim.Arrivals, nil
	case string(sim.ArrivalLaunch), string(sim.ArrivalStaggered):
		return []sim.Arrival{sim.Arrival(s)}, nil
	}
	return nil, fmt.Errorf("unknown arrival %q (launch, staggered or all)", s)
}

// simReport is the output of amp simulate.
type simReport struct {
	Seeds          []uint64     `json:"seeds"`
	Users          int          `json:"users"`
	Interactions   int          `json:"interactions"`
	Drift          bool         `json:"drift"`
	Scenario       string       `json:"scenario"`
	ScenarioDetail sim.Scenario `json:"scenarioDetail"`
	Groups         []simSummary `json:"groups"`
	Calibration    []simCal     `json:"calibration"`
	Plot           string       `json:"plot,omitempty"`
	windows        [][2]int
	cal            map[string]*simCal
	calOrder       []string
}

// simCal is a policy's reliability table over every run.
type simCal struct {
	Policy  string           `json:"policy"`
	Buckets []sim.Bucket     `json:"buckets"`
	ECE     float64          `json:"ece"`
	Phases  []sim.PhaseStats `json:"phases,omitempty"`
}

func (r *simReport) addCalibration(results []*sim.Result) {
	if r.cal == nil {
		r.cal = map[string]*simCal{}
	}
	for _, res := range results {
		if len(res.Reliability) == 0 || res.Name != "engine" && res.Name != "server" {
			continue
		}
		c := r.cal[res.Name]
		if c == nil {
			c = &simCal{Policy: res.Name, Buckets: make([]sim.Bucket, 10)}
			r.cal[res.Name] = c
			r.calOrder = append(r.calOrder, res.Name)
			for i := range c.Buckets {
				c.Buckets[i].From, c.Buckets[i].To = float64(i)/10, float64(i+1)/10
			}
		}
		for _, b := range res.Reliability {
			i := min(9, max(0, int(math.Round(b.From*10))))
			x := &c.Buckets[i]
			w := float64(b.N)
			x.MeanConfidence += w * b.MeanConfidence
			x.BestShare += w * b.BestShare
			x.Completion += w * b.Completion
			x.N += b.N
		}
		c.Phases = mergePhases(c.Phases, res.Phases)
	}
}

func mergePhases(acc, add []sim.PhaseStats) []sim.PhaseStats {
	for _, ph := range add {
		found := false
		for i := range acc {
			if acc[i].Phase == ph.Phase {
				n := acc[i].Answers + ph.Answers
				acc[i].ExploredShare = (acc[i].ExploredShare*float64(acc[i].Answers) + ph.ExploredShare*float64(ph.Answers)) / float64(n)
				acc[i].MeanConfidence = (acc[i].MeanConfidence*float64(acc[i].Answers) + ph.MeanConfidence*float64(ph.Answers)) / float64(n)
				if acc[i].DimensionExplored != nil && ph.DimensionExplored != nil {
					for d := range acc[i].DimensionExplored {
						acc[i].DimensionExplored[d] = (acc[i].DimensionExplored[d]*float64(acc[i].Answers) + ph.DimensionExplored[d]*float64(ph.Answers)) / float64(n)
					}
				}
				acc[i].Answers = n
				found = true
			}
		}
		if !found {
			if ph.DimensionExplored != nil {
				d := *ph.DimensionExplored
				ph.DimensionExplored = &d
			}
			acc = append(acc, ph)
		}
	}
	return acc
}

// finish turns the calibration sums into means and computes the ECEs.
func (r *simReport) finish() {
	for _, name := range r.calOrder {
		c := r.cal[name]
		var kept []sim.Bucket
		total := 0
		for _, b := range c.Buckets {
			total += b.N
		}
		for _, b := range c.Buckets {
			if b.N == 0 {
				continue
			}
			w := float64(b.N)
			b.MeanConfidence /= w
			b.BestShare /= w
			b.Completion /= w
			c.ECE += w / float64(total) * math.Abs(b.MeanConfidence-b.BestShare)
			kept = append(kept, b)
		}
		c.Buckets = kept
		r.Calibration = append(r.Calibration, *c)
	}
}

// simGroup collects the runs of one family and arrival pattern.
type simGroup struct {
	Family  sim.Family
	Arrival sim.Arrival
	runs    map[string][]*sim.Result
	order   []string
	probes  []*sim.ProbeAgent
}

func (g *simGroup) addProbe(p *sim.ProbeAgent) { g.probes = append(g.probes, p) }

// simProbe is the population default's score by decisions made, and the
// fixed references, over the seeds (see --probe).
type simProbe struct {
	Points    []simProbePoint `json:"points"`
	Reference sim.Reference   `json:"reference"` // means over seeds
}

type simProbePoint struct {
	Decisions int     `json:"decisions"`
	Outcomes  float64 `json:"outcomes"` // mean over seeds
	Mean      float64 `json:"mean"`
	SD        float64 `json:"sd"`
}

// probeSummary pools the probes point by point: every seed's run makes
// the same number of decisions, so its points fall at the same counts.
func (g *simGroup) probeSummary() *simProbe {
	if len(g.probes) == 0 {
		return nil
	}
	sp := &simProbe{}
	n := len(g.probes[0].Points)
	for _, p := range g.probes {
		n = min(n, len(p.Points))
		sp.Reference.Joint += p.Reference.Joint / float64(len(g.probes))
		sp.Reference.Marginal += p.Reference.Marginal / float64(len(g.probes))
		sp.Reference.Reward += p.Reference.Reward / float64(len(g.probes))
	}
	for i := range n {
		pt := simProbePoint{Decisions: g.probes[0].Points[i].Decisions}
		var scores []float64
		for _, p := range g.probes {
			scores = append(scores, p.Points[i].Score)
			pt.Outcomes += float64(p.Points[i].Outcomes) / float64(len(g.probes))
		}
		pt.Mean, pt.SD = meanSD(scores)
		sp.Points = append(sp.Points, pt)
	}
	return sp
}

func (g *simGroup) add(results []*sim.Result) {
	if g.runs == nil {
		g.runs = map[string][]*sim.Result{}
	}
	for _, r := range results {
		if g.runs[r.Name] == nil {
			g.order = append(g.order, r.Name)
		}
		g.runs[r.Name] = append(g.runs[r.Name], r)
	}
}

// simSummary is one family and arrival pattern's results over the seeds.
type simSummary struct {
	Family   sim.Family     `json:"family"`
	Arrival  sim.Arrival    `json:"arrival"`
	Policies []simPolicy    `json:"policies"`
	Passes   map[string]int `json:"passesFixedFrom"` // policy → first interaction from which it stays at or above the best fixed default; 0: never
	Probe    *simProbe      `json:"probe,omitempty"`
}

// simPolicy is a policy's windows: mean and standard deviation over seeds.
type simPolicy struct {
	Name    string      `json:"name"`
	Windows []simWindow `json:"windows"`
}

type simWindow struct {
	From   int       `json:"from"`
	To     int       `json:"to"`
	Mean   float64   `json:"mean"`
	SD     float64   `json:"sd"`
	Scores []float64 `json:"scores"` // one per seed
}

func (g *simGroup) summary(windows [][2]int, n int) simSummary {
	s := simSummary{Family: g.Family, Arrival: g.Arrival, Passes: map[string]int{}, Probe: g.probeSummary()}
	for _, name := range g.order {
		runs := g.runs[name]
		p := simPolicy{Name: name}
		for _, w := range windows {
			sw := simWindow{From: w[0], To: w[1]}
			for _, r := range runs {
				sw.Scores = append(sw.Scores, r.Window(w[0], w[1]).Score)
			}
			sw.Mean, sw.SD = meanSD(sw.Scores)
			p.Windows = append(p.Windows, sw)
		}
		s.Policies = append(s.Policies, p)
	}
	fixed := g.runs["best fixed"]
	for _, name := range g.order {
		if name == "best fixed" {
			continue
		}
		s.Passes[name] = passesFrom(g.runs[name], fixed, n)
	}
	return s
}

// passesFrom is the first interaction k from which the policy's score,
// pooled over seeds, is at or above the reference's at every k' ≥ k; 0
// when it is below at the last interaction.
func passesFrom(runs, ref []*sim.Result, n int) int {
	from := 0
	for k := n; k >= 1; k-- {
		if pooled(runs, k) < pooled(ref, k) {
			break
		}
		from = k
	}
	return from
}

func pooled(runs []*sim.Result, k int) float64 {
	var c, u, o float64
	for _, r := range runs {
		p := r.Curve[k-1]
		c, u, o = c+p.Chosen, u+p.Uniform, o+p.Oracle
	}
	if o <= u {
		return 0
	}
	return (c - u) / (o - u)
}

func meanSD(xs []float64) (float64, float64) {
	if len(xs) == 0 {
		return 0, 0
	}
	m := 0.0
	for _, x := range xs {
		m += x
	}
	m /= float64(len(xs))
	v := 0.0
	for _, x := range xs {
		v += (x - m) * (x - m)
	}
	if len(xs) > 1 {
		v /= float64(len(xs) - 1)
	}
	return m, math.Sqrt(v)
}

func (r *simReport) print(w io.Writer) error {
	driftText := "off"
	if r.Drift {
		driftText = "on"
	}
	sc := r.ScenarioDetail
	fmt.Fprintf(w, "AMP simulation: seeds %s, %d users × %d interactions, drift %s\n", seedsText(r.Seeds), r.Users, r.Interactions, driftText)
	fmt.Fprintf(w, "Scenario %s: taskType sent with %.0f%% of requests (task text always), %.0f%% of outcomes reported, each after 0–%d of the user's next contexts, population merged every %d outcomes\n",
		r.Scenario, 100*sc.TaskTypeShare, 100*sc.ReportShare, sc.MaxLate, max(1, sc.MergeEvery))
	fmt.Fprintln(w, "The engine was tuned on family personas, seeds 1–30; other seeds and families are held out.")
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	head := "family\tarrival\tpolicy"
	for _, win := range r.windows {
		head += fmt.Sprintf("\tscore %d–%d", win[0], win[1])
	}
	fmt.Fprintln(tw, head+"\tpasses fixed")
	for _, g := range r.Groups {
		for i, pol := range g.Policies {
			fam, arr := string(g.Family), string(g.Arrival)
			if i > 0 {
				fam, arr = "", ""
			}
			line := fam + "\t" + arr + "\t" + pol.Name
			for _, win := range pol.Windows {
				line += fmt.Sprintf("\t%.3f ± %.3f", win.Mean, win.SD)
			}
			if k, ok := g.Passes[pol.Name]; ok {
				if k == 0 {
					line += "\tnever"
				} else {
					line += fmt.Sprintf("\tfrom %d", k)
				}
			} else {
				line += "\t"
			}
			fmt.Fprintln(tw, line)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w, "Normalised score: 0 = uniform random, 1 = an oracle that knows every user's preferences; mean ± SD over seeds.")
	for _, g := range r.Groups {
		p := g.Probe
		if p == nil {
			continue
		}
		fmt.Fprintf(w, "\nPopulation default of %s/%s (the holdout policy's likeliest option per dimension and task type), by decisions made:\n", g.Family, g.Arrival)
		line := ""
		for _, pt := range p.Points {
			line += fmt.Sprintf(" %d (%.0f outcomes) %.3f ± %.3f;", pt.Decisions, pt.Outcomes, pt.Mean, pt.SD)
		}
		fmt.Fprintln(w, strings.TrimSuffix(strings.TrimSpace(line), ";"))
		fmt.Fprintf(w, "Fixed per task type, from the truth: best joint %.3f, best option per dimension %.3f, best by expected reward %.3f\n",
			p.Reference.Joint, p.Reference.Marginal, p.Reference.Reward)
	}
	for _, c := range r.Calibration {
		fmt.Fprintf(w, "\nReliability of %s's confidence (every run): expected calibration error %.3f\n", c.Policy, c.ECE)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "confidence\tanswers\tmean confidence\tbest-option share\texpected completion")
		for _, b := range c.Buckets {
			fmt.Fprintf(tw, "%.1f–%.1f\t%d\t%.3f\t%.3f\t%.3f\n", b.From, b.To, b.N, b.MeanConfidence, b.BestShare, b.Completion)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		if len(c.Phases) > 0 {
			line := "Answers by profile phase (explorationMode share, mean confidence, answers):"
			for _, ph := range c.Phases {
				line += fmt.Sprintf(" %s %.2f, %.2f (%d);", ph.Phase, ph.ExploredShare, ph.MeanConfidence, ph.Answers)
			}
			fmt.Fprintln(w, strings.TrimSuffix(line, ";"))
			for _, ph := range c.Phases {
				if e := ph.DimensionExplored; e != nil {
					fmt.Fprintf(w, "  %s: off the best guess on framing %.2f, style %.2f, handling %.2f, encouragement %.2f\n", ph.Phase, e[0], e[1], e[2], e[3])
				}
			}
		}
	}
	if r.Plot != "" {
		fmt.Fprintf(w, "\nLearning curve: %s\n", r.Plot)
	}
	return nil
}

func seedsText(seeds []uint64) string {
	if len(seeds) == 1 {
		return strconv.FormatUint(seeds[0], 10)
	}
	contiguous := true
	for i := 1; i < len(seeds); i++ {
		contiguous = contiguous && seeds[i] == seeds[i-1]+1
	}
	if contiguous {
		return fmt.Sprintf("%d–%d", seeds[0], seeds[len(seeds)-1])
	}
	parts := make([]string, len(seeds))
	for i, s := range seeds {
		parts[i] = strconv.FormatUint(s, 10)
	}
	return strings.Join(parts, ",")
}

// printFlagUsage prints the synopsis, the documentation and the flags of
// one of the learning commands.
func printFlagUsage(w io.Writer, synopsis, doc string, fs *flag.FlagSet) {
	fmt.Fprintf(w, "Usage: %s\n%s\n\nFlags:\n", synopsis, doc)
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
}

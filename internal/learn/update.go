package learn

import (
	"errors"
	"fmt"
	"math"

	"github.com/amp-protocol/amp"
)

// Learn folds one outcome into the user's state, and returns the
// population's share of it as a delta for MergePopulation.
//
// Cells keep raw sufficient statistics, never the model's past estimates:
// per option, the discounted count and reward sum of the outcomes where it
// was recommended. The user's cells take the reward (see Reward) minus the
// population's current offsets of the context, so they describe the user
// outside any context; the population's cells take the reward itself.
// Estimates are solved from these sums when needed (see fit.solve), so a
// late outcome revises everything it bears on.
//
// The population's evidence is not weighted by inverse propensities: on
// simulated populations the variance of the weights (even capped) slowed
// the population's learning far more than the bias they remove (options
// recommended mostly to the users who like them look a little better than
// they are for everyone). Holdout decisions teach the population only.
// in.Now is not used: forgetting counts outcomes, not time, so a user who
// pauses for a month finds the model as it was.
func (e *Engine) Learn(in *amp.LearnInput) (*amp.Learned, error) {
	dec, o := in.Decision, in.Outcome
	if dec == nil || o == nil {
		return nil, errors.New("learn: Learn needs a decision and an outcome")
	}
	arms, err := armsOf(dec.Recommendation)
	if err != nil {
		return nil, err
	}
	tk := taskKey(dec.TaskType)
	cx := complexityIndex(dec.TaskComplexity)
	// Only the cells of this context are decoded; see teachPopulation.
	p, err := decodePopulation(in.Population, &tk)
	if err != nil {
		return nil, fmt.Errorf("population: %w", err)
	}
	var u *userState
	if !dec.Holdout {
		if u, err = decodeUser(in.User, nil); err != nil {
			return nil, fmt.Errorf("user: %w", err)
		}
	}
	var est estimate
	e.estimateFor(u, p, tk, cx, &est)
	pdelta := populationDelta{task: tk, complexity: cx}

	r := Reward(o)
	succ, known := success(o)
	out := &amp.Learned{User: in.User, Reward: r}
	if u != nil {
		pred := est.userLevel + est.ctxOffset
		for d := range numDims {
			pred += est.mean[d][arms[d]]
		}
		pdelta.noise = e.noiseSample(u)
		pdelta.resid = r - pred
		popPred := est.popLevel + est.ctxOffset
		for d := range numDims {
			popPred += est.ep[d][arms[d]] + est.ctxEff[d][arms[d]]
		}
		sd := math.Sqrt(est.sigma2)
		z := math.Max(-maxSurprise, math.Min(maxSurprise, (r-pred)/sd))
		u.Surprise += surpriseRate * (z - u.Surprise)
		z = math.Max(-maxSurprise, math.Min(maxSurprise, (r-popPred)/sd))
		u.Shortfall += surpriseRate * (z - u.Shortfall)
		// The user's cells model the user's rewards without the
		// population's context offsets, which are added back when
		// estimating.
		adj := r - est.ctxOffset
		for d := range numDims {
			adj -= est.ctxEff[d][arms[d]]
		}
		ev := evidence{reward: adj, arms: arms, success: b2f(succ), known: b2f(known)}
		if u.Seq >= rebaseAt {
			for d := range u.Manual {
				m := &u.Manual[d]
				m.Weight *= pow(e.cfg.UserDiscount, u.Seq-m.Seq)
				m.Seq = 0
			}
			rebase(&u.Seq, e.cfg.UserDiscount, u.cells())
		}
		u.Seq++
		gu := e.cfg.UserDiscount
		// A user who surprises the model is probably not the user the old
		// evidence describes: forget it faster while the alarm lasts.
		if a := alarm(est.surprise, est.shortfall); a > 0 {
			f := 1 - alarmForgetting*a
			for _, c := range u.cells() {
				c.scale(f)
			}
		}
		ev.add(&u.Global, u.Seq, gu)
		if tk != "" {
			c := u.task(tk)
			if c == nil {
				u.Tasks = addTask(u.Tasks, tk, MaxUserTaskTypes, u.Seq, gu)
				c = u.task(tk)
			}
			ev.add(&c.cell, u.Seq, gu)
		}
		if cx >= 0 {
			ev.add(&u.Cx[cx], u.Seq, gu)
		}
		out.User = u.encode()
	}

	pdelta.ev = evidence{reward: r, arms: arms, success: b2f(succ), known: b2f(known)}
	out.PopulationDelta = pdelta.encode()
	return out, nil
}

// MergePopulation folds the deltas Learn returned into the population, in
// the order given. This engine discounts the population's evidence by its
// count of outcomes, so the order of deltas matters, though only at the
// scale of one outcome's weight times (1 - PopulationDiscount).
func (e *Engine) MergePopulation(population []byte, deltas [][]byte) ([]byte, error) {
	for _, b := range deltas {
		var d populationDelta
		if err := d.decode(b); err != nil {
			return nil, err
		}
		p, err := decodePopulation(population, &d.task)
		if err != nil {
			return nil, fmt.Errorf("population: %w", err)
		}
		if d.noise {
			p.NoiseN = math.Min(p.NoiseN+1, 1/varRate)
			p.NoiseVar += (d.resid*d.resid - p.NoiseVar) / p.NoiseN
		}
		if population, err = e.teachPopulation(population, p, d.task, d.complexity, &d.ev); err != nil {
			return nil, fmt.Errorf("population: %w", err)
		}
	}
	return population, nil
}

// teachPopulation adds an outcome to the population, p, decoded from b
// with only the task cell tk, and returns the new state. When the context's
// cells already exist, it rewrites just the global, task-type and
// complexity cells in a copy of b; a new cell (which may evict another) is
// added copying the other task cells as they are; only a counter rebase
// (once in 2^31 outcomes) takes a full decode and encode.
func (e *Engine) teachPopulation(b []byte, p *popState, tk string, cx int, pev *evidence) ([]byte, error) {
	gp := e.cfg.PopulationDiscount
	if p.Seq+1 >= rebaseAt {
		full, err := decodePopulation(b, nil)
		if err != nil {
			return nil, err
		}
		full.NoiseVar, full.NoiseN = p.NoiseVar, p.NoiseN // learnNoise updated p
		rebase(&full.Seq, gp, full.cells())
		full.Seq++
		pev.add(&full.Global, full.Seq, gp)
		if tk != "" {
			c := full.task(tk)
			if c == nil {
				full.Tasks = addTask(full.Tasks, tk, MaxPopulationTaskTypes, full.Seq, gp)
				c = full.task(tk)
			}
			pev.add(&c.cell, full.Seq, gp)
		}
		if cx >= 0 {
			pev.add(&full.Cx[cx], full.Seq, gp)
		}
		return full.encode(), nil
	}
	p.Seq++
	pev.add(&p.Global, p.Seq, gp)
	var tc *taskCell
	var fresh *cell
	if tk != "" {
		if tc = p.task(tk); tc != nil {
			pev.add(&tc.cell, p.Seq, gp)
		} else {
			fresh = &cell{Seq: p.Seq}
			pev.add(fresh, p.Seq, gp)
		}
	}
	newCx := cx >= 0 && p.cxAt[cx] == 0
	if cx >= 0 {
		pev.add(&p.Cx[cx], p.Seq, gp)
	}
	if len(b) == 0 || fresh != nil || newCx {
		return rebuildPopulation(b, p, tc, tk, fresh, gp), nil
	}
	cells := []patchedCell{{&p.Global, p.globalAt}}
	if tc != nil {
		cells = append(cells, patchedCell{&tc.cell, tc.at})
	}
	if cx >= 0 {
		cells = append(cells, patchedCell{&p.Cx[cx], p.cxAt[cx]})
	}
	return patchPopulation(b, p, cells...), nil
}

// noiseSample tells whether an outcome of u teaches the population's running
// estimate of the reward noise σ² (the mean squared prediction error, see
// MergePopulation): only users with at least 10 recent outcomes do, whose
// predictions are close to their expectations.
func (e *Engine) noiseSample(u *userState) bool {
	ug := &u.Global
	return pow(e.cfg.UserDiscount, u.Seq-ug.Seq)*ug.N >= 10
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// evidence is one outcome ready to be added to cells.
type evidence struct {
	reward         float64
	arms           [numDims]int // the chosen options
	success, known float64      // 1 or 0
}

// add discounts c to its owner's counter seq and adds the evidence.
func (ev *evidence) add(c *cell, seq uint32, discount float64) {
	if f := pow(discount, seq-c.Seq); f != 1 {
		c.scale(f)
	}
	c.Seq = seq
	c.N++
	c.S += ev.reward
	c.K += ev.known
	for d := range numDims {
		x := &c.Arms[d][ev.arms[d]]
		x.N++
		x.S += ev.reward
		x.C += ev.success
	}
}

func (c *cell) scale(f float64) {
	c.N *= f
	c.S *= f
	c.K *= f
	for d := range c.Arms {
		for a := range c.Arms[d] {
			x := &c.Arms[d][a]
			x.N *= f
			x.S *= f
			x.C *= f
		}
	}
}

// rebaseAt keeps update counters far from overflow: once an owner's passes
// it, rebase discounts every cell to the present and restarts all counters
// at zero, which changes no estimate.
const rebaseAt = 1 << 31

func rebase(seq *uint32, discount float64, cells []*cell) {
	for _, c := range cells {
		c.scale(pow(discount, *seq-c.Seq))
		c.Seq = 0
	}
	*seq = 0
}

// addTask adds an empty cell for key, replacing the cell with the least
// discounted evidence when the list is full.
func addTask(tasks []taskCell, key string, max int, seq uint32, discount float64) []taskCell {
	if len(tasks) < max {
		return append(tasks, taskCell{Key: key, cell: cell{Seq: seq}})
	}
	worst, worstN := 0, math.Inf(1)
	for i := range tasks {
		if n := tasks[i].N * pow(discount, seq-tasks[i].Seq); n < worstN {
			worst, worstN = i, n
		}
	}
	tasks[worst] = taskCell{Key: key, cell: cell{Seq: seq}}
	return tasks
}

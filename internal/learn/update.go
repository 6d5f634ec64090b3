package learn

import (
	"errors"
	"fmt"
	"math"

	"github.com/amp-protocol/amp"
)

// Learn folds one outcome into the user's and the population's states.
//
// The reward r (see Reward) becomes one learning sample per dimension: the
// part of r that the level and the other dimensions' chosen options do not
// explain, y_d = r - pred + effect_d, where pred is the model's prediction.
// Removing the other options' estimated effects (one backfitting step of
// the additive model) cuts the noise each dimension sees and removes the
// drift of its baseline as the other dimensions get better. Level samples
// are r - pred + level, so levels and the effects relative to them stay
// consistent. The user's cells take samples without the population's
// context offsets (they are added back when estimating); the population's
// take them relative to the user's level.
//
// The population's samples are not weighted by inverse propensities: on
// simulated populations the variance of the weights (even capped) slowed
// the population's learning far more than the bias they remove (options
// chosen mostly for the users who like them look a little better than they
// are for everyone). Holdout decisions teach the population only.
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
	p, err := decodePopulation(in.Population, nil)
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

	r := Reward(o)
	succ, known := success(o)
	pred := est.userLevel + est.ctxOffset
	for d := range numDims {
		pred += est.mean[d][arms[d]]
	}
	resid := r - pred
	ev := evidence{level: resid + est.userLevel, arms: arms, success: b2f(succ), known: b2f(known)}
	pev := evidence{level: resid + est.userLevel + est.ctxOffset, arms: arms, success: ev.success, known: ev.known}
	for d := range numDims {
		y := resid + est.mean[d][arms[d]] // effect_d plus noise
		ev.y[d] = y - est.ctxEff[d][arms[d]] + est.userLevel
		pev.y[d] = y
	}

	out := &amp.Learned{User: in.User, Reward: r}
	if u != nil {
		e.learnPriors(p, u, &est, arms, pred, r)
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

	if p.Seq >= rebaseAt {
		rebase(&p.Seq, e.cfg.PopulationDiscount, p.cells())
	}

	p.Seq++
	gp := e.cfg.PopulationDiscount
	pev.add(&p.Global, p.Seq, gp)
	if tk != "" {
		c := p.task(tk)
		if c == nil {
			p.Tasks = addTask(p.Tasks, tk, MaxPopulationTaskTypes, p.Seq, gp)
			c = p.task(tk)
		}
		pev.add(&c.cell, p.Seq, gp)
	}
	if cx >= 0 {
		pev.add(&p.Cx[cx], p.Seq, gp)
	}
	out.Population = p.encode()
	return out, nil
}

// learnPriors keeps the population's empirical-Bayes estimates, from a
// user's evidence before the outcome is added. σ² is the running mean
// squared prediction error on users with at least 10 outcomes, whose
// predictions are close to their expectations. For each dimension d and
// each candidate weight k of priorGrid, it keeps the running squared error
// the prediction would have had with the user's effect of d's chosen
// option estimated with weight k. Under the hierarchical model the weight
// with the least expected error is σ²/τ²_d, so the minimiser estimates it
// without a model of how users differ. Only options the user has tried
// count, since for the others every k gives the population's estimate.
func (e *Engine) learnPriors(p *popState, u *userState, est *estimate, arms [numDims]int, pred, r float64) {
	ug := &u.Global
	gu := e.cfg.UserDiscount
	f := pow(gu, u.Seq-ug.Seq)
	resid := r - pred
	if f*ug.N >= 10 {
		p.NoiseN = math.Min(p.NoiseN+1, 1/varRate)
		p.NoiseVar += (resid*resid - p.NoiseVar) / p.NoiseN
	}
	tried := false
	for d, a := range arms {
		tried = tried || f*ug.Arms[d][a].N >= 1
	}
	if !tried {
		return
	}
	p.PriorN = math.Min(p.PriorN+1, 1/varRate)
	for d, a := range arms {
		x := &ug.Arms[d][a]
		n := f * x.N
		m := &u.Manual[d]
		mw := 0.0
		if int(m.Arm) == a {
			mw = m.Weight * pow(gu, u.Seq-m.Seq)
		}
		base := pred - est.eu[d][a]
		for j, k := range priorGrid {
			eu := (f*x.S - n*est.userLevel + k*est.ep[d][a] + mw*m.Effect) / (n + k + mw)
			err := r - base - eu
			p.PriorMSE[d][j] += (err*err - p.PriorMSE[d][j]) / p.PriorN
		}
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// evidence is one outcome ready to be added to cells.
type evidence struct {
	level          float64          // level sample
	y              [numDims]float64 // effect sample of each dimension's chosen option
	arms           [numDims]int     // the chosen options
	success, known float64          // 1 or 0
}

// add discounts c to its owner's counter seq and adds the evidence.
func (ev *evidence) add(c *cell, seq uint32, discount float64) {
	if f := pow(discount, seq-c.Seq); f != 1 {
		c.scale(f)
	}
	c.Seq = seq
	c.N++
	c.S += ev.level
	c.K += ev.known
	for d := range numDims {
		x := &c.Arms[d][ev.arms[d]]
		x.N++
		x.S += ev.y[d]
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

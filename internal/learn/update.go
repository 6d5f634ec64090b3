package learn

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

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
// A user's evidence is forgotten by count (UserDiscount per later outcome
// of the user), so a user who pauses for a month finds the model as it
// was; the population's by time: the delta carries in.Now's epoch (see
// MergePopulation). A zero in.Now is epoch 0, which weighs nothing next to
// outcomes of this century.
func (e *Engine) Learn(in *amp.LearnInput) (*amp.Learned, error) {
	dec, o := in.Decision, in.Outcome
	if dec == nil || o == nil {
		return nil, errors.New("learn: Learn needs a decision and an outcome")
	}
	arms, err := armsOf(dec.Recommendation)
	if err != nil {
		return nil, err
	}
	tk := e.kind(dec.TaskType, "")
	cx := complexityIndex(dec.TaskComplexity)
	// Only the cells of this context are decoded.
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
	pdelta := populationDelta{task: tk, complexity: cx, epoch: epochOf(in.Now)}

	r := Reward(o)
	if e.cfg.LegacyReward {
		r = legacyReward(o)
	}
	succ, known := success(o)
	out := &amp.Learned{User: in.User, Reward: r}
	if u != nil {
		pred := est.userLevel + est.ctxOffset
		for d := range numDims {
			pred += est.mean[d][arms[d]]
		}
		pdelta.noise = e.noiseSample(u)
		pdelta.resid = r - pred
		pdelta.tauK, pdelta.tauX = e.spreadSample(u, &est, arms)
		pdelta.cov = e.covSampleOf(u, &est)
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

// MergePopulation folds the deltas Learn returned into the population.
//
// The population's cells are sums, over outcomes, of evidence weighted by
// the outcome's age: an outcome of epoch e (hours since the Unix epoch,
// from LearnInput.Now) weighs 2^(-(O-e)/PopulationHalfLife), where O, the
// population's origin, is the latest epoch of any outcome merged so far.
// When a delta is newer than O, the sums are first scaled to the new
// origin. Each outcome's contribution to the final state is therefore its
// evidence times 2^(-(O_final-e)/h) whatever the order of merging, the
// batches, or how often a delta's neighbours were merged before it; sums
// commute, so any order of the same deltas gives the same state up to
// float64 rounding (TestMergeIsOrderIndependent). The noise estimate is a
// weighted count and sum of squares the same way.
//
// A population without a time of its own (empty, read from format version
// 1, or built only from deltas of a zero LearnInput.Now) takes the newest
// delta's epoch as its origin without ageing what it holds; a caller that
// mixes zero and real times therefore gets an order-dependent weight for
// the zero-time deltas (the service always passes the time).
//
// One exception: a population holds at most MaxPopulationTaskTypes task
// kinds. Once full, a delta of a new kind teaches the global and
// complexity cells only, so which kinds hold cells depends on which came
// first; a tenant using at most that many kinds never meets it.
func (e *Engine) MergePopulation(population []byte, deltas [][]byte) ([]byte, error) {
	if len(deltas) == 0 {
		return population, nil
	}
	ds := make([]populationDelta, len(deltas))
	newest := int32(math.MinInt32)
	for i, b := range deltas {
		if err := ds[i].decode(b); err != nil {
			return nil, err
		}
		newest = max(newest, ds[i].epoch)
	}
	p, err := decodePopulation(population, nil)
	if err != nil {
		return nil, fmt.Errorf("population: %w", err)
	}
	lambda := math.Ln2 / e.cfg.PopulationHalfLife
	if p.Outcomes == 0 || p.Origin == 0 {
		// An empty population, or one whose outcomes carry no time (a
		// format version 1 population, or only zero-time deltas): its
		// evidence is taken to be as of the newest delta.
		p.Origin = newest
	} else if newest > p.Origin {
		f := math.Exp(-lambda * float64(int64(newest)-int64(p.Origin)))
		for _, c := range p.cells() {
			c.scale(f)
		}
		p.NoiseN *= f
		p.NoiseSS *= f
		p.TauN *= f
		p.TauS *= f
		for k := range numCov {
			p.CovN[k] *= f
			p.CovS[k] *= f
		}
		p.Origin = newest
	}
	for i := range ds {
		d := &ds[i]
		w := math.Exp(-lambda * float64(int64(p.Origin)-int64(d.epoch)))
		p.Outcomes++
		if d.noise {
			p.NoiseN += w
			p.NoiseSS += w * d.resid * d.resid
		}
		p.TauN += w * d.tauK
		p.TauS += w * d.tauX
		p.addCov(&d.cov, w)
		d.ev.addWeighted(&p.Global, w)
		if d.task != "" {
			c := p.task(d.task)
			if c == nil && len(p.Tasks) < MaxPopulationTaskTypes {
				p.Tasks = append(p.Tasks, taskCell{Key: d.task})
				c = &p.Tasks[len(p.Tasks)-1]
			}
			if c != nil {
				d.ev.addWeighted(&c.cell, w)
			}
		}
		if d.complexity >= 0 {
			d.ev.addWeighted(&p.Cx[d.complexity], w)
		}
	}
	// Task cells in key order, so that the bytes do not depend on the
	// order kinds first arrived in.
	slices.SortFunc(p.Tasks, func(a, b taskCell) int { return strings.Compare(a.Key, b.Key) })
	return p.encode(), nil
}

// epochOf is t's epoch for the population's weights: whole hours since the
// Unix epoch, 0 for the zero time, within int32.
func epochOf(t time.Time) int32 {
	if t.IsZero() {
		return 0
	}
	h := t.Unix() / 3600
	return int32(max(math.MinInt32, min(math.MaxInt32, h)))
}

// spreadSample estimates, from u's evidence before this outcome, how far
// the user's effects lie from the population's, for the estimate of the
// shrinkage (Engine.userPrior). For each dimension whose chosen option the
// user has tried at least minSpreadN times, among at least
// 2·minSpreadN outcomes, δ is the user's mean reward with the option less
// the user's mean overall, minus the same contrast of the population's
// effects (so the user's level cancels); under the model E[δ²] =
// (1-1/numArms)·τ² + σ²(1/n_a − 1/N), and the sample is δ² less the noise
// term, divided by (1-1/numArms). It returns the number of samples and
// their sum.
func (e *Engine) spreadSample(u *userState, est *estimate, arms [numDims]int) (k, sum float64) {
	ug := &u.Global
	f := pow(e.cfg.UserDiscount, u.Seq-ug.Seq)
	n := f * ug.N
	if n < 2*minSpreadN {
		return 0, 0
	}
	mean := f * ug.S / n
	for d := range numDims {
		x := &ug.Arms[d][arms[d]]
		na := f * x.N
		if na < minSpreadN || na >= n {
			continue
		}
		popContrast := est.ep[d][arms[d]]
		for j := range numArms {
			popContrast -= f * ug.Arms[d][j].N / n * est.ep[d][j]
		}
		delta := (f*x.S/na - mean) - popContrast
		sample := (delta*delta - est.sigma2*(1/na-1/n)) / (1 - 1.0/numArms)
		k++
		sum += sample
	}
	return k, sum
}

// minSpreadN is the fewest outcomes with an option that make a sample of
// the spread.
const minSpreadN = 4.0

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

// addWeighted adds the evidence with weight w to a population cell.
func (ev *evidence) addWeighted(c *cell, w float64) {
	c.N += w
	c.S += w * ev.reward
	c.K += w * ev.known
	for d := range numDims {
		x := &c.Arms[d][ev.arms[d]]
		x.N += w
		x.S += w * ev.reward
		x.C += w * ev.success
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

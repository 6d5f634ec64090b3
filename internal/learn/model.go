package learn

import "math"

// Fixed priors: a neutral reward level of 0.5 worth levelPrior outcomes,
// and popEffectPrior outcomes of "no effect" in the population's estimate
// of each option.
const (
	popEffectPrior = 2.0
	// confidenceEvidence is the number of the user's own outcomes with an
	// option at which it counts for half of its evidence share (see
	// confidence).
	confidenceEvidence = 7.0
)

// estimate is the model's view of one context: each option's effect on the
// reward, relative to the user's level, with its posterior variance.
type estimate struct {
	mean, vr [numDims][numArms]float64
	// ep is the population's overall effect, eu the user's, ctxEff the
	// population's offsets dt+dc of the context.
	ep, eu, ctxEff [numDims][numArms]float64
	sigma2         float64
	// Levels: the population's and the user's (the reward the options'
	// effects do not explain), and the population's offset of the context.
	popLevel, userLevel, ctxOffset float64
	personal                       bool
	// The cells behind the estimate, for the rationale: the user's and the
	// population's global, task-type and complexity cells (nil if absent).
	userCells, popCells [3]evidenceCell
}

// evidenceCell is a cell with its lazy discount factor.
type evidenceCell struct {
	c *cell
	f float64
}

// pow is the lazy discount of a cell last updated `age` updates ago.
func pow(d float64, age uint32) float64 {
	switch {
	case age == 0 || d == 1:
		return 1
	case age == 1:
		return d
	}
	return math.Pow(d, float64(age))
}

// estimateFor computes the model of context (tk, cx). u is nil for the
// population's view (holdout).
//
// The model is additive: a reward is a level plus one effect per dimension
// plus noise. Per option, the population's overall effect ep is the mean of
// its samples shrunk to zero by popEffectPrior outcomes; its task-type and
// complexity cells give offsets dt and dc shrunk to zero by
// PopulationContextPrior outcomes. A user's overall effect eu is the
// posterior mean under a prior centred on ep whose weight is
// k' = 1/(1/k_d + 1/(n_pop+popEffectPrior)) outcomes: k_d = σ²/τ²_d for the
// spread τ²_d of users around the population (estimated by the population,
// see learnPriors), lowered while the population itself knows little of the
// option. A manual preference adds its pseudo-outcomes. The user's
// task-type and complexity cells hold the user's own deviations there,
// shrunk to zero by ContextPrior outcomes. The effect in the context is
// eu + (eut-eu) + (euc-eu) + dt + dc, so evidence about debugging tasks and
// about hard tasks combines for hard debugging tasks, and the population's
// context offsets apply to every user from the first request. Variances
// add the same way.
func (e *Engine) estimateFor(u *userState, p *popState, tk string, cx int, est *estimate) {
	cfg := &e.cfg
	levelPrior := cfg.LevelPrior
	sigma2 := e.noiseVar(p)
	est.sigma2 = sigma2

	pg := &p.Global
	fg := pow(cfg.PopulationDiscount, p.Seq-pg.Seq)
	lp := (fg*pg.S + levelPrior*0.5) / (fg*pg.N + levelPrior)
	est.popLevel = lp
	est.userCells = [3]evidenceCell{}
	est.popCells = [3]evidenceCell{{c: pg, f: fg}}
	var popVar, ctxVar [numDims][numArms]float64
	for d := range numDims {
		for a := range numArms {
			x := &pg.Arms[d][a]
			n := fg * x.N
			est.ep[d][a] = fg * x.S / (n + popEffectPrior)
			popVar[d][a] = sigma2 / (n + popEffectPrior)
			est.ctxEff[d][a] = 0
		}
	}
	kpc := cfg.PopulationContextPrior
	popCtx := func(c *cell, slot int) (levelOffset float64) {
		f := pow(cfg.PopulationDiscount, p.Seq-c.Seq)
		est.popCells[slot] = evidenceCell{c: c, f: f}
		level := (f*c.S + levelPrior*lp) / (f*c.N + levelPrior)
		for d := range numDims {
			for a := range numArms {
				x := &c.Arms[d][a]
				n := f * x.N
				est.ctxEff[d][a] += (f*x.S - n*est.ep[d][a]) / (n + kpc)
				ctxVar[d][a] += sigma2 / (n + kpc)
			}
		}
		return level - lp
	}
	est.ctxOffset = 0
	if cx >= 0 && p.Cx[cx].N > 0 {
		est.ctxOffset += popCtx(&p.Cx[cx], 2)
	}
	if tk != "" {
		if pt := p.task(tk); pt != nil {
			est.ctxOffset += popCtx(&pt.cell, 1)
		}
	}

	if u == nil {
		est.personal = false
		est.userLevel = lp
		for d := range numDims {
			for a := range numArms {
				est.eu[d][a] = est.ep[d][a]
				est.mean[d][a] = est.ep[d][a] + est.ctxEff[d][a]
				est.vr[d][a] = popVar[d][a] + ctxVar[d][a]
			}
		}
		return
	}
	est.personal = true

	kc := cfg.ContextPrior
	gu := cfg.UserDiscount
	ug := &u.Global
	fu := pow(gu, u.Seq-ug.Seq)
	lu := lp + (fu*ug.S-fu*ug.N*lp)/(fu*ug.N+levelPrior)
	est.userLevel = lu
	est.userCells[0] = evidenceCell{c: ug, f: fu}
	for d := range numDims {
		ku := e.userPrior(p, d)
		m := &u.Manual[d]
		mw := 0.0
		if m.Arm >= 0 {
			mw = m.Weight * pow(gu, u.Seq-m.Seq)
		}
		for a := range numArms {
			x := &ug.Arms[d][a]
			n := fu * x.N
			k := 1 / (1/ku + popVar[d][a]/sigma2)
			num := fu*x.S - n*lu
			den := n
			if int(m.Arm) == a {
				num += mw * m.Effect
				den += mw
			}
			est.eu[d][a] = (num + k*est.ep[d][a]) / (den + k)
			est.mean[d][a] = est.eu[d][a] + est.ctxEff[d][a]
			est.vr[d][a] = sigma2/(den+k) + ctxVar[d][a]
		}
	}
	userCtx := func(c *cell, slot int) {
		f := pow(gu, u.Seq-c.Seq)
		est.userCells[slot] = evidenceCell{c: c, f: f}
		level := lu + (f*c.S-f*c.N*lu)/(f*c.N+levelPrior)
		for d := range numDims {
			for a := range numArms {
				x := &c.Arms[d][a]
				n := f * x.N
				eu := est.eu[d][a]
				est.mean[d][a] += (f*x.S-n*level+kc*eu)/(n+kc) - eu
				est.vr[d][a] += sigma2 / (n + kc)
			}
		}
	}
	noUserData := func() {
		for d := range numDims {
			for a := range numArms {
				est.vr[d][a] += sigma2 / kc
			}
		}
	}
	if tk != "" {
		if ut := u.task(tk); ut != nil {
			userCtx(&ut.cell, 1)
		} else {
			noUserData()
		}
	}
	if cx >= 0 {
		if u.Cx[cx].N > 0 {
			userCtx(&u.Cx[cx], 2)
		} else {
			noUserData()
		}
	}
}

// Empirical Bayes: the population estimates the reward noise σ² and, per
// dimension, the weight k_d of the population in a user's estimates. Both
// are used once they rest on minVarSamples samples; before, the configured
// NoiseVar and UserPrior.
const (
	minVarSamples = 300
	varRate       = 1.0 / 3000 // the running estimates' memory, in samples
)

// priorGrid are the candidate weights k of the population in a user's
// estimates, in outcomes (see learnPriors).
var priorGrid = [numPriors]float64{2, 3, 5, 8, 12, 18, 27, 40}

const numPriors = 8

func (e *Engine) noiseVar(p *popState) float64 {
	if p.NoiseN >= minVarSamples {
		return math.Max(p.NoiseVar, 0.005)
	}
	return e.cfg.NoiseVar
}

// userPrior is the population's weight, in outcomes, in a user's estimate
// of dimension d's effects: the candidate with the least running squared
// prediction error.
func (e *Engine) userPrior(p *popState, d int) float64 {
	if p.PriorN < minVarSamples {
		return e.cfg.UserPrior
	}
	best := 0
	for j := 1; j < numPriors; j++ {
		if p.PriorMSE[d][j] < p.PriorMSE[d][best] {
			best = j
		}
	}
	return priorGrid[best]
}

// policy is the exploration policy of one estimate: per dimension, the
// probability of each option. Choices are independent across dimensions,
// so a joint recommendation's propensity is the product of its options'
// probabilities, exactly.
type policy struct {
	prob  [numDims][numArms]float64 // what the policy samples from
	pbest [numDims][numArms]float64 // posterior probability of being the best option
	best  [numDims]int              // option with the highest posterior mean
}

// policyFor computes the policy of est. Each dimension samples option a
// with probability (1-Floor)·P̂(a is best) + Floor/4, where P̂ approximates
// Thompson sampling's probability matching in closed form: the product,
// over the other options j, of P(effect_a > effect_j) under the Gaussian
// posteriors with standard deviations scaled by Temper, renormalised.
// Unlike sampled Thompson draws, this gives every recommendation an exact
// propensity. pbest is the same probability without tempering: the
// posterior probability that an option is the best.
func (e *Engine) policyFor(est *estimate, pol *policy) {
	t2 := e.cfg.Temper * e.cfg.Temper
	floor := e.cfg.Floor
	for d := range numDims {
		pol.best[d] = argmax(&est.mean[d])
		matchProb(&est.mean[d], &est.vr[d], 1, &pol.pbest[d])
		matchProb(&est.mean[d], &est.vr[d], t2, &pol.prob[d])
		for a := range numArms {
			pol.prob[d][a] = (1-floor)*pol.prob[d][a] + floor/numArms
		}
	}
}

func argmax(v *[numArms]float64) int {
	b := 0
	for a := 1; a < numArms; a++ {
		if v[a] > v[b] {
			b = a
		}
	}
	return b
}

// matchProb sets out[a] ∝ Π_{j≠a} Φ((μa-μj)/sqrt(scale·(va+vj))).
func matchProb(mu, vr *[numArms]float64, scale float64, out *[numArms]float64) {
	var lp [numArms]float64
	for a := range numArms {
		for j := a + 1; j < numArms; j++ {
			s := math.Sqrt(scale * (vr[a] + vr[j]))
			z := 0.0
			if s > 0 {
				z = (mu[a] - mu[j]) / s
			}
			if math.IsNaN(z) {
				z = 0
			}
			lp[a] += logPhi(z)
			lp[j] += logPhi(-z)
		}
	}
	m := lp[0]
	for a := 1; a < numArms; a++ {
		m = math.Max(m, lp[a])
	}
	sum := 0.0
	for a := range numArms {
		out[a] = math.Exp(lp[a] - m)
		sum += out[a]
	}
	for a := range numArms {
		out[a] /= sum
	}
}

// logPhi is log Φ(z), the standard normal log-CDF, for |z| ≤ 30.
func logPhi(z float64) float64 {
	z = math.Max(-30, math.Min(30, z))
	return math.Log(0.5 * math.Erfc(-z/math.Sqrt2))
}

// confidence of option a of dimension d: half the posterior probability
// that a is the user's best option in the context, half the share of
// evidence about a that is the user's own, n/(n+confidenceEvidence) for
// the user's discounted count n of outcomes with a. The first half says how
// decisive the model is, the second how much of it rests on this user
// rather than on similar users: a new user gets about 0.2 to 0.4, a user
// with 20 outcomes with the options recommended about 0.6 to 0.7, and
// holdout users, who are not personalised, at most 0.5.
func confidence(est *estimate, pol *policy, d, a int) float64 {
	share := 0.0
	if est.personal {
		if ec := est.userCells[0]; ec.c != nil {
			n := ec.f * ec.c.Arms[d][a].N
			share = n / (n + confidenceEvidence)
		}
	}
	return 0.5*pol.pbest[d][a] + 0.5*share
}

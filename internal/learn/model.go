package learn

import "math"

// Fixed priors of the population's own estimates: a neutral reward level
// of 0.5 worth one outcome, and popEffectPrior outcomes of "no effect" in
// its estimate of each option.
const (
	popLevelPrior  = 1.0
	popEffectPrior = 30.0
)

// estimate is the model's view of one context: each option's effect on the
// reward, relative to the user's level, with its posterior variance.
type estimate struct {
	mean, vr [numDims][numArms]float64
	// vpop is the part of vr that is the population's own uncertainty
	// about its estimates; the policy does not temper it.
	vpop [numDims][numArms]float64
	// ep is the population's overall effect, eu the user's, ctxEff the
	// population's offsets of the context (task type plus complexity).
	ep, eu, ctxEff [numDims][numArms]float64
	// uvar is the variance of eu, the user's overall effects.
	uvar   [numDims][numArms]float64
	sigma2 float64
	// Levels: the population's and the user's (what the user's outcomes
	// are worth whatever is recommended), and the population's level
	// offset of the context. The prediction for a recommendation is
	// userLevel + ctxOffset + Σ_d mean[d][a_d].
	popLevel, userLevel, ctxOffset float64
	personal                       bool
	surprise, shortfall            float64 // the user's, 0 for the population
	// The cells behind the estimate, for the rationale and confidence: the
	// user's and the population's global, task-type and complexity cells.
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

// fit is the additive model of one cell: rewards are
// level + Σ_d (base[d][a_d] + x[d][a_d]) + noise, with the base known and the
// level and x unknown, each with a Gaussian prior (centre, weight in
// outcomes).
type fit struct {
	levelPrior, levelWeight float64
	base, prior, weight     *[numDims][numArms]float64
	level                   float64
	x                       [numDims][numArms]float64
}

// solve finds the posterior mode of the cell's level and effects, with the
// cell's counts scaled by its discount f. A cell stores per option only its
// count n_a and reward sum R_a, not which options came together, so the
// normal equations take the other dimensions' options as drawn
// independently of this one (the engine's policy draws them
// independently). They then have a closed form. With N outcomes of reward
// sum S, m_d = Σ_a n_a(base+x)_da / N and M = Σ_d m_d:
//
//	x_da = (R_a - n_a(L + M - m_d + base_da) + w_da·prior_da) / (n_a + w_da)
//	L    = (S - N·M + wL·levelPrior) / (N + wL)
//
// Substituting x into m_d gives m_d(1-B_d) = β_d + A_d - B_d(L+M), with
// A_d = Σ_a n_a(R_a - n_a·base_da + w·prior_da)/((n_a+w)N),
// B_d = Σ_a n_a²/((n_a+w)N) < 1 and β_d = Σ_a n_a·base_da/N; summing over
// d leaves two linear equations in L and M. Because level and effects are
// solved together from raw sums, an option that keeps failing is blamed in
// proportion to the prior weights of the level and of the option, whatever
// the model believed when the outcomes came in.
func (m *fit) solve(c *cell, f float64) {
	n := f * c.N
	if n <= 1e-9 {
		m.level = m.levelPrior
		m.x = *m.prior
		return
	}
	var a, b [numDims]float64
	sa, sb := 0.0, 0.0
	for d := range numDims {
		ad, bd, beta := 0.0, 0.0, 0.0
		for k := range numArms {
			x := &c.Arms[d][k]
			na, w := f*x.N, m.weight[d][k]
			ad += na * (f*x.S - na*m.base[d][k] + w*m.prior[d][k]) / (na + w)
			bd += na * na / (na + w)
			beta += na * m.base[d][k]
		}
		ad, bd, beta = ad/n, bd/n, beta/n
		a[d] = (beta + ad) / (1 - bd)
		b[d] = bd / (1 - bd)
		sa += a[d]
		sb += b[d]
	}
	wl := m.levelWeight
	rhs := (f*c.S + wl*m.levelPrior) / (n + wl)
	mm := (sa - sb*rhs) / (1 + sb*wl/(n+wl))
	m.level = rhs - n*mm/(n+wl)
	for d := range numDims {
		md := a[d] - b[d]*(m.level+mm)
		for k := range numArms {
			x := &c.Arms[d][k]
			na, w := f*x.N, m.weight[d][k]
			m.x[d][k] = (f*x.S - na*(m.level+mm-md+m.base[d][k]) + w*m.prior[d][k]) / (na + w)
		}
	}
}

// estimateFor computes the model of context (tk, cx). u is nil for the
// population's view (holdout).
//
// The model is additive: a reward is a level plus one effect per dimension
// plus noise. The population fits its overall level and effects ep (shrunk
// to no effect by popEffectPrior outcomes) from all its outcomes, and the
// level and effect offsets of a task type or complexity from that context's
// outcomes (shrunk to none by PopulationContextPrior outcomes). A user's
// global cell holds the user's rewards minus the population's context
// offsets; its effects eu have a prior centred on ep with weight
// k = 1/(1/UserPrior + 1/(n_pop+popEffectPrior)) outcomes (less while the
// population itself knows little of the option), its level a prior centred
// on the population's with weight LevelPrior. A manual preference adds its
// pseudo-outcomes to one option's prior. The user's task-type and
// complexity cells fit the user's deviations there, shrunk to none by
// ContextPrior outcomes. The effect in the context is
// eu + (user's deviations) + (population's offsets): evidence about
// debugging tasks and about hard tasks combines for hard debugging tasks,
// and the population's context offsets apply to every user from the first
// request. Variances add the same way. Once the population has estimated
// the covariance of users' effects across options, the user's overall
// effects are conditioned on it (see Engine.correlated), so evidence about
// one option moves the options users' tastes tie to it.
func (e *Engine) estimateFor(u *userState, p *popState, tk string, cx int, est *estimate) {
	cfg := &e.cfg
	sigma2 := e.noiseVar(p)
	est.sigma2 = sigma2
	est.userCells = [3]evidenceCell{}
	est.popCells = [3]evidenceCell{}
	var zero, popW, ctxW [numDims][numArms]float64
	for d := range numDims {
		for a := range numArms {
			popW[d][a] = popEffectPrior
			ctxW[d][a] = cfg.PopulationContextPrior
		}
	}

	// The population.
	pg := &p.Global
	const fg = 1.0 // the population's cells are weighted when merged
	est.popCells[0] = evidenceCell{c: pg, f: fg}
	g := fit{levelPrior: 0.5, levelWeight: popLevelPrior, base: &zero, prior: &zero, weight: &popW}
	g.solve(pg, fg)
	est.popLevel = g.level
	est.ep = g.x
	var popVar, ctxVar [numDims][numArms]float64
	for d := range numDims {
		for a := range numArms {
			popVar[d][a] = sigma2 / (fg*pg.Arms[d][a].N + popEffectPrior)
			est.ctxEff[d][a] = 0
		}
	}
	est.ctxOffset = 0
	popCtx := func(c *cell, slot int) {
		const f = 1.0
		est.popCells[slot] = evidenceCell{c: c, f: f}
		m := fit{levelPrior: est.popLevel, levelWeight: cfg.LevelPrior, base: &est.ep, prior: &zero, weight: &ctxW}
		m.solve(c, f)
		est.ctxOffset += m.level - est.popLevel
		for d := range numDims {
			for a := range numArms {
				est.ctxEff[d][a] += m.x[d][a]
				ctxVar[d][a] += sigma2 / (f*c.Arms[d][a].N + ctxW[d][a])
			}
		}
	}
	if cx >= 0 && p.Cx[cx].N > 0 {
		popCtx(&p.Cx[cx], 2)
	}
	if tk != "" {
		if pt := p.task(tk); pt != nil {
			popCtx(&pt.cell, 1)
		}
	}

	if u == nil {
		est.personal = false
		est.surprise, est.shortfall = 0, 0
		est.userLevel = est.popLevel
		for d := range numDims {
			for a := range numArms {
				est.eu[d][a] = est.ep[d][a]
				est.mean[d][a] = est.ep[d][a] + est.ctxEff[d][a]
				est.vr[d][a] = popVar[d][a] + ctxVar[d][a]
				est.vpop[d][a] = est.vr[d][a]
			}
		}
		return
	}
	est.personal = true
	est.surprise, est.shortfall = u.Surprise, u.Shortfall

	// The user, overall.
	userPrior := e.userPrior(p, sigma2)
	gu := cfg.UserDiscount
	ug := &u.Global
	fu := pow(gu, u.Seq-ug.Seq)
	est.userCells[0] = evidenceCell{c: ug, f: fu}
	var prior, weight [numDims][numArms]float64
	manual := false
	for d := range numDims {
		for a := range numArms {
			prior[d][a] = est.ep[d][a]
			weight[d][a] = 1 / (1/userPrior + popVar[d][a]/sigma2)
		}
		manual = manual || u.Manual[d].Arm >= 0
	}
	um := fit{levelPrior: est.popLevel, levelWeight: cfg.LevelPrior, base: &zero, prior: &prior, weight: &weight}
	um.solve(ug, fu)
	if manual {
		// A manual preference replaces the population's opinion of its
		// option: a prior, worth the population's weight plus the
		// preference's (decaying) pseudo-outcomes, that in this context it
		// is Margin better than the best other option is for this user.
		// The user's own outcomes with it can still pull it down.
		for d := range numDims {
			m := &u.Manual[d]
			if m.Arm < 0 {
				continue
			}
			a := int(m.Arm)
			best := math.Inf(-1)
			for j := range numArms {
				if j != a {
					best = math.Max(best, um.x[d][j]+est.ctxEff[d][j])
				}
			}
			prior[d][a] = best + m.Margin - est.ctxEff[d][a]
			weight[d][a] += m.Weight * pow(gu, u.Seq-m.Seq)
		}
		um.solve(ug, fu)
	}
	est.userLevel = um.level
	est.eu = um.x
	var userVar [numDims][numArms]float64
	for d := range numDims {
		for a := range numArms {
			userVar[d][a] = sigma2 / (fu*ug.Arms[d][a].N + weight[d][a])
		}
	}
	if !manual {
		e.correlated(p, ug, fu, sigma2, &weight, est, &userVar)
	}
	est.uvar = userVar
	for d := range numDims {
		for a := range numArms {
			est.mean[d][a] = est.eu[d][a] + est.ctxEff[d][a]
			est.vr[d][a] = userVar[d][a] + ctxVar[d][a]
			// The population's uncertainty reaches the user's estimate in
			// proportion to the prior's share of it.
			share := weight[d][a] / (fu*ug.Arms[d][a].N + weight[d][a])
			if int(u.Manual[d].Arm) == a {
				share = 0 // the manual preference replaced the population's opinion
			}
			est.vpop[d][a] = share*share*popVar[d][a] + ctxVar[d][a]
		}
	}

	// The user's deviations in the context.
	var userW [numDims][numArms]float64
	for d := range numDims {
		for a := range numArms {
			userW[d][a] = cfg.ContextPrior
		}
	}
	userCtx := func(c *cell, slot int) {
		f := pow(gu, u.Seq-c.Seq)
		est.userCells[slot] = evidenceCell{c: c, f: f}
		m := fit{levelPrior: est.userLevel, levelWeight: cfg.LevelPrior, base: &est.eu, prior: &zero, weight: &userW}
		m.solve(c, f)
		for d := range numDims {
			for a := range numArms {
				est.mean[d][a] += m.x[d][a]
				est.vr[d][a] += sigma2 / (f*c.Arms[d][a].N + userW[d][a])
			}
		}
	}
	noUserData := func() {
		for d := range numDims {
			for a := range numArms {
				est.vr[d][a] += sigma2 / cfg.ContextPrior
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

// The population estimates the reward noise σ² once it has minVarSamples
// (weighted) samples of it; before, the engine uses the configured
// NoiseVar.
const minVarSamples = 300

// userPrior is the population's weight, in outcomes, in a user's estimate
// of an option's effect: σ²/τ², τ² the variance of users' effects around
// the population's, estimated from the tenant's own outcomes (see
// Engine.spreadSample) once it has minSpreadSamples samples and clamped to
// [minUserPrior, maxUserPrior]; until then, and with
// Config.FixedShrinkage, Config.UserPrior. A tenant whose users differ
// little shrinks them hard to the population's view; one whose users
// differ much lets their own outcomes count early.
func (e *Engine) userPrior(p *popState, sigma2 float64) float64 {
	if p.TauN < minSpreadSamples || e.cfg.FixedShrinkage {
		return e.cfg.UserPrior
	}
	tau2 := p.TauS / p.TauN
	if tau2 <= sigma2/maxUserPrior {
		return maxUserPrior
	}
	return math.Max(minUserPrior, sigma2/tau2)
}

// Bounds of the estimated user prior, in outcomes, and the samples it
// needs.
const (
	minUserPrior     = 2.0
	maxUserPrior     = 40.0
	minSpreadSamples = 300.0
)

func (e *Engine) noiseVar(p *popState) float64 {
	if p.NoiseN >= minVarSamples {
		return math.Max(p.NoiseSS/p.NoiseN, 0.005)
	}
	return e.cfg.NoiseVar
}

// policy is the exploration policy of one estimate: per dimension, the
// probability of each option. Choices are independent across dimensions,
// so a joint recommendation's propensity is the product of its options'
// probabilities, exactly.
type policy struct {
	prob  [numDims][numArms]float64 // what the policy samples from
	pbest [numDims][numArms]float64 // posterior probability of being the best option
	best  [numDims]int              // option with the highest posterior mean
	alarm float64                   // how far surprise widened exploration, 0 to 1
}

// Surprise. Outcomes that keep falling short of predictions mean the
// model's best guess is wrong for this user: taste changed, or differs from
// similar users' in a way the prior hides. Two running means (rate
// surpriseRate) of the user's standardised prediction errors watch for it:
// Surprise against the user's own model, which catches a change of taste,
// and Shortfall against what the population expects from the same
// recommendations, which catches a user the options tried so far fail
// (whose low level the user's model would otherwise take as the user's
// nature). While the model fits, each is about N(0, 0.33²). Below
// -surpriseStart (over two standard deviations), or Shortfall below
// -shortfallStart, the policy's tempering gives way, linearly until
// -surpriseFull or -shortfallFull, to plain probability matching, which
// tries the options the user's evidence has not ruled out, and the user's
// old evidence is forgotten faster (alarmForgetting). Users the model fits,
// the vast majority, keep the greedier policy and their memory.
const (
	surpriseRate   = 0.2
	surpriseStart  = 0.75
	surpriseFull   = 1.5
	shortfallStart = 1.0
	shortfallFull  = 2.0
	maxSurprise    = 4
	// alarmForgetting is the extra share of a surprised user's evidence
	// forgotten per outcome at full alarm, on top of UserDiscount.
	alarmForgetting = 0.15
)

func alarm(surprise, shortfall float64) float64 {
	a := (-surprise - surpriseStart) / (surpriseFull - surpriseStart)
	b := (-shortfall - shortfallStart) / (shortfallFull - shortfallStart)
	return math.Max(0, math.Min(1, math.Max(a, b)))
}

// policyFor computes the policy of est. Each dimension samples option a
// with probability (1-Floor)·P̂(a is best) + Floor/4, where P̂ approximates
// Thompson sampling's probability matching in closed form: the product,
// over the other options j, of P(effect_a > effect_j) under the Gaussian
// posteriors, renormalised. The user's own uncertainty is tempered (its
// standard deviation scaled by Temper): over a few tens of interactions,
// exploring for one user rarely pays. The population's uncertainty about
// its own estimates is not: exploring an option the population knows
// little about costs each user little and teaches every later user, and an
// option that started unluckily would otherwise never be tried again.
// Unlike sampled Thompson draws, this gives every recommendation an exact
// propensity. pbest is the same probability without tempering: the
// posterior probability that an option is the best. A surprised user's
// tempering is relaxed (see alarm).
func (e *Engine) policyFor(est *estimate, pol *policy) {
	t := e.cfg.Temper
	pol.alarm = alarm(est.surprise, est.shortfall)
	t += (1 - t) * pol.alarm
	t2 := t * t
	pt := e.cfg.PopulationTemper
	pt += (1 - pt) * pol.alarm
	pt2 := pt * pt
	floor := e.cfg.Floor
	for d := range numDims {
		pol.best[d] = argmax(&est.mean[d])
		matchProb(&est.mean[d], &est.vr[d], 1, &pol.pbest[d])
		var v [numArms]float64
		for a := range numArms {
			vp := math.Min(est.vpop[d][a], est.vr[d][a])
			v[a] = t2*(est.vr[d][a]-vp) + pt2*vp
		}
		matchProb(&est.mean[d], &v, 1, &pol.prob[d])
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

// confidenceEvidence is the number of the user's own outcomes with an
// option at which they count for half of its evidence share.
const confidenceEvidence = 7.0

// confidenceFloor is the confidence of a model that knows nothing: the
// bottom of the band the documentation gives for cold start (0.2 to 0.4).
const confidenceFloor = 0.2

// confidenceDecisive is the weight of the posterior's decisiveness in the
// confidence, the rest being the user's own share of the evidence: a
// quarter, so that what similar users taught lifts a new user's confidence
// to the top of the cold-start band (0.4) and no further.
const confidenceDecisive = 0.25

// confidence of option a of dimension d maps two certainties into
// [confidenceFloor, 1]: how decisive the posterior is, the probability that
// a is the user's best option in the context above the 1/numArms of a
// blind guess (rescaled to [0, 1]), weighted confidenceDecisive; and how
// much of the evidence about a is the user's own rather than similar
// users', n/(n+confidenceEvidence) for the user's discounted count n of
// outcomes with a, weighted the rest. A model that knows nothing gives the
// floor, 0.2; a new user at most 0.4 however clear the population's
// favourite, the top of the documented cold-start band; above it the value
// rises by confidenceSlope of the evidence, so a user with 5 to 20
// outcomes with the options recommended gets about 0.5 to 0.7, and more
// from then on. Holdout users, who are not personalised, stay at most at
// 0.4.
func confidence(est *estimate, pol *policy, d, a int) float64 {
	share := 0.0
	if est.personal {
		if ec := est.userCells[0]; ec.c != nil {
			n := ec.f * ec.c.Arms[d][a].N
			share = n / (n + confidenceEvidence)
		}
	}
	const blind = 1.0 / numArms
	decisive := math.Max(0, (pol.pbest[d][a]-blind)/(1-blind))
	c := confidenceFloor + (1-confidenceFloor)*(confidenceDecisive*decisive+(1-confidenceDecisive)*share)
	if c > confidenceKnee {
		// Above the cold-start band, the share of recommended options that
		// are the user's best grows more slowly than the evidence: on the
		// populations the engine was tuned on, by about 0.8 of it.
		c = confidenceKnee + confidenceSlope*(c-confidenceKnee)
	}
	return c
}

// confidenceKnee is the top of the cold-start band, above which
// confidence rises by confidenceSlope of the evidence's share, so that it
// reads as the probability that the option is the user's best (see the
// reliability table of amp simulate).
const (
	confidenceKnee  = 0.4
	confidenceSlope = 0.8
)

// correlated conditions the user's effects est.eu and their variances on
// the population's estimated covariance of users' effects (see
// Engine.priorCov and condition), when it has one.
func (e *Engine) correlated(p *popState, ug *cell, fu, sigma2 float64, weight *[numDims][numArms]float64, est *estimate, userVar *[numDims][numArms]float64) {
	var prior, n, x, ep, mean, vr [numOpts]float64
	for d := range numDims {
		for a := range numArms {
			i := d*numArms + a
			prior[i] = sigma2 / weight[d][a]
			n[i] = fu * ug.Arms[d][a].N
			x[i] = est.eu[d][a]
			ep[i] = est.ep[d][a]
		}
	}
	var pm [numOpts][numOpts]float64
	if !e.priorCov(p, &prior, &pm) {
		return
	}
	if !condition(&pm, &prior, &n, &x, &ep, sigma2, &mean, &vr) {
		return
	}
	for d := range numDims {
		for a := range numArms {
			i := d*numArms + a
			est.eu[d][a] = mean[i]
			userVar[d][a] = vr[i]
		}
	}
}

package learn

import "math"

// The population's covariance of users' effects. Each option of each
// dimension is one coordinate of a user's effect vector (numOpts of them);
// the population keeps, per pair of coordinates, the weighted count and sum
// of samples of the product of two users' deviations from its own effects
// (see Engine.covSampleOf), so a user's outcomes with one option inform the
// estimate of the options that users like them also like or dislike, in
// every dimension. The sums merge in any order like the cells'.
const (
	numOpts = numDims * numArms
	numCov  = numOpts * (numOpts + 1) / 2 // the upper triangle
)

// covIndex is the position of (i, j), i ≤ j, in the upper triangle.
func covIndex(i, j int) int {
	if i > j {
		i, j = j, i
	}
	return i*numOpts - i*(i-1)/2 + (j - i)
}

// covSample is one user's sample for the covariance: the user's posterior
// deviations from the population's effects, centred per dimension (only
// contrasts within a dimension are identified; a common shift is the
// user's level), and their posterior variances. The population's estimate
// is the mean of d·dᵀ + diag(v) over samples: one step of an online EM for
// the covariance of a Gaussian hierarchy, with the posterior's
// off-diagonal covariance left out (which errs towards independence, the
// prior without it). Only users with at least minCovN recent outcomes
// give samples, whose deviations say more than their prior.
type covSample struct {
	ok   bool // a sample at all
	d, v [numOpts]float64
}

// minCovN is the fewest recent outcomes of a user that make a covariance
// sample.
const minCovN = 6.0

// covInflation scales the deviations' products in a sample. The
// deviations are posterior means, shrunk towards the population's, and the
// samples leave out the posterior's covariance between options, so their
// mean understates the users' spread and their correlation; 2 was tuned on
// the taste family, seeds 1 to 8 (docs/learning.md), between 1 (a plain
// EM step) and 3, which gained about as much and calibrated worse.
const covInflation = 2.0

// covSampleOf computes u's sample from est, the estimate before this
// outcome; none (ok false) when the user has too little evidence.
func (e *Engine) covSampleOf(u *userState, est *estimate) covSample {
	var s covSample
	ug := &u.Global
	if pow(e.cfg.UserDiscount, u.Seq-ug.Seq)*ug.N < minCovN {
		return s
	}
	s.ok = true
	for d := range numDims {
		m := 0.0
		for a := range numArms {
			m += (est.eu[d][a] - est.ep[d][a]) / numArms
		}
		for a := range numArms {
			i := d*numArms + a
			s.d[i] = est.eu[d][a] - est.ep[d][a] - m
			s.v[i] = est.uvar[d][a]
		}
	}
	return s
}

// addCov adds sample s with weight w to the population's sums.
func (p *popState) addCov(s *covSample, w float64) {
	if !s.ok {
		return
	}
	for i := range numOpts {
		for j := i; j < numOpts; j++ {
			k := covIndex(i, j)
			x := covInflation * s.d[i] * s.d[j]
			if i == j {
				x += s.v[i]
			}
			p.CovN[k] += w
			p.CovS[k] += w * x
		}
	}
}

// covSamplesPrior is the weight, in samples, of the independent prior
// against the population's estimated covariance.
const covSamplesPrior = 300.0

// priorCov sets pm to the prior covariance of a user's effects: with N
// samples, a blend of the independent prior (variance prior_i) with weight
// 1 − β and the estimated covariance, plus the population's own
// uncertainty (prior_i less the users' spread), with weight β =
// Config.Covariance·N/(N + covSamplesPrior). It reports false when the
// population has no estimate or the engine uses none.
func (e *Engine) priorCov(p *popState, prior *[numOpts]float64, pm *[numOpts][numOpts]float64) bool {
	lambda := math.Min(e.cfg.Covariance, 1)
	n := p.CovN[0]
	if lambda <= 0 || e.cfg.FixedShrinkage || n < 1 {
		return false
	}
	beta := lambda * n / (n + covSamplesPrior)
	for i := range numOpts {
		for j := i; j < numOpts; j++ {
			k := covIndex(i, j)
			v := 0.0
			if p.CovN[k] > 0 {
				v = beta * p.CovS[k] / p.CovN[k]
			}
			pm[i][j], pm[j][i] = v, v
		}
		pm[i][i] += (1 - beta) * prior[i]
	}
	return true
}

// condition replaces the user's effects, fitted with an independent prior
// per option (variance prior[i], mean ep), by the posterior under the
// correlated prior P (pm): each option's
// evidence (precision D_i = n_i/σ²) then moves the options correlated with
// it. The fitted x summarises the evidence: with prior weight w_i,
// z_i = D_i(y_i − ep_i) = (n_i + w_i)(x_i − ep_i)/σ², y_i the evidence's own
// estimate. The posterior deviation is (P⁻¹ + D)⁻¹z = Pz − PS·B⁻¹·SPz and
// its covariance P − PS·B⁻¹·SP, with S = diag(√D) and B = I + SPS, which
// needs no inverse of P. With P = diag(prior) the result is the fit
// itself. It reports false, changing nothing, when B is not positive
// definite (P is, as a sum of positive semi-definite terms and a positive
// diagonal, but rounding could say otherwise).
func condition(pm *[numOpts][numOpts]float64, prior, n, x, ep *[numOpts]float64, sigma2 float64, mean, vr *[numOpts]float64) bool {
	var l [numOpts][numOpts]float64
	var s, z [numOpts]float64
	for i := range numOpts {
		s[i] = math.Sqrt(n[i] / sigma2)
		z[i] = (n[i] + sigma2/prior[i]) * (x[i] - ep[i]) / sigma2
	}
	// B = I + S P S.
	var b [numOpts][numOpts]float64
	for i := range numOpts {
		for j := range numOpts {
			b[i][j] = s[i] * pm[i][j] * s[j]
		}
		b[i][i]++
	}
	if !cholesky(&b, &l) {
		return false
	}
	// pz = P z; t = B⁻¹ S P z.
	var pz, t [numOpts]float64
	for i := range numOpts {
		for j := range numOpts {
			pz[i] += pm[i][j] * z[j]
		}
		t[i] = s[i] * pz[i]
	}
	cholSolve(&l, &t)
	for i := range numOpts {
		dev := pz[i]
		for j := range numOpts {
			dev -= pm[i][j] * s[j] * t[j]
		}
		mean[i] = ep[i] + dev
	}
	// Diagonal of P − (L⁻¹SP)ᵀ(L⁻¹SP): column i of SP solved forward.
	var col [numOpts]float64
	for i := range numOpts {
		for j := range numOpts {
			col[j] = s[j] * pm[j][i]
		}
		forward(&l, &col)
		v := pm[i][i]
		for j := range numOpts {
			v -= col[j] * col[j]
		}
		vr[i] = math.Max(v, 1e-12)
	}
	return true
}

// cholesky sets l to the lower factor of a; false when a is not positive
// definite.
func cholesky(a, l *[numOpts][numOpts]float64) bool {
	for i := range numOpts {
		for j := 0; j <= i; j++ {
			s := a[i][j]
			for k := range j {
				s -= l[i][k] * l[j][k]
			}
			if i == j {
				if s <= 1e-14 {
					return false
				}
				l[i][i] = math.Sqrt(s)
			} else {
				l[i][j] = s / l[j][j]
			}
		}
	}
	return true
}

// forward solves L y = v in place.
func forward(l *[numOpts][numOpts]float64, v *[numOpts]float64) {
	for i := range numOpts {
		s := v[i]
		for k := range i {
			s -= l[i][k] * v[k]
		}
		v[i] = s / l[i][i]
	}
}

// cholSolve solves L Lᵀ y = v in place.
func cholSolve(l *[numOpts][numOpts]float64, v *[numOpts]float64) {
	forward(l, v)
	for i := numOpts - 1; i >= 0; i-- {
		s := v[i]
		for k := i + 1; k < numOpts; k++ {
			s -= l[k][i] * v[k]
		}
		v[i] = s / l[i][i]
	}
}

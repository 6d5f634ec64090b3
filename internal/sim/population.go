package sim

import (
	"math"
	"math/rand/v2"
	"sort"

	"github.com/amp-protocol/amp"
)

// The dimensions and options, indexed as in amp.Framings, amp.Styles,
// amp.Handlings and amp.Encouragements.
const (
	numDims = 4
	numArms = 4
)

// How strongly each dimension depends on the task type and on the request
// complexity: complexity handling most, as in "hints for debugging, full
// solutions for writing".
var (
	taskDimScale       = [numDims]float64{0.5, 0.7, 1.0, 0.3}
	complexityDimScale = [numDims]float64{0.3, 0.4, 1.0, 0.7}
)

// Params are the generating parameters of a simulated population, all drawn
// from its seed, so that a seed the engine was not tuned on is a population
// it has never seen. Preferences are utilities on the logit scale of the
// completion probability.
type Params struct {
	// Family is how users' tastes are structured (see Family); "" is
	// FamilyPersonas.
	Family            Family   `json:"family"`
	Personas          int      `json:"personas"`          // archetypes users are drawn from (FamilyPersonas), or latent taste dimensions (FamilyTaste)
	TaskTypes         []string `json:"taskTypes"`         // task types the population's requests use
	NoTaskTypeShare   float64  `json:"noTaskTypeShare"`   // share of requests without a taskType
	NoComplexityShare float64  `json:"noComplexityShare"` // share of requests without a complexity

	GlobalScale      float64 `json:"globalScale"`      // spread of what everybody prefers
	PersonaScale     float64 `json:"personaScale"`     // spread of each persona's deviation from it
	IndividualScale  float64 `json:"individualScale"`  // spread of each user's deviation from the persona
	TaskScale        float64 `json:"taskScale"`        // spread of the task types' effects
	PersonaTaskShare float64 `json:"personaTaskShare"` // share of the task effects' variance that differs by persona
	ComplexityScale  float64 `json:"complexityScale"`  // spread of the request complexities' effects

	DimWeight  [numDims]float64 `json:"dimWeight"`  // importance of each dimension (mean 1)
	BaseMean   float64          `json:"baseMean"`   // mean of the users' base logit
	BaseSpread float64          `json:"baseSpread"` // spread of the users' base logits

	DriftShare float64 `json:"driftShare"` // share of users whose taste changes, when drift is on

	// Probabilities that an optional outcome field is reported.
	ReportCompleted    float64 `json:"reportCompleted"`
	ReportFlow         float64 `json:"reportFlow"`
	ReportSatisfaction float64 `json:"reportSatisfaction"`
	ReportTimeToStart  float64 `json:"reportTimeToStart"`
}

// Population is a simulated population: its parameters, the preferences of
// its personas, the effects of task types and complexities, and its users.
type Population struct {
	Params
	Scenario Scenario
	Seed     uint64
	Users    []*User

	global    [numDims][numArms]float64
	personas  []persona
	personaCW []float64 // cumulative persona weights
	basis     []persona // FamilyTaste: the taste space's directions
	task      [][numDims][numArms]float64
	cx        [3][numDims][numArms]float64
}

type persona struct {
	pref [numDims][numArms]float64
	task [][numDims][numArms]float64
}

// User is one simulated user.
type User struct {
	Index   int
	Persona int
	// DriftAt is the interaction (1-based) from which the user's drifted
	// preferences apply; 0 when the user does not drift.
	DriftAt int

	base          float64
	pref, drifted [numDims][numArms]float64
	// taskDev is the user's own deviation in each of the population's task
	// types (the persona's, a point of the taste space's, or individual).
	taskDev, taskDrifted [][numDims][numArms]float64
	taskCW               []float64 // cumulative weights over the population's task types, then "none"
	cxCW                 [4]float64
	arrival, gap         float64
}

// Family is how a population's tastes are structured. The three are built
// differently on purpose, so that an engine tuned on one meets the others
// as strangers.
type Family string

const (
	// FamilyPersonas: 3 to 6 personas with their own taste and their own
	// task-type effects; users deviate a little from their persona.
	FamilyPersonas Family = "personas"
	// FamilyTaste: users are points of a 2- or 3-dimensional taste space,
	// drawn from a normal distribution; their preferences, and how they
	// differ by task type, are linear in their point. No clusters.
	FamilyTaste Family = "taste"
	// FamilyContextual: every user has individual tastes with little in
	// common with anybody's, and individual preferences per task type that
	// often reverse the user's overall favourite.
	FamilyContextual Family = "contextual"
)

// Families lists the families in the order amp simulate reports them.
var Families = []Family{FamilyPersonas, FamilyTaste, FamilyContextual}

// ParseFamily returns the family named s.
func ParseFamily(s string) (Family, bool) {
	for _, f := range Families {
		if string(f) == s {
			return f, true
		}
	}
	return "", false
}

// Generate draws a population of FamilyPersonas, with every outcome
// reported at once and every task type sent (Ideal), from seed. With
// drift, a share of users (Params.DriftShare) have two dimensions of their
// taste redrawn at an interaction between 12 and 28. Drift changes nothing
// else: the same seed gives the same users with and without it.
func Generate(seed uint64, users int, drift bool) *Population {
	sc := Ideal(FamilyPersonas, ArrivalStaggered)
	sc.Drift = drift
	return GenerateScenario(sc, seed, users)
}

// GenerateScenario draws a population of the scenario's family from seed.
func GenerateScenario(sc Scenario, seed uint64, users int) *Population {
	params := DrawFamilyParams(sc.Family, seed)
	return BuildScenario(sc, seed, params, users)
}

// DrawParams draws the generating parameters of a FamilyPersonas
// population from seed.
func DrawParams(seed uint64) Params { return DrawFamilyParams(FamilyPersonas, seed) }

// DrawFamilyParams draws a population's generating parameters from seed.
// The ranges differ by family: FamilyTaste spreads users wider along few
// directions, FamilyContextual gives task types a larger, individual part.
func DrawFamilyParams(f Family, seed uint64) Params {
	if f == "" {
		f = FamilyPersonas
	}
	salt := uint64(0)
	switch f {
	case FamilyTaste:
		salt = 0x7461
	case FamilyContextual:
		salt = 0x6378
	}
	rng := rand.New(rand.NewPCG(seed, 0x5eed_0001^salt))
	u := func(lo, hi float64) float64 { return lo + (hi-lo)*rng.Float64() }
	var p Params
	p.Family = f
	p.Personas = 3 + rng.IntN(4)
	names := append([]string(nil), familyTaskNames(f)...)
	rng.Shuffle(len(names), func(i, j int) { names[i], names[j] = names[j], names[i] })
	p.TaskTypes = names[:2+rng.IntN(4)]
	p.NoTaskTypeShare = u(0, 0.3)
	p.NoComplexityShare = u(0, 0.3)
	p.GlobalScale = u(0.1, 0.4)
	p.PersonaScale = u(0.3, 0.6)
	p.IndividualScale = u(0.1, 0.3)
	p.TaskScale = u(0.25, 0.45)
	p.PersonaTaskShare = u(0.3, 0.7)
	p.ComplexityScale = u(0.1, 0.3)
	switch f {
	case FamilyTaste:
		p.Personas = 2 + rng.IntN(2) // latent dimensions
		p.PersonaScale = u(0.3, 0.5)
		p.IndividualScale = u(0.05, 0.15)
	case FamilyContextual:
		p.GlobalScale = u(0.1, 0.3)
		p.IndividualScale = u(0.35, 0.6)
		p.TaskScale = u(0.3, 0.5)
		p.PersonaTaskShare = u(0.6, 0.9) // individual share of the task effects
	}
	sum := 0.0
	for d := range p.DimWeight {
		p.DimWeight[d] = math.Exp(0.3 * rng.NormFloat64())
		sum += p.DimWeight[d]
	}
	for d := range p.DimWeight {
		p.DimWeight[d] *= numDims / sum
	}
	p.BaseMean = u(-0.4, 0.4)
	p.BaseSpread = u(0.3, 0.7)
	p.DriftShare = u(0.4, 0.8)
	p.ReportCompleted = u(0.7, 1)
	p.ReportFlow = u(0.3, 1)
	p.ReportSatisfaction = u(0.2, 0.8)
	p.ReportTimeToStart = u(0.5, 1)
	return p
}

// Build draws a FamilyPersonas-style population with the given parameters
// under the Ideal scenario (see BuildScenario).
func Build(seed uint64, params Params, users int, drift bool) *Population {
	sc := Ideal(params.Family, ArrivalStaggered)
	sc.Drift = drift
	return BuildScenario(sc, seed, params, users)
}

// BuildScenario draws a population with the given parameters: the
// preferences of its personas (or taste directions) and the effects of
// task types and complexities from seed, then its users. The family is
// params.Family; sc.Family is ignored.
func BuildScenario(sc Scenario, seed uint64, params Params, users int) *Population {
	if params.Family == "" {
		params.Family = FamilyPersonas
	}
	sc.Family = params.Family
	rng := rand.New(rand.NewPCG(seed, 0x5eed_0002))
	p := &Population{Params: params, Scenario: sc.withDefaults(), Seed: seed}
	p.Personas = max(1, p.Personas)
	normals(rng, &p.global, p.GlobalScale, nil)
	nt := len(p.TaskTypes)
	p.task = make([][numDims][numArms]float64, nt)
	share := math.Max(0, math.Min(1, p.PersonaTaskShare))
	common := p.TaskScale * math.Sqrt(1-share)
	own := p.TaskScale * math.Sqrt(share)
	for t := range p.task {
		normals(rng, &p.task[t], common, &taskDimScale)
	}
	for c := range p.cx {
		normals(rng, &p.cx[c], p.ComplexityScale, &complexityDimScale)
	}
	switch p.Family {
	case FamilyTaste:
		// Directions of the taste space: a user at z prefers
		// Σ_k z_k·basis_k, in overall taste and in each task type.
		p.basis = make([]persona, p.Personas)
		for k := range p.basis {
			b := &p.basis[k]
			normals(rng, &b.pref, p.PersonaScale, nil)
			b.task = make([][numDims][numArms]float64, nt)
			for t := range b.task {
				normals(rng, &b.task[t], own, &taskDimScale)
			}
		}
	case FamilyContextual:
		// No structure beyond what everybody shares.
	default:
		p.personas = make([]persona, p.Personas)
		cw := 0.0
		for k := range p.personas {
			ps := &p.personas[k]
			normals(rng, &ps.pref, p.PersonaScale, nil)
			ps.task = make([][numDims][numArms]float64, nt)
			for t := range ps.task {
				normals(rng, &ps.task[t], own, &taskDimScale)
			}
			cw += gamma(rng, 2)
			p.personaCW = append(p.personaCW, cw)
		}
	}

	p.Users = make([]*User, users)
	for i := range p.Users {
		p.Users[i] = p.newUser(seed, i)
	}
	return p
}

// taste draws a user's overall preferences and task-type deviations from
// rng, as the family builds them; persona is the user's persona
// (FamilyPersonas only), -1 to draw it.
func (p *Population) taste(rng *rand.Rand, persona int) (int, [numDims][numArms]float64, [][numDims][numArms]float64) {
	var pref [numDims][numArms]float64
	nt := len(p.TaskTypes)
	dev := make([][numDims][numArms]float64, nt)
	switch p.Family {
	case FamilyTaste:
		z := make([]float64, len(p.basis))
		for k := range z {
			z[k] = rng.NormFloat64()
		}
		for d := range numDims {
			for a := range numArms {
				v := p.global[d][a] + p.IndividualScale*rng.NormFloat64()
				for k, b := range p.basis {
					v += z[k] * b.pref[d][a]
				}
				pref[d][a] = v
				for t := range nt {
					for k, b := range p.basis {
						dev[t][d][a] += z[k] * b.task[t][d][a]
					}
				}
			}
		}
		return -1, pref, dev
	case FamilyContextual:
		share := math.Max(0, math.Min(1, p.PersonaTaskShare))
		own := p.TaskScale * math.Sqrt(share)
		for d := range numDims {
			for a := range numArms {
				pref[d][a] = p.global[d][a] + p.IndividualScale*rng.NormFloat64()
			}
		}
		for t := range dev {
			normals(rng, &dev[t], own*1.6, &taskDimScale)
		}
		return -1, pref, dev
	}
	if persona < 0 {
		x := rng.Float64() * p.personaCW[len(p.personaCW)-1]
		persona = min(sort.SearchFloat64s(p.personaCW, x), p.Personas-1)
	}
	for d := range numDims {
		for a := range numArms {
			pref[d][a] = p.global[d][a] + p.personas[persona].pref[d][a] + p.IndividualScale*rng.NormFloat64()
		}
	}
	copy(dev, p.personas[persona].task)
	return persona, pref, dev
}

func (p *Population) newUser(seed uint64, i int) *User {
	rng := rand.New(rand.NewPCG(seed^0x75736572, uint64(i)))
	usr := &User{Index: i}
	usr.base = p.BaseMean + p.BaseSpread*rng.NormFloat64()
	usr.Persona, usr.pref, usr.taskDev = p.taste(rng, -1)
	// Each user works on one to three of the population's task types.
	nt := len(p.TaskTypes)
	w := make([]float64, nt+1)
	none := p.NoTaskTypeShare
	sum := 0.0
	if nt > 0 {
		k := 1 + rng.IntN(min(3, nt))
		for _, t := range rng.Perm(nt)[:k] {
			w[t] = gamma(rng, 1)
		}
		for t := range nt {
			sum += w[t]
		}
	} else {
		none, sum = 1, 1
	}
	cw := 0.0
	usr.taskCW = make([]float64, nt+1)
	for t := range nt {
		cw += (1 - none) * w[t] / sum
		usr.taskCW[t] = cw
	}
	usr.taskCW[nt] = 1
	var cxw [3]float64
	cs := 0.0
	for c := range cxw {
		cxw[c] = gamma(rng, 2)
		cs += cxw[c]
	}
	cw = 0
	for c := range cxw {
		cw += (1 - p.NoComplexityShare) * cxw[c] / cs
		usr.cxCW[c] = cw
	}
	usr.cxCW[3] = 1
	usr.arrival = rng.Float64()
	if p.Scenario.Arrival == ArrivalLaunch {
		usr.arrival = 0
	}
	usr.gap = 0.5 + rng.Float64()

	// Drift is drawn from its own stream, so it changes nothing else: two
	// dimensions of the user's taste become those of another user of the
	// same family (another persona's, another point of the taste space,
	// or other individual tastes).
	drng := rand.New(rand.NewPCG(seed^0x64726966, uint64(i)))
	usr.drifted = usr.pref
	usr.taskDrifted = usr.taskDev
	if p.Scenario.Drift && drng.Float64() < p.DriftShare && (p.Family != FamilyPersonas || p.Personas > 1) {
		usr.DriftAt = 12 + drng.IntN(17)
		persona := -1
		if p.Family == FamilyPersonas {
			persona = (usr.Persona + 1 + drng.IntN(p.Personas-1)) % p.Personas
		}
		_, pref, dev := p.taste(drng, persona)
		usr.taskDrifted = make([][numDims][numArms]float64, len(dev))
		copy(usr.taskDrifted, usr.taskDev)
		for _, d := range drng.Perm(numDims)[:2] {
			usr.drifted[d] = pref[d]
			for t := range dev {
				usr.taskDrifted[t][d] = dev[t][d]
			}
		}
	}
	return usr
}

func normals(rng *rand.Rand, m *[numDims][numArms]float64, scale float64, dimScale *[numDims]float64) {
	for d := range m {
		s := scale
		if dimScale != nil {
			s *= dimScale[d]
		}
		for a := range m[d] {
			m[d][a] = s * rng.NormFloat64()
		}
	}
}

// gamma draws from Gamma(shape, 1) (Marsaglia and Tsang).
func gamma(rng *rand.Rand, shape float64) float64 {
	if shape < 1 {
		return gamma(rng, shape+1) * math.Pow(rng.Float64(), 1/shape)
	}
	d := shape - 1.0/3
	c := 1 / math.Sqrt(9*d)
	for {
		x := rng.NormFloat64()
		v := 1 + c*x
		if v <= 0 {
			continue
		}
		v = v * v * v
		u := rng.Float64()
		if u < 1-0.0331*x*x*x*x || math.Log(u) < 0.5*x*x+d*(1-v+math.Log(v)) {
			return d * v
		}
	}
}

// Interaction is one request of one user: its context and the random draws
// that decide its outcome. It depends only on the population's seed, the
// user and the interaction's number, so every policy run on a population
// meets the same requests and the same luck (common random numbers).
type Interaction struct {
	User    *User
	K       int // 1-based interaction number of the user
	Context amp.LearnContext
	// Reported tells whether the interaction's outcome is ever reported;
	// Late is how many of the user's next contexts come before the report.
	Reported bool
	Late     int
	task     int // index into the population's task types; -1 for none
	cx       int // 0..2; -1 for none
	uni      [7]float64
	nrm      [2]float64
}

// Interaction returns user u's k-th (1-based) request.
func (p *Population) Interaction(u *User, k int) *Interaction {
	rng := rand.New(rand.NewPCG(p.Seed^0x696e7472, uint64(u.Index)<<24|uint64(k)))
	it := &Interaction{User: u, K: k, task: -1, cx: -1}
	x := rng.Float64()
	for t, c := range u.taskCW {
		if x < c {
			if t < len(p.TaskTypes) {
				it.task = t
				it.Context.TaskType = p.TaskTypes[t]
			}
			break
		}
	}
	x = rng.Float64()
	for c, w := range u.cxCW {
		if x < w {
			if c < 3 {
				it.cx = c
				it.Context.Complexity = amp.TaskComplexities[c]
			}
			break
		}
	}
	it.Context.Hour = rng.IntN(24)
	for i := range it.uni {
		it.uni[i] = rng.Float64()
	}
	for i := range it.nrm {
		it.nrm[i] = rng.NormFloat64()
	}
	// What the agent sends and reports is drawn from a stream of its own,
	// so scenarios differ only in it.
	arng := rand.New(rand.NewPCG(p.Seed^0x61676e74, uint64(u.Index)<<24|uint64(k)))
	it.Context.Task = taskTextFor(it.Context.TaskType, arng)
	if arng.Float64() >= p.Scenario.TaskTypeShare {
		it.Context.TaskType = ""
	}
	it.Reported = arng.Float64() < p.Scenario.ReportShare
	it.Late = arng.IntN(p.Scenario.MaxLate + 1)
	return it
}

// utilities returns the weighted utility of every option in the
// interaction's context; a recommendation's logit is base + Σ_d u[d][a_d].
func (p *Population) utilities(it *Interaction) (base float64, u [numDims][numArms]float64) {
	usr := it.User
	pref, dev := &usr.pref, usr.taskDev
	if usr.DriftAt > 0 && it.K >= usr.DriftAt {
		pref, dev = &usr.drifted, usr.taskDrifted
	}
	for d := range numDims {
		for a := range numArms {
			v := pref[d][a]
			if it.task >= 0 {
				v += p.task[it.task][d][a] + dev[it.task][d][a]
			}
			if it.cx >= 0 {
				v += p.cx[it.cx][d][a]
			}
			u[d][a] = p.DimWeight[d] * v
		}
	}
	return usr.base, u
}

func sigmoid(z float64) float64 { return 1 / (1 + math.Exp(-z)) }

// Offsets of the started and completed probabilities from the utility:
// P(started) = σ(z+1), P(completed | started) = σ(z+0.2).
const (
	startOffset    = 1.0
	completeOffset = 0.2
)

// completionProb is the probability that a user with logit z completes.
func completionProb(z float64) float64 {
	return sigmoid(z+startOffset) * sigmoid(z+completeOffset)
}

// Values are the expected completion probabilities of an interaction under
// three policies: the recommendation chosen, uniform random over the 256
// joint recommendations, and the oracle that knows the user's preferences.
type Values struct {
	Chosen, Uniform, Oracle float64
}

// Evaluate returns the completion probabilities of rec in it.
func (p *Population) Evaluate(it *Interaction, rec amp.Recommendation) Values {
	base, u := p.utilities(it)
	arms := armsOf(rec)
	var v Values
	z := base
	for d := range numDims {
		z += u[d][arms[d]]
	}
	v.Chosen = completionProb(z)
	v.Oracle = math.Inf(-1)
	for j := range numArms * numArms * numArms * numArms {
		z := base + u[0][j&3] + u[1][j>>2&3] + u[2][j>>4&3] + u[3][j>>6&3]
		c := completionProb(z)
		v.Uniform += c
		v.Oracle = math.Max(v.Oracle, c)
	}
	v.Uniform /= 256
	return v
}

// Probability returns the expected completion probability of rec in it.
func (p *Population) Probability(it *Interaction, rec amp.Recommendation) float64 {
	base, u := p.utilities(it)
	arms := armsOf(rec)
	z := base
	for d := range numDims {
		z += u[d][arms[d]]
	}
	return completionProb(z)
}

// Outcome draws what happens when rec is made in it. The user starts with
// probability σ(z+1) and, having started, completes with probability
// σ(z+0.2); flow is likely after a completion when z is high; satisfaction
// is σ(z-0.2) with logit noise; timeToStart is log-normal around 60 s,
// shorter when z is high. Optional fields are left out with the
// population's reporting probabilities.
func (p *Population) Outcome(it *Interaction, rec amp.Recommendation) *amp.OutcomeRequest {
	base, u := p.utilities(it)
	arms := armsOf(rec)
	z := base
	for d := range numDims {
		z += u[d][arms[d]]
	}
	started := it.uni[0] < sigmoid(z+startOffset)
	completed := started && it.uni[1] < sigmoid(z+completeOffset)
	var flow bool
	if completed {
		flow = it.uni[2] < sigmoid(z-0.5)
	} else if started {
		flow = it.uni[2] < 0.1*sigmoid(z)
	}
	o := &amp.OutcomeRequest{Started: &started}
	if it.uni[3] < p.ReportCompleted {
		o.Completed = &completed
	}
	if it.uni[4] < p.ReportFlow {
		o.FlowState = &flow
	}
	sat := sigmoid(z - 0.2 + 0.6*it.nrm[0])
	reportSat := p.ReportSatisfaction
	if !started {
		sat = sigmoid(z - 1.5 + 0.6*it.nrm[0])
		reportSat *= 0.2
	}
	if it.uni[5] < reportSat {
		sat = math.Round(sat*100) / 100
		o.Satisfaction = &sat
	}
	if started && it.uni[6] < p.ReportTimeToStart {
		t := math.Round(60*math.Exp(-0.5*z+0.7*it.nrm[1])*10) / 10
		o.TimeToStart = &t
	}
	return o
}

// Schedule returns every interaction of every user, interactions per user,
// in the order they happen: users arrive at random times over the span of
// one user's interactions and come back at their own pace, so early users
// meet an empty population and later ones a trained one.
func (p *Population) Schedule(interactions int) []*Interaction {
	type event struct {
		at float64
		u  *User
		k  int
	}
	evs := make([]event, 0, len(p.Users)*interactions)
	span := float64(interactions)
	for _, u := range p.Users {
		for k := 1; k <= interactions; k++ {
			evs = append(evs, event{at: u.arrival*span + float64(k-1)*u.gap, u: u, k: k})
		}
	}
	sort.Slice(evs, func(i, j int) bool {
		if evs[i].at != evs[j].at {
			return evs[i].at < evs[j].at
		}
		if evs[i].u.Index != evs[j].u.Index {
			return evs[i].u.Index < evs[j].u.Index
		}
		return evs[i].k < evs[j].k
	})
	out := make([]*Interaction, len(evs))
	for i, e := range evs {
		out[i] = p.Interaction(e.u, e.k)
	}
	return out
}

// Best returns the oracle's recommendation for it.
func (p *Population) Best(it *Interaction) amp.Recommendation {
	_, u := p.utilities(it)
	var arms [numDims]int
	for d := range numDims {
		for a := 1; a < numArms; a++ {
			if u[d][a] > u[d][arms[d]] {
				arms[d] = a
			}
		}
	}
	return recOf(arms)
}

func recOf(arms [numDims]int) amp.Recommendation { return amp.Options(arms).Recommendation() }

// armsOf is the indexed form of a recommendation the simulator itself made
// or received from the engine; an unknown option is a bug, not an input.
func armsOf(r amp.Recommendation) [numDims]int {
	o, err := r.Options()
	if err != nil {
		panic("sim: " + err.Error())
	}
	return [numDims]int(o)
}

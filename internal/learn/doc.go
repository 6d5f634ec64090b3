// Package learn is AMP's learning engine: it implements amp.Learner.
//
// It is pure: no I/O, no clock, no global randomness. Decide draws from the
// *rand.Rand it is given, so a run is reproducible from its seed, and every
// state is bytes the caller stores and passes back.
//
// # Model
//
// A recommendation picks one option on each of four dimensions (framing,
// communication style, complexity handling, encouragement). The engine
// models the reward of an outcome (see Reward) as additive:
//
//	reward = level + Σ_d effect_d(option_d) + noise
//
// where the level is what a user's outcomes are worth whatever is
// recommended, and each effect is relative to it. Evidence is kept in cells
// of discounted sufficient statistics (per option: count, reward sum,
// successes): one cell for the tenant's population overall, one per task
// kind (at most MaxPopulationTaskTypes) and one per request complexity; the
// same for each user (at most MaxUserTaskTypes task kinds). A request's task
// kind is read from its free-text taskType or, without one, from its task
// text (kindOf, in taskkind.go: an embedded lexicon of eight kinds over
// stemmed words; a taskType outside it is its own kind), so that "debug" and
// "Bug fixing" share evidence; Choice.TaskKind names it so the service can
// log it, and nothing of the text is kept. Estimates are solved from the
// sums when needed, jointly for the level and the effects (fit.solve), so
// they never carry the model's earlier beliefs.
//
// The estimate for a user in a context backs off through the hierarchy
// (estimateFor): the population's overall effects are the prior of the
// user's, with the weight of σ²/τ² outcomes (less while the population
// itself knows little of an option), where τ² is the variance of users'
// effects around the population's, estimated from the tenant's data
// (spreadSample, userPrior: from each well-known user's contrast between the
// chosen option and the user's mean, against the population's same contrast;
// Config.UserPrior until there are enough samples), and, once the
// population has estimated the covariance of users' effects across all
// options (cov.go: an online EM from users with a few outcomes), the
// user's effects are the Gaussian posterior under that correlated prior,
// so an outcome with one option informs the others; the population's
// task-type and complexity offsets apply to every user from the first
// request; the user's own task-type and complexity deviations are shrunk to
// none by ContextPrior outcomes. A new user thus starts from what similar
// users of the same account and mode taught, in the request's context, and
// moves away from it as the user's outcomes accumulate. Context offsets add,
// so a user may want hints for debugging and full solutions for writing.
//
// Outcomes of the same user lose weight by UserDiscount per later outcome.
// The population's are weighted by wall-clock age, half after
// PopulationHalfLife hours, measured to the latest outcome merged: that
// makes MergePopulation a sum of independently computed deltas, the same
// state (to float64 rounding) in whatever order and batches the store folds
// them, which TestMergeIsOrderIndependent checks; the one exception is which
// task kinds hold cells once a tenant has used more than
// MaxPopulationTaskTypes (see MergePopulation). Learn computes a delta from
// the population as read, without it having been updated in between. A user
// whose outcomes keep falling short of predictions, against the user's model
// or against what similar users get from the same options, raises an alarm
// (see alarm) that widens exploration and speeds up forgetting until the
// model fits again: that is how a change of taste is followed within tens of
// outcomes.
//
// Manual preferences (ApplyPreferences) replace the population's opinion of
// the chosen option: it is taken to be ManualMargin better than the best
// other option in every context, with the weight of the population's prior
// plus ManualWeight decaying pseudo-outcomes. The user's own outcomes with
// the option still weigh against it, so contrary behaviour overturns it.
//
// # Policy, propensity, exploration, confidence, rationale
//
// Each dimension draws its option independently with probability
// (1-Floor)·P̂(best) + Floor/4, where P̂(best) is a closed-form probability
// matching over the Gaussian posteriors (see policyFor), with the user's own
// uncertainty tempered by Temper and the population's uncertainty about its
// estimates by PopulationTemper (1 by default: exploration the population
// needs is shared by all its users, and falls as it learns). Because the
// probabilities are computed, not sampled, the propensity of a
// recommendation is exact: the product of its four options' probabilities
// (Probability and Distribution expose them to offline evaluation). Every
// joint recommendation keeps a propensity of at least (Floor/4)^4.
//
// Explored is true when any dimension's option is not the one with the
// highest posterior mean: the recommendation is not the current best guess.
// Choice.Dimensions says it per dimension, with the posterior probability
// that the option is the user's best.
//
// Confidence is defined in confidence: per dimension, a quarter how far the
// posterior probability that the recommended option is the best lies above a
// blind guess's, three quarters the share of the evidence about it that is
// the user's own, mapped into [0.2, 1], compressed by 0.8 above 0.4 (so
// that, on the tuning populations, it reads as the probability that the
// option is the user's best), and averaged over the four dimensions: 0.2 for
// a model that knows nothing, at most 0.4 for a new user, about 0.5 to 0.7
// while learning, more once optimised, in line with the documented phase
// bands. The rationale quotes the statistic behind the choice: the user's
// success rate with a recommended option (in the task type or complexity
// when there is enough evidence there), otherwise the population's, and says
// when and why the choice explores.
//
// # State
//
// States are versioned little-endian binary (see the format in state.go). A
// user's state (float32 cells) is at most MaxUserStateBytes (2,540) bytes, a
// task kind beyond the cap replacing the one with the least discounted
// evidence; a tenant's population (float64 cells, version 3) at most
// MaxPopulationStateBytes (11,426) bytes, below the 4 KiB and 16 KiB the
// project allows; TestStateSizeIsBounded enforces both. Decoding checks
// every length, count and number, and returns an error wrapping ErrBadState
// for anything it cannot read; it never panics.
//
// # Cost
//
// On the largest states (a user with three task kinds and every complexity,
// a population with all 16 task kinds), Decide takes about 16 µs (20 µs
// reading an 800-byte task text) and Learn 15 to 21 µs on one core
// (BenchmarkDecide, BenchmarkDecideText, BenchmarkLearn,
// BenchmarkLearnNewTaskType: best of four runs at a load average of 4.5 on 2
// shared cores), and MergePopulation about 70 µs per batch of 100 deltas
// (BenchmarkMergePopulation). Decide and Learn decode only the cells of the
// request's context; MergePopulation decodes and re-encodes the population
// once per batch.
package learn

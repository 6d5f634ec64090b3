// Package sim simulates users of an AMP integration and scores policies on
// them: the learning engine in process, a running server over HTTP, the
// per-user factorised Beta-Thompson baseline, and uniform and oracle
// references.
//
// # Population
//
// Every parameter of a population is drawn from its seed (DrawParams), so a
// seed is a population of its own: 3 to 6 personas with their own taste,
// what everybody shares, how far users deviate from their persona, 2 to 5
// task types whose effects differ partly by persona, effects of the
// request's complexity, how much each dimension matters, users' base
// completion rates, and how often each optional outcome field is reported.
// A user's utility for a recommendation in a context is, on the logit
// scale of completion,
//
//	z = base + Σ_d weight_d · (shared + persona + individual + task type + complexity)_d(option_d)
//
// The user starts with probability σ(z+1) and, having started, completes
// with probability σ(z+0.2); flowState, satisfaction and timeToStart are
// noisy functions of z (Population.Outcome). With drift, about half the
// users have two dimensions of their taste replaced by another persona's at
// an interaction between 12 and 28.
//
// Users arrive at random times over the span of one user's interactions,
// so early users meet an empty population and later ones a trained one.
// Each interaction's context and random draws depend only on the seed, the
// user and the interaction's number: every policy meets the same requests
// and the same luck.
//
// # Score
//
// Each recommendation is scored by its expected completion probability,
// not by the realised outcome, which removes the outcome noise from the
// comparison. Over a window of interactions, the normalised score is
// (Σ chosen - Σ uniform) / (Σ oracle - Σ uniform), where uniform is the
// mean over the 256 joint recommendations and oracle their maximum for the
// user in that context: 0 is uniform random, 1 an oracle that knows every
// user's preferences (Result.Window).
//
// The engine's defaults were tuned on seeds 1 to 30; tests and reported
// figures use other seeds.
package sim

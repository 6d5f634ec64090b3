// Package sim simulates users of an AMP integration and scores policies on
// them: the learning engine in process, a running server over HTTP, the
// per-user factorised Beta-Thompson baseline, and uniform and oracle
// references.
//
// # Population
//
// Every parameter of a population is drawn from its seed (DrawFamilyParams),
// so a seed is a population of its own. Three families structure tastes
// differently (Family): personas (3 to 6 personas with their own taste and
// task-type effects, users deviating a little from theirs), taste (users as
// points of a 2- or 3-dimensional normal taste space, preferences linear in
// the point, no clusters) and contextual (individual tastes and individual
// per-task-type preferences). Each has what everybody shares, 2 to 5 task
// types (named differently per family, as integrators name them), effects
// of the request's complexity, how much each dimension matters, users'
// base completion rates, and how often each optional outcome field is
// reported. A user's utility for a recommendation in a context is, on the
// logit scale of completion,
//
//	z = base + Σ_d weight_d · (shared + user + task type + user's task deviation + complexity)_d(option_d)
//
// The user starts with probability σ(z+1) and, having started, completes
// with probability σ(z+0.2); flowState, satisfaction and timeToStart are
// noisy functions of z (Population.Outcome). With drift, about half the
// users have two dimensions of their taste replaced by another user's of
// the same family at an interaction between 12 and 28.
//
// A Scenario says how the integration reports: users arrive staggered
// (early users meet an empty population, later ones a trained one) or all
// at launch; every request carries task text written as users write
// requests, and a taskType only with TaskTypeShare; only ReportShare of the
// outcomes are ever reported, each after the user's next 0 to MaxLate
// contexts, so several of a user's contexts are in flight at once (Run).
// Realistic is the scenario of the field reports, Ideal reports
// everything at once. Each interaction's context and random draws depend
// only on the seed, the user and the interaction's number: every policy
// meets the same requests and the same luck.
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
// BestFixed is the reference line: the best fixed recommendation per task
// type, known in hindsight from the simulator's truth. Run also keeps, for
// agents that say how confident they are, a reliability table of
// confidence against the observed share of recommended options that were
// the user's best, and its expected calibration error.
//
// The engine's defaults were tuned on family personas, seeds 1 to 30;
// tests and reported figures use other seeds, and the other families are
// held out entirely.
package sim

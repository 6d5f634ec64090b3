// Package evaluate measures AMP's policies on what the service logged.
//
// Evaluate estimates offline, from logged decisions and their propensities,
// the value another policy would have had: the uniform random policy, the
// engine's population default, the engine replayed from scratch, or any
// fixed policy, by inverse propensity scoring (IPS) and its self-normalised
// form (SNIPS). Lift compares the completion rate of personalised users
// with that of the holdout users, who get the population default only, with
// a 95% interval clustered by user. Both read a store through
// amp.LearningStore and nothing else, so the dashboard and the CLI share
// them.
package evaluate

// Package learn is AMP's learning engine: it implements amp.Learner.
//
// It is pure: no I/O, no clock, no global randomness. Details of the model,
// the reward recipe, the state format and the meaning of confidence are
// documented on the functions that implement them.
package learn

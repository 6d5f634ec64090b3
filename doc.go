// Package amp holds the domain of the Adaptive Motivation Protocol service:
// the wire types of the public API, their validation, the error codes, the
// API key format, and the interfaces that storage backends and learners
// implement.
//
// It imports only the standard library. Every other package of the module
// points toward it: storage backends (internal/sqlite, internal/postgres)
// implement Store, the learning engine implements Learner, internal/service
// holds the business rules on top of both, and internal/httpapi turns them
// into HTTP.
package amp

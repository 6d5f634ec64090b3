package amp

import "context"

// Tracer times the steps of a request (authentication, a decision, a
// learning update) for a tracing backend. Start begins a step named name
// as a child of ctx's current step and returns the context to pass on and
// the function that ends it with the step's error, nil on success. A
// Tracer never records keys, user ids or task text.
type Tracer interface {
	Start(ctx context.Context, name string) (context.Context, func(err error))
}

// NopTracer records nothing.
type NopTracer struct{}

// Start returns ctx and a no-op end.
func (NopTracer) Start(ctx context.Context, _ string) (context.Context, func(error)) {
	return ctx, func(error) {}
}

// Names of the traced steps.
const (
	SpanAuthenticate = "amp.authenticate"
	SpanDecide       = "amp.decide"
	SpanLearn        = "amp.learn"
)

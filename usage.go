package amp

import (
	"context"
	"time"
)

// RateState is the rate-limit state of a request, reported in the
// RateLimit-* and X-RateLimit-* headers of every authenticated response.
type RateState struct {
	Limit     int           // requests per second allowed to the key (its burst)
	Remaining int           // requests left in the current burst
	Reset     time.Duration // until the burst is whole again
}

// RequestEvent describes one finished authenticated request, for metering
// and monitoring.
type RequestEvent struct {
	KeyID     string
	AccountID string
	Mode      Mode
	Route     string // the route pattern, e.g. "POST /v1/context"
	Status    int
	ClientIP  string
	Duration  time.Duration
	At        time.Time
	// RequestID and Code (the error code of an error response, "" for
	// success) feed the request log.
	RequestID string
	Code      string
}

// Limiter admits requests under an account's plan: its rate per account and
// mode (a key's own limit can only lower it) and its monthly live quota.
type Limiter interface {
	// Admit admits one request by key k of account a at now, or returns an
	// *Error with RATE_LIMIT_EXCEEDED or QUOTA_EXCEEDED. A refused request
	// changes nothing. The state is returned in both cases.
	Admit(ctx context.Context, a *Account, k *APIKey, now time.Time) (RateState, error)
	// Finish tells the limiter the status of an admitted request, so that
	// only 2xx live requests count toward the monthly quota.
	Finish(ctx context.Context, a *Account, k *APIKey, status int, now time.Time)
}

// Meter records finished requests; it must not block the request path.
type Meter interface {
	Record(ev RequestEvent)
}

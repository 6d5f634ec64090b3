package amp

import (
	"context"
	"time"
)

// RequestLogEntry is one admitted API request in an account's request log:
// what a developer needs to find a failing call, never its body or key.
type RequestLogEntry struct {
	Tenant
	At        time.Time
	KeyID     string
	Route     string // the route pattern, e.g. "POST /v1/context"
	Status    int
	Code      string // the error code of an error response; "" for success
	Latency   time.Duration
	Country   string // ISO 3166-1 alpha-2 of the client address, or UnknownCountry
	RequestID string
}

// RequestLogFilter selects entries of one tenant. Zero fields select all.
type RequestLogFilter struct {
	KeyID string
	// StatusMin and StatusMax bound the status, inclusive (400 and 499 for
	// "4xx"); 0 for no bound.
	StatusMin, StatusMax int
	RequestID            string
	// Before pages: entries strictly older than it; zero for the newest.
	Before time.Time
	Limit  int // at most MaxRequestLogPage
}

// MaxRequestLogPage bounds one read of the request log.
const MaxRequestLogPage = 200

// RequestLogStore keeps the request log. Backends that implement it pass
// storetest.RunRequestLog.
type RequestLogStore interface {
	// AppendRequests stores entries, in one transaction.
	AppendRequests(ctx context.Context, entries []*RequestLogEntry) error
	// Requests returns up to f.Limit entries of t that match f, newest
	// first.
	Requests(ctx context.Context, t Tenant, f RequestLogFilter) ([]*RequestLogEntry, error)
	// PruneRequests deletes the entries older than before and, of every
	// tenant, those beyond its newest keep, and returns how many it
	// deleted.
	PruneRequests(ctx context.Context, before time.Time, keep int) (int64, error)
}

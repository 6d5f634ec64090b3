package amp

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Granularity is the width of a metered usage bucket. The meter writes every
// request into one bucket of each granularity (minute, hour, day), and each
// granularity is kept for its own retention period, so that recent traffic
// is seen minute by minute and old traffic day by day.
type Granularity string

const (
	GranularityMinute Granularity = "minute"
	GranularityHour   Granularity = "hour"
	GranularityDay    Granularity = "day"
)

// Granularities lists every granularity, finest first.
var Granularities = []Granularity{GranularityMinute, GranularityHour, GranularityDay}

// Valid reports whether g is a known granularity.
func (g Granularity) Valid() bool {
	return g == GranularityMinute || g == GranularityHour || g == GranularityDay
}

// Duration returns the width of one bucket of g.
func (g Granularity) Duration() time.Duration {
	switch g {
	case GranularityHour:
		return time.Hour
	case GranularityDay:
		return 24 * time.Hour
	default:
		return time.Minute
	}
}

// Truncate returns the first instant, in UTC, of the bucket of g holding t.
// Days are UTC days.
func (g Granularity) Truncate(t time.Time) time.Time {
	return t.UTC().Truncate(g.Duration())
}

// MonthStart returns the first instant of t's UTC month: the key of monthly
// quota counts.
func MonthStart(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
}

// UnknownCountry is the country of a client whose address has none: a
// private, loopback or otherwise unroutable address, or an unparsable one.
// "ZZ" is the ISO 3166 user-assigned code conventionally used for "unknown".
const UnknownCountry = "ZZ"

// UsageRow counts the requests of one key in one bucket that had the same
// route, status class and client country.
type UsageRow struct {
	Granularity Granularity
	Start       time.Time // the bucket's first instant, UTC, aligned to Granularity
	AccountID   string
	Mode        Mode
	KeyID       string
	Route       string    // the route pattern, e.g. "POST /v1/context"
	StatusClass int       // the status divided by 100: 2 for 2xx … 5 for 5xx
	Country     string    // ISO 3166-1 alpha-2, or UnknownCountry
	Admission   Admission // AdmissionAdmitted (""), or why the requests were refused
	Requests    int64
}

// UsageDims selects the dimensions a usage query keeps. Rows that differ
// only in dropped dimensions are summed into one, whose dropped fields are
// left zero. Granularity, AccountID and Mode are always kept.
type UsageDims uint8

const (
	DimStart UsageDims = 1 << iota
	DimKey
	DimRoute
	DimStatus
	DimCountry
	DimAdmission

	DimAll = DimStart | DimKey | DimRoute | DimStatus | DimCountry | DimAdmission
)

// UsageQuery selects usage rows of one account.
type UsageQuery struct {
	Granularity Granularity
	AccountID   string    // required
	KeyID       string    // one key of the account; "" for every key
	Mode        Mode      // one mode; "" for both
	From, To    time.Time // rows whose Start is in [From, To); a zero bound is open
	Dims        UsageDims // the dimensions kept; 0 means DimAll
}

// QuotaDelta is a change to the count of an account's live 2xx requests in
// one UTC month.
type QuotaDelta struct {
	AccountID string
	Month     time.Time // MonthStart of the month
	Delta     int64
}

// UsageStore persists metered usage: the meter's per-key request counts,
// which usage reports and leak flags read. It holds no rules: the meter
// decides what goes into which bucket. Backends pass storetest.RunUsage.
type UsageStore interface {
	// AddUsage adds each row's Requests to the stored row with the same
	// granularity, start, key, route, status class and country, creating it
	// if absent. All rows are added in one transaction.
	AddUsage(ctx context.Context, rows []UsageRow) error
	// Usage returns the rows q selects, summed over the dimensions q drops,
	// ordered by Start, Mode, KeyID, Route, StatusClass and Country.
	Usage(ctx context.Context, q UsageQuery) ([]UsageRow, error)
	// PruneUsage deletes the rows of granularity g that start before
	// before, and returns how many it deleted.
	PruneUsage(ctx context.Context, g Granularity, before time.Time) (int64, error)
}

// QuotaStore persists the monthly counts of each account's live 2xx
// requests, the durable side of the plans' monthly quotas. It holds no
// rules: the limiter decides what a count means. Backends pass
// storetest.RunUsage.
type QuotaStore interface {
	// AddQuotaUsage adds the deltas to the stored monthly counts, in one
	// transaction.
	AddQuotaUsage(ctx context.Context, deltas []QuotaDelta) error
	// QuotaUsage returns the stored count of the account's live 2xx
	// requests in the month starting at month; 0 if none was stored.
	QuotaUsage(ctx context.Context, accountID string, month time.Time) (int64, error)
}

// Validate checks a row before a backend stores it: a valid granularity
// and mode, an account and a key.
func (r *UsageRow) Validate() error {
	switch {
	case !r.Granularity.Valid():
		return fmt.Errorf("invalid granularity %q", r.Granularity)
	case !r.Mode.Valid():
		return fmt.Errorf("invalid mode %q", r.Mode)
	case r.AccountID == "" || r.KeyID == "":
		return errors.New("row without account or key")
	case !r.Admission.Valid():
		return fmt.Errorf("invalid admission %q", r.Admission)
	}
	return nil
}

// Validate checks a query before a backend turns it into SQL: a valid
// granularity, an account, and a valid mode when one is given.
func (q *UsageQuery) Validate() error {
	if !q.Granularity.Valid() {
		return fmt.Errorf("invalid granularity %q", q.Granularity)
	}
	if q.AccountID == "" {
		return errors.New("query without account")
	}
	if q.Mode != "" && !q.Mode.Valid() {
		return fmt.Errorf("invalid mode %q", q.Mode)
	}
	return nil
}

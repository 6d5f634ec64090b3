// Package monitor analyses the metered usage of a key or an account: volume
// and rate over time, error rates, routes, the geographic distribution of
// clients, and the patterns that suggest a leaked key.
//
// It reads only the counts the meter writes to an amp.UsageStore, so a
// report costs a handful of indexed queries and never touches the request
// path. The dashboard calls KeyReport and AccountReport; `amp usage` prints
// them.
//
// # Flags
//
// Burst: the busiest minute of the last day of the window (at most
// Thresholds.BurstScan) had at least MinBurst requests and more than
// BurstFactor times the key's baseline: its mean requests per minute over
// the hours it was active in the BaselineDays before that. A key with fewer
// than MinBaselineHours active hours has no baseline and is never flagged
// for a burst: there is nothing to compare with.
//
// NewCountry: a country (other than the unknown "ZZ") sent requests in the
// window but never before it, as far back as usage is kept (day rows: two
// years by default), while the key did have earlier traffic. A key's first
// countries are not "new".
//
// Refused: in the last day of the window (BurstScan), the key was used
// after it was revoked, quarantined or expired (any such request), or had at least
// MinBurst requests refused by its rate limit or quota. Refused requests
// count in every other signal too: a burst is of attempted requests, and a
// new country may show only in refusals.
//
// SuspectedLeak is raised with a reason for each burst, new country or
// refusal. Each alone can be innocent (a batch job, a traveller, a
// forgotten deployment); together they are the usual signature of a key
// copied into someone else's code.
package monitor

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/amp-protocol/amp"
)

// Thresholds tune the flags.
type Thresholds struct {
	// BurstFactor is how many times its baseline a minute must exceed.
	BurstFactor float64
	// MinBurst is the fewest requests in a minute that can be a burst.
	MinBurst int64
	// BaselineDays is how many days before the scanned span form the
	// baseline.
	BaselineDays int
	// MinBaselineHours is the fewest active hours a baseline needs.
	MinBaselineHours int
	// BurstScan is the longest span, ending now, scanned minute by minute
	// for a burst; it must not exceed the retention of minute rows.
	BurstScan time.Duration
	// MaxKeys is how many of an account's busiest keys AccountReport
	// examines for flags.
	MaxKeys int
}

// DefaultThresholds flag a minute ten times above a key's usual pace, of at
// least one request a second, against the previous week.
var DefaultThresholds = Thresholds{
	BurstFactor:      10,
	MinBurst:         60,
	BaselineDays:     7,
	MinBaselineHours: 3,
	BurstScan:        24 * time.Hour,
	MaxKeys:          50,
}

// Monitor produces reports from a store's usage counts.
type Monitor struct {
	Store amp.UsageStore
	// Thresholds tune the flags; DefaultThresholds' value for each zero
	// field.
	Thresholds Thresholds
}

// thresholds returns m's thresholds with defaults filled in.
func (m *Monitor) thresholds() Thresholds {
	th, d := m.Thresholds, DefaultThresholds
	if th.BurstFactor <= 0 {
		th.BurstFactor = d.BurstFactor
	}
	if th.MinBurst <= 0 {
		th.MinBurst = d.MinBurst
	}
	if th.BaselineDays <= 0 {
		th.BaselineDays = d.BaselineDays
	}
	if th.MinBaselineHours <= 0 {
		th.MinBaselineHours = d.MinBaselineHours
	}
	if th.BurstScan <= 0 {
		th.BurstScan = d.BurstScan
	}
	if th.MaxKeys <= 0 {
		th.MaxKeys = d.MaxKeys
	}
	return th
}

// Point is the traffic of one bucket of a report's series.
type Point struct {
	Start        time.Time `json:"start"`
	Requests     int64     `json:"requests"`     // every request of the key, admitted or refused
	ClientErrors int64     `json:"clientErrors"` // 4xx, refused requests included
	ServerErrors int64     `json:"serverErrors"` // 5xx
	Rate         float64   `json:"rate"`         // requests per second over the bucket (so far, for the current one)
	Refusals
}

// Refusals count the requests refused at the door, by reason; the rest of
// a point's or report's requests were admitted.
type Refusals struct {
	RateLimited   int64 `json:"rateLimited"`   // refused by the rate limit (429)
	QuotaExceeded int64 `json:"quotaExceeded"` // refused by the monthly quota (429)
	AuthFailed    int64 `json:"authFailed"`    // made with the key revoked, quarantined or expired (401)
}

// Total is the number of refused requests.
func (r Refusals) Total() int64 { return r.RateLimited + r.QuotaExceeded + r.AuthFailed }

func (r *Refusals) add(a amp.Admission, n int64) {
	switch a {
	case amp.AdmissionRateLimited:
		r.RateLimited += n
	case amp.AdmissionQuotaExceeded:
		r.QuotaExceeded += n
	case amp.AdmissionAuthFailed:
		r.AuthFailed += n
	}
}

// RouteStat is the traffic of one route.
type RouteStat struct {
	Route     string  `json:"route"`
	Requests  int64   `json:"requests"`
	Errors    int64   `json:"errors"`
	ErrorRate float64 `json:"errorRate"`
}

// CountryShare is the traffic from one country.
type CountryShare struct {
	Country  string  `json:"country"`
	Requests int64   `json:"requests"`
	Share    float64 `json:"share"` // of the report's requests, in [0, 1]
}

// Burst describes the busiest minute when it was flagged.
type Burst struct {
	At       time.Time `json:"at"`       // the minute
	Requests int64     `json:"requests"` // in that minute
	Baseline float64   `json:"baseline"` // the key's usual requests per minute
	Factor   float64   `json:"factor"`   // Requests / Baseline
}

// NewCountry is a country the key had never used before the window.
type NewCountry struct {
	Country   string    `json:"country"`
	Requests  int64     `json:"requests"`
	FirstSeen time.Time `json:"firstSeen"` // start of the first bucket with it
}

// Flags are the unusual patterns found.
type Flags struct {
	Burst         *Burst       `json:"burst,omitempty"`
	NewCountries  []NewCountry `json:"newCountries,omitempty"`
	Refused       *Refusals    `json:"refused,omitempty"` // in the scanned span, when they raised the flag
	SuspectedLeak bool         `json:"suspectedLeak"`
	Reasons       []string     `json:"reasons,omitempty"`
}

// KeySummary is one key's part of an account report.
type KeySummary struct {
	KeyID     string   `json:"keyId"`
	Mode      amp.Mode `json:"mode"`
	Requests  int64    `json:"requests"`
	ErrorRate float64  `json:"errorRate"`
	Flags     Flags    `json:"flags"`
}

// Report is the usage of a key or an account over a window.
type Report struct {
	AccountID   string          `json:"accountId"`
	KeyID       string          `json:"keyId,omitempty"` // "" for an account report
	Mode        amp.Mode        `json:"mode,omitempty"`  // "" for both modes
	From        time.Time       `json:"from"`            // start of the first bucket
	To          time.Time       `json:"to"`              // the report's "now"
	Granularity amp.Granularity `json:"granularity"`

	Requests     int64   `json:"requests"`
	ClientErrors int64   `json:"clientErrors"`
	ServerErrors int64   `json:"serverErrors"`
	ErrorRate    float64 `json:"errorRate"` // (4xx + 5xx) / requests
	MeanRate     float64 `json:"meanRate"`  // requests per second over the window
	PeakRate     float64 `json:"peakRate"`  // of the busiest bucket
	Refusals             // of the window's requests

	Series    []Point        `json:"series"`
	Routes    []RouteStat    `json:"routes"`
	Countries []CountryShare `json:"countries"`
	Flags     Flags          `json:"flags"`
	// Keys are an account report's keys, busiest first; flags are examined
	// for the MaxKeys busiest.
	Keys []KeySummary `json:"keys,omitempty"`
}

// KeyReport reports on key k over the window ending at now, with
// DefaultThresholds.
func KeyReport(ctx context.Context, store amp.UsageStore, k *amp.APIKey, now time.Time, window time.Duration) (*Report, error) {
	return (&Monitor{Store: store, Thresholds: DefaultThresholds}).KeyReport(ctx, k, now, window)
}

// AccountReport reports on every key of the account in mode ("" for both)
// over the window ending at now, with DefaultThresholds.
func AccountReport(ctx context.Context, store amp.UsageStore, accountID string, mode amp.Mode, now time.Time, window time.Duration) (*Report, error) {
	return (&Monitor{Store: store, Thresholds: DefaultThresholds}).AccountReport(ctx, accountID, mode, now, window)
}

// GranularityFor is the granularity of a report over window: minutes up to
// 6 hours, hours up to 14 days, days beyond.
func GranularityFor(window time.Duration) amp.Granularity {
	switch {
	case window <= 6*time.Hour:
		return amp.GranularityMinute
	case window <= 14*24*time.Hour:
		return amp.GranularityHour
	default:
		return amp.GranularityDay
	}
}

// scope is what a report covers.
type scope struct {
	accountID, keyID string
	mode             amp.Mode
}

func (s scope) query(g amp.Granularity, from, to time.Time, dims amp.UsageDims) amp.UsageQuery {
	return amp.UsageQuery{Granularity: g, AccountID: s.accountID, KeyID: s.keyID, Mode: s.mode, From: from, To: to, Dims: dims}
}

// KeyReport reports on key k over the window ending at now.
func (m *Monitor) KeyReport(ctx context.Context, k *amp.APIKey, now time.Time, window time.Duration) (*Report, error) {
	sc := scope{accountID: k.AccountID, keyID: k.ID, mode: k.Mode}
	r, err := m.report(ctx, sc, now, window)
	if err != nil {
		return nil, fmt.Errorf("monitor: key %s: %w", k.ID, err)
	}
	if r.Flags, err = m.flags(ctx, sc, r.Granularity, r.From, now); err != nil {
		return nil, fmt.Errorf("monitor: key %s: %w", k.ID, err)
	}
	return r, nil
}

// AccountReport reports on the account's keys in mode ("" for both) over
// the window ending at now. Its flags gather those of its keys.
func (m *Monitor) AccountReport(ctx context.Context, accountID string, mode amp.Mode, now time.Time, window time.Duration) (*Report, error) {
	sc := scope{accountID: accountID, mode: mode}
	r, err := m.report(ctx, sc, now, window)
	if err != nil {
		return nil, fmt.Errorf("monitor: account %s: %w", accountID, err)
	}
	rows, err := m.Store.Usage(ctx, sc.query(r.Granularity, r.From, time.Time{}, amp.DimKey|amp.DimStatus))
	if err != nil {
		return nil, fmt.Errorf("monitor: account %s: keys: %w", accountID, err)
	}
	byKey := make(map[scope]*KeySummary)
	errs := make(map[scope]int64)
	for _, row := range rows {
		ks := scope{accountID: accountID, keyID: row.KeyID, mode: row.Mode}
		s, ok := byKey[ks]
		if !ok {
			s = &KeySummary{KeyID: row.KeyID, Mode: row.Mode}
			byKey[ks] = s
		}
		s.Requests += row.Requests
		if row.StatusClass >= 4 {
			errs[ks] += row.Requests
		}
	}
	keys := slices.Collect(maps.Keys(byKey))
	slices.SortFunc(keys, func(a, b scope) int {
		return cmp.Or(cmp.Compare(byKey[b].Requests, byKey[a].Requests), cmp.Compare(a.keyID, b.keyID), cmp.Compare(a.mode, b.mode))
	})
	for i, ks := range keys {
		s := byKey[ks]
		s.ErrorRate = ratio(errs[ks], s.Requests)
		if i < m.thresholds().MaxKeys {
			if s.Flags, err = m.flags(ctx, ks, r.Granularity, r.From, now); err != nil {
				return nil, fmt.Errorf("monitor: account %s: key %s: %w", accountID, ks.keyID, err)
			}
			for _, reason := range s.Flags.Reasons {
				r.Flags.SuspectedLeak = true
				r.Flags.Reasons = append(r.Flags.Reasons, "key "+s.KeyID+": "+reason)
			}
		}
		r.Keys = append(r.Keys, *s)
	}
	return r, nil
}

// report builds the parts common to key and account reports: totals,
// series, routes and countries.
func (m *Monitor) report(ctx context.Context, sc scope, now time.Time, window time.Duration) (*Report, error) {
	if window <= 0 {
		return nil, fmt.Errorf("window %v is not positive", window)
	}
	now = now.UTC()
	g := GranularityFor(window)
	from := g.Truncate(now.Add(-window))
	r := &Report{AccountID: sc.accountID, KeyID: sc.keyID, Mode: sc.mode, From: from, To: now, Granularity: g}

	// Series: one point per bucket, empty buckets included, so that a
	// chart's x axis is time.
	rows, err := m.Store.Usage(ctx, sc.query(g, from, time.Time{}, amp.DimStart|amp.DimStatus|amp.DimAdmission))
	if err != nil {
		return nil, fmt.Errorf("series: %w", err)
	}
	points := make(map[time.Time]*Point)
	for start := from; !start.After(now); start = start.Add(g.Duration()) {
		r.Series = append(r.Series, Point{Start: start})
	}
	for i := range r.Series {
		points[r.Series[i].Start] = &r.Series[i]
	}
	for _, row := range rows {
		p, ok := points[row.Start]
		if !ok {
			continue // a bucket after now: counts of a clock ahead of ours
		}
		p.Requests += row.Requests
		p.add(row.Admission, row.Requests)
		switch {
		case row.StatusClass == 4:
			p.ClientErrors += row.Requests
		case row.StatusClass >= 5:
			p.ServerErrors += row.Requests
		}
	}
	for i := range r.Series {
		p := &r.Series[i]
		span := min(g.Duration(), now.Sub(p.Start))
		if span > 0 {
			p.Rate = float64(p.Requests) / span.Seconds()
		}
		r.Requests += p.Requests
		r.ClientErrors += p.ClientErrors
		r.ServerErrors += p.ServerErrors
		r.RateLimited += p.RateLimited
		r.QuotaExceeded += p.QuotaExceeded
		r.AuthFailed += p.AuthFailed
		r.PeakRate = max(r.PeakRate, p.Rate)
	}
	r.ErrorRate = ratio(r.ClientErrors+r.ServerErrors, r.Requests)
	if span := now.Sub(from); span > 0 {
		r.MeanRate = float64(r.Requests) / span.Seconds()
	}

	rows, err = m.Store.Usage(ctx, sc.query(g, from, time.Time{}, amp.DimRoute|amp.DimStatus))
	if err != nil {
		return nil, fmt.Errorf("routes: %w", err)
	}
	routes := make(map[string]*RouteStat)
	for _, row := range rows {
		rs, ok := routes[row.Route]
		if !ok {
			rs = &RouteStat{Route: row.Route}
			routes[row.Route] = rs
		}
		rs.Requests += row.Requests
		if row.StatusClass >= 4 {
			rs.Errors += row.Requests
		}
	}
	for _, rs := range routes {
		rs.ErrorRate = ratio(rs.Errors, rs.Requests)
		r.Routes = append(r.Routes, *rs)
	}
	slices.SortFunc(r.Routes, func(a, b RouteStat) int {
		return cmp.Or(cmp.Compare(b.Requests, a.Requests), cmp.Compare(a.Route, b.Route))
	})

	countries, err := m.countries(ctx, sc, g, from, time.Time{})
	if err != nil {
		return nil, fmt.Errorf("countries: %w", err)
	}
	for c, n := range countries {
		r.Countries = append(r.Countries, CountryShare{Country: c, Requests: n, Share: ratio(n, r.Requests)})
	}
	slices.SortFunc(r.Countries, func(a, b CountryShare) int {
		return cmp.Or(cmp.Compare(b.Requests, a.Requests), cmp.Compare(a.Country, b.Country))
	})
	return r, nil
}

// countries sums requests by country over [from, to) at granularity g.
func (m *Monitor) countries(ctx context.Context, sc scope, g amp.Granularity, from, to time.Time) (map[string]int64, error) {
	rows, err := m.Store.Usage(ctx, sc.query(g, from, to, amp.DimCountry))
	if err != nil {
		return nil, err
	}
	out := make(map[string]int64, len(rows))
	for _, row := range rows {
		out[row.Country] += row.Requests
	}
	return out, nil
}

// flags examines one key (sc names a key) for a burst, new countries and
// refusals in the window starting at from, whose buckets are of
// granularity g.
func (m *Monitor) flags(ctx context.Context, sc scope, g amp.Granularity, from, now time.Time) (Flags, error) {
	var f Flags
	burst, err := m.burst(ctx, sc, from, now)
	if err != nil {
		return f, fmt.Errorf("burst: %w", err)
	}
	if burst != nil {
		f.Burst = burst
		f.Reasons = append(f.Reasons, fmt.Sprintf("%d requests in the minute of %s: %.0f× the key's usual %.1f a minute",
			burst.Requests, burst.At.Format(time.RFC3339), burst.Factor, burst.Baseline))
	}
	if f.NewCountries, err = m.newCountries(ctx, sc, g, from); err != nil {
		return f, fmt.Errorf("new countries: %w", err)
	}
	for _, nc := range f.NewCountries {
		f.Reasons = append(f.Reasons, fmt.Sprintf("%d requests from %s, a country the key had never used, since %s",
			nc.Requests, nc.Country, nc.FirstSeen.Format(time.RFC3339)))
	}
	refused, err := m.refused(ctx, sc, from, now)
	if err != nil {
		return f, fmt.Errorf("refusals: %w", err)
	}
	th := m.thresholds()
	var flagged bool
	if refused.AuthFailed > 0 {
		flagged = true
		f.Reasons = append(f.Reasons, fmt.Sprintf("%d requests with the key after it was revoked, quarantined or expired", refused.AuthFailed))
	}
	if n := refused.RateLimited + refused.QuotaExceeded; n >= th.MinBurst {
		flagged = true
		f.Reasons = append(f.Reasons, fmt.Sprintf("%d requests refused by the rate limit or the monthly quota", n))
	}
	if flagged {
		f.Refused = &refused
	}
	f.SuspectedLeak = len(f.Reasons) > 0
	return f, nil
}

// refused counts the requests refused in the span the burst scan covers.
func (m *Monitor) refused(ctx context.Context, sc scope, from, now time.Time) (Refusals, error) {
	var r Refusals
	scanFrom := amp.GranularityMinute.Truncate(now.Add(-m.thresholds().BurstScan))
	if from.After(scanFrom) {
		scanFrom = amp.GranularityMinute.Truncate(from)
	}
	rows, err := m.Store.Usage(ctx, sc.query(amp.GranularityMinute, scanFrom, time.Time{}, amp.DimAdmission))
	if err != nil {
		return r, err
	}
	for _, row := range rows {
		r.add(row.Admission, row.Requests)
	}
	return r, nil
}

// burst finds the busiest minute of the scanned span and compares it with
// the key's baseline.
func (m *Monitor) burst(ctx context.Context, sc scope, from, now time.Time) (*Burst, error) {
	th := m.thresholds()
	scanFrom := amp.GranularityMinute.Truncate(now.Add(-th.BurstScan))
	if from.After(scanFrom) {
		scanFrom = amp.GranularityMinute.Truncate(from)
	}
	rows, err := m.Store.Usage(ctx, sc.query(amp.GranularityMinute, scanFrom, time.Time{}, amp.DimStart))
	if err != nil {
		return nil, err
	}
	var peak amp.UsageRow
	for _, row := range rows {
		if row.Requests > peak.Requests {
			peak = row
		}
	}
	if peak.Requests < th.MinBurst {
		return nil, nil
	}
	// The baseline ends where the scan starts, so that the burst does not
	// raise its own baseline.
	baseTo := amp.GranularityHour.Truncate(scanFrom)
	baseFrom := baseTo.AddDate(0, 0, -th.BaselineDays)
	hours, err := m.Store.Usage(ctx, sc.query(amp.GranularityHour, baseFrom, baseTo, amp.DimStart))
	if err != nil {
		return nil, err
	}
	var total int64
	active := 0
	for _, h := range hours {
		if h.Requests > 0 {
			total += h.Requests
			active++
		}
	}
	if active < th.MinBaselineHours {
		return nil, nil
	}
	baseline := float64(total) / float64(active*60)
	if float64(peak.Requests) <= th.BurstFactor*baseline {
		return nil, nil
	}
	return &Burst{At: peak.Start, Requests: peak.Requests, Baseline: baseline, Factor: float64(peak.Requests) / baseline}, nil
}

// newCountries returns the countries of the window the key had never used
// before it, if it had been used before it at all.
func (m *Monitor) newCountries(ctx context.Context, sc scope, g amp.Granularity, from time.Time) ([]NewCountry, error) {
	// Before from, at the finest granularity still kept for each stretch:
	// days up to from's day, hours up to from's hour, minutes up to from.
	day := amp.GranularityDay.Truncate(from)
	hour := amp.GranularityHour.Truncate(from)
	seen := make(map[string]int64)
	for _, part := range []struct {
		g        amp.Granularity
		from, to time.Time
	}{
		{amp.GranularityDay, time.Time{}, day},
		{amp.GranularityHour, day, hour},
		{amp.GranularityMinute, hour, from},
	} {
		if !part.to.After(part.from) && !part.from.IsZero() {
			continue
		}
		cs, err := m.countries(ctx, sc, part.g, part.from, part.to)
		if err != nil {
			return nil, err
		}
		for c, n := range cs {
			seen[c] += n
		}
	}
	if len(seen) == 0 {
		return nil, nil // no history: nothing is new
	}
	rows, err := m.Store.Usage(ctx, sc.query(g, from, time.Time{}, amp.DimStart|amp.DimCountry))
	if err != nil {
		return nil, err
	}
	found := make(map[string]*NewCountry)
	for _, row := range rows {
		if row.Country == amp.UnknownCountry || seen[row.Country] > 0 {
			continue
		}
		nc, ok := found[row.Country]
		if !ok {
			nc = &NewCountry{Country: row.Country, FirstSeen: row.Start}
			found[row.Country] = nc
		}
		nc.Requests += row.Requests
		if row.Start.Before(nc.FirstSeen) {
			nc.FirstSeen = row.Start
		}
	}
	out := make([]NewCountry, 0, len(found))
	for _, nc := range found {
		out = append(out, *nc)
	}
	slices.SortFunc(out, func(a, b NewCountry) int {
		return cmp.Or(cmp.Compare(b.Requests, a.Requests), cmp.Compare(a.Country, b.Country))
	})
	return out, nil
}

func ratio(a, b int64) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

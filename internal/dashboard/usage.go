package dashboard

import (
	"context"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/internal/monitor"
)

// The Usage page reads the meter's counts through internal/monitor: volume
// and rate over time, error rates, keys, routes and countries of the
// account in the page's mode, and the flags (bursts, new countries) that
// suggest a leaked key. The keys page shows the same flags beside each key.

// usageWindows are the spans the page offers.
var usageWindows = []struct {
	Value string
	Label string
	D     time.Duration
}{
	{"1h", "Last hour", time.Hour},
	{"24h", "Last 24 hours", 24 * time.Hour},
	{"7d", "Last 7 days", 7 * 24 * time.Hour},
	{"30d", "Last 30 days", 30 * 24 * time.Hour},
}

// leakWindow is the span the keys page examines for leak warnings.
const leakWindow = 24 * time.Hour

// currentRateSpan is the span over which the page's current rate is
// measured: long enough not to flicker, short enough to be current.
const currentRateSpan = 5 * time.Minute

type usagePage struct {
	Enabled     bool
	Window      string
	Windows     any
	KeyID       string
	Keys        []*amp.APIKey
	Report      *monitor.Report
	CurrentRate float64
	Traffic     template.HTML
	ErrorChart  template.HTML
	CountryBars template.HTML
	KeyRows     []usageKeyRow
	Countries   []usageCountry
	Alerts      []string
	Quota       *quotaView
	Updated     time.Time
}

type usageKeyRow struct {
	Key       *amp.APIKey // nil for a key deleted since
	KeyID     string
	Requests  int64
	ErrorRate float64
	Flags     monitor.Flags
	URL       string
}

type usageCountry struct {
	monitor.CountryShare
	New bool
}

func (h *handler) usagePage(w http.ResponseWriter, r *http.Request, rq *request) error {
	ctx := r.Context()
	data := &usagePage{Enabled: h.cfg.Usage != nil, Window: "24h", Windows: usageWindows}
	q, err := h.quota(r, rq.account)
	if err != nil {
		return err
	}
	data.Quota = q
	if !data.Enabled {
		return h.render(w, http.StatusOK, "usage", h.page(rq, "usage", "Usage", data))
	}
	window := 24 * time.Hour
	for _, uw := range usageWindows {
		if uw.Value == r.URL.Query().Get("window") {
			data.Window, window = uw.Value, uw.D
		}
	}
	keys, err := h.svc.Keys(ctx, rq.account.ID)
	if err != nil {
		return err
	}
	byID := make(map[string]*amp.APIKey)
	for _, k := range keys {
		if k.Mode == rq.mode {
			data.Keys = append(data.Keys, k)
			byID[k.ID] = k
		}
	}
	now := h.now()
	data.Updated = now
	var rep *monitor.Report
	if id := r.URL.Query().Get("key"); id != "" {
		k, ok := byID[id]
		if !ok {
			return amp.Errorf(amp.CodeNotFound, "No such API key.")
		}
		data.KeyID = id
		rep, err = monitor.KeyReport(ctx, h.cfg.Usage, k, now, window)
	} else {
		rep, err = monitor.AccountReport(ctx, h.cfg.Usage, rq.account.ID, rq.mode, now, window)
	}
	if err != nil {
		return err
	}
	data.Report = rep
	if data.CurrentRate, err = h.currentRate(ctx, rq, data.KeyID, now); err != nil {
		return err
	}

	// Flags: an account report carries them per key, a key report as its
	// own. Both mark the series.
	flagged := []monitor.Flags{rep.Flags}
	for _, ks := range rep.Keys {
		flagged = append(flagged, ks.Flags)
		row := usageKeyRow{Key: byID[ks.KeyID], KeyID: ks.KeyID, Requests: ks.Requests, ErrorRate: ks.ErrorRate, Flags: ks.Flags}
		row.URL = modePath(rq.mode, "usage") + "?" + url.Values{"key": {ks.KeyID}, "window": {data.Window}}.Encode()
		data.KeyRows = append(data.KeyRows, row)
	}
	newCountry := make(map[string]bool)
	for _, f := range flagged {
		for _, nc := range f.NewCountries {
			newCountry[nc.Country] = true
		}
	}
	if data.KeyID != "" {
		data.Alerts = append(data.Alerts, rep.Flags.Reasons...)
	} else {
		for _, ks := range rep.Keys {
			for _, reason := range ks.Flags.Reasons {
				data.Alerts = append(data.Alerts, keyLabel(byID[ks.KeyID], ks.KeyID)+": "+reason)
			}
		}
	}
	step := rep.Granularity.Duration()
	pts := make([]seriesPoint, len(rep.Series))
	for i, p := range rep.Series {
		pts[i] = seriesPoint{Start: p.Start, Requests: p.Requests, Errors: p.ClientErrors + p.ServerErrors}
	}
	mark := func(t time.Time, set func(*seriesPoint)) {
		// The bucket holding t: the last one starting at or before it.
		i, found := slices.BinarySearchFunc(pts, t, func(p seriesPoint, t time.Time) int { return p.Start.Compare(t) })
		if !found {
			i--
		}
		if i >= 0 && i < len(pts) {
			set(&pts[i])
		}
	}
	for _, f := range flagged {
		if f.Burst != nil {
			mark(f.Burst.At, func(p *seriesPoint) { p.Spike = true })
		}
		for _, nc := range f.NewCountries {
			mark(nc.FirstSeen, func(p *seriesPoint) { p.NewGeo = true })
		}
	}
	data.Traffic = trafficChart("Requests over time", pts, step)
	data.ErrorChart = rateChart("Error rate over time", pts, step)
	var bars []barRow
	for _, c := range rep.Countries {
		data.Countries = append(data.Countries, usageCountry{CountryShare: c, New: newCountry[c.Country]})
		label := countryLabel(c.Country)
		if newCountry[c.Country] {
			label += " (new)"
		}
		bars = append(bars, barRow{Label: label, Value: c.Share, ValueText: fmt.Sprintf("%s · %s", fmtNum(c.Requests), pctText(c.Share)), Strong: newCountry[c.Country]})
	}
	if len(bars) > 0 {
		data.CountryBars = hbars("Requests by country", "Horizontal bars: the share of requests from each client country; new countries are marked.", bars, 1)
	}
	return h.render(w, http.StatusOK, "usage", h.page(rq, "usage", "Usage", data))
}

// currentRate is the requests per second of the last few minutes.
func (h *handler) currentRate(ctx context.Context, rq *request, keyID string, now time.Time) (float64, error) {
	from := amp.GranularityMinute.Truncate(now.Add(-currentRateSpan))
	rows, err := h.cfg.Usage.Usage(ctx, amp.UsageQuery{
		Granularity: amp.GranularityMinute, AccountID: rq.account.ID, KeyID: keyID, Mode: rq.mode, From: from, Dims: amp.DimStart,
	})
	if err != nil {
		return 0, fmt.Errorf("current rate: %w", err)
	}
	var n int64
	for _, r := range rows {
		n += r.Requests
	}
	span := now.Sub(from)
	if span <= 0 {
		return 0, nil
	}
	return float64(n) / span.Seconds(), nil
}

// keyWarnings returns the leak reasons of the account's keys in the page's
// mode over the last day, by key id.
func (h *handler) keyWarnings(ctx context.Context, rq *request) (map[string][]string, error) {
	if h.cfg.Usage == nil {
		return nil, nil
	}
	rep, err := monitor.AccountReport(ctx, h.cfg.Usage, rq.account.ID, rq.mode, h.now(), leakWindow)
	if err != nil {
		return nil, err
	}
	out := make(map[string][]string)
	for _, ks := range rep.Keys {
		if ks.Flags.SuspectedLeak {
			out[ks.KeyID] = ks.Flags.Reasons
		}
	}
	return out, nil
}

func keyLabel(k *amp.APIKey, id string) string {
	if k == nil {
		return "Key " + id
	}
	name := k.Name
	if name == "" {
		name = "Unnamed"
	}
	return fmt.Sprintf("Key “%s” (%s)", name, k.Masked())
}

func countryLabel(code string) string {
	if code == amp.UnknownCountry || code == "" {
		return "Unknown"
	}
	return code
}

// quota returns the account's live usage this month: from the limiter when
// configured (it knows the counts not yet stored), else from the stored
// counts, else nil.
func (h *handler) quota(r *http.Request, a *amp.Account) (*quotaView, error) {
	now := h.now()
	var used, limit int64
	var resets time.Time
	switch {
	case h.cfg.Quota != nil:
		q, err := h.cfg.Quota.QuotaUsage(r.Context(), a, now)
		if err != nil {
			return nil, err
		}
		used, limit, resets = q.Used, q.Limit, q.ResetsAt
	case h.cfg.Usage != nil:
		n, err := h.cfg.Usage.QuotaUsage(r.Context(), a.ID, amp.MonthStart(now))
		if err != nil {
			return nil, fmt.Errorf("quota usage: %w", err)
		}
		used, limit, resets = n, a.Plan.MonthlyQuota(), amp.MonthStart(now).AddDate(0, 1, 0)
	default:
		return nil, nil
	}
	v := &quotaView{Used: used, Limit: limit, ResetsAt: resets}
	if limit > 0 {
		v.Fraction = min(float64(used)/float64(limit), 1)
		v.Remaining = max(limit-used, 0)
	}
	return v, nil
}

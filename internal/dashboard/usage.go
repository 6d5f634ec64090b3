package dashboard

import (
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/internal/service"
)

// The Usage page shows the service's usage reports (the meter's counts,
// read through internal/monitor): volume
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
	Report      *service.UsageReport
	CurrentRate float64
	PeakRate    float64 // at least CurrentRate
	Traffic     template.HTML
	ErrorChart  template.HTML
	CountryBars template.HTML
	KeyRows     []usageKeyRow
	Countries   []usageCountry
	Alerts      []string
	Quota       *service.QuotaUsage
	Updated     time.Time
}

type usageKeyRow struct {
	Key       *amp.APIKey // nil for a key deleted since
	KeyID     string
	Requests  int64
	ErrorRate float64
	Flags     service.UsageFlags
	URL       string
}

type usageCountry struct {
	service.CountryShare
	New bool
}

// usageWindow is the span of a window's value ("" for the default, 24h),
// and false for a value the page does not offer.
func usageWindow(v string) (time.Duration, bool) {
	if v == "" {
		v = "24h"
	}
	for _, uw := range usageWindows {
		if uw.Value == v {
			return uw.D, true
		}
	}
	return 0, false
}

func (h *handler) usagePage(w http.ResponseWriter, r *http.Request, rq *request) error {
	ctx := r.Context()
	data := &usagePage{Enabled: h.svc.UsageRecorded(), Window: "24h", Windows: usageWindows}
	q, err := h.svc.QuotaUsage(ctx, rq.account)
	if err != nil {
		return err
	}
	data.Quota = q
	if !data.Enabled {
		return h.render(w, http.StatusOK, "usage", h.page(rq, "usage", "Usage", data))
	}
	window, ok := usageWindow(r.URL.Query().Get("window"))
	if !ok {
		// A window the page does not offer is a page that does not exist:
		// a 404 that says which do, not another window's figures.
		return amp.Errorf(amp.CodeNotFound, "No such usage window: choose 1h, 24h, 7d or 30d.")
	}
	if v := r.URL.Query().Get("window"); v != "" {
		data.Window = v
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
	now := h.svc.Now()
	data.Updated = now
	data.KeyID = r.URL.Query().Get("key")
	if _, ok := byID[data.KeyID]; data.KeyID != "" && !ok {
		return amp.Errorf(amp.CodeNotFound, "No such API key in %s mode.", rq.mode)
	}
	rep, _, err := h.svc.Usage(ctx, service.UsageSelection{AccountID: rq.account.ID, Mode: rq.mode, KeyOrID: data.KeyID, Window: window})
	if err != nil {
		return err
	}
	data.Report = rep
	if data.CurrentRate, err = h.svc.CurrentRate(ctx, rq.tenant(), data.KeyID, currentRateSpan); err != nil {
		return err
	}
	// The peak is the busiest bucket's average; the last five minutes are
	// a span of the window too, so the peak shown is at least the current
	// rate.
	data.PeakRate = max(rep.PeakRate, data.CurrentRate)

	// Flags: an account report carries them per key, a key report as its
	// own. Both mark the series.
	flagged := []service.UsageFlags{rep.Flags}
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

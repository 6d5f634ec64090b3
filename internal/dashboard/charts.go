package dashboard

import (
	"fmt"
	"html/template"
	"math"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/amp-protocol/amp"
)

// Charts are inline SVG built here, on the server: no chart library and no
// script, so they render without network access, under a CSP that forbids
// inline script and style (SVG presentation attributes are not styles), and
// for any user agent. Each chart is a figure with a title and description
// for assistive technology and the same numbers in a table beside it.
//
// Every string that reaches the SVG goes through esc; numbers are
// formatted here. The result is trusted HTML for the templates.

// Chart colours, each at least 3:1 against the white background (WCAG
// 1.4.11, non-text contrast); text colours are at least 4.5:1.
const (
	colText    = "#1f2937"
	colMuted   = "#4b5563"
	colGrid    = "#d1d5db"
	colBar     = "#4338ca"
	colBarAlt  = "#6b7280"
	colError   = "#b91c1c"
	colSpike   = "#b45309"
	colCountry = "#047857"
)

var chartSeq atomic.Int64

// chartID returns a document-unique id prefix for a chart's title and
// description.
func chartID() string { return "chart" + strconv.FormatInt(chartSeq.Add(1), 10) }

func esc(s string) string { return template.HTMLEscapeString(s) }

func ff(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) }

// svgOpen starts an SVG of the given viewBox size, labelled by a title and
// a description.
func svgOpen(b *strings.Builder, id string, w, h int, title, desc string) {
	// Drawn at its natural size, and shrunk (never stretched) by the
	// stylesheet to fit a narrower column, so that its text stays the size
	// of the page's.
	fmt.Fprintf(b, `<svg class="chart" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-labelledby="%s-t %s-d" font-family="system-ui, sans-serif" font-size="13">`, w, h, w, h, id, id)
	fmt.Fprintf(b, `<title id="%s-t">%s</title><desc id="%s-d">%s</desc>`, id, esc(title), id, esc(desc))
}

// barRow is one labelled horizontal bar.
type barRow struct {
	Label     string
	Value     float64 // in [0, Max]
	ValueText string
	Strong    bool // drawn in the strong colour and marked
	Group     string
}

// responsive returns both renderings of a chart; the stylesheet shows the
// wide one on wide screens and the narrow one on phones, whose text would
// be unreadably small if the wide one were shrunk to fit.
func responsive(render func(narrow bool) string) template.HTML {
	return template.HTML(`<div class="chart-wide">` + render(false) + `</div><div class="chart-narrow">` + render(true) + `</div>`)
}

// hbars draws labelled horizontal bars, in groups with a heading each. On
// the wide layout labels sit left of the bars; on the narrow one above
// them.
func hbars(title, desc string, rows []barRow, maxVal float64) template.HTML {
	if maxVal <= 0 {
		maxVal = 1
	}
	return responsive(func(narrow bool) string {
		w, labelW, barW, rowH, headH := 560, 170, 290, 22, 26
		if narrow {
			w, labelW, barW, rowH, headH = 340, 0, 250, 36, 26
		}
		h := 8
		prev := "\x00"
		for _, r := range rows {
			if r.Group != prev {
				if r.Group != "" {
					h += headH
				}
				prev = r.Group
			}
			h += rowH
		}
		id := chartID()
		var b strings.Builder
		svgOpen(&b, id, w, h, title, desc)
		y := 4
		prev = "\x00"
		for _, r := range rows {
			if r.Group != prev {
				prev = r.Group
				if r.Group != "" {
					fmt.Fprintf(&b, `<text x="0" y="%d" font-weight="600" fill="%s">%s</text>`, y+18, colText, esc(r.Group))
					y += headH
				}
			}
			fill := colBarAlt
			if r.Strong {
				fill = colBar
			}
			bw := math.Max(0, math.Min(1, r.Value/maxVal)) * float64(barW)
			text := r.ValueText
			if r.Strong {
				text += " ★"
			}
			barY := y + 3
			if narrow {
				fmt.Fprintf(&b, `<text x="0" y="%d" fill="%s">%s</text>`, y+13, colText, esc(r.Label))
				barY = y + 18
			} else {
				fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end" fill="%s">%s</text>`, labelW-8, y+15, colText, esc(r.Label))
			}
			fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="14" fill="#f3f4f6"/>`, labelW, barY, barW)
			fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%s" height="14" fill="%s"/>`, labelW, barY, ff(bw), fill)
			fmt.Fprintf(&b, `<text x="%s" y="%d" fill="%s">%s</text>`, ff(float64(labelW)+bw+6), barY+12, colText, esc(text))
			y += rowH
		}
		b.WriteString(`</svg>`)
		return b.String()
	})
}

// dimensionOptions lists each dimension of a ModelSummary's Strengths with
// its options in the wire order.
var dimensionOptions = []struct {
	Key, Name string
	Options   func() []string
}{
	{"framing", "Framing", func() []string { return strs(amp.Framings) }},
	{"style", "Communication style", func() []string { return strs(amp.Styles) }},
	{"complexity", "Complexity handling", func() []string { return strs(amp.Handlings) }},
	{"encouragement", "Encouragement", func() []string { return strs(amp.Encouragements) }},
}

func strs[T ~string](v []T) []string {
	out := make([]string, len(v))
	for i, s := range v {
		out[i] = string(s)
	}
	return out
}

// strengthsChart draws the learned strength of every option of every
// dimension, marking the profile's preferred option of each.
func strengthsChart(sum *amp.ModelSummary, p *amp.Profile) template.HTML {
	preferred := map[string]string{
		"framing":       string(p.PreferredFraming),
		"style":         string(p.CommunicationStyle),
		"complexity":    string(p.ComplexityPreference),
		"encouragement": string(p.EncouragementLevel),
	}
	var rows []barRow
	for _, d := range dimensionOptions {
		vals := sum.Strengths[d.Key]
		for _, o := range d.Options() {
			v, ok := vals[o]
			text := "no estimate"
			if ok {
				text = strconv.FormatFloat(v, 'f', 2, 64)
			}
			rows = append(rows, barRow{Group: d.Name, Label: enumLabel(o), Value: v, ValueText: text, Strong: preferred[d.Key] == o})
		}
	}
	return hbars("Learned preference strengths",
		"Horizontal bars from 0 to 1: the estimated value of each option for this user, grouped by dimension; a star marks the preferred option.",
		rows, 1)
}

// seriesPoint is one bucket of a traffic chart.
type seriesPoint struct {
	Start    time.Time
	Requests int64
	Errors   int64
	Spike    bool // unusually many requests
	NewGeo   bool // traffic from a country not seen before
}

// legendItem is one entry of a chart's legend.
type legendItem struct {
	shape, color, label string // shape: "square", "triangle", "diamond"
}

// legend draws items left to right from x, wrapping within width, and
// returns the height it took.
func legend(b *strings.Builder, items []legendItem, x, width int) int {
	cx, cy := x, 6
	for _, it := range items {
		need := 18 + 7*len(it.label) + 14
		if cx+need > width && cx > x {
			cx, cy = x, cy+18
		}
		switch it.shape {
		case "triangle":
			fmt.Fprintf(b, `<path d="M%d %d l5 10 h-10 z" fill="%s"/>`, cx+5, cy, it.color)
		case "diamond":
			fmt.Fprintf(b, `<path d="M%d %d l6 6 l-6 6 l-6 -6 z" fill="%s"/>`, cx+5, cy-1, it.color)
		default:
			fmt.Fprintf(b, `<rect x="%d" y="%d" width="10" height="10" fill="%s"/>`, cx, cy, it.color)
		}
		fmt.Fprintf(b, `<text x="%d" y="%d" fill="%s" font-size="12">%s</text>`, cx+16, cy+9, colText, esc(it.label))
		cx += need
	}
	return cy + 14
}

// trafficChart draws requests per bucket as bars, errors stacked in red,
// spikes and new-country traffic marked above their bars with distinct
// shapes (so that colour is not the only cue).
func trafficChart(title string, pts []seriesPoint, step time.Duration) template.HTML {
	var maxReq, total, errs int64
	var spikes, geos int
	for _, p := range pts {
		maxReq = max(maxReq, p.Requests)
		total += p.Requests
		errs += p.Errors
		if p.Spike {
			spikes++
		}
		if p.NewGeo {
			geos++
		}
	}
	yMax := niceCeil(float64(maxReq))
	desc := fmt.Sprintf("Bar chart of requests per %s: %d requests in all, %d of them errors; %d spikes (triangles) and %d periods with traffic from a new country (diamonds) are marked.",
		stepName(step), total, errs, spikes, geos)
	return responsive(func(narrow bool) string {
		w, h, left, right, bottom := 720, 240, 48, 8, 36
		if narrow {
			w, h, left, right = 360, 230, 40, 4
		}
		id := chartID()
		var b strings.Builder
		svgOpen(&b, id, w, h, title, desc)
		top := legend(&b, []legendItem{
			{"square", colBar, "requests"}, {"square", colError, "errors"},
			{"triangle", colSpike, "spike"}, {"diamond", colCountry, "new country"},
		}, left, w-right) + 22
		plotW, plotH := float64(w-left-right), float64(h-top-bottom)
		for i := 0; i <= 2; i++ {
			v := yMax * float64(i) / 2
			y := float64(top) + plotH - plotH*float64(i)/2
			fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%s" y2="%s" stroke="%s"/>`, left, w-right, ff(y), ff(y), colGrid)
			fmt.Fprintf(&b, `<text x="%d" y="%s" text-anchor="end" fill="%s" font-size="12">%s</text>`, left-6, ff(y+4), colMuted, esc(shortNum(v)))
		}
		n := max(len(pts), 1)
		slot := plotW / float64(n)
		bw := math.Max(1, slot*0.75)
		base := float64(top) + plotH
		for i, p := range pts {
			x := float64(left) + slot*float64(i) + (slot-bw)/2
			hReq := plotH * float64(p.Requests) / yMax
			hErr := plotH * float64(p.Errors) / yMax
			if p.Requests > 0 {
				fmt.Fprintf(&b, `<rect x="%s" y="%s" width="%s" height="%s" fill="%s"><title>%s: %d requests, %d errors</title></rect>`,
					ff(x), ff(base-hReq), ff(bw), ff(hReq-hErr), colBar, esc(fmtTime(p.Start)), p.Requests, p.Errors)
			}
			if p.Errors > 0 {
				fmt.Fprintf(&b, `<rect x="%s" y="%s" width="%s" height="%s" fill="%s"/>`, ff(x), ff(base-hErr), ff(bw), ff(hErr), colError)
			}
			cx := x + bw/2
			my := base - hReq - 4
			if p.Spike {
				fmt.Fprintf(&b, `<path d="M%s %s l6 10 h-12 z" fill="%s"><title>Spike at %s</title></path>`, ff(cx), ff(my-10), colSpike, esc(fmtTime(p.Start)))
				my -= 14
			}
			if p.NewGeo {
				fmt.Fprintf(&b, `<path d="M%s %s l6 6 l-6 6 l-6 -6 z" fill="%s"><title>New country at %s</title></path>`, ff(cx), ff(my-12), colCountry, esc(fmtTime(p.Start)))
			}
		}
		xLabels(&b, pts, step, left, w-right, h-12, slot, !narrow)
		b.WriteString(`</svg>`)
		return b.String()
	})
}

// xLabels writes the time axis: the first and last bucket, and the middle
// one when there is room.
func xLabels(b *strings.Builder, pts []seriesPoint, step time.Duration, left, right, y int, slot float64, middle bool) {
	if len(pts) == 0 {
		return
	}
	idx := []int{0, len(pts) - 1}
	if middle && len(pts) > 2 {
		idx = []int{0, len(pts) / 2, len(pts) - 1}
	}
	for _, i := range uniqueInts(idx...) {
		x := float64(left) + slot*float64(i) + slot/2
		anchor := "middle"
		switch i {
		case 0:
			anchor, x = "start", float64(left)
		case len(pts) - 1:
			anchor, x = "end", float64(right)
		}
		fmt.Fprintf(b, `<text x="%s" y="%d" text-anchor="%s" fill="%s" font-size="12">%s</text>`, ff(x), y, anchor, colMuted, esc(bucketLabel(pts[i].Start, step)))
	}
}

// rateChart draws a fraction per bucket (the error rate) as a line.
func rateChart(title string, pts []seriesPoint, step time.Duration) template.HTML {
	maxRate := 0.0
	for _, p := range pts {
		if p.Requests > 0 {
			maxRate = math.Max(maxRate, float64(p.Errors)/float64(p.Requests))
		}
	}
	yMax := math.Min(math.Max(0.05, niceCeil(maxRate*100)/100), 1)
	desc := fmt.Sprintf("Line chart of the share of requests that failed, per %s, from 0 to %s.", stepName(step), pctText(yMax))
	return responsive(func(narrow bool) string {
		w, h, left, right, top, bottom := 720, 160, 48, 8, 12, 30
		if narrow {
			w, h, left, right = 360, 150, 40, 4
		}
		plotW, plotH := float64(w-left-right), float64(h-top-bottom)
		id := chartID()
		var b strings.Builder
		svgOpen(&b, id, w, h, title, desc)
		for i := 0; i <= 2; i++ {
			v := yMax * float64(i) / 2
			y := float64(top) + plotH - plotH*float64(i)/2
			fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%s" y2="%s" stroke="%s"/>`, left, w-right, ff(y), ff(y), colGrid)
			fmt.Fprintf(&b, `<text x="%d" y="%s" text-anchor="end" fill="%s" font-size="12">%s</text>`, left-6, ff(y+4), colMuted, esc(pctText(v)))
		}
		n := max(len(pts), 1)
		slot := plotW / float64(n)
		var path strings.Builder
		for i, p := range pts {
			if p.Requests == 0 {
				continue
			}
			r := float64(p.Errors) / float64(p.Requests)
			x := float64(left) + slot*float64(i) + slot/2
			y := float64(top) + plotH - plotH*r/yMax
			cmd := "L"
			if path.Len() == 0 {
				cmd = "M"
			}
			fmt.Fprintf(&path, "%s%s %s ", cmd, ff(x), ff(y))
			fmt.Fprintf(&b, `<circle cx="%s" cy="%s" r="2.5" fill="%s"><title>%s: %s errors</title></circle>`, ff(x), ff(y), colError, esc(fmtTime(p.Start)), esc(pctText(r)))
		}
		if path.Len() > 0 {
			fmt.Fprintf(&b, `<path d="%s" fill="none" stroke="%s" stroke-width="2"/>`, strings.TrimSpace(path.String()), colError)
		}
		xLabels(&b, pts, step, left, w-right, h-10, slot, false)
		b.WriteString(`</svg>`)
		return b.String()
	})
}

// liftChart draws a lift estimate and its 95% interval on an axis through
// zero.
func liftChart(est, lo, hi float64) template.HTML {
	span := math.Max(math.Max(math.Abs(lo), math.Abs(hi)), math.Abs(est))
	span = math.Max(niceCeil(span*100)/100, 0.05)
	desc := fmt.Sprintf("Estimate %s with a 95%% interval from %s to %s, on an axis from %s to %s through zero.",
		signedPct(est), signedPct(lo), signedPct(hi), signedPct(-span), signedPct(span))
	col := colBar
	if lo > 0 {
		col = colCountry
	} else if hi < 0 {
		col = colError
	}
	return responsive(func(narrow bool) string {
		w, left, right, h := 560, 20, 20, 90
		if narrow {
			w, left, right = 340, 12, 12
		}
		x := func(v float64) float64 { return float64(left) + (v+span)/(2*span)*float64(w-left-right) }
		id := chartID()
		var b strings.Builder
		svgOpen(&b, id, w, h, "Lift of personalisation over the holdout", desc)
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="50" y2="50" stroke="%s"/>`, left, w-right, colGrid)
		fmt.Fprintf(&b, `<line x1="%s" x2="%s" y1="20" y2="70" stroke="%s" stroke-dasharray="4 3"/>`, ff(x(0)), ff(x(0)), colMuted)
		fmt.Fprintf(&b, `<text x="%s" y="86" text-anchor="middle" fill="%s" font-size="12">0</text>`, ff(x(0)), colMuted)
		fmt.Fprintf(&b, `<text x="%d" y="86" fill="%s" font-size="12">%s</text>`, left, colMuted, esc(signedPct(-span)))
		fmt.Fprintf(&b, `<text x="%d" y="86" text-anchor="end" fill="%s" font-size="12">%s</text>`, w-right, colMuted, esc(signedPct(span)))
		fmt.Fprintf(&b, `<line x1="%s" x2="%s" y1="50" y2="50" stroke="%s" stroke-width="4"/>`, ff(x(lo)), ff(x(hi)), col)
		for _, v := range []float64{lo, hi} {
			fmt.Fprintf(&b, `<line x1="%s" x2="%s" y1="42" y2="58" stroke="%s" stroke-width="2"/>`, ff(x(v)), ff(x(v)), col)
		}
		fmt.Fprintf(&b, `<circle cx="%s" cy="50" r="6" fill="%s"/>`, ff(x(est)), col)
		fmt.Fprintf(&b, `<text x="%s" y="32" text-anchor="middle" fill="%s" font-weight="600">%s</text>`, ff(x(est)), colText, esc(signedPct(est)))
		b.WriteString(`</svg>`)
		return b.String()
	})
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten (at least 1).
func niceCeil(v float64) float64 {
	if v <= 1 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

func shortNum(v float64) string {
	switch {
	case v >= 1e6:
		return strconv.FormatFloat(v/1e6, 'f', -1, 64) + "M"
	case v >= 1e3:
		return strconv.FormatFloat(v/1e3, 'f', -1, 64) + "k"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

func pctText(f float64) string {
	if f != 0 && math.Abs(f) < 0.1 {
		return strconv.FormatFloat(f*100, 'f', 1, 64) + "%"
	}
	return strconv.FormatFloat(f*100, 'f', 0, 64) + "%"
}

func signedPct(f float64) string {
	s := strconv.FormatFloat(f*100, 'f', 1, 64) + " pts"
	if f > 0 {
		return "+" + s
	}
	return s
}

func stepName(step time.Duration) string {
	switch {
	case step >= 24*time.Hour:
		return "day"
	case step >= time.Hour:
		return "hour"
	}
	return "minute"
}

func bucketLabel(t time.Time, step time.Duration) string {
	t = t.UTC()
	if step >= 24*time.Hour {
		return t.Format("2 Jan")
	}
	return t.Format("2 Jan 15:04")
}

func uniqueInts(v ...int) []int {
	var out []int
	for _, x := range v {
		dup := false
		for _, y := range out {
			dup = dup || x == y
		}
		if !dup {
			out = append(out, x)
		}
	}
	return out
}

package sim

import (
	"bufio"
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// The chart's geometry in SVG user units (CSS pixels): 8 × 5 inches at 96
// per inch, and the plotting area inside the margins that hold the title,
// the axes' labels and their ticks.
const (
	plotWidth, plotHeight         = 768, 480
	plotLeft, plotRight           = 72, 748
	plotTop, plotBottom           = 44, 424
	plotYMin, plotYMax    float64 = -0.1, 1.05
)

// curveColors are the lines of WritePlot, in the order of its results.
var curveColors = []string{"#1f77b4", "#d62728", "#2ca02c", "#9467bd"}

// WritePlot writes the learning curves of results as an SVG image: the
// normalised score of each interaction number (0 is uniform random, 1 the
// oracle), averaged over a window of three interactions to damp noise, with
// the windows 1–5 and 21–40 marked. The output depends only on its
// arguments, so that a run with the same seed writes the same file.
func WritePlot(w io.Writer, title string, results ...*Result) error {
	n := 2
	for _, r := range results {
		n = max(n, len(r.Curve))
	}
	px := func(x float64) float64 { return plotLeft + (x-1)/float64(n-1)*(plotRight-plotLeft) }
	py := func(y float64) float64 { return plotBottom - (y-plotYMin)/(plotYMax-plotYMin)*(plotBottom-plotTop) }

	b := bufio.NewWriter(w)
	fmt.Fprintf(b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n",
		plotWidth, plotHeight, plotWidth, plotHeight)
	fmt.Fprintf(b, `<rect width="%d" height="%d" fill="#fff"/>`+"\n", plotWidth, plotHeight)
	fmt.Fprintf(b, `<clipPath id="area"><rect x="%d" y="%d" width="%d" height="%d"/></clipPath>`+"\n",
		plotLeft, plotTop, plotRight-plotLeft, plotBottom-plotTop)
	fmt.Fprintf(b, `<text x="%d" y="24" text-anchor="middle" font-size="15">%s</text>`+"\n", (plotLeft+plotRight)/2, escape(title))

	// Grid and ticks: y every 0.2 from 0 to 1, x at 1 and every step.
	b.WriteString(`<g stroke="#ddd" stroke-width="1">` + "\n")
	for i := 0; i <= 5; i++ {
		y := coord(py(float64(i) / 5))
		fmt.Fprintf(b, `<line x1="%d" y1="%s" x2="%d" y2="%s"/>`+"\n", plotLeft, y, plotRight, y)
	}
	step := tickStep(n)
	xs := []int{1}
	for x := step; x <= n; x += step {
		if x > 1 {
			xs = append(xs, x)
		}
	}
	for _, x := range xs {
		c := coord(px(float64(x)))
		fmt.Fprintf(b, `<line x1="%s" y1="%d" x2="%s" y2="%d"/>`+"\n", c, plotTop, c, plotBottom)
	}
	b.WriteString("</g>\n")
	for i := 0; i <= 5; i++ {
		fmt.Fprintf(b, `<text x="%d" y="%s" text-anchor="end" dominant-baseline="middle">%s</text>`+"\n",
			plotLeft-6, coord(py(float64(i)/5)), strconv.FormatFloat(float64(i)/5, 'f', 1, 64))
	}
	for _, x := range xs {
		fmt.Fprintf(b, `<text x="%s" y="%d" text-anchor="middle">%d</text>`+"\n", coord(px(float64(x))), plotBottom+16, x)
	}
	fmt.Fprintf(b, `<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#000"/>`+"\n",
		plotLeft, plotTop, plotRight-plotLeft, plotBottom-plotTop)
	fmt.Fprintf(b, `<text x="%d" y="%d" text-anchor="middle">interaction</text>`+"\n", (plotLeft+plotRight)/2, plotBottom+40)
	fmt.Fprintf(b, `<text transform="translate(18 %d) rotate(-90)" text-anchor="middle">normalised score (0 = random, 1 = oracle)</text>`+"\n",
		(plotTop+plotBottom)/2)

	// The window marks: after interaction 5 and after 20.
	for _, x := range []float64{5.5, 20.5} {
		if x < float64(n) {
			c := coord(px(x))
			fmt.Fprintf(b, `<line x1="%s" y1="%d" x2="%s" y2="%d" stroke="#999" stroke-dasharray="5 5"/>`+"\n", c, plotTop, c, plotBottom)
		}
	}

	// The curves, clipped to the plotting area: a score below -0.1 (worse
	// than random) runs off the bottom rather than over the axis.
	b.WriteString(`<g clip-path="url(#area)" fill="none" stroke-width="2.5" stroke-linejoin="round">` + "\n")
	for i, r := range results {
		var pts []string
		for k, y := range smoothed(r.Curve) {
			if y == nil {
				continue
			}
			pts = append(pts, coord(px(float64(k+1)))+","+coord(py(*y)))
		}
		if len(pts) > 0 {
			fmt.Fprintf(b, `<polyline stroke="%s" points="%s"/>`+"\n", curveColors[i%len(curveColors)], strings.Join(pts, " "))
		}
	}
	b.WriteString("</g>\n")

	// The legend, in the bottom right corner where the curves are lowest
	// only at the start.
	const rowHeight = 18
	top := plotBottom - 10 - rowHeight*len(results)
	for i, r := range results {
		y := top + rowHeight*i + rowHeight/2
		label := fmt.Sprintf("%s (1–%d: %.2f)", r.Name, len(r.Curve), r.Window(1, len(r.Curve)).Score)
		fmt.Fprintf(b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="2.5"/>`+"\n",
			plotRight-38, y, plotRight-12, y, curveColors[i%len(curveColors)])
		fmt.Fprintf(b, `<text x="%d" y="%d" text-anchor="end" dominant-baseline="middle">%s</text>`+"\n", plotRight-44, y, escape(label))
	}
	b.WriteString("</svg>\n")
	return b.Flush()
}

// smoothed returns, for each interaction of curve, its normalised score
// averaged with its neighbours, or nil where the oracle does no better
// than random and the score has no meaning.
func smoothed(curve []Point) []*float64 {
	out := make([]*float64, len(curve))
	for k := range curve {
		lo, hi := max(0, k-1), min(len(curve)-1, k+1)
		var v Values
		for j := lo; j <= hi; j++ {
			v.Chosen += curve[j].Chosen
			v.Uniform += curve[j].Uniform
			v.Oracle += curve[j].Oracle
		}
		if v.Oracle <= v.Uniform {
			continue
		}
		y := (v.Chosen - v.Uniform) / (v.Oracle - v.Uniform)
		out[k] = &y
	}
	return out
}

// tickStep is the distance between labelled interactions on an axis of n:
// the smallest of 1, 2, 5, 10, 20, 50, … that fits at most ten times.
func tickStep(n int) int {
	for step := 1; ; step *= 10 {
		for _, m := range []int{1, 2, 5} {
			if n/(step*m) <= 10 {
				return step * m
			}
		}
	}
}

// coord formats an SVG coordinate to a tenth of a unit, which no screen
// can tell from the exact value and which keeps the file small.
func coord(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

// escape makes s safe as SVG text.
func escape(s string) string {
	var sb strings.Builder
	_ = xml.EscapeText(&sb, []byte(s))
	return sb.String()
}

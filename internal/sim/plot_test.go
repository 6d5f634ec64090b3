package sim

import (
	"bytes"
	"encoding/xml"
	"io"
	"strconv"
	"strings"
	"testing"
)

// curve builds a learning curve whose normalised score at interaction k
// (1-based) is score(k), with an oracle 0.4 above uniform.
func curve(n int, score func(k int) float64) []Point {
	c := make([]Point, n)
	for i := range c {
		c[i] = Point{Interaction: i + 1, N: 10, Values: Values{Uniform: 2, Oracle: 6, Chosen: 2 + 4*score(i+1)}}
	}
	return c
}

type svgDoc struct {
	Width     string `xml:"width,attr"`
	Height    string `xml:"height,attr"`
	Texts     []string
	Polylines []svgPolyline
}

type svgPolyline struct {
	Stroke string
	Points [][2]float64
}

// parseSVG reads the texts and the polylines of an SVG document, failing
// the test if it is not well-formed XML.
func parseSVG(t *testing.T, b []byte) svgDoc {
	t.Helper()
	var doc svgDoc
	d := xml.NewDecoder(bytes.NewReader(b))
	var inText bool
	var text strings.Builder
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v\n%s", err, b)
		}
		switch e := tok.(type) {
		case xml.StartElement:
			attr := func(name string) string {
				for _, a := range e.Attr {
					if a.Name.Local == name {
						return a.Value
					}
				}
				return ""
			}
			switch e.Name.Local {
			case "svg":
				doc.Width, doc.Height = attr("width"), attr("height")
			case "text":
				inText = true
				text.Reset()
			case "polyline":
				pl := svgPolyline{Stroke: attr("stroke")}
				for _, p := range strings.Fields(attr("points")) {
					x, y, ok := strings.Cut(p, ",")
					fx, err1 := strconv.ParseFloat(x, 64)
					fy, err2 := strconv.ParseFloat(y, 64)
					if !ok || err1 != nil || err2 != nil {
						t.Fatalf("bad point %q", p)
					}
					pl.Points = append(pl.Points, [2]float64{fx, fy})
				}
				doc.Polylines = append(doc.Polylines, pl)
			}
		case xml.CharData:
			if inText {
				text.Write(e)
			}
		case xml.EndElement:
			if e.Name.Local == "text" {
				inText = false
				doc.Texts = append(doc.Texts, text.String())
			}
		}
	}
	return doc
}

func TestWritePlot(t *testing.T) {
	rising := &Result{Name: "engine", Curve: curve(40, func(k int) float64 { return float64(k) / 40 })}
	flat := &Result{Name: "baseline", Curve: curve(40, func(int) float64 { return 0 })}
	var buf bytes.Buffer
	if err := WritePlot(&buf, `seed 7 <drift> & "more"`, rising, flat); err != nil {
		t.Fatal(err)
	}
	doc := parseSVG(t, buf.Bytes())
	if doc.Width != "768" || doc.Height != "480" {
		t.Errorf("size %s×%s; want 768×480", doc.Width, doc.Height)
	}
	texts := strings.Join(doc.Texts, "\n")
	for _, want := range []string{`seed 7 <drift> & "more"`, "interaction", "normalised score (0 = random, 1 = oracle)",
		"engine (1–40: 0.51)", "baseline (1–40: 0.00)", "0.0", "1.0", "40"} {
		if !strings.Contains(texts, want) {
			t.Errorf("no text %q in %q", want, texts)
		}
	}
	if len(doc.Polylines) != 2 {
		t.Fatalf("%d curves; want 2", len(doc.Polylines))
	}
	if doc.Polylines[0].Stroke == doc.Polylines[1].Stroke {
		t.Errorf("both curves are %s", doc.Polylines[0].Stroke)
	}
	up, level := doc.Polylines[0].Points, doc.Polylines[1].Points
	if len(up) != 40 || len(level) != 40 {
		t.Fatalf("%d and %d points; want 40 each", len(up), len(level))
	}
	// SVG's y grows downwards: the rising curve's points go up the page,
	// left to right, and the flat one stays at the height of 0.
	for i := 1; i < len(up); i++ {
		if up[i][0] <= up[i-1][0] {
			t.Fatalf("x does not grow at point %d: %v", i, up)
		}
		if i < len(up)-1 && up[i][1] >= up[i-1][1] {
			t.Fatalf("the rising curve does not rise at point %d: %v", i, up)
		}
	}
	zero := level[0][1]
	for _, p := range level {
		if p[1] != zero {
			t.Fatalf("the flat curve is not flat: %v", level)
		}
	}
	if up[0][0] != plotLeft || up[39][0] != plotRight {
		t.Errorf("the curve spans x %v..%v; want the whole axis %d..%d", up[0][0], up[39][0], plotLeft, plotRight)
	}
	// Between the axis' ends: 0 sits at 0.1/1.15 of the height above the bottom.
	if want := plotBottom - 0.1/1.15*(plotBottom-plotTop); zero < want-0.1 || zero > want+0.1 {
		t.Errorf("0 drawn at y=%v; want %.1f", zero, want)
	}

	var again bytes.Buffer
	if err := WritePlot(&again, `seed 7 <drift> & "more"`, rising, flat); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), again.Bytes()) {
		t.Error("the same results drew two different files")
	}
}

// An interaction where the oracle does no better than random has no score:
// the curve leaves it out rather than divide by zero.
func TestWritePlotSkipsMeaninglessPoints(t *testing.T) {
	c := curve(9, func(int) float64 { return 0.5 })
	for _, i := range []int{2, 3, 4, 5, 6} { // smoothed, 3, 4 and 5 see only these
		c[i].Oracle, c[i].Chosen = c[i].Uniform, c[i].Uniform
	}
	c[4].Oracle = 0 // below uniform
	var buf bytes.Buffer
	if err := WritePlot(&buf, "gaps", &Result{Name: "x", Curve: c}); err != nil {
		t.Fatal(err)
	}
	doc := parseSVG(t, buf.Bytes())
	if len(doc.Polylines) != 1 || len(doc.Polylines[0].Points) != 6 {
		t.Fatalf("curves %+v; want one of 6 points", doc.Polylines)
	}
	if strings.Contains(buf.String(), "NaN") || strings.Contains(buf.String(), "Inf") {
		t.Errorf("non-finite coordinates:\n%s", buf.String())
	}
}

func TestTickStep(t *testing.T) {
	for n, want := range map[int]int{2: 1, 10: 1, 11: 2, 20: 2, 40: 5, 50: 5, 51: 5, 56: 10, 109: 10, 110: 20, 10000: 1000} {
		if got := tickStep(n); got != want {
			t.Errorf("tickStep(%d) = %d; want %d", n, got, want)
		}
	}
}

package sim

import (
	"fmt"
	"image/color"
	"io"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// curveColors are the lines of WritePlot, in the order of its results.
var curveColors = []color.Color{
	color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff},
	color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff},
	color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff},
	color.RGBA{R: 0x94, G: 0x67, B: 0xbd, A: 0xff},
}

// WritePlot writes the learning curves of results as a PNG: the normalised
// score of each interaction number (0 is uniform random, 1 the oracle),
// averaged over a window of three interactions to damp noise, with the
// windows 1–5 and 21–40 marked.
func WritePlot(w io.Writer, title string, results ...*Result) error {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "interaction"
	p.Y.Label.Text = "normalised score (0 = random, 1 = oracle)"
	p.Y.Min, p.Y.Max = -0.1, 1.05
	p.Add(plotter.NewGrid())
	n := 0
	for i, r := range results {
		pts := make(plotter.XYs, 0, len(r.Curve))
		for k := range r.Curve {
			lo, hi := max(0, k-1), min(len(r.Curve)-1, k+1)
			var v Values
			for j := lo; j <= hi; j++ {
				v.Chosen += r.Curve[j].Chosen
				v.Uniform += r.Curve[j].Uniform
				v.Oracle += r.Curve[j].Oracle
			}
			if v.Oracle <= v.Uniform {
				continue
			}
			pts = append(pts, plotter.XY{X: float64(k + 1), Y: (v.Chosen - v.Uniform) / (v.Oracle - v.Uniform)})
		}
		line, err := plotter.NewLine(pts)
		if err != nil {
			return fmt.Errorf("plot %s: %w", r.Name, err)
		}
		line.Color = curveColors[i%len(curveColors)]
		line.Width = vg.Points(2)
		p.Add(line)
		w40 := r.Window(1, len(r.Curve))
		p.Legend.Add(fmt.Sprintf("%s (1–%d: %.2f)", r.Name, len(r.Curve), w40.Score), line)
		n = max(n, len(r.Curve))
	}
	for _, x := range []float64{5.5, 20.5} {
		if x < float64(n) {
			mark, err := plotter.NewLine(plotter.XYs{{X: x, Y: -0.1}, {X: x, Y: 1.05}})
			if err != nil {
				return err
			}
			mark.Color = color.Gray{Y: 0x99}
			mark.Dashes = []vg.Length{vg.Points(4), vg.Points(4)}
			p.Add(mark)
		}
	}
	p.Legend.Top = false
	p.Legend.Left = false
	p.Legend.XOffs, p.Legend.YOffs = -vg.Points(8), vg.Points(8)
	p.X.Min, p.X.Max = 1, float64(max(n, 2))
	wt, err := p.WriterTo(8*vg.Inch, 5*vg.Inch, "png")
	if err != nil {
		return err
	}
	_, err = wt.WriteTo(w)
	return err
}

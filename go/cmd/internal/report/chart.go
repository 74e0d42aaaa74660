package report

import (
	"errors"
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// seriesColors by series name (colour-blind-safe Okabe–Ito hues).
var seriesColors = map[string]color.Color{
	NameGatunPython: color.RGBA{0x00, 0x72, 0xB2, 0xFF}, // blue
	NameGatunGo:     color.RGBA{0x00, 0x9E, 0x73, 0xFF}, // green
	NamePy4J:        color.RGBA{0xD5, 0x5E, 0x00, 0xFF}, // vermillion
	NameJPype:       color.RGBA{0x99, 0x99, 0x99, 0xFF}, // grey
}

func colorOf(name string) color.Color {
	if c, ok := seriesColors[name]; ok {
		return c
	}
	return color.Black
}

// DrawFoundationChart draws foundation.png: every series per operation.
func (d *Data) DrawFoundationChart(path string) error {
	return Chart(path, "Gatun (Python and Go clients) vs Py4J vs JPype: per-call latency, lower is better"+d.busyNote(),
		d.Ops(), d.Series())
}

// busyNote is a title line warning that the Go run had a busy machine, or "".
func (d *Data) busyNote() string {
	if d.Go == nil || max(d.Go.LoadStart, d.Go.LoadEnd) <= float64(d.Go.CPUs) {
		return ""
	}
	return fmt.Sprintf("\nGo run on a busy machine (load %.1f on %d CPUs): not representative",
		max(d.Go.LoadStart, d.Go.LoadEnd), d.Go.CPUs)
}

// DrawGoChart draws go.png: the operations the Go client measured, Go vs Python vs Py4J.
func (d *Data) DrawGoChart(path string) error {
	if d.Go == nil {
		return fmt.Errorf("no %s", GoJSON)
	}
	var ops []string
	for _, op := range d.Ops() {
		if _, ok := d.Go.Operation[op]; ok {
			ops = append(ops, op)
		}
	}
	var series []Series
	for _, s := range d.Series() {
		if s.Name != NameJPype {
			series = append(series, s)
		}
	}
	return Chart(path, "Gatun Go client vs Python client vs Py4J: per-call latency, lower is better"+d.busyNote(), ops, series)
}

// Chart draws grouped bars on a log scale (one group per operation, one bar per series: the
// median, with a whisker up to the p99 where known) and saves a PNG.
func Chart(path, title string, ops []string, series []Series) error {
	if len(ops) == 0 || len(series) == 0 {
		return errors.New("nothing to draw: no operations or no series")
	}
	lo, hi := math.Inf(1), 0.0
	for _, s := range series {
		for _, op := range ops {
			if m, ok := s.Median[op]; ok {
				lo, hi = math.Min(lo, m), math.Max(hi, m)
				if p, ok := s.P99[op]; ok {
					hi = math.Max(hi, p)
				}
			}
		}
	}
	if hi == 0 {
		return errors.New("nothing to draw: no series has a median for these operations")
	}
	// Axis in µs, from a power of ten below the smallest median to almost a decade above the largest
	// value (room for the value labels).
	lo, hi = lo/1e3, hi/1e3
	yMin := math.Pow10(int(math.Floor(math.Log10(lo))))
	if yMin > lo/2 {
		yMin /= 10
	}
	yMax := hi * 8

	p := plot.New()
	p.Title.Text = title + "\nbar: median per call; whisker: p99; log scale"
	p.Title.TextStyle.Font.Size = vg.Points(12)
	p.Title.Padding = vg.Points(6)
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = decadeTicks{}
	// No Y label: gonum pads a log axis for it as if it were linear (a large gap at the top).
	p.Y.Tick.Label.Font.Size = vg.Points(10)
	p.Y.Min, p.Y.Max = yMin, yMax
	p.X.Min, p.X.Max = -0.5, float64(len(ops))-0.5
	labels := make([]string, len(ops))
	for i, op := range ops {
		labels[i] = shortLabel(op)
	}
	p.NominalX(labels...)
	p.X.Tick.Label.Font.Size = vg.Points(10)
	p.Add(&gridLines{})
	p.Add(&bars{ops: ops, series: series})
	p.Legend.Top = true
	p.Legend.Left = true
	p.Legend.XOffs = vg.Points(8)
	p.Legend.YOffs = -vg.Points(4)
	p.Legend.TextStyle.Font.Size = vg.Points(10)
	p.Legend.Padding = vg.Points(3)
	for _, s := range series {
		p.Legend.Add(s.Name, swatch{colorOf(s.Name)})
	}
	w := vg.Length(math.Max(8, 1.35*float64(len(ops)))) * vg.Inch
	return savePNG(p, w, 6*vg.Inch, path)
}

// savePNG renders at 120 dpi.
func savePNG(p *plot.Plot, w, h vg.Length, path string) error {
	c := vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(120))}
	p.Draw(draw.New(c))
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := c.WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// decadeTicks labels each power of ten in time units and marks 2..9 without labels.
type decadeTicks struct{}

// Ticks implements plot.Ticker for an axis in µs.
func (decadeTicks) Ticks(min, max float64) []plot.Tick {
	var ticks []plot.Tick
	for e := int(math.Floor(math.Log10(min))); math.Pow10(e) <= max; e++ {
		v := math.Pow10(e)
		if v >= min {
			ticks = append(ticks, plot.Tick{Value: v, Label: FormatNSShort(v * 1e3)})
		}
		for i := 2; i < 10; i++ {
			if x := v * float64(i); x >= min && x <= max {
				ticks = append(ticks, plot.Tick{Value: x})
			}
		}
	}
	return ticks
}

// FormatNSShort prints a power-of-ten duration in ns: "100 ns", "1 µs", "10 ms".
func FormatNSShort(ns float64) string {
	switch {
	case ns >= 1e9:
		return fmt.Sprintf("%g s", ns/1e9)
	case ns >= 1e6:
		return fmt.Sprintf("%g ms", ns/1e6)
	case ns >= 1e3:
		return fmt.Sprintf("%g µs", ns/1e3)
	}
	return fmt.Sprintf("%g ns", ns)
}

// gridLines draws horizontal lines at each decade.
type gridLines struct{}

// Plot implements plot.Plotter.
func (gridLines) Plot(c draw.Canvas, p *plot.Plot) {
	_, trY := p.Transforms(&c)
	major := draw.LineStyle{Color: color.Gray{0xC8}, Width: vg.Points(0.6)}
	minor := draw.LineStyle{Color: color.Gray{0xE6}, Width: vg.Points(0.4)}
	for _, t := range (decadeTicks{}).Ticks(p.Y.Min, p.Y.Max) {
		st := minor
		if t.Label != "" {
			st = major
		}
		y := trY(t.Value)
		c.StrokeLine2(st, c.Min.X, y, c.Max.X, y)
	}
}

// bars is the grouped bar plotter; bars rise from the bottom of the axis.
type bars struct {
	ops    []string
	series []Series
}

// Plot implements plot.Plotter.
func (b *bars) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	n := float64(len(b.series))
	group := 0.84
	width := group / n
	labelStyle := text.Style{
		Color:    color.Gray{0x20},
		Font:     font.From(plot.DefaultFont, vg.Points(7.5)),
		Rotation: math.Pi / 2,
		XAlign:   draw.XLeft,
		YAlign:   draw.YCenter,
		Handler:  p.TextHandler,
	}
	noteStyle := labelStyle
	noteStyle.Color = color.Gray{0x70}
	whisker := draw.LineStyle{Color: color.Gray{0x30}, Width: vg.Points(0.9)}
	bottom := c.Min.Y
	for i, op := range b.ops {
		for j, s := range b.series {
			center := float64(i) - group/2 + width*(float64(j)+0.5)
			x0, x1, xc := trX(center-width*0.45), trX(center+width*0.45), trX(center)
			m, ok := s.Median[op]
			if !ok {
				note := "n/a"
				if _, failed := s.Err[op]; failed {
					note = "error"
				}
				noteStyle.Color = colorOf(s.Name)
				c.FillText(noteStyle, vg.Point{X: xc, Y: bottom + vg.Points(3)}, note)
				continue
			}
			top := trY(m / 1e3)
			c.FillPolygon(colorOf(s.Name), []vg.Point{{X: x0, Y: bottom}, {X: x1, Y: bottom}, {X: x1, Y: top}, {X: x0, Y: top}})
			labelAt := top
			if p99, ok := s.P99[op]; ok && p99 > m {
				ty := trY(p99 / 1e3)
				c.StrokeLine2(whisker, xc, top, xc, ty)
				cap := (x1 - x0) * 0.3
				c.StrokeLine2(whisker, xc-cap, ty, xc+cap, ty)
				labelAt = ty
			}
			c.FillText(labelStyle, vg.Point{X: xc, Y: labelAt + vg.Points(2)}, FormatNS(m))
		}
	}
}

// swatch is a legend thumbnail: a filled box.
type swatch struct{ c color.Color }

// Thumbnail implements plot.Thumbnailer.
func (s swatch) Thumbnail(c *draw.Canvas) {
	c.FillPolygon(s.c, []vg.Point{{X: c.Min.X, Y: c.Min.Y}, {X: c.Max.X, Y: c.Min.Y}, {X: c.Max.X, Y: c.Max.Y}, {X: c.Min.X, Y: c.Max.Y}})
}

// Render writes everything the data allows into dir: go.md (with Go results), foundation.png
// and go.png (with Go results). It returns the files written.
func Render(dir string) ([]string, error) {
	d, err := Load(dir)
	if err != nil {
		return nil, err
	}
	var wrote []string
	if d.Go != nil {
		p := filepath.Join(dir, GoMarkdown)
		if err := d.WriteGoMarkdown(p); err != nil {
			return wrote, err
		}
		wrote = append(wrote, p)
	}
	p := filepath.Join(dir, FoundationPNG)
	if err := d.DrawFoundationChart(p); err != nil {
		return wrote, fmt.Errorf("%s: %w", p, err)
	}
	wrote = append(wrote, p)
	if d.Go != nil {
		p := filepath.Join(dir, GoPNG)
		if err := d.DrawGoChart(p); err != nil {
			return wrote, fmt.Errorf("%s: %w", p, err)
		}
		wrote = append(wrote, p)
	}
	return wrote, nil
}

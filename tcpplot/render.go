package tcpplot

// Drawing a Series with gonum.org/v1/plot: three panels stacked on one
// time axis — the time-sequence graph (the tallest), cwnd and ssthresh,
// srtt and rttvar — their data areas aligned so that one instant is one
// column of the image in every panel.

import (
	"errors"
	"fmt"
	"image/color"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// The colors of the graphs: tcptrace's where a white background allows
// (it draws on black: data white, ACKs green, window yellow,
// retransmissions red).
var (
	ColorSegment  = color.RGBA{0x1f, 0x4e, 0x9c, 0xff} // data segments
	ColorRetrans  = color.RGBA{0xd6, 0x27, 0x28, 0xff} // retransmitted segments
	ColorAck      = color.RGBA{0x2c, 0xa0, 0x2c, 0xff} // the ACK line
	ColorWindow   = color.RGBA{0xc8, 0x96, 0x00, 0xff} // the window line
	ColorSYNFIN   = color.RGBA{0x94, 0x67, 0xbd, 0xff} // SYN and FIN
	ColorCWnd     = color.RGBA{0x17, 0x6a, 0xb8, 0xff} // cwnd
	ColorSsthresh = color.RGBA{0xff, 0x7f, 0x0e, 0xff} // ssthresh
	ColorSRTT     = color.RGBA{0x8c, 0x3a, 0x8c, 0xff} // srtt
	ColorRTTVar   = color.RGBA{0x7f, 0x7f, 0x7f, 0xff} // rttvar
)

// DPI is the resolution of the raster formats: RenderOptions' sizes are
// pixels at it (for SVG and PDF, 1 pixel is 0.75 point).
const DPI = 96

// Default image size in pixels.
const (
	DefaultWidth  = 1000
	DefaultHeight = 1100
)

// RenderOptions configure Render.
type RenderOptions struct {
	// Format is "svg", "png" or "pdf" (or "jpg", "tiff", "eps"): see
	// FormatOf.
	Format string
	// Width and Height are the image's size in pixels (0: the default).
	Width, Height int
}

// ErrFormat is returned for an image format Render cannot write.
var ErrFormat = errors.New("tcpplot: unknown image format (want .svg, .png or .pdf)")

// FormatOf returns the image format a file name's extension asks for.
func FormatOf(name string) (string, error) {
	switch f := strings.ToLower(strings.TrimPrefix(filepath.Ext(name), ".")); f {
	case "svg", "png", "pdf", "eps", "tiff":
		return f, nil
	case "jpg", "jpeg":
		return "jpg", nil
	case "tif":
		return "tiff", nil
	}
	return "", fmt.Errorf("%w: %q", ErrFormat, name)
}

// Render draws s's three panels into one image written to w.
func Render(w io.Writer, s *Series, o RenderOptions) error {
	if o.Width == 0 {
		o.Width = DefaultWidth
	}
	if o.Height == 0 {
		o.Height = DefaultHeight
	}
	if o.Width < 200 || o.Height < 300 || o.Width > 20000 || o.Height > 20000 {
		return fmt.Errorf("tcpplot: image size %dx%d out of range (200x300 to 20000x20000)", o.Width, o.Height)
	}
	switch o.Format {
	case "svg", "png", "pdf", "eps", "jpg", "tiff":
	default:
		return fmt.Errorf("%w: %q", ErrFormat, o.Format)
	}
	px := func(n int) vg.Length { return vg.Length(n) * vg.Inch / DPI }
	c, err := draw.NewFormattedCanvas(px(o.Width), px(o.Height), o.Format)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrFormat, err)
	}
	dc := draw.New(c)
	pad := vg.Points(8)
	dc = draw.Crop(dc, pad, -pad, pad, -pad)
	plots := []*plot.Plot{seqPlot(s), cwndPlot(s), rttPlot(s)}
	for i, cv := range stackAligned(dc, plots, []float64{0.56, 0.22, 0.22}, vg.Points(10)) {
		plots[i].Draw(cv)
	}
	_, err = c.WriteTo(w)
	return err
}

// stackAligned divides dc into rows of the given shares of its height,
// top to bottom, and narrows each so that the data areas of plots share
// their left and right edges (cf. plot.Align, which makes rows of equal
// height).
func stackAligned(dc draw.Canvas, plots []*plot.Plot, shares []float64, gap vg.Length) []draw.Canvas {
	h := dc.Max.Y - dc.Min.Y - gap*vg.Length(len(plots)-1)
	rows := make([]draw.Canvas, len(plots))
	top := dc.Max.Y
	var left, right vg.Length
	for i, p := range plots {
		r := dc
		r.Max.Y = top
		r.Min.Y = top - h*vg.Length(shares[i])
		top = r.Min.Y - gap
		rows[i] = r
		da := p.DataCanvas(r)
		left = max(left, da.Min.X-r.Min.X)
		right = max(right, r.Max.X-da.Max.X)
	}
	for i, p := range plots {
		da := p.DataCanvas(rows[i])
		rows[i] = draw.Crop(rows[i], left-(da.Min.X-rows[i].Min.X), -(right - (rows[i].Max.X - da.Max.X)), 0, 0)
	}
	return rows
}

// newPlot returns a panel over the time span of s.
func newPlot(s *Series, title, ylabel string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "time since the trace began (s)"
	p.Y.Label.Text = ylabel
	p.X.Min, p.X.Max = secs(s.Start), secs(s.End)
	if s.End <= s.Start {
		p.X.Max = p.X.Min + 0.001
	}
	p.Legend.Top, p.Legend.Left = true, true
	p.Legend.XOffs, p.Legend.YOffs = vg.Points(6), -vg.Points(4)
	p.Legend.ThumbnailWidth = vg.Points(18)
	return p
}

func secs(d time.Duration) float64 { return d.Seconds() }

// seqPlot is the time-sequence graph.
func seqPlot(s *Series) *plot.Plot {
	unit := "sequence offset from the ISN (bytes)"
	if s.Absolute {
		unit = "sequence number"
	}
	p := newPlot(s, fmt.Sprintf("%v: time-sequence graph (traced at the %v)", s.Flow, s.Flow.At), unit)
	p.Y.Tick.Marker = byteTicks{plain: s.Absolute}
	// A window far above the data would squeeze them into the bottom of
	// the graph: then it is clipped (tcptrace would zoom in).
	lo, hi, ok := dataSpan(s)
	clip := false
	if len(s.Window) > 0 {
		name := "receive window (ACK + window)"
		var wtop int64
		for _, pt := range s.Window {
			wtop = max(wtop, pt.V)
		}
		if clip = ok && hi > lo && float64(wtop) > hi+(hi-lo)/2; clip {
			name += ", clipped"
		}
		add(p, name, stepLine(s.Window, s.End, 1, ColorWindow, 1.2, false))
	}
	if len(s.Acks) > 0 {
		add(p, "ACK", stepLine(s.Acks, s.End, 1, ColorAck, 1.2, false))
	}
	segs := &segmentPlotter{segs: s.Segments, style: draw.LineStyle{Color: ColorSegment, Width: vg.Points(1)}}
	rtx := &segmentPlotter{segs: s.Segments, retrans: true, style: draw.LineStyle{Color: ColorRetrans, Width: vg.Points(1.6)}}
	if segs.count() > 0 {
		p.Add(segs)
		p.Legend.Add("data segment", segs)
	}
	if rtx.count() > 0 {
		p.Add(rtx)
		p.Legend.Add("retransmission", rtx)
	}
	for _, m := range []struct {
		pts   []Point
		name  string
		shape draw.GlyphDrawer
	}{{s.SYN, "SYN", draw.TriangleGlyph{}}, {s.FIN, "FIN", draw.BoxGlyph{}}} {
		if len(m.pts) == 0 {
			continue
		}
		sc, _ := plotter.NewScatter(xys(m.pts, 1))
		sc.GlyphStyle = draw.GlyphStyle{Color: ColorSYNFIN, Radius: vg.Points(3.5), Shape: m.shape}
		p.Add(sc)
		p.Legend.Add(m.name, sc)
	}
	if len(s.Segments)+len(s.Acks)+len(s.SYN)+len(s.FIN) == 0 {
		p.Title.Text += " — no segments"
		p.Y.Max = 1
	}
	if clip {
		p.Y.Max = hi + (hi-lo)/8
	}
	return p
}

// dataSpan returns the lowest and highest sequence numbers of s's
// segments, SYN, FIN and ACKs.
func dataSpan(s *Series) (lo, hi float64, ok bool) {
	see := func(a, b int64) {
		if !ok || float64(a) < lo {
			lo = float64(a)
		}
		if !ok || float64(b) > hi {
			hi = float64(b)
		}
		ok = true
	}
	for _, g := range s.Segments {
		see(g.Seq, g.End)
	}
	for _, pts := range [][]Point{s.SYN, s.FIN, s.Acks} {
		for _, pt := range pts {
			see(pt.V, pt.V+1)
		}
	}
	return lo, hi, ok
}

// cwndPlot is the congestion window panel.
func cwndPlot(s *Series) *plot.Plot {
	p := newPlot(s, "congestion window (tcp:::cwnd at the sender)", "bytes")
	p.Y.Tick.Marker = byteTicks{}
	p.Y.Min = 0
	if len(s.CWnd) > 0 {
		add(p, "cwnd", stepLine(s.CWnd, s.End, 1, ColorCWnd, 1.5, false))
	}
	if len(s.Ssthresh) > 0 {
		add(p, "ssthresh", stepLine(s.Ssthresh, s.End, 1, ColorSsthresh, 1.2, true))
	}
	if len(s.CWnd) == 0 {
		p.Title.Text += " — none in the trace"
		p.Y.Max = 1
	}
	return p
}

// rttPlot is the round-trip time panel.
func rttPlot(s *Series) *plot.Plot {
	p := newPlot(s, "smoothed round-trip time (tcp:::cwnd at the sender)", "ms")
	p.Y.Min = 0
	const ms = 1e-6 // nanoseconds to milliseconds
	if len(s.SRTT) > 0 {
		add(p, "srtt", stepLine(s.SRTT, s.End, ms, ColorSRTT, 1.5, false))
	}
	if len(s.RTTVar) > 0 {
		add(p, "rttvar", stepLine(s.RTTVar, s.End, ms, ColorRTTVar, 1.2, true))
	}
	if len(s.SRTT) == 0 {
		p.Title.Text += " — none in the trace"
		p.Y.Max = 1
	}
	return p
}

// add adds l to p with a legend entry.
func add(p *plot.Plot, name string, l *plotter.Line) {
	p.Add(l)
	p.Legend.Add(name, l)
}

// xys returns pts in seconds and V*scale.
func xys(pts []Point, scale float64) plotter.XYs {
	out := make(plotter.XYs, len(pts))
	for i, pt := range pts {
		out[i] = plotter.XY{X: secs(pt.T), Y: float64(pt.V) * scale}
	}
	return out
}

// stepLine draws pts as a value that holds until the next point, as
// tcptrace draws the ACK and window lines, and the last value until end.
// The corners are points of the line (not plotter.PostStep, which would
// be cut diagonally at the edge of a clipped graph): the path goes
// through p0, (t1, v0), p1, (t2, v1), p2, ...
func stepLine(pts []Point, end time.Duration, scale float64, c color.Color, width float64, dashed bool) *plotter.Line {
	if last := pts[len(pts)-1]; last.T < end {
		pts = append(pts[:len(pts):len(pts)], Point{end, last.V})
	}
	xy := xys(pts, scale)
	steps := make(plotter.XYs, 0, 2*len(xy))
	for i, p := range xy {
		if i > 0 {
			steps = append(steps, plotter.XY{X: p.X, Y: xy[i-1].Y})
		}
		steps = append(steps, p)
	}
	l := &plotter.Line{XYs: steps}
	l.LineStyle = draw.LineStyle{Color: c, Width: vg.Points(width)}
	if dashed {
		l.LineStyle.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
	}
	return l
}

// segmentPlotter draws data segments as tcptrace does: each a vertical
// bar from its first sequence number to its end, capped at both ends,
// one path per segment. It draws the retransmissions or the others.
type segmentPlotter struct {
	segs    []Segment
	retrans bool
	style   draw.LineStyle
}

func (p *segmentPlotter) count() int {
	n := 0
	for _, s := range p.segs {
		if s.Retrans == p.retrans {
			n++
		}
	}
	return n
}

// capWidth is half the width of a segment's caps.
const capWidth = vg.Length(2.5)

// Plot implements plot.Plotter.
func (p *segmentPlotter) Plot(c draw.Canvas, plt *plot.Plot) {
	trX, trY := plt.Transforms(&c)
	c.SetLineStyle(p.style)
	for _, s := range p.segs {
		if s.Retrans != p.retrans {
			continue
		}
		x, y0, y1 := trX(secs(s.T)), trY(float64(s.Seq)), trY(float64(s.End))
		c.Stroke(capped(x, y0, y1))
	}
}

// capped is the path of a bar from (x, y0) to (x, y1) with caps.
func capped(x, y0, y1 vg.Length) vg.Path {
	var path vg.Path
	path.Move(vg.Point{X: x - capWidth, Y: y0})
	path.Line(vg.Point{X: x + capWidth, Y: y0})
	path.Move(vg.Point{X: x, Y: y0})
	path.Line(vg.Point{X: x, Y: y1})
	path.Move(vg.Point{X: x - capWidth, Y: y1})
	path.Line(vg.Point{X: x + capWidth, Y: y1})
	return path
}

// DataRange implements plot.DataRanger.
func (p *segmentPlotter) DataRange() (xmin, xmax, ymin, ymax float64) {
	first := true
	for _, s := range p.segs {
		if s.Retrans != p.retrans {
			continue
		}
		x := secs(s.T)
		if first {
			xmin, xmax, ymin, ymax, first = x, x, float64(s.Seq), float64(s.End), false
		}
		xmin, xmax = min(xmin, x), max(xmax, x)
		ymin, ymax = min(ymin, float64(s.Seq)), max(ymax, float64(s.End))
	}
	return xmin, xmax, ymin, ymax
}

// Thumbnail implements plot.Thumbnailer: a short capped bar.
func (p *segmentPlotter) Thumbnail(c *draw.Canvas) {
	c.SetLineStyle(p.style)
	x := (c.Min.X + c.Max.X) / 2
	c.Stroke(capped(x, c.Min.Y, c.Max.Y))
}

// byteTicks labels an axis of bytes with SI prefixes (1.5M), or with
// plain integers for sequence numbers as on the wire.
type byteTicks struct{ plain bool }

func (b byteTicks) Ticks(lo, hi float64) []plot.Tick {
	ticks := plot.DefaultTicks{}.Ticks(lo, hi)
	for i := range ticks {
		if ticks[i].Label != "" {
			ticks[i].Label = b.label(ticks[i].Value)
		}
	}
	return ticks
}

func (b byteTicks) label(v float64) string {
	if b.plain {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	for _, u := range []struct {
		div    float64
		suffix string
	}{{1e9, "G"}, {1e6, "M"}, {1e3, "k"}} {
		if v >= u.div || v <= -u.div {
			return strconv.FormatFloat(v/u.div, 'g', 4, 64) + u.suffix
		}
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}

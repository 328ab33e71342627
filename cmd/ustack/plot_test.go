package main

// ustack plot end to end: a real transfer with one segment dropped,
// traced as `ustack trace --json 'tcp:::*'` would print it, drawn as SVG
// and PNG by the binary; then the images are read back and their marks
// compared, point by point, with the trace's events.

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"encoding/json"
	"encoding/xml"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"ustack/ctl"
	"ustack/drivers/vwire"
	"ustack/netdev"
	"ustack/netsim"
	"ustack/pkt"
	"ustack/tcpplot"
	"ustack/trace"
	"ustack/wire"
)

// dropNth is a wire end that drops the nth TCP segment with a payload it
// transmits (n from 1), once.
type dropNth struct {
	netdev.Driver
	n, seen atomic.Int32
}

func (d *dropNth) Transmit(b *pkt.Buf) error {
	f := make([]byte, b.Len())
	b.CopyTo(f)
	if tcpPayload(f) > 0 && d.seen.Add(1) == d.n.Load() {
		b.Free()
		return nil
	}
	return d.Driver.Transmit(b)
}

// tcpPayload returns the TCP payload length of an Ethernet/IPv4 frame, 0
// for anything else.
func tcpPayload(f []byte) int {
	if len(f) < wire.EthernetHeaderLen+wire.IPv4MinHeaderLen+wire.TCPMinHeaderLen ||
		binary.BigEndian.Uint16(f[12:]) != uint16(wire.EtherTypeIPv4) || f[wire.EthernetHeaderLen+9] != 6 {
		return 0
	}
	ip := f[wire.EthernetHeaderLen:]
	hl := int(ip[0]&0xf) * 4
	return int(binary.BigEndian.Uint16(ip[2:])) - hl - int(ip[hl+12]>>4)*4
}

// tracedTransfer sends 64 KiB from a (10.0.0.1) to b (10.0.0.2:5001),
// dropping a's third data segment, with a's tcp:::* events written as
// JSON lines, each converted as the control server converts it for
// `ustack trace --json`. It returns the trace and the client's end.
func tracedTransfer(t *testing.T) ([]byte, netip.AddrPort) {
	t.Helper()
	n := netsim.New(netsim.Options{Seed: 3})
	t.Cleanup(func() { n.Close() })
	a, b := n.Host("a"), n.Host("b")
	ea, eb := vwire.NewPair(vwire.Config{Name: "a", MAC: vwire.SeededMAC(3, 1)}, vwire.Config{Name: "b", MAC: vwire.SeededMAC(3, 2)})
	drop := &dropNth{Driver: ea}
	drop.n.Store(3)
	for _, x := range []struct {
		h    *netsim.Host
		drv  netdev.Driver
		addr string
	}{{a, drop, "10.0.0.1/24"}, {b, eb, "10.0.0.2/24"}} {
		if _, err := x.h.AddNIC("eth0", x.drv); err != nil {
			t.Fatal(err)
		}
		if err := x.h.AddAddress("eth0", netip.MustParsePrefix(x.addr)); err != nil {
			t.Fatal(err)
		}
	}

	var (
		mu  sync.Mutex
		out bytes.Buffer
	)
	start := a.Clock().Now()
	cancel := a.Tracer().Subscribe("tcp:::*", func(e *trace.Event) {
		c := *e
		line, err := json.Marshal(ctl.NewTraceEvent(&c, start))
		if err != nil {
			panic(err)
		}
		mu.Lock()
		out.Write(append(line, '\n'))
		mu.Unlock()
	})
	defer cancel()

	ln, err := b.Listen("tcp", ":5001")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan int64, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- -1
			return
		}
		defer c.Close()
		n, _ := io.Copy(io.Discard, c)
		got <- n
	}()
	ctx, stop := context.WithTimeout(t.Context(), 10*time.Second)
	defer stop()
	c, err := a.DialContext(ctx, "tcp", "10.0.0.2:5001")
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	const size = 64 << 10
	if _, err := c.Write(make([]byte, size)); err != nil {
		t.Fatal(err)
	}
	c.Close()
	select {
	case n := <-got:
		if n != size {
			t.Fatalf("b read %d bytes, want %d", n, size)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the transfer did not end in 10s")
	}
	if drop.seen.Load() < 3 {
		t.Fatalf("a sent %d data segments, want the third dropped", drop.seen.Load())
	}
	// A listener may still be running (under the connection's lock):
	// take the lock of the buffer only to copy it, never while calling
	// into the stack.
	cancel()
	local := netip.MustParseAddrPort(c.LocalAddr().String())
	mu.Lock()
	defer mu.Unlock()
	return bytes.Clone(out.Bytes()), local
}

// expected is what the trace says the time-sequence graph shows,
// computed here from the events without package tcpplot.
type expected struct {
	isn           uint32
	sends, rtx    []seg   // data segments: first sent, retransmitted
	acks, windows []point // (s, offset from the ISN)
	cwnd          []point // (s, bytes)
}

type seg struct{ t, seq, end float64 }
type point struct{ t, v float64 }

func expect(t *testing.T, jsonTrace []byte, client, server netip.AddrPort) expected {
	t.Helper()
	var evs []ctl.TraceEvent
	for l := range strings.SplitSeq(strings.TrimSpace(string(jsonTrace)), "\n") {
		var e ctl.TraceEvent
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatalf("trace line %q: %v", l, err)
		}
		evs = append(evs, e)
	}
	slices.SortStableFunc(evs, func(a, b ctl.TraceEvent) int { return cmp.Compare(a.ElapsedNS, b.ElapsedNS) })
	from := func(e *ctl.TraceEvent, src, dst netip.AddrPort) bool {
		return e.Src == src.Addr().String() && e.SrcPort == src.Port() && e.Dst == dst.Addr().String() && e.DstPort == dst.Port()
	}
	var x expected
	for _, e := range evs {
		if e.Probe == "tcp:::send" && from(&e, client, server) && strings.Contains(*e.Flags, "SYN") {
			x.isn = *e.Seq
		}
	}
	rtxIDs := map[uint64]bool{}
	off := func(v uint32) float64 { return float64(v - x.isn) }
	for _, e := range evs {
		ts := float64(e.ElapsedNS) / 1e9
		switch {
		case e.Probe == "tcp:::retransmit" && from(&e, client, server) && e.Len > 0:
			rtxIDs[e.PktID] = true
			x.rtx = append(x.rtx, seg{ts, off(*e.Seq), off(*e.Seq) + float64(e.Len)})
		case e.Probe == "tcp:::send" && from(&e, client, server) && e.Len > 0 && !rtxIDs[e.PktID]:
			x.sends = append(x.sends, seg{ts, off(*e.Seq), off(*e.Seq) + float64(e.Len)})
		case e.Probe == "tcp:::receive" && from(&e, server, client) && strings.Contains(*e.Flags, "ACK"):
			x.acks = append(x.acks, point{ts, off(*e.Ack)})
			x.windows = append(x.windows, point{ts, off(*e.Ack) + float64(*e.Window)})
		case e.Probe == "tcp:::cwnd" && from(&e, client, server):
			x.cwnd = append(x.cwnd, point{ts, float64(*e.CWnd)})
		}
	}
	return x
}

// svgPath is a path of the SVG: its vertices and stroke color.
type svgPath struct {
	pts    [][2]float64
	stroke string
}

var svgNum = regexp.MustCompile(`[ML](-?[0-9.e+-]+),(-?[0-9.e+-]+)`)

// svgPaths parses doc as XML and returns its stroked paths.
func svgPaths(t *testing.T, doc []byte) []svgPath {
	t.Helper()
	var paths []svgPath
	d := xml.NewDecoder(bytes.NewReader(doc))
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("the SVG is not XML: %v", err)
		}
		se, ok := tok.(xml.StartElement)
		if !ok || se.Name.Local != "path" {
			continue
		}
		var p svgPath
		for _, a := range se.Attr {
			switch a.Name.Local {
			case "d":
				for _, m := range svgNum.FindAllStringSubmatch(a.Value, -1) {
					x, _ := strconv.ParseFloat(m[1], 64)
					y, _ := strconv.ParseFloat(m[2], 64)
					p.pts = append(p.pts, [2]float64{x, y})
				}
			case "style":
				if _, s, ok := strings.Cut(a.Value, "stroke:"); ok {
					p.stroke, _, _ = strings.Cut(s, ";")
				}
			}
		}
		paths = append(paths, p)
	}
	return paths
}

// stroked returns the paths drawn in c.
func stroked(paths []svgPath, c color.RGBA) []svgPath {
	hex := strings.ToUpper(strconv.FormatUint(uint64(c.R)<<16|uint64(c.G)<<8|uint64(c.B)|1<<24, 16)[1:])
	var out []svgPath
	for _, p := range paths {
		if p.stroke == "#"+hex {
			out = append(out, p)
		}
	}
	return out
}

// linear maps data values to image coordinates: a + b*v.
type linear struct{ a, b float64 }

func fit(v0, c0, v1, c1 float64) linear {
	b := (c1 - c0) / (v1 - v0)
	return linear{c0 - b*v0, b}
}

func (l linear) at(v float64) float64 { return l.a + l.b*v }

// onSteps reports whether (t, v) lies, within tolT and tolV, on the
// steps through pts: each value held from its time to the next point's
// (the last for ever), joined by vertical rises.
func onSteps(pts []point, t, v, tolT, tolV float64) bool {
	for i, p := range pts {
		next := math.Inf(1)
		if i+1 < len(pts) {
			next = pts[i+1].t
		}
		if t >= p.t-tolT && t <= next+tolT && math.Abs(v-p.v) <= tolV {
			return true // on the step of p
		}
		if i > 0 && math.Abs(t-p.t) <= tolT && v >= min(p.v, pts[i-1].v)-tolV && v <= max(p.v, pts[i-1].v)+tolV {
			return true // on the rise to p
		}
	}
	return false
}

// stepVertices returns the points a step line passes through: every
// other vertex of its path, the others being its corners.
func stepVertices(p svgPath) [][2]float64 {
	var out [][2]float64
	for i := 0; i < len(p.pts); i += 2 {
		out = append(out, p.pts[i])
	}
	return out
}

func TestPlotCommand(t *testing.T) {
	jsonTrace, client := tracedTransfer(t)
	server := netip.MustParseAddrPort("10.0.0.2:5001")
	x := expect(t, jsonTrace, client, server)
	if len(x.rtx) == 0 || len(x.sends) < 40 || len(x.acks) < 10 || len(x.cwnd) < 5 {
		t.Fatalf("trace: %d segments, %d retransmissions, %d ACKs, %d cwnd events; want >= 40, >= 1, >= 10, >= 5",
			len(x.sends), len(x.rtx), len(x.acks), len(x.cwnd))
	}
	dir := t.TempDir()
	if d := os.Getenv("PLOT_KEEP"); d != "" {
		dir = d
	}
	tracePath := filepath.Join(dir, "t.json")
	if err := os.WriteFile(tracePath, jsonTrace, 0o644); err != nil {
		t.Fatal(err)
	}
	fail := func() { t.Logf("trace kept in %s", tracePath); t.FailNow() }

	svgFile := filepath.Join(dir, "t.svg")
	r := ustack(t, "plot", "-o", svgFile, tracePath)
	want := svgFile + ": " + client.String() + " -> " + server.String() + " (at the sender): " +
		strconv.Itoa(len(x.sends)+len(x.rtx)) + " data segments (" + strconv.Itoa(len(x.rtx)) + " retransmitted)"
	if r.code != 0 || !strings.HasPrefix(r.stdout, want) || r.stderr != "" {
		t.Errorf("plot -o t.svg: exit %d, stdout %q, stderr %q; want 0 and a line starting %q", r.code, r.stdout, r.stderr, want)
		fail()
	}
	doc, err := os.ReadFile(svgFile)
	if err != nil {
		t.Fatal(err)
	}
	paths := svgPaths(t, doc)

	// One capped bar a segment, one more in the legend; the same for
	// retransmissions; one ACK line; the window line, in pieces if
	// clipped. Plot draws the legend last.
	blue, red := stroked(paths, tcpplot.ColorSegment), stroked(paths, tcpplot.ColorRetrans)
	ack, win := stroked(paths, tcpplot.ColorAck), stroked(paths, tcpplot.ColorWindow)
	if len(blue) != len(x.sends)+1 || len(red) != len(x.rtx)+1 || len(ack) != 2 || len(win) < 2 {
		t.Errorf("SVG: %d segment paths, %d retransmission paths, %d ACK, %d window; want %d+1, %d+1, 1+1, at least 1+1 (legend)",
			len(blue), len(red), len(ack), len(win), len(x.sends), len(x.rtx))
		fail()
	}

	// The ACK line passes through each ACK (and holds the last to the
	// end of the graph): calibrate the axes on its first and last, and
	// every other point, every segment bar and the window line must fall
	// where the trace puts them.
	av := stepVertices(ack[0])
	if n := len(av); n != len(x.acks) && n != len(x.acks)+1 {
		t.Fatalf("ACK line through %d points, want the %d ACKs received", n, len(x.acks))
	}
	first, last := x.acks[0], x.acks[len(x.acks)-1]
	if last.v == first.v || last.t == first.t {
		t.Fatalf("ACKs from %v to %v: nothing to calibrate on", first, last)
	}
	fx := fit(first.t, av[0][0], last.t, av[len(x.acks)-1][0])
	fy := fit(first.v, av[0][1], last.v, av[len(x.acks)-1][1])
	const tol = 0.05 // points; the SVG has 5 significant digits
	near := func(a, b float64) bool { return math.Abs(a-b) <= tol }
	for i, p := range x.acks {
		if !near(av[i][0], fx.at(p.t)) || !near(av[i][1], fy.at(p.v)) {
			t.Errorf("ACK %d (%.6fs, %.0f) drawn at %v, want (%.2f, %.2f)", i, p.t, p.v, av[i], fx.at(p.t), fy.at(p.v))
		}
	}
	// The window line may be clipped at the top of the graph: each of
	// its vertices must lie on the trace's steps, and its first point be
	// the first window.
	tolT, tolV := tol/math.Abs(fx.b), tol/math.Abs(fy.b)
	for _, p := range win[:len(win)-1] {
		for _, v := range p.pts {
			t0, v0 := (v[0]-fx.a)/fx.b, (v[1]-fy.a)/fy.b
			if !onSteps(x.windows, t0, v0, tolT, tolV) {
				t.Errorf("window line through (%.6fs, %.0f), not on the steps of the windows received", t0, v0)
			}
		}
	}
	if w0 := x.windows[0]; !near(win[0].pts[0][0], fx.at(w0.t)) || !near(win[0].pts[0][1], fy.at(w0.v)) {
		t.Errorf("window line starts at %v, want (%.2f, %.2f)", win[0].pts[0], fx.at(w0.t), fy.at(w0.v))
	}
	for _, g := range []struct {
		what  string
		segs  []seg
		paths []svgPath
	}{{"segment", x.sends, blue}, {"retransmission", x.rtx, red}} {
		for i, s := range g.segs {
			// A capped bar: the bottom cap, the bar, the top cap.
			p := g.paths[i].pts
			if len(p) != 6 || !near(p[2][0], fx.at(s.t)) || !near(p[2][1], fy.at(s.seq)) || !near(p[3][1], fy.at(s.end)) {
				t.Errorf("%s %d (%.6fs, %.0f-%.0f) drawn as %v, want a bar at x %.2f from y %.2f to %.2f",
					g.what, i, s.t, s.seq, s.end, p, fx.at(s.t), fy.at(s.seq), fy.at(s.end))
			}
		}
	}
	// The cwnd line has a step at each tcp:::cwnd event, on the same
	// time axis as the graph above.
	cw := stroked(paths, tcpplot.ColorCWnd)
	if len(cw) != 2 {
		t.Fatalf("cwnd: %d paths, want 1+1 (legend)", len(cw))
	}
	cv := stepVertices(cw[0])
	if n := len(cv); n != len(x.cwnd) && n != len(x.cwnd)+1 {
		t.Fatalf("cwnd line through %d points, want the %d tcp:::cwnd events", n, len(x.cwnd))
	}
	hi := 0
	for i, p := range x.cwnd {
		if math.Abs(p.v-x.cwnd[0].v) > math.Abs(x.cwnd[hi].v-x.cwnd[0].v) {
			hi = i
		}
	}
	if hi == 0 {
		t.Fatalf("cwnd constant at %v: nothing to calibrate on", x.cwnd[0].v)
	}
	cy := fit(x.cwnd[0].v, cv[0][1], x.cwnd[hi].v, cv[hi][1])
	for i, p := range x.cwnd {
		if !near(cv[i][0], fx.at(p.t)) || !near(cv[i][1], cy.at(p.v)) {
			t.Errorf("cwnd %d (%.6fs, %.0f) drawn at %v, want (%.2f, %.2f)", i, p.t, p.v, cv[i], fx.at(p.t), cy.at(p.v))
		}
	}
	if t.Failed() {
		fail()
	}

	// The PNG: the size asked for, and the marks in their colors.
	pngFile := filepath.Join(dir, "t.png")
	if r := ustack(t, "plot", "--size", "800x900", "-o", pngFile, tracePath); r.code != 0 {
		t.Fatalf("plot -o t.png: exit %d, stderr %q", r.code, r.stderr)
	}
	f, err := os.Open(pngFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("the PNG does not decode: %v", err)
	}
	if b := img.Bounds(); b.Dx() != 800 || b.Dy() != 900 {
		t.Errorf("PNG %dx%d, want 800x900", b.Dx(), b.Dy())
	}
	ink, colors := countPixels(img, tcpplot.ColorSegment, tcpplot.ColorRetrans, tcpplot.ColorAck, tcpplot.ColorCWnd)
	if ink < 800*900/50 || colors[0] < 3*len(x.sends) || colors[1] < 10*len(x.rtx) || colors[2] < 200 || colors[3] < 100 {
		t.Errorf("PNG: %d non-white pixels, %v of the segment, retransmission, ACK, cwnd colors; want >= %d, >= %d, >= %d, >= 200, >= 100",
			ink, colors, 800*900/50, 3*len(x.sends), 10*len(x.rtx))
	}
}

// countPixels counts the pixels of img that are not white, and those
// near each of cs.
func countPixels(img image.Image, cs ...color.RGBA) (ink int, near []int) {
	near = make([]int, len(cs))
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			r, g, bl = r>>8, g>>8, bl>>8
			if r < 250 || g < 250 || bl < 250 {
				ink++
			}
			for i, c := range cs {
				if absDiff(r, c.R) < 24 && absDiff(g, c.G) < 24 && absDiff(bl, c.B) < 24 {
					near[i]++
				}
			}
		}
	}
	return ink, near
}

func absDiff(a uint32, b uint8) uint32 {
	if a > uint32(b) {
		return a - uint32(b)
	}
	return uint32(b) - a
}

func TestPlotUsage(t *testing.T) {
	dir := t.TempDir()
	notTrace := filepath.Join(dir, "x.json")
	os.WriteFile(notTrace, []byte("hello\n"), 0o644)
	empty := filepath.Join(dir, "empty.json")
	os.WriteFile(empty, []byte(`{"elapsed_ns":1,"probe":"ip:::send","len":60}`+"\n"), 0o644)
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{nil, 2, "want one trace FILE"},
		{[]string{notTrace}, 2, "missing -o OUT"},
		{[]string{"-o", "x.gif", notTrace}, 2, "unknown image format"},
		{[]string{"-o", "x.svg", "--size", "10x10", notTrace}, 2, "bad --size"},
		{[]string{"-o", "x.svg", notTrace}, 1, "not a JSON trace"},
		{[]string{"-o", "x.svg", filepath.Join(dir, "none.json")}, 1, "no such file"},
		{[]string{"-o", "x.svg", empty}, 1, "no TCP segment in the trace"},
		{[]string{"-o", "x.svg", "--conn", "2", empty}, 2, "no flow 2"},
	} {
		r := ustack(t, append([]string{"plot"}, tc.args...)...)
		if r.code != tc.code {
			t.Errorf("plot %q: exit %d, want %d", tc.args, r.code, tc.code)
		}
		checkOneLine(t, "plot "+strings.Join(tc.args, " "), r, tc.want)
	}
	r := ustack(t, "help", "plot")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "usage: ustack plot") {
		t.Errorf("help plot: exit %d, stdout %.40q", r.code, r.stdout)
	}
}

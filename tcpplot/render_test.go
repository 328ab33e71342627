package tcpplot

import (
	"bytes"
	"encoding/xml"
	"errors"
	"image/png"
	"io"
	"strings"
	"testing"
)

// countStroked parses an SVG and counts its paths stroked in each color
// ("#1F4E9C").
func countStroked(t *testing.T, doc []byte) map[string]int {
	t.Helper()
	n := map[string]int{}
	d := xml.NewDecoder(bytes.NewReader(doc))
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return n
		}
		if err != nil {
			t.Fatalf("the SVG is not XML: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "path" {
			for _, a := range se.Attr {
				if _, s, ok := strings.Cut(a.Value, "stroke:"); ok && a.Name.Local == "style" {
					c, _, _ := strings.Cut(s, ";")
					n[c]++
				}
			}
		}
	}
}

func TestRenderSVG(t *testing.T) {
	tr := readHand(t)
	f, _ := tr.Busiest()
	var b bytes.Buffer
	if err := Render(&b, Extract(tr, f, Options{}), RenderOptions{Format: "svg"}); err != nil {
		t.Fatal(err)
	}
	n := countStroked(t, b.Bytes())
	// Each segment one path, each line one; and one in the legend each.
	for _, c := range []struct {
		what  string
		color string
		want  int
	}{
		{"segments", "#1F4E9C", 3 + 1},
		{"retransmissions", "#D62728", 1 + 1},
		{"ACK line", "#2CA02C", 1 + 1},
		{"window line", "#C89600", 0 + 1}, // far above the data: clipped
		{"cwnd line", "#176AB8", 1 + 1},
		{"ssthresh line", "#FF7F0E", 1 + 1},
		{"srtt line", "#8C3A8C", 1 + 1},
	} {
		if n[c.color] != c.want {
			t.Errorf("%s: %d paths in %s, want %d", c.what, n[c.color], c.color, c.want)
		}
	}
	for _, want := range []string{"time-sequence graph", "10.0.0.1:40000 -&gt; 10.0.0.2:80", "sequence offset from the ISN (bytes)", "time since the trace began (s)", "retransmission", "receive window (ACK + window), clipped", "cwnd", "ms"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("the SVG lacks %q", want)
		}
	}
}

func TestRenderFormats(t *testing.T) {
	tr := readHand(t)
	f, _ := tr.Busiest()
	s := Extract(tr, f, Options{Absolute: true})
	var b bytes.Buffer
	if err := Render(&b, s, RenderOptions{Format: "png", Width: 640, Height: 720}); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(&b)
	if err != nil {
		t.Fatalf("png.Decode: %v", err)
	}
	if r := img.Bounds(); r.Dx() != 640 || r.Dy() != 720 {
		t.Errorf("PNG of %dx%d, want 640x720", r.Dx(), r.Dy())
	}
	b.Reset()
	if err := Render(&b, s, RenderOptions{Format: "pdf"}); err != nil || !bytes.HasPrefix(b.Bytes(), []byte("%PDF-")) {
		t.Errorf("Render(pdf) = %v, %.10q; want a PDF", err, b.Bytes())
	}
	for _, o := range []RenderOptions{{Format: "gif"}, {Format: ""}} {
		if err := Render(io.Discard, s, o); !errors.Is(err, ErrFormat) {
			t.Errorf("Render(%+v) = %v, want ErrFormat", o, err)
		}
	}
	if err := Render(io.Discard, s, RenderOptions{Format: "svg", Width: 10, Height: 10}); err == nil {
		t.Errorf("Render(10x10) succeeded, want a size error")
	}
	// Nothing to draw is still a picture (empty panels, said so).
	b.Reset()
	if err := Render(&b, &Series{}, RenderOptions{Format: "svg"}); err != nil || !strings.Contains(b.String(), "no segments") {
		t.Errorf("Render(empty series) = %v, want an SVG saying \"no segments\"", err)
	}
}

func TestFormatOf(t *testing.T) {
	for _, tc := range []struct{ name, want string }{
		{"a.svg", "svg"}, {"dir.x/A.PNG", "png"}, {"a.pdf", "pdf"}, {"a.jpeg", "jpg"}, {"a.tif", "tiff"},
		{"a.gif", ""}, {"a", ""}, {"svg", ""},
	} {
		got, err := FormatOf(tc.name)
		if got != tc.want || (tc.want == "") != errors.Is(err, ErrFormat) {
			t.Errorf("FormatOf(%q) = %q, %v; want %q", tc.name, got, err, tc.want)
		}
	}
}

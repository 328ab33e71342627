package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"ustack/tcpplot"
)

const plotUsage = `usage: ustack plot -o OUT.svg|OUT.png|OUT.pdf [--conn FLOW] [--absolute]
                   [--size WxH] FILE
       ustack plot --list FILE

Draw, from a JSON trace (FILE, or - for standard input), the graphs that
tcptrace and Wireshark draw from a capture: the time-sequence graph of
one direction of a TCP connection — each data segment a bar from its
first sequence number to its last at the time it was sent, retransmissions
in red, SYN and FIN marked, the ACK line as steps beneath them and the
receive-window line (ACK + advertised window) above — and, below it on
the same time axis, the sender's cwnd and ssthresh and its srtt and
rttvar. Events of other probes in the trace are skipped.

Take the trace with the tcp probes:

  ustack trace --json 'tcp:::*' > t.json      # ^C when done
  ustack plot -o t.svg t.json

A trace is taken at one host: a flow it sends is drawn from tcp:::send,
tcp:::retransmit and tcp:::cwnd with the ACKs it received; a flow it
receives, from tcp:::receive with the ACKs it sent (retransmissions are
then inferred, and there is no cwnd). Sequence numbers are offsets from
the ISN, as tcptrace and Wireshark show them.

Options:
  -o, --output OUT   the image; its extension chooses the format: .svg, .png,
                     .pdf (also .jpg, .tiff, .eps)
  --conn FLOW        the flow to draw: its number in --list, or its ends
                     SRC:PORT-DST:PORT (default: the flow that carried the most
                     bytes)
  --absolute         sequence numbers as on the wire, not from the ISN
  --size WxH         the image's size in pixels (default 1000x1100)
  -l, --list         list the flows in the trace and draw nothing

It prints what it drew: the flow, its segments and retransmissions, its
bytes and duration, and any events the tracer lost (points then missing).
Exit status: 0 drawn, 1 on failure, 2 on bad usage.
`

func runPlot(args []string) error {
	fs := flag.NewFlagSet("plot", flag.ContinueOnError)
	var (
		out, conn, size string
		absolute, list  bool
	)
	stringVar(fs, &out, "", "", "o", "output")
	fs.StringVar(&conn, "conn", "", "")
	stringVar(fs, &size, "", "", "size")
	fs.BoolVar(&absolute, "absolute", false, "")
	boolVar(fs, &list, false, "", "l", "list")
	pos, err := parseFlags(fs, plotUsage, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageErrorf("want one trace FILE (or - for standard input)")
	}
	ro := tcpplot.RenderOptions{}
	if !list {
		if out == "" {
			return usageErrorf("missing -o OUT (.svg, .png or .pdf)")
		}
		if ro.Format, err = tcpplot.FormatOf(out); err != nil {
			return usageErrorf("-o %s: unknown image format (want .svg, .png or .pdf)", out)
		}
	}
	if size != "" {
		w, h, ok := strings.Cut(size, "x")
		var e1, e2 error
		ro.Width, e1 = strconv.Atoi(w)
		ro.Height, e2 = strconv.Atoi(h)
		if !ok || e1 != nil || e2 != nil || ro.Width < 200 || ro.Height < 300 || ro.Width > 20000 || ro.Height > 20000 {
			return usageErrorf("bad --size %q (want WIDTHxHEIGHT in pixels, from 200x300)", size)
		}
	}

	tr, err := readTrace(pos[0])
	if err != nil {
		return err
	}
	if list {
		printFlows(os.Stdout, tr)
		return nil
	}
	var f tcpplot.Flow
	if conn != "" {
		if f, err = tr.Find(conn); err != nil {
			return usageErrorf("%s", strings.TrimPrefix(err.Error(), "tcpplot: "))
		}
	} else {
		var ok bool
		if f, ok = tr.Busiest(); !ok {
			return fmt.Errorf("plot: %s: no TCP segment in the trace (take it with 'ustack trace --json tcp:::*')", pos[0])
		}
	}
	s := tcpplot.Extract(tr, f, tcpplot.Options{Absolute: absolute})

	// Render into memory first: a failure leaves no half-written file.
	var img bytes.Buffer
	if err := tcpplot.Render(&img, s, ro); err != nil {
		return fmt.Errorf("plot: %v", err)
	}
	if err := os.WriteFile(out, img.Bytes(), 0o644); err != nil {
		return fmt.Errorf("plot: %v", err)
	}
	fmt.Println(plotSummary(out, tr, s))
	return nil
}

// readTrace reads the trace in name ("-": standard input).
func readTrace(name string) (*tcpplot.Trace, error) {
	var r io.Reader = os.Stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, fmt.Errorf("plot: %v", err)
		}
		defer f.Close()
		r = f
	}
	tr, err := tcpplot.Read(r)
	if errors.Is(err, tcpplot.ErrNotTrace) {
		return nil, fmt.Errorf("plot: %s: not a JSON trace (take one with 'ustack trace --json tcp:::*')", name)
	}
	if err != nil {
		return nil, fmt.Errorf("plot: %s: %v", name, strings.TrimPrefix(err.Error(), "tcpplot: "))
	}
	return tr, nil
}

// printFlows lists the flows of tr, numbered for --conn.
func printFlows(w io.Writer, tr *tcpplot.Trace) {
	fmt.Fprintf(w, "%3s  %-47s %-9s %8s %12s\n", "#", "FLOW", "TRACED AT", "SEGMENTS", "BYTES")
	for i, f := range tr.Flows() {
		fmt.Fprintf(w, "%3d  %-47s %-9s %8d %12d\n", i+1, f.String(), f.At, f.Segments, f.Bytes)
	}
}

// plotSummary is the line that says what was drawn:
//
//	t.svg: 10.0.0.1:40000 -> 10.0.0.2:80 (at the sender): 48 data segments (2 retransmitted), 68448 bytes, 47 ACKs, 40 cwnd events over 153.2ms
func plotSummary(out string, tr *tcpplot.Trace, s *tcpplot.Series) string {
	var b strings.Builder
	var n int64
	for _, seg := range s.Segments {
		n += seg.End - seg.Seq
	}
	d := s.End - s.Start
	if d < time.Second {
		d = d.Round(time.Microsecond)
	} else {
		d = d.Round(time.Millisecond)
	}
	fmt.Fprintf(&b, "%s: %v (at the %v): %s (%d retransmitted), %s, %s, %s over %v",
		out, s.Flow, s.Flow.At, plural(len(s.Segments), "data segment"), s.Retransmits, plural(int(n), "byte"),
		plural(len(s.Acks), "ACK"), plural(len(s.CWnd), "cwnd event"), d)
	if tr.Lost > 0 {
		fmt.Fprintf(&b, "; %d events lost by the tracer: points may be missing", tr.Lost)
	}
	if tr.Walks > 0 {
		fmt.Fprintf(&b, "; %s skipped (trace without --walk)", plural(tr.Walks, "packet walk"))
	}
	return b.String()
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return strconv.Itoa(n) + " " + what + "s"
}

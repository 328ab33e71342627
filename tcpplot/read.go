// Package tcpplot draws the graphs people draw from packet traces with
// tcptrace or Wireshark's "TCP Stream Graphs", from the JSON trace that
// `ustack trace --json 'tcp:::*'` prints: the time-sequence graph of one
// direction of a connection, and its sender's congestion window and
// round-trip time over time.
//
// The time-sequence graph was Tim Shepard's tool for seeing what a TCP
// does ("TCP Packet Trace Analysis", MIT/LCS/TR-494, 1991); tcptrace
// (Shawn Ostermann) drew it with xplot, and Wireshark draws it as the
// "Stevens" and "tcptrace" graphs. Time runs to the right and sequence
// numbers up. Each data segment is a short vertical bar from its first
// byte to its last, at the time it was sent; a steady transfer is a line
// of bars climbing at the rate the data moves, and its slope is the
// throughput. Under the bars run two step lines from the other side's
// segments: the ACK line (the cumulative acknowledgement, the bytes the
// receiver holds) and the window line above it (ACK plus the advertised
// receive window, the highest byte the receiver lets the sender send).
// Bars touching the window line mean the receiver limits the sender; a
// wide gap between the bars and the ACK line is the data in flight. A bar
// drawn again below the highest bar is a retransmission (red here, as in
// tcptrace); a flat ACK line under new bars is a loss being repaired.
//
// The path from a trace to a picture is Read (the events), Trace.Flows
// and Trace.Busiest or Trace.Find (which direction to draw), Extract (the
// points, a Series, which tests and programs may inspect) and Render (the
// image: SVG, PNG or PDF, drawn with gonum.org/v1/plot).
package tcpplot

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"

	"ustack/ctl"
)

// Trace is what Read found in a JSON trace.
type Trace struct {
	// Events are the tcp provider's events, in the trace's order.
	Events []ctl.TraceEvent
	// Others counts the events of other providers (ip:::send, ...),
	// which the graphs do not use.
	Others int
	// Walks counts packet walks (`ustack trace --walk`), skipped: the
	// graphs need events in time order.
	Walks int
	// Lost is how many events the stack dropped because the tracer read
	// too slowly: that many points may be missing from the graphs.
	Lost uint64
}

// line is any line of a JSON trace: an event (probe set), a walk (steps
// set) or a lost-events notice (lost set).
type line struct {
	ctl.TraceEvent
	Steps json.RawMessage `json:"steps"`
	Lost  *uint64         `json:"lost"`
	Total *uint64         `json:"total"`
}

// ErrNotTrace is returned by Read for input that holds no JSON trace
// line at all.
var ErrNotTrace = errors.New("tcpplot: not a JSON trace (want the output of 'ustack trace --json')")

// Read reads a JSON trace: one object a line, as `ustack trace --json`
// prints them (ctl.TraceEvent; walks and lost-event notices are counted
// and skipped). Blank lines are ignored; a line that is not JSON is an
// error naming its number.
func Read(r io.Reader) (*Trace, error) {
	t := &Trace{}
	br := bufio.NewReaderSize(r, 64<<10)
	seen := false
	for n := 1; ; n++ {
		b, err := br.ReadBytes('\n')
		if err != nil && err != io.EOF {
			return nil, fmt.Errorf("tcpplot: reading line %d: %w", n, err)
		}
		if b = bytes.TrimSpace(b); len(b) > 0 {
			var l line
			if jerr := json.Unmarshal(b, &l); jerr != nil {
				if !seen {
					return nil, fmt.Errorf("%w: line %d: %v", ErrNotTrace, n, jerr)
				}
				return nil, fmt.Errorf("tcpplot: line %d: %v", n, jerr)
			}
			seen = true
			switch {
			case l.Probe != "":
				if strings.HasPrefix(l.Probe, "tcp:::") {
					t.Events = append(t.Events, l.TraceEvent)
				} else {
					t.Others++
				}
			case l.Steps != nil:
				t.Walks++
			case l.Total != nil:
				t.Lost = max(t.Lost, *l.Total)
			case l.Lost != nil:
				t.Lost += *l.Lost
			}
		}
		if err == io.EOF {
			break
		}
	}
	if !seen {
		return nil, ErrNotTrace
	}
	return t, nil
}

// A Flow is one direction of a TCP connection: the data Src sends to
// Dst. The trace is taken at one host, so a flow is seen either at its
// sender (from tcp:::send, tcp:::retransmit, the ACKs in tcp:::receive
// and tcp:::cwnd) or at its receiver (from tcp:::receive, and the ACKs
// in tcp:::send), as a capture is taken at one end or the other.
type Flow struct {
	Src, Dst netip.AddrPort
	// At is where the trace saw the flow.
	At View
	// Segments and Bytes count the data segments of the flow in the
	// trace and their payload, retransmissions included.
	Segments int
	Bytes    int64
}

// String returns "SRC -> DST".
func (f Flow) String() string { return f.Src.String() + " -> " + f.Dst.String() }

// View is the end of a flow at which the trace was taken.
type View int

const (
	AtSender View = iota
	AtReceiver
)

func (v View) String() string {
	if v == AtReceiver {
		return "receiver"
	}
	return "sender"
}

// endpoints returns e's ends; ok is false for an event of no segment.
func endpoints(e *ctl.TraceEvent) (src, dst netip.AddrPort, ok bool) {
	s, err1 := netip.ParseAddr(e.Src)
	d, err2 := netip.ParseAddr(e.Dst)
	if err1 != nil || err2 != nil {
		return src, dst, false
	}
	return netip.AddrPortFrom(s, e.SrcPort), netip.AddrPortFrom(d, e.DstPort), true
}

// isSegment reports whether e reports a TCP segment leaving (out) or
// arriving at (in) the traced host.
func isSegment(e *ctl.TraceEvent) (out, in bool) {
	if e.Seq == nil || e.Ack == nil || e.Flags == nil || e.Window == nil {
		return false, false
	}
	switch e.Probe {
	case "tcp:::send", "tcp:::retransmit":
		return true, false
	case "tcp:::receive":
		return false, true
	}
	return false, false
}

// Flows returns the directions of the connections in t that carried a
// segment, in the order they first appear. A direction the traced host
// sent segments in is seen at the sender (its pure ACKs too); one it only
// received segments in, at the receiver.
func (t *Trace) Flows() []Flow {
	type key struct{ src, dst netip.AddrPort }
	type acc struct {
		f                     Flow
		sent                  bool
		outSegs, inSegs       int
		outBytes, inBytes     int64
		retransmitIDs, marked map[uint64]bool
	}
	idx := map[key]*acc{}
	var order []*acc
	for i := range t.Events {
		e := &t.Events[i]
		out, in := isSegment(e)
		if !out && !in {
			continue
		}
		src, dst, ok := endpoints(e)
		if !ok {
			continue
		}
		a := idx[key{src, dst}]
		if a == nil {
			a = &acc{f: Flow{Src: src, Dst: dst}}
			idx[key{src, dst}] = a
			order = append(order, a)
		}
		switch {
		case in && e.Len > 0:
			a.inSegs++
			a.inBytes += int64(e.Len)
		case out:
			a.sent = true
			// A retransmission fires tcp:::retransmit and then
			// tcp:::send for the same packet: count it once.
			if e.Probe == "tcp:::retransmit" && e.PktID != 0 {
				if a.retransmitIDs == nil {
					a.retransmitIDs = map[uint64]bool{}
				}
				a.retransmitIDs[e.PktID] = true
			} else if e.PktID != 0 && a.retransmitIDs[e.PktID] {
				continue
			}
			if e.Len > 0 {
				a.outSegs++
				a.outBytes += int64(e.Len)
			}
		}
	}
	flows := make([]Flow, len(order))
	for i, a := range order {
		f := a.f
		if a.sent {
			f.At, f.Segments, f.Bytes = AtSender, a.outSegs, a.outBytes
		} else {
			f.At, f.Segments, f.Bytes = AtReceiver, a.inSegs, a.inBytes
		}
		flows[i] = f
	}
	return flows
}

// Busiest returns the flow that carried the most bytes (the first of
// equals), as tcptrace graphs the connection of interest; ok is false
// when t holds no segment.
func (t *Trace) Busiest() (f Flow, ok bool) {
	for i, g := range t.Flows() {
		if i == 0 || g.Bytes > f.Bytes {
			f, ok = g, true
		}
	}
	return f, ok
}

// Find returns the flow spec names: its number in Flows (from 1), or its
// ends "SRC-DST" ("10.0.0.1:40000-10.0.0.2:80"; "->" may join them).
// Given the ends of a flow that carried no data while its reverse did,
// Find returns the reverse: the ends of a connection name the direction
// worth drawing.
func (t *Trace) Find(spec string) (Flow, error) {
	flows := t.Flows()
	if n, err := strconv.Atoi(spec); err == nil {
		if n < 1 || n > len(flows) {
			return Flow{}, fmt.Errorf("tcpplot: no flow %d (the trace has %d)", n, len(flows))
		}
		return flows[n-1], nil
	}
	a, b, ok := strings.Cut(spec, "-")
	b = strings.TrimPrefix(b, ">")
	src, err1 := netip.ParseAddrPort(strings.TrimSpace(a))
	dst, err2 := netip.ParseAddrPort(strings.TrimSpace(b))
	if !ok || err1 != nil || err2 != nil {
		return Flow{}, fmt.Errorf("tcpplot: bad flow %q (want a number or ADDR:PORT-ADDR:PORT)", spec)
	}
	var fwd, rev *Flow
	for i := range flows {
		switch f := &flows[i]; {
		case f.Src == src && f.Dst == dst:
			fwd = f
		case f.Src == dst && f.Dst == src:
			rev = f
		}
	}
	switch {
	case fwd != nil && (fwd.Bytes > 0 || rev == nil || rev.Bytes == 0):
		return *fwd, nil
	case rev != nil:
		return *rev, nil
	}
	return Flow{}, fmt.Errorf("tcpplot: no segment between %v and %v in the trace", src, dst)
}

package netsim

import (
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"ustack/clock"
	"ustack/trace"
	"ustack/wire"
)

// Narrator prints the probes of every host in a network as one story,
// one line an event: when, which host, which layer, which probe, and what
// it saw. It is how `ustack demo` shows a packet walking the layers.
//
// TCP segments are shown as tcpdump shows them: seq and ack relative to
// the initial sequence number (ISN) of the side that chose them, learnt
// from the SYNs the narrator has seen, printing or not; segments of a
// connection whose SYNs it missed keep their absolute numbers.
type Narrator struct {
	mu      sync.Mutex
	w       io.Writer
	start   time.Time
	on      bool
	filter  func(host string, e *trace.Event) bool
	cancels []func()
	lines   int
	isn     map[flow]uint32 // guarded by mu
	clk     clock.Clock
}

// flow is one direction of a TCP connection.
type flow struct{ from, to netip.AddrPort }

// layerName says which layer a provider is.
var layerName = map[string]string{
	"netdev": "device",
	"ether":  "ethernet",
	"arp":    "arp",
	"ip":     "ip",
	"icmp":   "icmp",
	"udp":    "udp",
	"tcp":    "tcp",
	"socket": "socket",
}

// Narrate subscribes to pattern (e.g. "*:::*") on every host of n and
// writes events to w while the narrator is on (Start/Stop).
func (n *Network) Narrate(w io.Writer, pattern string) *Narrator {
	nr := &Narrator{w: w, isn: make(map[flow]uint32), clk: n.o.Clock}
	for _, h := range n.Hosts() {
		name := h.Name
		nr.cancels = append(nr.cancels, h.Tracer().Subscribe(pattern, func(e *trace.Event) { nr.event(name, e) }))
	}
	return nr
}

// Start begins printing, with times relative to now; filter (may be nil)
// selects the events to print.
func (nr *Narrator) Start(now time.Time, filter func(host string, e *trace.Event) bool) {
	nr.mu.Lock()
	defer nr.mu.Unlock()
	nr.on, nr.start, nr.filter, nr.lines = true, now, filter, 0
}

// Stop stops printing and returns how many lines were printed.
func (nr *Narrator) Stop() int {
	nr.mu.Lock()
	defer nr.mu.Unlock()
	nr.on = false
	return nr.lines
}

// Say tells, while the narrator is on, what no probe reports (what an
// application did), as a line of the story from host's "app" layer.
func (nr *Narrator) Say(host, what string) {
	nr.mu.Lock()
	defer nr.mu.Unlock()
	if !nr.on {
		return
	}
	nr.lines++
	fmt.Fprintf(nr.w, "%9.3fms  %-7s %-8s %s\n", float64(nr.clk.Now().Sub(nr.start).Microseconds())/1000, host, "app", what)
}

// Close cancels the subscriptions.
func (nr *Narrator) Close() {
	for _, c := range nr.cancels {
		c()
	}
}

func (nr *Narrator) event(host string, e *trace.Event) {
	nr.mu.Lock()
	defer nr.mu.Unlock()
	// While off, only SYNs matter (for their ISNs).
	if e.Segment && e.Flags&wire.TCPFlagSYN != 0 {
		nr.isn[segFlow(e)] = e.Seq
	}
	if !nr.on || (nr.filter != nil && !nr.filter(host, e)) {
		return
	}
	nr.lines++
	fmt.Fprintln(nr.w, nr.format(host, e))
}

// segFlow returns the direction a segment travels: every tcp probe puts
// the segment's sender in Src, whether it fires at the sender (send,
// retransmit) or at the receiver (receive, drop).
func segFlow(e *trace.Event) flow {
	return flow{netip.AddrPortFrom(e.Src, e.SrcPort), netip.AddrPortFrom(e.Dst, e.DstPort)}
}

// format renders e as FormatEvent does, but with a segment's seq relative
// to its sender's ISN and its ack to its receiver's, when the narrator
// saw them.
func (nr *Narrator) format(host string, e *trace.Event) string {
	if !e.Segment {
		return FormatEvent(host, e, nr.start)
	}
	re := *e
	fl := segFlow(e)
	if i, ok := nr.isn[fl]; ok {
		re.Seq -= i
	}
	if i, ok := nr.isn[flow{fl.to, fl.from}]; ok {
		re.Ack -= i
	}
	return FormatEvent(host, &re, nr.start)
}

// FormatEvent renders one event as the narrator prints it.
func FormatEvent(host string, e *trace.Event, start time.Time) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%9.3fms  %-7s %-8s %-18s", float64(e.Time.Sub(start).Microseconds())/1000, host, layerName[e.Probe.Provider], e.Probe.FullName())
	if e.Dev != "" {
		fmt.Fprintf(&b, " %-5s", e.Dev)
	}
	switch {
	case (e.SrcPort != 0 || e.DstPort != 0) && !e.Dst.IsValid():
		fmt.Fprintf(&b, " %s", endpoint(e.Src, e.SrcPort)) // a listener
	case e.SrcPort != 0 || e.DstPort != 0:
		fmt.Fprintf(&b, " %s > %s", endpoint(e.Src, e.SrcPort), endpoint(e.Dst, e.DstPort))
	case e.Src.IsValid() && e.Dst.IsValid() && e.Probe.Provider != "arp":
		fmt.Fprintf(&b, " %v > %v", e.Src, e.Dst)
	}
	if e.Segment {
		appendSegment(&b, e)
		if e.Reason != "" {
			fmt.Fprintf(&b, " (%s)", e.Reason) // a syncookie, a drop's cause
		}
	} else {
		// Typed arguments as `ustack trace` prints them, set off from
		// the addresses by two spaces.
		v := e.AppendValues(nil)
		if len(v) > 0 {
			b.WriteByte(' ')
			b.Write(v)
		}
	}
	return b.String()
}

// appendSegment writes a segment's arguments as tcpdump shows them: no
// ack on a segment without ACK, and win as the header's field (before
// scaling).
func appendSegment(b *strings.Builder, e *trace.Event) {
	fmt.Fprintf(b, "  seq %d", e.Seq)
	if e.Flags&wire.TCPFlagACK != 0 {
		fmt.Fprintf(b, " ack %d", e.Ack)
	}
	fmt.Fprintf(b, " flags %v win %d len %d", e.Flags, e.Window>>e.WScale, e.Len)
}

// endpoint prints an address and port, "*" standing for an address not
// chosen yet (a listener on every address).
func endpoint(a netip.Addr, port uint16) string {
	if !a.IsValid() || a.IsUnspecified() {
		return "*:" + strconv.Itoa(int(port))
	}
	return netip.AddrPortFrom(a, port).String()
}

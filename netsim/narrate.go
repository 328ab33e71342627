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
	var seg segment
	isSeg := e.Probe.Provider == "tcp" && (nr.on || strings.Contains(e.Detail, "SYN")) && seg.parse(e.Detail)
	if isSeg && seg.flags.has("SYN") {
		nr.isn[seg.flow(e)] = seg.seq
	}
	if !nr.on || (nr.filter != nil && !nr.filter(host, e)) {
		return
	}
	if isSeg {
		re := *e
		re.Detail = seg.relative(e, nr.isn)
		e = &re
	}
	nr.lines++
	fmt.Fprintln(nr.w, FormatEvent(host, e, nr.start))
}

// segment is the tcp provider's description of a segment, its Detail:
// "seq S ack A flags F win W len N", perhaps followed by a remark.
type segment struct {
	seq, ack uint32
	flags    flagSet
	win, n   int
	rest     string
}

type flagSet string // "SYN|ACK"

func (f flagSet) has(name string) bool {
	for _, x := range strings.Split(string(f), "|") {
		if x == name {
			return true
		}
	}
	return false
}

// parse reads d, reporting whether it describes a segment.
func (s *segment) parse(d string) bool {
	f := strings.SplitN(d, " ", 11)
	if len(f) < 10 || f[0] != "seq" || f[2] != "ack" || f[4] != "flags" || f[6] != "win" || f[8] != "len" {
		return false
	}
	seq, err1 := strconv.ParseUint(f[1], 10, 32)
	ack, err2 := strconv.ParseUint(f[3], 10, 32)
	win, err3 := strconv.Atoi(f[7])
	n, err4 := strconv.Atoi(f[9])
	if err1 != nil || err2 != nil || err3 != nil || err4 != nil {
		return false
	}
	*s = segment{seq: uint32(seq), ack: uint32(ack), flags: flagSet(f[5]), win: win, n: n}
	if len(f) == 11 {
		s.rest = " " + f[10]
	}
	return true
}

// flow returns the direction the segment travels: every tcp probe puts
// the segment's sender in Src, whether it fires at the sender
// (send, retransmit) or at the receiver (receive, drop).
func (s *segment) flow(e *trace.Event) flow {
	return flow{netip.AddrPortFrom(e.Src, e.SrcPort), netip.AddrPortFrom(e.Dst, e.DstPort)}
}

// relative describes the segment with seq relative to its sender's ISN
// and ack to its receiver's, when known; a segment without ACK shows no
// ack, as tcpdump's.
func (s *segment) relative(e *trace.Event, isn map[flow]uint32) string {
	fl := s.flow(e)
	seq := strconv.FormatUint(uint64(s.seq), 10)
	if i, ok := isn[fl]; ok {
		seq = strconv.FormatUint(uint64(s.seq-i), 10)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "seq %s", seq)
	if s.flags.has("ACK") {
		ack := uint64(s.ack)
		if i, ok := isn[flow{fl.to, fl.from}]; ok {
			ack = uint64(s.ack - i)
		}
		fmt.Fprintf(&b, " ack %d", ack)
	}
	fmt.Fprintf(&b, " flags %s win %d len %d%s", s.flags, s.win, s.n, s.rest)
	return b.String()
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
	// A segment's Detail says its length already.
	if e.Len > 0 && !(e.Probe.Provider == "tcp" && strings.Contains(e.Detail, " len ")) {
		fmt.Fprintf(&b, " len %d", e.Len)
	}
	if e.Detail != "" {
		fmt.Fprintf(&b, "  %s", e.Detail)
	}
	if e.Reason != "" && e.Probe.Name == "drop" {
		fmt.Fprintf(&b, "  reason: %s", e.Reason)
	}
	return b.String()
}

// endpoint prints an address and port, "*" standing for an address not
// chosen yet (a listener on every address).
func endpoint(a netip.Addr, port uint16) string {
	if !a.IsValid() || a.IsUnspecified() {
		return "*:" + strconv.Itoa(int(port))
	}
	return netip.AddrPortFrom(a, port).String()
}

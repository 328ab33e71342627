package netsim

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"ustack/trace"
)

// Narrator prints the probes of every host in a network as one story,
// one line an event: when, which host, which layer, which probe, and what
// it saw. It is how `ustack demo` shows a packet walking the layers.
type Narrator struct {
	mu      sync.Mutex
	w       io.Writer
	start   time.Time
	on      bool
	filter  func(host string, e *trace.Event) bool
	cancels []func()
	lines   int
}

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
	nr := &Narrator{w: w}
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

// Close cancels the subscriptions.
func (nr *Narrator) Close() {
	for _, c := range nr.cancels {
		c()
	}
}

func (nr *Narrator) event(host string, e *trace.Event) {
	nr.mu.Lock()
	defer nr.mu.Unlock()
	if !nr.on || (nr.filter != nil && !nr.filter(host, e)) {
		return
	}
	nr.lines++
	fmt.Fprintln(nr.w, FormatEvent(host, e, nr.start))
}

// FormatEvent renders one event as the narrator prints it.
func FormatEvent(host string, e *trace.Event, start time.Time) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%9.3fms  %-7s %-8s %-18s", float64(e.Time.Sub(start).Microseconds())/1000, host, layerName[e.Probe.Provider], e.Probe.FullName())
	if e.Dev != "" {
		fmt.Fprintf(&b, " %-5s", e.Dev)
	}
	switch {
	case e.SrcPort != 0 || e.DstPort != 0:
		fmt.Fprintf(&b, " %v:%d > %v:%d", e.Src, e.SrcPort, e.Dst, e.DstPort)
	case e.Src.IsValid() && e.Dst.IsValid() && e.Probe.Provider != "arp":
		fmt.Fprintf(&b, " %v > %v", e.Src, e.Dst)
	}
	if e.Len > 0 {
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

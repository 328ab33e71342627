package trace

// Packet walks: one packet followed through every stage that touched it,
// the way the Linux walkthroughs follow an skb through
// netif_receive_skb -> ip_rcv -> ip_route_input -> ip_local_deliver ->
// tcp_v4_rcv -> tcp_rcv_established, with the time spent between stages.
//
// It works because every layer reports the packet's id (Event.PktID):
// the device that receives a frame, or the layer that makes a packet,
// gives it an id (Tracer.NextPacketID) that stays with the buffer.

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Walk is one packet's path: the events that reported it, in order.
type Walk struct {
	PktID uint64
	Steps []Event // Payload is never kept
	// Truncated: the packet had more than MaxWalkSteps events; the rest
	// were not kept.
	Truncated bool
}

// MaxWalkSteps bounds the events one walk keeps.
const MaxWalkSteps = 64

// Spent returns the time spent in stage i: until stage i+1, or zero for
// the last.
func (w *Walk) Spent(i int) time.Duration {
	if i+1 >= len(w.Steps) {
		return 0
	}
	return w.Steps[i+1].Time.Sub(w.Steps[i].Time)
}

// Duration returns the time from the first stage to the last.
func (w *Walk) Duration() time.Duration {
	if len(w.Steps) == 0 {
		return 0
	}
	return w.Steps[len(w.Steps)-1].Time.Sub(w.Steps[0].Time)
}

// String renders the walk, one stage a line: its offset from the first,
// the time spent in it (until the next), the probe and its arguments.
//
//	packet 17: 6 stages in 41µs
//	       +0s      12µs  netdev:::receive eth0 len 66
//	      +12µs      3µs  ether:::receive eth0 len 66 ...
func (w *Walk) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "packet %d: %d stages in %v", w.PktID, len(w.Steps), w.Duration())
	if w.Truncated {
		fmt.Fprintf(&b, " (more not kept)")
	}
	b.WriteByte('\n')
	var line []byte
	for i := range w.Steps {
		e := &w.Steps[i]
		spent := "-"
		if i+1 < len(w.Steps) {
			spent = w.Spent(i).String()
		}
		name := ""
		if e.Probe != nil {
			name = e.Probe.FullName()
		}
		line = e.AppendArgs(line[:0])
		if len(line) > 0 {
			name = fmt.Sprintf("%-20s", name)
		}
		fmt.Fprintf(&b, "  %s %s  %s%s\n", padLeft("+"+e.Time.Sub(w.Steps[0].Time).String(), 10), padLeft(spent, 10), name, line)
	}
	return b.String()
}

// Walker groups events by packet id into walks. A walk ends when its
// packet is dropped (any :::drop probe) or leaves the stack through a
// socket (socket:::dequeue), or when no event has reported it for the
// idle time (Expire) — or for QueueWait, if its last stage put it in a
// queue to wait (arp:::queue: a packet waiting for its next hop to
// resolve); done is then called with it. Events without a packet id are
// ignored.
//
// Add may be used as a Listener: it copies what it keeps and holds a
// mutex briefly. done is called without the mutex held, in the context
// of Add, Expire or Flush.
type Walker struct {
	idle time.Duration
	done func(*Walk)

	mu   sync.Mutex
	open map[uint64]*Walk
}

// QueueWait is how long a walk whose packet waits in a queue (its last
// stage a :::queue probe) stays open without events: longer than ARP
// takes to resolve a neighbour or give up on it (three requests a second
// apart).
const QueueWait = 5 * time.Second

// MaxOpenWalks bounds the walks a Walker follows at once; past it the
// oldest ends early.
const MaxOpenWalks = 4096

// NewWalker returns a walker that ends a walk after idle without events.
func NewWalker(idle time.Duration, done func(*Walk)) *Walker {
	return &Walker{idle: idle, done: done, open: make(map[uint64]*Walk)}
}

// Add records one event. Context: any (it is a Listener).
func (w *Walker) Add(e *Event) {
	if e.PktID == 0 {
		return
	}
	var ended []*Walk
	w.mu.Lock()
	wk := w.open[e.PktID]
	if wk == nil {
		if len(w.open) >= MaxOpenWalks {
			ended = append(ended, w.oldestLocked())
		}
		wk = &Walk{PktID: e.PktID}
		w.open[e.PktID] = wk
	}
	if len(wk.Steps) < MaxWalkSteps {
		c := *e
		c.Payload = nil
		wk.Steps = append(wk.Steps, c)
	} else {
		wk.Truncated = true
	}
	if terminal(e.Probe) {
		delete(w.open, e.PktID)
		ended = append(ended, wk)
	}
	w.mu.Unlock()
	for _, x := range ended {
		w.done(x)
	}
}

// terminal reports whether p's events end their packet's walk.
func terminal(p *Probe) bool {
	return p != nil && (p.Name == "drop" || p.Provider == "socket" && p.Name == "dequeue")
}

// oldestLocked removes and returns the walk whose last event is oldest.
func (w *Walker) oldestLocked() *Walk {
	var old *Walk
	for _, wk := range w.open {
		if old == nil || last(wk).Before(last(old)) {
			old = wk
		}
	}
	delete(w.open, old.PktID)
	return old
}

func last(wk *Walk) time.Time { return wk.Steps[len(wk.Steps)-1].Time }

// Expire ends the walks with no event since now less the idle time, in
// the order their packets were first seen.
func (w *Walker) Expire(now time.Time) {
	w.finish(func(wk *Walk) bool {
		idle := w.idle
		if p := wk.Steps[len(wk.Steps)-1].Probe; p != nil && p.Name == "queue" {
			idle = max(idle, QueueWait)
		}
		return now.Sub(last(wk)) >= idle
	})
}

// Flush ends every walk.
func (w *Walker) Flush() { w.finish(func(*Walk) bool { return true }) }

func (w *Walker) finish(due func(*Walk) bool) {
	var ended []*Walk
	w.mu.Lock()
	for id, wk := range w.open {
		if due(wk) {
			delete(w.open, id)
			ended = append(ended, wk)
		}
	}
	w.mu.Unlock()
	slices.SortFunc(ended, func(a, b *Walk) int {
		if c := a.Steps[0].Time.Compare(b.Steps[0].Time); c != 0 {
			return c
		}
		return cmp.Compare(a.PktID, b.PktID)
	})
	for _, wk := range ended {
		w.done(wk)
	}
}

// padLeft right-aligns s in n columns (durations hold a µ: widths count
// runes, not bytes).
func padLeft(s string, n int) string {
	if k := utf8.RuneCountInString(s); k < n {
		return strings.Repeat(" ", n-k) + s
	}
	return s
}

// Package trace is the stack's probe system: named probe points at every
// layer, after DTrace's providers (netdev:::receive, ip:::drop,
// udp:::send...). A probe nobody listens to costs one atomic load; a
// listener receives typed events.
//
// Probes belong to a Tracer, one per stack, so independent stacks in one
// process never see each other's events.
package trace

import (
	"net/netip"
	"path"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"ustack/clock"
)

// Event is what a probe reports. Fields that do not apply are zero.
type Event struct {
	Probe   *Probe
	Time    time.Time
	PktID   uint64 // the packet's id, for following one packet through the stack
	Dev     string // device name
	Len     int    // bytes at this layer (frame, datagram or payload)
	Proto   uint8  // IP protocol, or 0
	Src     netip.Addr
	Dst     netip.Addr
	SrcPort uint16
	DstPort uint16
	Reason  string // why a packet was dropped, an error said, a decision made
	Detail  string // one human phrase (route chosen, ICMP type, ARP entry...)
}

// Listener receives events. It runs synchronously in the context that
// fired the probe (often the packet path): it must not block.
type Listener func(*Event)

// Probe is one named probe point.
type Probe struct {
	Provider string
	Name     string
	tracer   *Tracer
	subs     atomic.Pointer[[]*subscription]
}

// FullName returns "provider:::name".
func (p *Probe) FullName() string { return p.Provider + ":::" + p.Name }

// Enabled reports whether anyone listens. It is one atomic load: test it
// before building an Event.
func (p *Probe) Enabled() bool { return p.subs.Load() != nil }

// Fire delivers e to the probe's listeners, stamping its probe and time.
func (p *Probe) Fire(e *Event) {
	subs := p.subs.Load()
	if subs == nil {
		return
	}
	e.Probe = p
	if e.Time.IsZero() {
		e.Time = p.tracer.clk.Now()
	}
	for _, s := range *subs {
		s.fn(e)
	}
}

type subscription struct {
	pattern string
	fn      Listener
}

// Tracer owns the probes of one stack.
type Tracer struct {
	clk    clock.Clock
	mu     sync.Mutex
	probes []*Probe
	byName map[string]*Probe
	subs   []*subscription
}

// New returns a tracer whose events are stamped by clk.
func New(clk clock.Clock) *Tracer {
	if clk == nil {
		clk = clock.Real()
	}
	return &Tracer{clk: clk, byName: make(map[string]*Probe)}
}

// Probe returns the probe provider:::name, creating it on first use. Layers
// call it once at construction and keep the pointer.
func (t *Tracer) Probe(provider, name string) *Probe {
	t.mu.Lock()
	defer t.mu.Unlock()
	key := provider + ":::" + name
	if p, ok := t.byName[key]; ok {
		return p
	}
	p := &Probe{Provider: provider, Name: name, tracer: t}
	t.byName[key] = p
	t.probes = append(t.probes, p)
	for _, s := range t.subs {
		if Match(s.pattern, p) {
			t.attachLocked(p, s)
		}
	}
	return p
}

// Probes lists every probe registered so far, in registration order.
func (t *Tracer) Probes() []*Probe {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]*Probe(nil), t.probes...)
}

// Subscribe calls fn for every event of every probe matching pattern, now
// and registered later. The returned function cancels the subscription.
//
// A pattern is provider:module:function:name as in DTrace, with ustack
// using only provider and name ("ip:::drop", "tcp:::*", "*:::receive");
// each field is a glob and an empty field matches anything. A pattern
// without colons matches the provider ("udp").
func (t *Tracer) Subscribe(pattern string, fn Listener) (cancel func()) {
	s := &subscription{pattern: pattern, fn: fn}
	t.mu.Lock()
	t.subs = append(t.subs, s)
	for _, p := range t.probes {
		if Match(pattern, p) {
			t.attachLocked(p, s)
		}
	}
	t.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			t.mu.Lock()
			defer t.mu.Unlock()
			for i, x := range t.subs {
				if x == s {
					t.subs = append(t.subs[:i:i], t.subs[i+1:]...)
					break
				}
			}
			for _, p := range t.probes {
				t.detachLocked(p, s)
			}
		})
	}
}

func (t *Tracer) attachLocked(p *Probe, s *subscription) {
	var next []*subscription
	if cur := p.subs.Load(); cur != nil {
		next = append(next, *cur...)
	}
	next = append(next, s)
	p.subs.Store(&next)
}

func (t *Tracer) detachLocked(p *Probe, s *subscription) {
	cur := p.subs.Load()
	if cur == nil {
		return
	}
	var next []*subscription
	for _, x := range *cur {
		if x != s {
			next = append(next, x)
		}
	}
	if len(next) == 0 {
		p.subs.Store(nil)
		return
	}
	p.subs.Store(&next)
}

// Match reports whether pattern selects probe p.
func Match(pattern string, p *Probe) bool {
	fields := strings.Split(pattern, ":")
	var prov, name string
	switch len(fields) {
	case 1:
		prov, name = fields[0], ""
	case 2:
		prov, name = fields[0], fields[1]
	default:
		prov, name = fields[0], fields[len(fields)-1]
	}
	return globMatch(prov, p.Provider) && globMatch(name, p.Name)
}

func globMatch(pattern, s string) bool {
	if pattern == "" || pattern == "*" {
		return true
	}
	ok, err := path.Match(pattern, s)
	return err == nil && ok
}

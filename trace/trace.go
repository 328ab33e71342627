// Package trace is the stack's probe system: named probe points at every
// layer, after DTrace's providers (netdev:::receive, ip:::drop,
// udp:::send...). A probe nobody listens to costs one atomic load; a
// listener receives typed events.
//
// Probes belong to a Tracer, one per stack, so independent stacks in one
// process never see each other's events.
//
// Around the probes: Event's typed arguments and String (format.go), a
// filter language over those arguments (filter.go, what `ustack trace`
// takes), and packet walks, one packet followed by its id through every
// stage (walk.go).
//
// Cost. Enabled is one atomic load, and every probe site tests it before
// building anything. Built with the ustack_noprobes tag, Enabled is a
// constant false and the compiler deletes the sites' bodies: the tag
// exists to measure what the disabled probes cost (netsim's
// BenchmarkBulkTCPProbes), not to configure the stack.
package trace

import (
	"net/netip"
	"path"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"ustack/clock"
	"ustack/wire"
)

// Event is what a probe reports: the probe's typed arguments. Fields that
// do not apply are zero. It is a plain value: a listener is lent one for
// the duration of its call (see Fire) and may copy it to keep it, though
// Payload, which may share the packet's memory, is valid only during the
// call.
//
// Every event about a packet carries the packet's id in PktID, the same at
// every layer the packet crosses, so that one packet can be followed
// (see Walker).
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

	// Link layer: ether:::receive and send; arp:::request and reply
	// (sender and target hardware addresses) and arp:::resolved (DstMAC,
	// the neighbour's).
	SrcMAC, DstMAC wire.MAC
	EtherType      wire.EtherType

	// IP: ip:::receive, send and forward (TTL, IPID), ip:::fragment
	// (IPID, FragOffset in bytes, MoreFrags) and ip:::reassembled (IPID,
	// Frags: how many fragments made the datagram).
	TTL        uint8
	IPID       uint16
	FragOffset int
	MoreFrags  bool
	Frags      int

	// ICMP: icmp:::receive and send.
	ICMPType, ICMPCode uint8

	// A TCP segment, when Segment is set: tcp:::send, receive and
	// retransmit, and tcp:::drop of a parsed segment. Src and SrcPort are
	// always the segment's sender. Window is in bytes, the header's
	// window field shifted left by WScale (a SYN's window is never
	// scaled); Len is the payload length.
	Segment  bool
	Seq, Ack uint32
	Flags    wire.TCPFlags
	Window   uint32
	WScale   uint8
	// Payload is the segment's payload, set only for subscribers that
	// asked for it (WithPayload); it may share the packet's memory and is
	// valid only during the listener's call.
	Payload []byte

	// A TCP connection: tcp:::cwnd (CWnd and Ssthresh in bytes, the RTT
	// estimator's SRTT and RTTVar) and tcp:::state-change (the states by
	// their names, "SYN_SENT", "ESTABLISHED"...).
	CWnd, Ssthresh     int
	SRTT, RTTVar       time.Duration
	OldState, NewState string

	Reason string // why a packet was dropped, an error said, a decision made
	Detail string // one human phrase (route chosen, ICMP type, ARP entry...)
}

// Listener receives events. It runs synchronously in the context that
// fired the probe (often the packet path): it must not block. The event
// is lent for the duration of the call: copy it (*e) to keep it.
type Listener func(*Event)

// Probe is one named probe point.
type Probe struct {
	Provider string
	Name     string
	full     string
	tracer   *Tracer
	subs     atomic.Pointer[attached]
}

// attached is what a probe's listeners want, replaced as a whole when a
// subscription comes or goes.
type attached struct {
	list    []*subscription
	payload bool // some subscriber asked for payloads
}

// FullName returns "provider:::name".
func (p *Probe) FullName() string {
	if p.full == "" {
		return p.Provider + ":::" + p.Name
	}
	return p.full
}

// Enabled reports whether anyone listens. It is one atomic load (and a
// constant false in a build with the ustack_noprobes tag): test it before
// building an Event.
func (p *Probe) Enabled() bool { return compiled && p.subs.Load() != nil }

// WantsPayload reports whether a listener asked for packet payloads
// (WithPayload). A probe that can report one tests it, after Enabled,
// before touching the payload.
func (p *Probe) WantsPayload() bool {
	a := p.subs.Load()
	return compiled && a != nil && a.payload
}

// Fire delivers e to the probe's listeners, stamped with its probe and
// time. Listeners get a copy of e from a pool, not e itself: e never
// escapes, so the &Event{...} a probe site builds stays on its stack, and
// an enabled probe allocates nothing. A listener must therefore not keep
// the pointer it is given past its call (copy the Event to keep it).
func (p *Probe) Fire(e *Event) {
	if !compiled {
		return
	}
	a := p.subs.Load()
	if a == nil {
		return
	}
	ev := eventPool.Get().(*Event)
	*ev = *e
	ev.Probe = p
	if ev.Time.IsZero() {
		ev.Time = p.tracer.clk.Now()
	}
	for _, s := range a.list {
		s.fn(ev)
	}
	*ev = Event{} // let go of the payload and strings before pooling
	eventPool.Put(ev)
}

// eventPool holds the Events that Fire lends its listeners.
var eventPool = sync.Pool{New: func() any { return new(Event) }}

type subscription struct {
	pattern string
	fn      Listener
	payload bool
}

// An Option modifies a subscription.
type Option func(*subscription)

// WithPayload asks the probes that can (tcp:::send, receive, retransmit)
// to report the payload in Event.Payload. Others' subscriptions keep the
// fast path, which never touches payloads.
func WithPayload() Option { return func(s *subscription) { s.payload = true } }

// Tracer owns the probes of one stack.
type Tracer struct {
	clk    clock.Clock
	mu     sync.Mutex
	probes []*Probe
	byName map[string]*Probe
	subs   []*subscription
}

// pktIDs numbers packets for every tracer of the process, so that a
// packet that crosses from one in-process stack to another (netsim's
// wires pass the buffer's id along) keeps an id no other packet has.
var pktIDs atomic.Uint64

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
	p := &Probe{Provider: provider, Name: name, full: key, tracer: t}
	t.byName[key] = p
	t.probes = append(t.probes, p)
	for _, s := range t.subs {
		if Match(s.pattern, p) {
			t.attachLocked(p, s)
		}
	}
	return p
}

// NextPacketID returns a fresh packet id, unique in the process:
// whichever layer makes or receives a packet first gives it one
// (pkt.Buf.ID), and every probe about the packet reports it.
func (t *Tracer) NextPacketID() uint64 { return pktIDs.Add(1) }

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
// without colons matches the provider ("udp"). Alternatives separated by
// commas ("tcp:::*,ip:::drop") make one subscription: a probe matching
// several still calls fn once.
func (t *Tracer) Subscribe(pattern string, fn Listener, opts ...Option) (cancel func()) {
	s := &subscription{pattern: pattern, fn: fn}
	for _, o := range opts {
		o(s)
	}
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
	next := &attached{payload: s.payload}
	if cur := p.subs.Load(); cur != nil {
		next.list = append(next.list, cur.list...)
		next.payload = next.payload || cur.payload
	}
	next.list = append(next.list, s)
	p.subs.Store(next)
}

func (t *Tracer) detachLocked(p *Probe, s *subscription) {
	cur := p.subs.Load()
	if cur == nil {
		return
	}
	next := &attached{}
	for _, x := range cur.list {
		if x != s {
			next.list = append(next.list, x)
			next.payload = next.payload || x.payload
		}
	}
	if len(next.list) == 0 {
		p.subs.Store(nil)
		return
	}
	p.subs.Store(next)
}

// Match reports whether pattern selects probe p. A pattern may list
// alternatives separated by commas ("tcp:::send,ip:::drop").
func Match(pattern string, p *Probe) bool {
	for alt := range strings.SplitSeq(pattern, ",") {
		if matchOne(strings.TrimSpace(alt), p) {
			return true
		}
	}
	return false
}

func matchOne(pattern string, p *Probe) bool {
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

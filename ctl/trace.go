package ctl

// Method "trace": the stack's probes streamed to the client, as dtrace(1)
// streams a kernel's, each event selected by probe patterns and a filter
// over its arguments (package trace's filter language), or grouped by
// packet into packet walks.
//
// The probes fire in the packet path, which must never wait for a
// client. Each event the filter selects is copied into a bounded queue;
// when the queue is full (the client reads too slowly), the event is
// dropped and counted, as perf counts the events it loses, and the count
// is reported in "lost" events and in the result.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"ustack/trace"
	"ustack/wire"
)

// TraceQueue is how many events wait for a slow client before more are
// lost.
const TraceQueue = 4096

// DefaultWalkIdle ends a packet walk after this long without an event
// about its packet, when TraceArgs.WalkIdle is 0.
const DefaultWalkIdle = 100 * time.Millisecond

// traceTick is how often the server ends idle walks and reports losses.
const traceTick = 50 * time.Millisecond

// TraceArgs are the arguments of method "trace".
type TraceArgs struct {
	// Probes are DTrace-style patterns ("tcp:::*", "ip:::drop",
	// "*:::receive"); an event of a probe matching any of them is
	// reported once.
	Probes []string `json:"probes"`
	// Filter selects events by their arguments ("port == 80 && flags &
	// SYN"; see package trace's ParseFilter). Empty: every event.
	Filter string `json:"filter,omitempty"`
	// Payload asks the tcp probes for segment payloads.
	Payload bool `json:"payload,omitempty"`
	// Walk groups the events by packet and sends "walk" events instead
	// of "event" events: the walks of the packets of which at least one
	// event passes the filter.
	Walk bool `json:"walk,omitempty"`
	// WalkIdle ends a walk after this long without an event about its
	// packet (0: DefaultWalkIdle).
	WalkIdle Duration `json:"walk_idle,omitempty"`
	// Count stops the trace after this many events (walks with Walk); 0
	// traces until cancelled.
	Count int `json:"count,omitempty"`
}

// TraceEvent is one "event" event: one probe firing. Its JSON form is
// stable, for programs that read `ustack trace --json` (one object a
// line). Fields that do not apply are absent; those that are pointers are
// present exactly when their group applies:
//
//	time        RFC 3339 time with nanoseconds, from the stack's clock
//	elapsed_ns  nanoseconds since the trace started
//	probe       "provider:::name"
//	pkt_id      the packet's id (the same at every layer; see --walk)
//	dev, len, proto, src, dst, sport, dport
//	src_mac, dst_mac, ethertype          ether:::*, arp:::*
//	ttl, ip_id, frag_offset, more_frags, frags      ip:::*
//	icmp_type, icmp_code                 icmp:::* (always both)
//	seq, ack, flags, window, wscale      a TCP segment (always all five;
//	                                     window in bytes, flags "SYN|ACK")
//	payload     base64, with --payload
//	cwnd, ssthresh, srtt_ns, rttvar_ns   tcp:::cwnd (always all four)
//	old_state, new_state                 tcp:::state-change
//	reason, detail
type TraceEvent struct {
	Time      time.Time `json:"time"`
	ElapsedNS int64     `json:"elapsed_ns"`
	Probe     string    `json:"probe"`
	PktID     uint64    `json:"pkt_id,omitempty"`
	Dev       string    `json:"dev,omitempty"`
	Len       int       `json:"len"`
	Proto     uint8     `json:"proto,omitempty"`
	Src       string    `json:"src,omitempty"`
	Dst       string    `json:"dst,omitempty"`
	SrcPort   uint16    `json:"sport,omitempty"`
	DstPort   uint16    `json:"dport,omitempty"`

	SrcMAC    string `json:"src_mac,omitempty"`
	DstMAC    string `json:"dst_mac,omitempty"`
	EtherType uint16 `json:"ethertype,omitempty"`

	TTL        uint8  `json:"ttl,omitempty"`
	IPID       uint16 `json:"ip_id,omitempty"`
	FragOffset int    `json:"frag_offset,omitempty"`
	MoreFrags  bool   `json:"more_frags,omitempty"`
	Frags      int    `json:"frags,omitempty"`

	ICMPType *uint8 `json:"icmp_type,omitempty"`
	ICMPCode *uint8 `json:"icmp_code,omitempty"`

	Seq     *uint32 `json:"seq,omitempty"`
	Ack     *uint32 `json:"ack,omitempty"`
	Flags   *string `json:"flags,omitempty"`
	Window  *uint32 `json:"window,omitempty"`
	WScale  *uint8  `json:"wscale,omitempty"`
	Payload []byte  `json:"payload,omitempty"`

	CWnd     *int   `json:"cwnd,omitempty"`
	Ssthresh *int   `json:"ssthresh,omitempty"`
	SRTTNS   *int64 `json:"srtt_ns,omitempty"`
	RTTVarNS *int64 `json:"rttvar_ns,omitempty"`

	OldState string `json:"old_state,omitempty"`
	NewState string `json:"new_state,omitempty"`
	Reason   string `json:"reason,omitempty"`
	Detail   string `json:"detail,omitempty"`
}

// TraceWalk is one "walk" event: one packet's stages, in order.
type TraceWalk struct {
	PktID     uint64       `json:"pkt_id"`
	Truncated bool         `json:"truncated,omitempty"`
	Steps     []TraceEvent `json:"steps"`
}

// TraceLost is a "lost" event: events dropped because the client read
// too slowly.
type TraceLost struct {
	Lost  uint64 `json:"lost"`  // since the last report
	Total uint64 `json:"total"` // since the trace started
}

// TraceResult is the result of method "trace".
type TraceResult struct {
	Events uint64 `json:"events"`          // events sent (or walked)
	Walks  uint64 `json:"walks,omitempty"` // walks sent
	Lost   uint64 `json:"lost"`            // events dropped for a slow client
}

// NewTraceEvent converts a probe's event, start being when the trace
// started.
func NewTraceEvent(e *trace.Event, start time.Time) TraceEvent {
	t := TraceEvent{
		Time: e.Time, ElapsedNS: int64(e.Time.Sub(start)), PktID: e.PktID, Dev: e.Dev, Len: e.Len, Proto: e.Proto,
		SrcPort: e.SrcPort, DstPort: e.DstPort, EtherType: uint16(e.EtherType),
		TTL: e.TTL, IPID: e.IPID, FragOffset: e.FragOffset, MoreFrags: e.MoreFrags, Frags: e.Frags,
		OldState: e.OldState, NewState: e.NewState, Reason: e.Reason, Detail: e.Detail,
	}
	if e.Probe != nil {
		t.Probe = e.Probe.FullName()
	}
	if e.Src.IsValid() {
		t.Src = e.Src.String()
	}
	if e.Dst.IsValid() {
		t.Dst = e.Dst.String()
	}
	if e.SrcMAC != (wire.MAC{}) {
		t.SrcMAC = e.SrcMAC.String()
	}
	if e.DstMAC != (wire.MAC{}) {
		t.DstMAC = e.DstMAC.String()
	}
	if e.Probe != nil && e.Probe.Provider == "icmp" {
		t.ICMPType, t.ICMPCode = &e.ICMPType, &e.ICMPCode
	}
	if e.Segment {
		flags := e.Flags.String()
		t.Seq, t.Ack, t.Flags, t.Window, t.WScale = &e.Seq, &e.Ack, &flags, &e.Window, &e.WScale
		t.Payload = e.Payload
	}
	if e.Probe != nil && e.Probe.Provider == "tcp" && e.Probe.Name == "cwnd" {
		srtt, rttvar := int64(e.SRTT), int64(e.RTTVar)
		t.CWnd, t.Ssthresh, t.SRTTNS, t.RTTVarNS = &e.CWnd, &e.Ssthresh, &srtt, &rttvar
	}
	return t
}

// Event converts t back into a probe event (its Probe a stand-in with
// the provider and name), for formatting and filtering in the client.
func (t *TraceEvent) Event() trace.Event {
	e := trace.Event{
		Time: t.Time, PktID: t.PktID, Dev: t.Dev, Len: t.Len, Proto: t.Proto,
		SrcPort: t.SrcPort, DstPort: t.DstPort, EtherType: wire.EtherType(t.EtherType),
		TTL: t.TTL, IPID: t.IPID, FragOffset: t.FragOffset, MoreFrags: t.MoreFrags, Frags: t.Frags,
		OldState: t.OldState, NewState: t.NewState, Reason: t.Reason, Detail: t.Detail, Payload: t.Payload,
	}
	if prov, name, ok := strings.Cut(t.Probe, ":::"); ok {
		e.Probe = &trace.Probe{Provider: prov, Name: name}
	}
	e.Src, _ = netip.ParseAddr(t.Src)
	e.Dst, _ = netip.ParseAddr(t.Dst)
	e.SrcMAC, _ = wire.ParseMAC(t.SrcMAC)
	e.DstMAC, _ = wire.ParseMAC(t.DstMAC)
	if t.ICMPType != nil && t.ICMPCode != nil {
		e.ICMPType, e.ICMPCode = *t.ICMPType, *t.ICMPCode
	}
	if t.Seq != nil && t.Ack != nil && t.Flags != nil && t.Window != nil && t.WScale != nil {
		e.Segment, e.Seq, e.Ack, e.Window, e.WScale = true, *t.Seq, *t.Ack, *t.Window, *t.WScale
		e.Flags = parseFlags(*t.Flags)
	}
	if t.CWnd != nil && t.Ssthresh != nil && t.SRTTNS != nil && t.RTTVarNS != nil {
		e.CWnd, e.Ssthresh, e.SRTT, e.RTTVar = *t.CWnd, *t.Ssthresh, time.Duration(*t.SRTTNS), time.Duration(*t.RTTVarNS)
	}
	return e
}

// String formats t as `ustack trace` prints it: seconds since the trace
// started, the packet id, the probe and its arguments.
//
//	0.001203    17  tcp:::send         10.0.0.1:80 -> 10.0.0.2:5000 seq 1 ack 1 flags PSH|ACK win 502 len 100
func (t *TraceEvent) String() string {
	e := t.Event()
	pkt := "-"
	if t.PktID != 0 {
		pkt = fmt.Sprint(t.PktID)
	}
	return fmt.Sprintf("%11.6f %5s  %-19s%s", float64(t.ElapsedNS)/1e9, pkt, t.Probe, e.AppendArgs(nil))
}

// TraceHeader is the line `ustack trace` prints above its events.
const TraceHeader = "    TIME(s)   PKT  PROBE              ARGS"

// Walk converts w into a trace.Walk, for its String.
func (w *TraceWalk) Walk() *trace.Walk {
	tw := &trace.Walk{PktID: w.PktID, Truncated: w.Truncated, Steps: make([]trace.Event, len(w.Steps))}
	for i := range w.Steps {
		tw.Steps[i] = w.Steps[i].Event()
	}
	return tw
}

// parseFlags reads wire.TCPFlags.String's form ("SYN|ACK").
func parseFlags(s string) wire.TCPFlags {
	var f wire.TCPFlags
	for name := range strings.SplitSeq(s, "|") {
		for i := range 9 {
			if wire.TCPFlags(1<<i).String() == name {
				f |= 1 << i
			}
		}
	}
	return f
}

// trace serves method "trace": it runs until Count events, or until the
// client cancels (then the result is the counts so far).
func (s *Server) trace(ctx context.Context, raw json.RawMessage, st *Stream) (any, error) {
	var a TraceArgs
	if err := decodeArgs(raw, &a); err != nil {
		return nil, err
	}
	var pats []string
	for _, p := range a.Probes {
		if p = strings.TrimSpace(p); p != "" {
			pats = append(pats, p)
		}
	}
	if len(pats) == 0 {
		return nil, argsError("trace: no probes given (e.g. tcp:::*)")
	}
	if a.Count < 0 || a.WalkIdle < 0 {
		return nil, argsError("trace: negative count or walk idle time")
	}
	filter, err := trace.ParseFilter(a.Filter)
	if err != nil {
		return nil, argsError("trace: %v", err)
	}
	tr := s.st.Tracer()
	pattern := strings.Join(pats, ",")
	matched := 0
	for _, p := range tr.Probes() {
		if trace.Match(pattern, p) {
			matched++
		}
	}
	if matched == 0 {
		return nil, argsError("trace: no probe matches %s", pattern)
	}

	// The listener: runs in the packet path, never waits.
	q := make(chan trace.Event, TraceQueue)
	var lost atomic.Uint64
	listener := func(e *trace.Event) {
		if a.Walk && e.PktID == 0 || !a.Walk && !filter.Match(e) {
			return
		}
		c := *e
		if c.Payload != nil {
			c.Payload = bytes.Clone(c.Payload) // valid only during the call
		}
		select {
		case q <- c:
		default:
			lost.Add(1)
		}
	}
	var opts []trace.Option
	if a.Payload {
		opts = append(opts, trace.WithPayload())
	}
	start := s.st.Clock().Now()
	cancel := tr.Subscribe(pattern, listener, opts...)
	defer cancel()

	// Send fails only when the client has gone, and then ctx ends too:
	// its errors are left to ctx.
	var res TraceResult
	reported := uint64(0)
	reportLost := func() {
		if n := lost.Load(); n > reported {
			st.Send("lost", TraceLost{Lost: n - reported, Total: n})
			reported = n
		}
	}
	var walker *trace.Walker
	if a.Walk {
		idle := a.WalkIdle.D()
		if idle == 0 {
			idle = DefaultWalkIdle
		}
		walker = trace.NewWalker(idle, func(w *trace.Walk) {
			if a.Count > 0 && res.Walks >= uint64(a.Count) || !slices.ContainsFunc(w.Steps, func(e trace.Event) bool { return filter.Match(&e) }) {
				return
			}
			tw := TraceWalk{PktID: w.PktID, Truncated: w.Truncated, Steps: make([]TraceEvent, len(w.Steps))}
			for i := range w.Steps {
				tw.Steps[i] = NewTraceEvent(&w.Steps[i], start)
			}
			res.Walks++
			st.Send("walk", tw)
		})
	}
	done := func() bool {
		return a.Count > 0 && (walker == nil && res.Events >= uint64(a.Count) || res.Walks >= uint64(a.Count))
	}
	tick := time.NewTicker(traceTick)
	defer tick.Stop()
	for !done() {
		select {
		case <-ctx.Done():
			cancel()
			res.Lost = lost.Load()
			if errors.Is(context.Cause(ctx), errCancelled) {
				if walker != nil {
					walker.Flush()
				}
				return res, nil
			}
			return nil, context.Cause(ctx)
		case e := <-q:
			res.Events++
			if walker != nil {
				walker.Add(&e)
			} else {
				st.Send("event", NewTraceEvent(&e, start))
			}
		case <-tick.C:
			if walker != nil {
				walker.Expire(s.st.Clock().Now())
			}
			reportLost()
		}
	}
	cancel()
	reportLost()
	res.Lost = lost.Load()
	return res, nil
}

// TraceHandler receives what Client.Trace streams; nil fields ignore
// their events.
type TraceHandler struct {
	Event func(TraceEvent)
	Walk  func(TraceWalk)
	Lost  func(TraceLost)
}

// Trace streams the stack's probe events (see TraceArgs) to h until
// a.Count events or walks, or until ctx ends; then it returns the counts,
// with ctx's error in the second case.
func (c *Client) Trace(ctx context.Context, a TraceArgs, h TraceHandler) (TraceResult, error) {
	var res TraceResult
	err := c.Call(ctx, "trace", a, func(ev string, data json.RawMessage) error {
		var err error
		switch ev {
		case "event":
			var t TraceEvent
			if err = json.Unmarshal(data, &t); err == nil && h.Event != nil {
				h.Event(t)
			}
		case "walk":
			var w TraceWalk
			if err = json.Unmarshal(data, &w); err == nil && h.Walk != nil {
				h.Walk(w)
			}
		case "lost":
			var l TraceLost
			if err = json.Unmarshal(data, &l); err == nil && h.Lost != nil {
				h.Lost(l)
			}
		}
		if err != nil {
			return fmt.Errorf("ctl: trace: malformed %s: %w", ev, err)
		}
		return nil
	}, &res)
	return res, err
}

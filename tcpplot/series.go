package tcpplot

// The points of the graphs, taken from the events of one flow. The
// probes' arguments (tcp/probes.go) are those of the segment on the wire:
// seq is its first sequence number, len its payload bytes (a GSO
// super-segment's whole payload), ack and window those it carries, the
// window already shifted by the scale its sender announced (a SYN's
// never is). tcp:::retransmit fires just before tcp:::send for the same
// packet (the same pkt_id). tcp:::cwnd reports the sender's cwnd,
// ssthresh, srtt and rttvar each time they change (on an ACK, at a loss,
// at the end of recovery), with the connection's local end as src.

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"ustack/ctl"
	"ustack/tcp/cc"
)

// Point is one point of a line: a value at a time since the trace began.
type Point struct {
	T time.Duration
	V int64
}

// Segment is one data segment: bytes [Seq, End) of the flow at time T.
type Segment struct {
	T        time.Duration
	Seq, End int64
	// Retrans marks a retransmission: reported by tcp:::retransmit at
	// the sender. At the receiver it is inferred for a segment that
	// starts below the highest byte already received: a retransmission
	// (of a segment lost on the way, or a spurious one) or, rarely, a
	// segment the network reordered, which the receiver cannot tell
	// apart.
	Retrans bool
}

// Series is everything the graphs of one flow draw. Sequence numbers
// (Segments, SYN, FIN, Acks, Window) are offsets from ISN, as tcptrace
// and Wireshark show them by default, unwrapped past 2^32; with
// Options.Absolute they are ISN plus the offset, the numbers on the wire
// (until the first wrap).
type Series struct {
	Flow Flow
	// ISN is the sender's initial sequence number: its SYN's, or when the
	// trace began later, the first sequence number seen in the flow.
	ISN      uint32
	Absolute bool

	Segments    []Segment // data segments, in time order
	Retransmits int       // of data segments and FINs
	SYN, FIN    []Point   // the sequence number each occupies

	// Acks is the cumulative ACK the receiver sent, at each of its
	// segments; Window is that ACK plus the window it advertised: the
	// right edge of what the sender may send.
	Acks, Window []Point

	// From tcp:::cwnd at the sender: cwnd and ssthresh in bytes
	// (ssthresh only once set: it starts "infinite"), srtt and rttvar
	// in nanoseconds (once there is a sample).
	CWnd, Ssthresh []Point
	SRTT, RTTVar   []Point

	// Start and End bound the times of all the points.
	Start, End time.Duration
}

// Options select what Extract reports.
type Options struct {
	// Absolute reports sequence numbers as on the wire instead of
	// offsets from the ISN.
	Absolute bool
}

// seqSpace turns 32-bit sequence numbers into offsets from the ISN that
// keep growing past a wrap (as tcptrace's and Wireshark's do), by taking
// each number as the nearest, in modular distance, to the highest offset
// so far (cf. seqnum's comparisons, RFC 1982).
type seqSpace struct {
	isn uint32
	hi  int64
	abs bool
}

func (s *seqSpace) at(v uint32) int64 {
	off := s.hi + int64(int32(v-s.isn-uint32(s.hi)))
	s.hi = max(s.hi, off)
	if s.abs {
		return int64(s.isn) + off
	}
	return off
}

// Extract returns the points of flow f of t (see Series).
func Extract(t *Trace, f Flow, o Options) *Series {
	s := &Series{Flow: f, Absolute: o.Absolute}
	// The events of the flow: its data (and SYN, FIN) segments, and its
	// ACKs, which are the segments of the reverse direction; at the
	// sender, data leave and ACKs arrive; at the receiver, the reverse.
	dataProbe := func(e *ctl.TraceEvent) bool { out, _ := isSegment(e); return out }
	if f.At == AtReceiver {
		dataProbe = func(e *ctl.TraceEvent) bool { _, in := isSegment(e); return in }
	}
	var data, acks, cwnd []*ctl.TraceEvent
	for i := range t.Events {
		e := &t.Events[i]
		src, dst, ok := endpoints(e)
		if !ok {
			continue
		}
		out, in := isSegment(e)
		switch {
		case (out || in) && dataProbe(e) && src == f.Src && dst == f.Dst:
			data = append(data, e)
		case (out || in) && !dataProbe(e) && src == f.Dst && dst == f.Src:
			acks = append(acks, e)
		case e.Probe == "tcp:::cwnd" && f.At == AtSender && src == f.Src && dst == f.Dst && e.CWnd != nil:
			cwnd = append(cwnd, e)
		}
	}
	// The probes fire on several goroutines: put each stream in time
	// order (stably: events of one instant keep the trace's order).
	byTime := func(a, b *ctl.TraceEvent) int { return cmp.Compare(a.ElapsedNS, b.ElapsedNS) }
	slices.SortStableFunc(data, byTime)
	slices.SortStableFunc(acks, byTime)
	slices.SortStableFunc(cwnd, byTime)

	sp := &seqSpace{abs: o.Absolute}
	switch {
	case len(data) > 0:
		sp.isn = *data[0].Seq
		for _, e := range data {
			if flagsHave(*e.Flags, "SYN") {
				sp.isn = *e.Seq
				break
			}
		}
	case len(acks) > 0:
		sp.isn = *acks[0].Ack
	}
	s.ISN = sp.isn

	retransmitted := map[uint64]bool{} // pkt ids of tcp:::retransmit
	var highest int64
	for _, e := range data {
		tm := time.Duration(e.ElapsedNS)
		seq := sp.at(*e.Seq)
		rtx := e.Probe == "tcp:::retransmit"
		if rtx && e.PktID != 0 {
			retransmitted[e.PktID] = true
		} else if e.PktID != 0 && retransmitted[e.PktID] {
			continue // the tcp:::send of a retransmission already seen
		}
		if f.At == AtReceiver && e.Len > 0 && seq < highest {
			rtx = true
		}
		if rtx {
			s.Retransmits++
		}
		flags := *e.Flags
		if flagsHave(flags, "SYN") {
			s.SYN = append(s.SYN, Point{tm, seq})
			seq = sp.at(*e.Seq + 1)
		}
		if e.Len > 0 {
			end := sp.at(*e.Seq + uint32(e.Len))
			if flagsHave(flags, "SYN") {
				end++
			}
			s.Segments = append(s.Segments, Segment{T: tm, Seq: seq, End: end, Retrans: rtx})
			seq = end
		}
		if flagsHave(flags, "FIN") {
			s.FIN = append(s.FIN, Point{tm, seq})
			seq++
		}
		highest = max(highest, seq)
	}
	for _, e := range acks {
		if !flagsHave(*e.Flags, "ACK") || flagsHave(*e.Flags, "RST") {
			continue
		}
		tm := time.Duration(e.ElapsedNS)
		ack := sp.at(*e.Ack)
		s.Acks = append(s.Acks, Point{tm, ack})
		s.Window = append(s.Window, Point{tm, ack + int64(*e.Window)})
	}
	for _, e := range cwnd {
		tm := time.Duration(e.ElapsedNS)
		s.CWnd = append(s.CWnd, Point{tm, int64(*e.CWnd)})
		if e.Ssthresh != nil && *e.Ssthresh < cc.InfiniteSsthresh {
			s.Ssthresh = append(s.Ssthresh, Point{tm, int64(*e.Ssthresh)})
		}
		if e.SRTTNS != nil && *e.SRTTNS > 0 {
			s.SRTT = append(s.SRTT, Point{tm, *e.SRTTNS})
			if e.RTTVarNS != nil {
				s.RTTVar = append(s.RTTVar, Point{tm, *e.RTTVarNS})
			}
		}
	}
	s.span(data, acks, cwnd)
	return s
}

// span sets Start and End from the events drawn.
func (s *Series) span(groups ...[]*ctl.TraceEvent) {
	first := true
	for _, g := range groups {
		if len(g) == 0 {
			continue
		}
		lo, hi := time.Duration(g[0].ElapsedNS), time.Duration(g[len(g)-1].ElapsedNS)
		if first || lo < s.Start {
			s.Start = lo
		}
		if first || hi > s.End {
			s.End = hi
		}
		first = false
	}
}

// flagsHave reports whether flags ("SYN|ACK", as wire.TCPFlags prints
// them) include name.
func flagsHave(flags, name string) bool {
	for f := range strings.SplitSeq(flags, "|") {
		if f == name {
			return true
		}
	}
	return false
}

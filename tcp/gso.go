package tcp

// Segmentation offload: when the route's device takes GSO super-packets
// (ipv4.Route.GSOMaxSize), the sender hands IP one segment of up to ~64
// KiB standing for many wire segments of one SMSS each (pkt.Buf.GSOSize),
// and the device sends it whole or cuts it (netdev's gso.go). What TCP
// decides stays per wire segment: the window, Nagle and silly-window
// tests see one SMSS as the full-sized segment, a super-segment is a
// whole number of SMSS unless its short tail could have gone at once
// anyway, the counters count wire segments, and a receiver takes the
// GSO size, not the super-segment, as the peer's segment size.
//
// Read before editing: RFC 9293 §3.8.6.2.1 and RFC 1122 §4.2.3.4 (what a
// full-sized segment is to Nagle and sender SWS avoidance), RFC 3465 §2.3
// (the per-ACK limit L, and why stretch ACKs motivate it). Linux:
// tcp_output.c (tcp_tso_segs, tcp_mss_split_point, tcp_set_skb_tso_segs,
// tcp_transmit_skb's TCP_MIB_OUTSEGS by tcp_skb_pcount), tcp_input.c
// (tcp_measure_rcv_mss reading gso_size, tcp_slow_start without L).

import (
	"time"

	"ustack/wire"
)

// gsoLimitLocked returns the most payload one transmission may carry,
// given seg, the payload of one full wire segment: a whole number (at
// least two) of seg that fits a super-packet of the route's GSO maximum
// (at most 64 KiB less the headers), or seg when the route has no GSO
// (cf. tcp_tso_segs).
func (ep *Endpoint) gsoLimitLocked(seg int) int {
	gmax := int(ep.rt.GSOMaxSize)
	if gmax == 0 || !ep.hasRoute || seg <= 0 {
		return seg
	}
	room := gmax - wire.IPv4MinHeaderLen - wire.TCPMinHeaderLen - (ep.mss - seg)
	if k := room / seg; k >= 2 {
		return k * seg
	}
	return seg
}

// gsoTrimLocked cuts n bytes of new data, more than one full segment of
// seg bytes, to a whole number of segments, unless the short tail is the
// last of the data and would go at once on its own (no Nagle, or a FIN
// goes with it); else the tail waits, as it would have behind the full
// segments sent one by one (cf. tcp_mss_split_point).
func (ep *Endpoint) gsoTrimLocked(n, seg, avail int) int {
	tail := n % seg
	if tail == 0 || n == avail && (ep.noDelay || ep.finUnsentLocked()) {
		return n
	}
	return n - tail
}

// gsoSegs is how many wire segments n payload bytes make at GSO size gso
// (0: not GSO), as tcp_skb_pcount.
func gsoSegs(n, gso int) int {
	if gso <= 0 || n <= gso {
		return 1
	}
	return (n + gso - 1) / gso
}

// onAckLocked tells congestion control that acked bytes of new data were
// acknowledged. A connection that sends GSO super-segments gets one ACK
// per super-segment from a receiver (its delayed-ACK rule sees one
// segment of many SMSS): a stretch ACK by design, not the ACK loss RFC
// 3465's limit L guards against, and under L=2 slow start would grow two
// SMSS per super-segment instead of doubling per RTT. Such an ACK is
// reported as the ACKs of a receiver acknowledging every second segment
// would have been (Linux, whose receivers' GRO has the same effect, has
// dropped L altogether: tcp_slow_start).
func (ep *Endpoint) onAckLocked(acked int, now time.Time) {
	if !ep.cwndLimitedLocked(ep.inFlight() + acked) {
		return
	}
	step := 2 * ep.smss()
	if ep.rt.GSOMaxSize == 0 || step <= 0 {
		ep.cc.OnAck(acked, ep.rtt.srtt, ep.inFlight(), now)
		return
	}
	for acked > step {
		ep.cc.OnAck(step, ep.rtt.srtt, ep.inFlight()+acked-step, now)
		acked -= step
	}
	ep.cc.OnAck(acked, ep.rtt.srtt, ep.inFlight(), now)
}

// cwndLimitedLocked reports whether a connection with flight bytes in
// flight (before the ACK at hand) was using its congestion window, so
// that the ACK may grow it (RFC 7661 §4.3, "validated" phase; cf.
// tcp_is_cwnd_limited). A sender held back by the receiver's window or
// by an application with little to send learns nothing about the path
// beyond what it used, and a window grown on such ACKs would later
// burst at a rate never tried. In slow start the window may still grow
// to twice what was in flight, as Linux lets it; in congestion
// avoidance, only when the flight filled it to within a segment.
func (ep *Endpoint) cwndLimitedLocked(flight int) bool {
	cwnd := ep.cc.Cwnd()
	if cwnd < ep.cc.Ssthresh() {
		return 2*flight > cwnd
	}
	return flight+ep.smss() >= cwnd
}

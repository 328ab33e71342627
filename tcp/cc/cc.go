// Package cc is TCP congestion control behind one small interface, so
// that algorithms are short files of their own and a connection picks one
// at run time (cf. Linux's tcp_congestion_ops).
//
// Read before editing: RFC 5681 (slow start, congestion avoidance, fast
// retransmit and recovery), RFC 6582 (NewReno), RFC 9438 (CUBIC), RFC
// 6675 (SACK-based recovery: the sender decides what to send; the
// algorithm only sizes the window), RFC 3465 (appropriate byte counting).
//
// Division of labour. An algorithm sizes the window; the connection runs
// recovery. Entering fast recovery the connection calls OnCongestion, which
// leaves Cwnd() at the new ssthresh; during recovery the connection sends
// by RFC 6582 (Cwnd()+3*SMSS, inflated by SMSS per further duplicate ACK,
// deflated on partial ACKs) or by RFC 6675/6937 with Cwnd() as the target,
// does not call OnAck, and calls OnRecoveryEnd when the recovery point is
// acknowledged, which leaves Cwnd() at ssthresh.
//
// Cwnd validation. OnAck grows the window whether or not the sender was
// using it; the algorithms here do not yet apply RFC 7661 (inFlight is
// passed for that). A connection that is application-limited for long
// should expect cwnd to outgrow what it has actually tested.
package cc

import "time"

// Algorithm sizes a connection's congestion window. All sizes are in
// bytes. The connection calls it with its lock held; it must not block.
// Context: softnet or timer.
type Algorithm interface {
	// Name is the name users select it by ("cubic", "newreno").
	Name() string
	// Init sets the initial window for a connection whose sender MSS is
	// mss (RFC 5681 §3.1: IW = min(10*MSS, max(2*MSS, 14600)) per RFC 6928).
	Init(mss int, now time.Time)
	// OnAck reports that acked bytes of new data were cumulatively
	// acknowledged outside recovery, with the current smoothed RTT (zero
	// until measured) and the bytes still in flight.
	OnAck(acked int, srtt time.Duration, inFlight int, now time.Time)
	// OnCongestion reports a loss detected by duplicate ACKs or SACK:
	// entering fast recovery. It sets ssthresh and cwnd.
	OnCongestion(inFlight int, now time.Time)
	// OnRecoveryEnd reports that recovery ended (the recovery point was
	// acknowledged).
	OnRecoveryEnd(now time.Time)
	// OnTimeout reports a retransmission timeout (RFC 5681 §3.1 eqn. 4:
	// ssthresh = max(FlightSize/2, 2*SMSS), cwnd = 1 segment).
	OnTimeout(inFlight int, now time.Time)
	// SetMSS tells the algorithm the sender MSS changed (path MTU).
	SetMSS(mss int)
	// Cwnd and Ssthresh are the current window and threshold.
	Cwnd() int
	Ssthresh() int
}

// New returns a fresh instance of the named algorithm, or false.
func New(name string) (Algorithm, bool) {
	switch name {
	case "cubic", "":
		return NewCUBIC(), true
	case "newreno", "reno":
		return NewNewReno(), true
	}
	return nil, false
}

// InfiniteSsthresh is the ssthresh an algorithm reports before the first
// congestion signal: RFC 5681's "arbitrarily high" initial value, here
// Linux's TCP_INFINITE_SSTHRESH, above any window TCP can advertise
// (RFC 7323: < 2^30) and still safe to add to or store in 32 bits.
const InfiniteSsthresh = 0x7fffffff

// InitialWindow is RFC 6928's initial window for a sender MSS.
func InitialWindow(mss int) int {
	return min(10*mss, max(2*mss, 14600))
}

package cc

// NewReno: the window rules of RFC 5681 §3.1 with RFC 3465 byte counting,
// and the window sizes RFC 6582 prescribes around fast recovery.
//
// Read before editing: RFC 5681 §3.1 (slow start, congestion avoidance,
// equations 3 and 4), §3.2 (fast retransmit/fast recovery), RFC 6582 §3.2
// (NewReno recovery), RFC 3465 (appropriate byte counting), RFC 6928
// (initial window). cf. Linux tcp_cong.c: tcp_reno_cong_avoid,
// tcp_slow_start, tcp_cong_avoid_ai, tcp_reno_ssthresh.
//
// Choices, and why:
//
//   - Slow start counts bytes (RFC 3465 §2.2) with limit L = 2*SMSS per
//     ACK (§2.3), as Linux does: one delayed ACK covering two segments
//     grows cwnd by two segments, so slow start doubles cwnd per RTT
//     whether or not the receiver delays its ACKs. After a retransmission
//     timeout L drops to 1*SMSS until the next congestion signal (RFC 3465
//     §2.3), because a cumulative ACK for retransmitted data can cover
//     many segments that left the network long ago.
//   - Congestion avoidance also counts bytes (RFC 5681 §3.1, the
//     alternative to eqn. 3; RFC 3465 §2.1): cwnd grows by exactly one
//     SMSS once a full cwnd of bytes has been acknowledged. This is exact
//     in integers, needs no division per ACK, and is the rate eqn. 3 only
//     approximates.
//   - Slow start is used while cwnd < ssthresh (RFC 5681 allows either at
//     equality). An ACK that carries cwnd past ssthresh is split: the part
//     needed to reach ssthresh is slow start, the rest counts toward
//     congestion avoidance.
//   - A second timeout with no ACK of new data in between (the
//     retransmission itself timed out) holds ssthresh constant (RFC 5681
//     §3.1, after eqn. 4): FlightSize then is only what was retransmitted.

import "time"

// slowStartL is RFC 3465's limit L, in segments, on how much one ACK may
// grow cwnd in slow start; slowStartLAfterRTO applies after a timeout.
const (
	slowStartL         = 2
	slowStartLAfterRTO = 1
)

// NewReno is the RFC 5681/6582 window algorithm. The zero value is not
// ready; use NewNewReno and Init.
//
// Recovery window. The algorithm only sizes the window; the connection
// runs recovery. OnCongestion sets cwnd to the new ssthresh. During
// NewReno recovery (RFC 6582 §3.2) the connection sends as if the window
// were Cwnd()+3*SMSS, adds SMSS for each further duplicate ACK, and on a
// partial ACK takes off the amount newly acknowledged (adding back SMSS
// if that was at least SMSS); with SACK (RFC 6675) or PRR (RFC 6937) it
// uses Cwnd() as the target the pipe converges to. Such inflation lives
// in the connection, not here. When the recovery point is acknowledged it
// calls OnRecoveryEnd, which deflates cwnd to ssthresh. RFC 6582's
// alternative exit, min(ssthresh, max(FlightSize, SMSS)+SMSS), guards
// against a burst; a connection wanting it limits its sends to that for
// the next RTT rather than lowering the algorithm's cwnd.
type NewReno struct {
	mss      int
	cwnd     int
	ssthresh int
	// acc counts bytes acknowledged in congestion avoidance since cwnd
	// last grew (RFC 3465 bytes_acked).
	acc int
	// afterRTO is set by a timeout and cleared by the next ACK of new
	// data (for the repeated-timeout rule) — see rtoL for slow start.
	afterRTO bool
	// rtoL is set by a timeout and cleared by the next congestion
	// signal or by reaching ssthresh: slow start uses L = 1*SMSS.
	rtoL bool
}

// NewNewReno returns a NewReno instance; call Init before use.
func NewNewReno() Algorithm { return &NewReno{} }

// Name implements Algorithm.
func (r *NewReno) Name() string { return "newreno" }

// Init implements Algorithm: cwnd is RFC 6928's initial window and
// ssthresh is "arbitrarily high" (RFC 5681 §3.1), InfiniteSsthresh.
func (r *NewReno) Init(mss int, now time.Time) {
	mss = max(mss, 1)
	*r = NewReno{mss: mss, cwnd: InitialWindow(mss), ssthresh: InfiniteSsthresh}
}

// OnAck implements Algorithm (cf. tcp_reno_cong_avoid). inFlight is not
// used: see the package note on cwnd validation.
func (r *NewReno) OnAck(acked int, srtt time.Duration, inFlight int, now time.Time) {
	if acked <= 0 {
		return
	}
	r.afterRTO = false
	if r.cwnd < r.ssthresh {
		l := slowStartL
		if r.rtoL {
			l = slowStartLAfterRTO
		}
		inc := min(acked, l*r.mss)
		room := r.ssthresh - r.cwnd
		if inc < room {
			r.cwnd += inc
			return
		}
		// Reached ssthresh: the rest of this ACK is congestion avoidance.
		r.cwnd = r.ssthresh
		r.rtoL = false
		acked -= room
		if acked <= 0 {
			return
		}
	}
	r.acc += acked
	if r.acc >= r.cwnd {
		r.acc -= r.cwnd
		r.cwnd += r.mss
		// An ACK covering more than a window (a stretch ACK after a long
		// stall) grows cwnd by at most one SMSS.
		r.acc = min(r.acc, r.cwnd-1)
	}
}

// OnCongestion implements Algorithm: RFC 5681 eqn. 4, ssthresh =
// max(FlightSize/2, 2*SMSS), and cwnd = ssthresh (the connection adds
// RFC 6582's inflation; see the type comment). cf. tcp_reno_ssthresh.
func (r *NewReno) OnCongestion(inFlight int, now time.Time) {
	r.ssthresh = max(inFlight/2, 2*r.mss)
	r.cwnd = r.ssthresh
	r.acc = 0
	r.afterRTO = false
	r.rtoL = false
}

// OnRecoveryEnd implements Algorithm: deflate the window to ssthresh
// (RFC 6582 §3.2 step 3, RFC 5681 §3.2 step 6).
func (r *NewReno) OnRecoveryEnd(now time.Time) {
	r.cwnd = r.ssthresh
	r.acc = 0
}

// OnTimeout implements Algorithm: RFC 5681 eqn. 4 for ssthresh (held if
// the previous event was also a timeout) and cwnd = loss window = 1 SMSS.
func (r *NewReno) OnTimeout(inFlight int, now time.Time) {
	if !r.afterRTO {
		r.ssthresh = max(inFlight/2, 2*r.mss)
	}
	r.cwnd = r.mss
	r.acc = 0
	r.afterRTO = true
	r.rtoL = true
}

// SetMSS implements Algorithm. The window keeps its size in bytes — the
// path's capacity did not change with its MTU — and the floors of one
// SMSS (cwnd) and two SMSS (ssthresh) are reapplied in the new MSS.
func (r *NewReno) SetMSS(mss int) {
	if mss <= 0 || mss == r.mss {
		return
	}
	r.mss = mss
	r.cwnd = max(r.cwnd, mss)
	r.ssthresh = max(r.ssthresh, 2*mss)
	r.acc = min(r.acc, r.cwnd-1)
}

// Cwnd implements Algorithm.
func (r *NewReno) Cwnd() int { return r.cwnd }

// Ssthresh implements Algorithm; InfiniteSsthresh until the first
// congestion signal.
func (r *NewReno) Ssthresh() int { return r.ssthresh }

package cc

// CUBIC: RFC 9438. The window after a congestion event follows
//
//	W_cubic(t) = C*(t-K)^3 + W_max                       (RFC 9438 eqn. 1)
//	K = cbrt((W_max - cwnd_epoch)/C)                     (eqn. 2)
//
// in segments and seconds, t being the time since the current congestion
// avoidance stage began: concave while below W_max (fast at first, then
// flattening out as it nears the window that last saw loss), convex beyond
// it (probing slowly, then faster, for new capacity).
//
// Read before editing: RFC 9438 §4 (all of it), RFC 5681 §3.1 (slow start,
// loss window), RFC 3465 (byte counting in slow start). cf. Linux
// tcp_cubic.c (bictcp_update, bictcp_recalc_ssthresh), which differs in
// using integer arithmetic and a per-cwnd ACK counter.
//
// Choices, and why:
//
//   - State is kept in segments as float64 (RFC 9438 writes everything in
//     segments with C in segments/s³); the interface's bytes are converted
//     on the way in and out with the current SMSS.
//   - "Per ACK" increments of §4.3–4.5 are applied per segment acked
//     (acked/SMSS, fractional), so delayed and stretch ACKs grow the window
//     at the rate the RFC's one-ACK-per-segment model assumes.
//   - The RTT in target = W_cubic(t+RTT) is the srtt passed to OnAck (zero
//     until measured, which makes the target W_cubic(t)).
//   - ssthresh = FlightSize*β_cubic (§4.6, not cwnd*β: with no cwnd
//     validation here, FlightSize is the RFC's safe choice).
//   - Slow start below ssthresh is the one NewReno uses (RFC 3465 with
//     L = 2*SMSS, L = 1*SMSS after a timeout). HyStart++ (RFC 9406) is
//     not implemented: slow start ends on loss or at ssthresh.
//   - Spurious-loss undo (§4.9) needs an undo call the interface does not
//     have; not implemented.
//   - The congestion avoidance stage (the "epoch") begins at the first ACK
//     of new data after the window was reduced, i.e. after recovery ends
//     or after slow start reaches ssthresh. Time is only ever the now
//     passed in.
//   - A gap of more than 2*srtt between ACKs means the ACK clock stopped
//     (idle or application-limited sender); the epoch is moved forward by
//     the gap less one srtt, so a pause does not count as time on the
//     curve (§5.8). Growth while application-limited but still acking is
//     not suppressed (see the package note on cwnd validation).

import (
	"math"
	"time"
)

// RFC 9438 §4.1.2 constants: C in segments/s³, β_cubic the decrease
// factor, α_cubic Reno-friendly growth per RTT (§4.3).
const (
	cubicC     = 0.4
	cubicBeta  = 0.7
	cubicAlpha = 3 * (1 - cubicBeta) / (1 + cubicBeta)
)

// CUBIC is the RFC 9438 window algorithm. The zero value is not ready;
// use NewCUBIC and Init. All float fields are in segments.
type CUBIC struct {
	mss      int
	cwnd     float64
	ssthresh float64 // +Inf until the first congestion signal

	// Set at a congestion event or timeout (§4.6, §4.7).
	wMax      float64 // window just before the reduction, after §4.7
	cwndPrior float64 // cwnd when ssthresh was last set (§4.3)
	haveWMax  bool    // a congestion event has set wMax

	// The congestion avoidance stage (epoch), valid while inEpoch.
	inEpoch   bool
	epoch     time.Time // when it began: its first ACK, shifted past idle
	lastAck   time.Time // the previous OnAck in it
	cwndEpoch float64   // cwnd when it began
	k         float64   // seconds from epoch to W_max (eqn. 2)
	wEst      float64   // Reno-friendly estimate (§4.3)
	alpha     float64   // α_cubic, then 1 once wEst reaches cwndPrior

	afterRTO bool // no new data acked since a timeout
	rtoCA    bool // the next epoch is the first after a timeout (§4.8)
	rtoL     bool // slow start after a timeout: L = 1*SMSS
}

// NewCUBIC returns a CUBIC instance; call Init before use.
func NewCUBIC() Algorithm { return &CUBIC{} }

// Name implements Algorithm.
func (c *CUBIC) Name() string { return "cubic" }

// Init implements Algorithm: RFC 6928's initial window, ssthresh
// arbitrarily high, no W_max yet.
func (c *CUBIC) Init(mss int, now time.Time) {
	mss = max(mss, 1)
	*c = CUBIC{
		mss:      mss,
		cwnd:     float64(InitialWindow(mss)) / float64(mss),
		ssthresh: math.Inf(1),
		alpha:    cubicAlpha,
	}
}

// cubicK is RFC 9438 eqn. 2, in seconds.
func cubicK(wMax, cwndEpoch float64) float64 {
	if cwndEpoch >= wMax {
		return 0
	}
	return math.Cbrt((wMax - cwndEpoch) / cubicC)
}

// wCubic is RFC 9438 eqn. 1 at t seconds into the epoch, in segments.
func (c *CUBIC) wCubic(t float64) float64 {
	d := t - c.k
	return cubicC*d*d*d + c.wMax
}

// OnAck implements Algorithm (cf. bictcp_cong_avoid, bictcp_update).
// inFlight is not used: see the package note on cwnd validation.
func (c *CUBIC) OnAck(acked int, srtt time.Duration, inFlight int, now time.Time) {
	if acked <= 0 {
		return
	}
	c.afterRTO = false
	segs := float64(acked) / float64(c.mss)
	if c.cwnd < c.ssthresh {
		l := float64(slowStartL)
		if c.rtoL {
			l = slowStartLAfterRTO
		}
		inc := min(segs, l)
		room := c.ssthresh - c.cwnd
		if inc < room {
			c.cwnd += inc
			return
		}
		c.cwnd = c.ssthresh
		c.rtoL = false
		segs -= room
		if segs <= 0 {
			return
		}
	}
	if !c.inEpoch {
		c.startEpoch(now)
	} else if gap := now.Sub(c.lastAck); srtt > 0 && gap > 2*srtt {
		// The ACK clock stopped: the sender was idle or application-
		// limited. Leave that time out of t (§5.8) so the window does
		// not leap along the curve after a pause (cf. Linux's epoch
		// shift on CA_EVENT_TX_START). Data acked now was sent about
		// one srtt ago, which counts.
		c.epoch = c.epoch.Add(gap - srtt)
	}
	c.lastAck = now
	t := now.Sub(c.epoch).Seconds()

	// Reno-friendly estimate (§4.3, Figure 4).
	c.wEst += c.alpha * segs / c.cwnd
	if c.wEst >= c.cwndPrior {
		c.alpha = 1
	}
	if c.wCubic(t) < c.wEst {
		// Reno-friendly region: be at least as aggressive as Reno.
		c.cwnd = max(c.cwnd, c.wEst)
		return
	}
	// Concave (§4.4) and convex (§4.5) regions: close a 1/cwnd share of
	// the gap to where the curve will be one RTT from now, per segment.
	target := c.wCubic(t + srtt.Seconds())
	target = min(max(target, c.cwnd), 1.5*c.cwnd)
	c.cwnd += (target - c.cwnd) / c.cwnd * segs
}

// startEpoch begins a congestion avoidance stage (§4.2, §4.8).
func (c *CUBIC) startEpoch(now time.Time) {
	c.epoch = now
	c.inEpoch = true
	c.cwndEpoch = c.cwnd
	if c.rtoCA || !c.haveWMax || c.cwnd > c.wMax {
		// First stage after a timeout (§4.8), or one reached without a
		// congestion event: the curve starts flat at the current window.
		c.wMax = c.cwnd
		c.rtoCA = false
	}
	c.k = cubicK(c.wMax, c.cwndEpoch)
	c.wEst = c.cwndEpoch
}

// reduce sets ssthresh and W_max for a congestion event or timeout
// (§4.6, §4.7; cf. bictcp_recalc_ssthresh).
func (c *CUBIC) reduce(inFlight int) {
	// Fast convergence (§4.7): a loss below the previous W_max means
	// another flow is taking bandwidth; give some up by remembering a
	// lower W_max.
	if c.haveWMax && c.cwnd < c.wMax {
		c.wMax = c.cwnd * (1 + cubicBeta) / 2
	} else {
		c.wMax = c.cwnd
	}
	c.haveWMax = true
	c.cwndPrior = c.cwnd
	c.ssthresh = max(float64(inFlight)/float64(c.mss)*cubicBeta, 2)
	c.alpha = cubicAlpha
	c.inEpoch = false
	c.rtoL = false
	c.rtoCA = false
}

// OnCongestion implements Algorithm: multiplicative decrease, ssthresh =
// max(FlightSize*β_cubic, 2 SMSS) and cwnd = ssthresh (§4.6). K for the
// coming epoch is cbrt((W_max - cwnd)/C) with this cwnd (§4.2), fixed
// when the epoch starts. The connection runs recovery around this window
// exactly as for NewReno (see the NewReno type comment).
func (c *CUBIC) OnCongestion(inFlight int, now time.Time) {
	c.reduce(inFlight)
	c.cwnd = c.ssthresh
	c.afterRTO = false
}

// OnRecoveryEnd implements Algorithm: cwnd = ssthresh; the epoch starts
// at the next ACK.
func (c *CUBIC) OnRecoveryEnd(now time.Time) {
	c.cwnd = c.ssthresh
	c.inEpoch = false
}

// OnTimeout implements Algorithm (§4.8): ssthresh as for a congestion
// event (held if the previous event was also a timeout, RFC 5681 §3.1),
// cwnd = 1 SMSS, slow start; the first congestion avoidance stage then
// uses K = 0 and W_max = the cwnd it starts from.
func (c *CUBIC) OnTimeout(inFlight int, now time.Time) {
	if !c.afterRTO {
		c.reduce(inFlight)
	}
	c.cwnd = 1
	c.inEpoch = false
	c.afterRTO = true
	c.rtoL = true
	c.rtoCA = true
}

// SetMSS implements Algorithm. As for NewReno the window keeps its size in
// bytes; the segment-valued state is rescaled, the floors (1 segment cwnd,
// 2 segments ssthresh) reapplied, and a running epoch restarted at the
// next ACK so that K is recomputed in the new unit.
func (c *CUBIC) SetMSS(mss int) {
	if mss <= 0 || mss == c.mss {
		return
	}
	f := float64(c.mss) / float64(mss)
	c.mss = mss
	c.cwnd = max(c.cwnd*f, 1)
	c.ssthresh = max(c.ssthresh*f, 2) // +Inf stays +Inf
	c.wMax *= f
	c.cwndPrior *= f
	c.inEpoch = false
}

// Cwnd implements Algorithm, rounding to the nearest byte.
func (c *CUBIC) Cwnd() int { return c.bytes(c.cwnd) }

// Ssthresh implements Algorithm; InfiniteSsthresh until the first
// congestion signal.
func (c *CUBIC) Ssthresh() int { return min(c.bytes(c.ssthresh), InfiniteSsthresh) }

func (c *CUBIC) bytes(segs float64) int {
	b := math.Round(segs * float64(c.mss))
	if b >= math.MaxInt {
		return math.MaxInt
	}
	return int(b)
}

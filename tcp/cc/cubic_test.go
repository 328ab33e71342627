package cc

import (
	"math"
	"testing"
	"time"
)

// cubicAt drives a fresh CUBIC through slow start to wMax segments and a
// loss with a full window in flight; it returns it with its clock.
func cubicAt(t *testing.T, wMax int, rtt time.Duration) (*CUBIC, *ackClock) {
	t.Helper()
	c := NewCUBIC().(*CUBIC)
	k := newClock(c, testMSS, rtt)
	k.slowStartTo(t, wMax)
	k.loss()
	return c, k
}

// segs is the window in segments as the connection sees it.
func segs(a Algorithm) float64 { return float64(a.Cwnd()) / testMSS }

// TestCUBICOnCongestion: multiplicative decrease to β_cubic = 0.7 of the
// window at the loss, which becomes W_max (RFC 9438 §4.6).
func TestCUBICOnCongestion(t *testing.T) {
	tests := []struct {
		name string
		wMax int
	}{
		{"small", 20},
		{"medium", 100},
		{"large", 1000},
		{"floor", 2}, // 1.4 segments: ssthresh floors at 2
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewCUBIC().(*CUBIC)
			c.Init(testMSS, t0)
			c.cwnd = float64(tt.wMax) // below IW for "floor"
			c.OnCongestion(tt.wMax*testMSS, t0)
			want := int(math.Round(max(0.7*float64(tt.wMax), 2) * testMSS))
			if got := c.Cwnd(); got != want {
				t.Errorf("OnCongestion(%d) cwnd = %d, want %d", tt.wMax*testMSS, got, want)
			}
			if got := c.Ssthresh(); got != want {
				t.Errorf("OnCongestion(%d) ssthresh = %d, want %d", tt.wMax*testMSS, got, want)
			}
			if got, want := c.wMax, float64(tt.wMax); got != want {
				t.Errorf("OnCongestion(%d) W_max = %v, want %v", tt.wMax*testMSS, got, want)
			}
			c.OnRecoveryEnd(t0)
			if got := c.Cwnd(); got != want {
				t.Errorf("OnRecoveryEnd() cwnd = %d, want %d", got, want)
			}
		})
	}
}

// TestCUBICK: K = cbrt(W_max*(1-β)/C) when the epoch starts at β*W_max
// (RFC 9438 eqn. 2); wants are worked out by hand.
func TestCUBICK(t *testing.T) {
	tests := []struct {
		wMax  int
		wantK float64 // seconds
	}{
		{20, 2.4662},   // cbrt(15)
		{100, 4.2172},  // cbrt(75)
		{1000, 9.0856}, // cbrt(750)
		{8000, 18.171}, // cbrt(6000)
	}
	for _, tt := range tests {
		c, k := cubicAt(t, tt.wMax, testRTT)
		k.round() // the first ACK starts the epoch
		if math.Abs(c.k-tt.wantK) > 1e-3 {
			t.Errorf("W_max %d: K = %.4f, want %.4f", tt.wMax, c.k, tt.wantK)
		}
	}
}

// TestCUBICFollowsCurve: under a steady ACK clock the window tracks
// W_cubic(t) = C*(t-K)^3 + W_max through the concave and convex regions.
func TestCUBICFollowsCurve(t *testing.T) {
	tests := []struct {
		name string
		rtt  time.Duration
	}{
		{"50ms", 50 * time.Millisecond},
		{"100ms", 100 * time.Millisecond},
		{"250ms", 250 * time.Millisecond},
	}
	const wMax = 1000.0
	K := math.Cbrt(wMax * 0.3 / 0.4)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, k := cubicAt(t, wMax, tt.rtt)
			k.round()
			epoch := c.epoch
			for k.now.Sub(epoch) < time.Duration((K+6)*float64(time.Second)) {
				k.round()
				s := k.now.Sub(epoch).Seconds()
				want := 0.4*math.Pow(s-K, 3) + wMax
				if got := segs(c); math.Abs(got-want) > 1 {
					t.Fatalf("t=%.2fs: OnAck(...) cwnd = %.2f segments, want W_cubic(t) = %.2f", s, got, want)
				}
			}
		})
	}
}

// TestCUBICConcaveThenConvex: fast then slowing growth up to W_max at
// t = K, slow then quickening growth beyond it.
func TestCUBICConcaveThenConvex(t *testing.T) {
	const wMax = 1000
	c, k := cubicAt(t, wMax, testRTT)
	k.round()
	epoch := c.epoch
	at := map[int]float64{} // cwnd in segments at whole seconds into the epoch
	for sec := 0; sec <= 14; {
		k.round()
		if k.now.Sub(epoch) >= time.Duration(sec)*time.Second {
			at[sec] = segs(c)
			if sec < 9 && at[sec] > wMax {
				t.Errorf("t=%ds (< K): cwnd = %.1f segments, want below W_max %d", sec, at[sec], wMax)
			}
			sec++
		}
	}
	grow := func(from int) float64 { return at[from+1] - at[from] }
	if math.Abs(at[9]-wMax) > 0.01*wMax {
		t.Errorf("t=9s (≈ K = 9.09s): cwnd = %.1f segments, want ≈ W_max %d", at[9], wMax)
	}
	if !(grow(0) > grow(4) && grow(4) > grow(8)) {
		t.Errorf("concave region: growth per second %.1f, %.1f, %.1f at 0, 4, 8 s, want decreasing", grow(0), grow(4), grow(8))
	}
	if !(grow(9) < grow(11) && grow(11) < grow(13)) {
		t.Errorf("convex region: growth per second %.1f, %.1f, %.1f at 9, 11, 13 s, want increasing", grow(9), grow(11), grow(13))
	}
}

// TestCUBICFastConvergence: a loss before the window regains W_max lowers
// W_max to cwnd*(1+β)/2 (RFC 9438 §4.7); a loss beyond it does not.
func TestCUBICFastConvergence(t *testing.T) {
	tests := []struct {
		name   string
		rounds int  // RTTs between the two losses
		below  bool // the second loss comes before W_max is regained
	}{
		{"second loss early", 20, true},
		{"second loss just short", 80, true},
		{"second loss beyond W_max", 120, false},
	}
	const wMax = 1000
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, k := cubicAt(t, wMax, testRTT)
			for range tt.rounds {
				k.round()
			}
			w := c.cwnd
			if (w < wMax) != tt.below {
				t.Fatalf("setup: cwnd = %.1f segments after %d RTTs, below W_max = %v, want %v", w, tt.rounds, w < wMax, tt.below)
			}
			k.loss()
			want := w
			if tt.below {
				want = w * 0.85
			}
			if math.Abs(c.wMax-want) > 1e-9 {
				t.Errorf("second loss at cwnd %.1f: W_max = %.2f, want %.2f", w, c.wMax, want)
			}
			// (The loss reports Cwnd() in bytes: allow for rounding.)
			if got, want := c.cwnd, 0.7*w; math.Abs(got-want) > 1e-3 {
				t.Errorf("second loss at cwnd %.1f: cwnd = %.2f segments, want %.2f", w, got, want)
			}
			k.round()
			if got, want := c.k, math.Cbrt((c.wMax-0.7*w)/0.4); math.Abs(got-want) > 1e-3 {
				t.Errorf("second loss: K = %.4f, want %.4f", got, want)
			}
		})
	}
}

// TestCUBICRenoFriendly: with a small window and short RTT the cubic
// curve is slower than Reno's AIMD, and cwnd follows W_est instead
// (RFC 9438 §4.3): α_cubic ≈ 0.53 segments per RTT up to the window at
// the loss, then 1 per RTT.
func TestCUBICRenoFriendly(t *testing.T) {
	tests := []struct {
		name string
		wMax int
		rtt  time.Duration
	}{
		{"LAN", 20, 1 * time.Millisecond},
		{"metro", 20, 10 * time.Millisecond},
		{"small BDP", 40, 5 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, k := cubicAt(t, tt.wMax, tt.rtt)
			start := 0.7 * float64(tt.wMax)
			k.round()
			epoch := c.epoch
			reno := start // a Reno estimate kept by the test, per RTT
			for r := 1; r <= 3*tt.wMax; r++ {
				k.round()
				if reno < float64(tt.wMax) {
					reno += 0.5 // a little under α_cubic: cwnd grows within a round
				} else {
					reno += 0.95
				}
				got := c.cwnd
				if got < reno {
					t.Fatalf("RTT %d: OnAck(...) cwnd = %.2f segments, want ≥ Reno estimate %.2f", r, got, reno)
				}
				if r <= tt.wMax/2 && got != c.wEst {
					t.Fatalf("RTT %d: cwnd = %.4f segments, want W_est = %.4f", r, got, c.wEst)
				}
				s := k.now.Sub(epoch).Seconds()
				if wc := c.wCubic(s); got < wc {
					t.Fatalf("RTT %d: cwnd = %.2f segments below W_cubic(t) = %.2f: not Reno-friendly", r, got, wc)
				}
			}
			if c.alpha != 1 {
				t.Errorf("after regaining W_max: α = %v, want 1", c.alpha)
			}
		})
	}
}

// TestCUBICOnTimeout: loss window of one segment, ssthresh = β*FlightSize
// (held on a repeated timeout), slow start, then a first avoidance stage
// with K = 0 and W_max the window it starts from (RFC 9438 §4.8).
func TestCUBICOnTimeout(t *testing.T) {
	tests := []struct {
		name         string
		inFlight     int // segments
		again        bool
		wantSsthresh float64 // segments
	}{
		{"single timeout", 100, false, 70},
		{"repeated timeout holds ssthresh", 100, true, 70},
		{"floor", 2, false, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewCUBIC().(*CUBIC)
			k := newClock(c, testMSS, testRTT)
			k.slowStartTo(t, 100)
			c.OnTimeout(tt.inFlight*testMSS, k.now)
			if tt.again {
				c.OnTimeout(testMSS, k.now)
			}
			if got, want := c.Cwnd(), testMSS; got != want {
				t.Errorf("OnTimeout(%d) cwnd = %d, want %d", tt.inFlight*testMSS, got, want)
			}
			want := int(math.Round(tt.wantSsthresh * testMSS))
			if got := c.Ssthresh(); got != want {
				t.Errorf("OnTimeout(%d) ssthresh = %d, want %d", tt.inFlight*testMSS, got, want)
			}
			// Slow start after RTO: L = 1 SMSS, even for delayed ACKs.
			if tt.wantSsthresh > 2 {
				c.OnAck(2*testMSS, testRTT, 0, k.now)
				if got, want := c.Cwnd(), 2*testMSS; got != want {
					t.Errorf("first delayed ACK after RTO: cwnd = %d, want %d", got, want)
				}
			}
			for c.Cwnd() < c.Ssthresh() {
				k.round()
			}
			k.round()
			if c.k != 0 {
				t.Errorf("first avoidance stage after RTO: K = %v, want 0", c.k)
			}
			if got, want := c.wMax, c.cwndEpoch; got != want {
				t.Errorf("first avoidance stage after RTO: W_max = %v, want cwnd at its start %v", got, want)
			}
			if c.cwndEpoch < tt.wantSsthresh {
				t.Errorf("avoidance began at %.2f segments, want ≥ ssthresh %.2f", c.cwndEpoch, tt.wantSsthresh)
			}
			// A loss during that stage is an ordinary one again.
			w := c.cwnd
			k.loss()
			k.round()
			if got, want := c.wMax, w; got != want {
				t.Errorf("loss after RTO recovery: W_max = %v, want %v", got, want)
			}
		})
	}
}

// TestCUBICSlowStart: as NewReno, slow start doubles per RTT of ACKs.
func TestCUBICSlowStart(t *testing.T) {
	k := newClock(NewCUBIC(), testMSS, testRTT)
	for r, want := range []int{20, 40, 80, 160} {
		k.round()
		if got := k.a.Cwnd(); got != want*testMSS {
			t.Errorf("RTT %d: OnAck(...) cwnd = %d, want %d", r+1, got, want*testMSS)
		}
	}
}

// TestCUBICSetMSS: the window keeps its bytes, state is rescaled, and
// growth resumes from a restarted epoch.
func TestCUBICSetMSS(t *testing.T) {
	tests := []struct {
		name     string
		newMSS   int
		wantCwnd int // bytes
	}{
		{"smaller MSS", 536, 700 * testMSS},
		{"larger MSS", 8960, 700 * testMSS},
		{"same MSS", testMSS, 700 * testMSS},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, k := cubicAt(t, 1000, testRTT)
			wMaxBytes := c.wMax * testMSS
			c.SetMSS(tt.newMSS)
			if got := c.Cwnd(); got != tt.wantCwnd {
				t.Errorf("SetMSS(%d) cwnd = %d, want %d", tt.newMSS, got, tt.wantCwnd)
			}
			if got := c.Ssthresh(); got != tt.wantCwnd {
				t.Errorf("SetMSS(%d) ssthresh = %d, want %d", tt.newMSS, got, tt.wantCwnd)
			}
			if got := c.wMax * float64(tt.newMSS); math.Abs(got-wMaxBytes) > 1e-6 {
				t.Errorf("SetMSS(%d) W_max = %.0f bytes, want %.0f", tt.newMSS, got, wMaxBytes)
			}
			k.mss = tt.newMSS
			before := c.Cwnd()
			for range 20 {
				k.round()
			}
			if got := c.Cwnd(); got <= before || got > int(wMaxBytes) {
				t.Errorf("20 RTTs after SetMSS(%d): cwnd = %d, want in (%d, %.0f]", tt.newMSS, got, before, wMaxBytes)
			}
		})
	}
	// A tiny window floors at one new segment.
	c := NewCUBIC().(*CUBIC)
	c.Init(testMSS, t0)
	c.OnTimeout(10*testMSS, t0)
	c.SetMSS(9000)
	if got, want := c.Cwnd(), 9000; got != want {
		t.Errorf("SetMSS(9000) at 1 segment: cwnd = %d, want %d", got, want)
	}
}

// TestCUBICIdle: time with the ACK clock stopped does not count as time on
// the curve (RFC 9438 §5.8): after a pause the window continues from where
// it was, as if there had been no pause.
func TestCUBICIdle(t *testing.T) {
	tests := []struct {
		name string
		idle time.Duration
	}{
		{"no pause", 0},
		{"1 s", time.Second},
		{"1 min", time.Minute},
	}
	const wMax = 1000
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, k := cubicAt(t, wMax, testRTT)
			for range 20 {
				k.round()
			}
			ctl, kc := cubicAt(t, wMax, testRTT) // same history, no pause
			for range 20 {
				kc.round()
			}
			k.now = k.now.Add(tt.idle)
			var lastRTT float64
			for range 5 {
				k.round()
				before := ctl.cwnd
				kc.round()
				lastRTT = ctl.cwnd - before
			}
			// When the paused sender resumed is known only to within an
			// RTT (its first ACK back arrives one srtt after it), so allow
			// one RTT of growth; counting the pause would put cwnd 50%
			// (the clamp) above the curve.
			if got, want := c.cwnd, ctl.cwnd; math.Abs(got-want) > lastRTT+0.5 {
				t.Errorf("5 RTTs after a %v pause: OnAck(...) cwnd = %.2f segments, want %.2f ± %.2f", tt.idle, got, want, lastRTT+0.5)
			}
		})
	}
}

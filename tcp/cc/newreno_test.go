package cc

import "testing"

// TestNewRenoSlowStart: one RTT's worth of ACKs doubles cwnd, whether the
// receiver acks every segment or every other one (L = 2*SMSS); stretch
// ACKs are limited to L.
func TestNewRenoSlowStart(t *testing.T) {
	const mss = 1000
	tests := []struct {
		name     string
		ackSegs  int // segments per ACK
		rounds   int
		wantSegs int
	}{
		{"per-segment ACKs, 1 RTT", 1, 1, 20},
		{"per-segment ACKs, 3 RTTs", 1, 3, 80},
		{"delayed ACKs, 1 RTT", 2, 1, 20},
		{"delayed ACKs, 3 RTTs", 2, 3, 80},
		{"stretch ACKs of 4, 1 RTT", 4, 1, 16}, // ACKs of 4, 4, 2 segments: +2 each
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := NewNewReno()
			a.Init(mss, t0)
			for range tt.rounds {
				left := a.Cwnd()
				for left > 0 {
					n := min(tt.ackSegs*mss, left)
					a.OnAck(n, testRTT, left-n, t0)
					left -= n
				}
			}
			if got, want := a.Cwnd(), tt.wantSegs*mss; got != want {
				t.Errorf("after %d rounds: OnAck(...) cwnd = %d, want %d", tt.rounds, got, want)
			}
		})
	}
}

// TestNewRenoCongestionAvoidance: above ssthresh cwnd grows by exactly one
// SMSS per window of bytes acknowledged, i.e. one SMSS per RTT.
func TestNewRenoCongestionAvoidance(t *testing.T) {
	tests := []struct {
		name     string
		mss      int
		fromSegs int
		rounds   int
	}{
		{"small window", 1460, 10, 5},
		{"large window", 1460, 500, 20},
		{"jumbo", 8960, 40, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := newClock(NewNewReno(), tt.mss, testRTT)
			// A congestion event with twice the target in flight puts
			// cwnd = ssthresh = fromSegs segments.
			k.a.OnCongestion(2*tt.fromSegs*tt.mss, k.now)
			k.a.OnRecoveryEnd(k.now)
			for r := 1; r <= tt.rounds; r++ {
				k.round()
				if got, want := k.a.Cwnd(), (tt.fromSegs+r)*tt.mss; got != want {
					t.Fatalf("round %d: OnAck(...) cwnd = %d, want %d", r, got, want)
				}
			}
			if got, want := k.a.Ssthresh(), tt.fromSegs*tt.mss; got != want {
				t.Errorf("ssthresh = %d, want %d (unchanged by ACKs)", got, want)
			}
		})
	}
}

// TestNewRenoCrossSsthresh: an ACK that carries cwnd past ssthresh stops
// slow start at ssthresh; the rest of it counts toward avoidance.
func TestNewRenoCrossSsthresh(t *testing.T) {
	const mss = 1000
	r := NewNewReno().(*NewReno)
	r.Init(mss, t0)
	r.OnTimeout(20*mss, t0) // ssthresh 10*mss, cwnd 1*mss
	if got, want := r.Ssthresh(), 10*mss; got != want {
		t.Fatalf("OnTimeout ssthresh = %d, want %d", got, want)
	}
	for range 8 { // slow start after RTO: L = 1 SMSS, even for 2-segment ACKs
		r.OnAck(2*mss, testRTT, 0, t0)
	}
	if got, want := r.Cwnd(), 9*mss; got != want {
		t.Fatalf("OnAck(2*mss) x8 after RTO: cwnd = %d, want %d", got, want)
	}
	r.OnAck(2*mss+500, testRTT, 0, t0) // 1000 to reach ssthresh, 1500 to CA
	if got, want := r.Cwnd(), 10*mss; got != want {
		t.Errorf("crossing ssthresh: cwnd = %d, want %d", got, want)
	}
	if got, want := r.acc, 1500; got != want {
		t.Errorf("crossing ssthresh: bytes counted for avoidance = %d, want %d", got, want)
	}
	if r.rtoL {
		t.Errorf("reaching ssthresh left L = 1*SMSS in force")
	}
}

// TestNewRenoOnCongestion: ssthresh = max(FlightSize/2, 2*SMSS), cwnd =
// ssthresh (RFC 5681 eqn. 4); recovery end deflates to ssthresh.
func TestNewRenoOnCongestion(t *testing.T) {
	const mss = 1460
	tests := []struct {
		name     string
		inFlight int
		want     int
	}{
		{"halves flight", 100 * mss, 50 * mss},
		{"odd bytes", 10001, 5000},
		{"floor 2 SMSS", 3 * mss, 2 * mss},
		{"nothing in flight", 0, 2 * mss},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := newClock(NewNewReno(), mss, testRTT)
			k.slowStartTo(t, 120)
			k.a.OnCongestion(tt.inFlight, k.now)
			if got := k.a.Ssthresh(); got != tt.want {
				t.Errorf("OnCongestion(%d) ssthresh = %d, want %d", tt.inFlight, got, tt.want)
			}
			if got := k.a.Cwnd(); got != tt.want {
				t.Errorf("OnCongestion(%d) cwnd = %d, want %d", tt.inFlight, got, tt.want)
			}
			k.a.OnRecoveryEnd(k.now)
			if got := k.a.Cwnd(); got != tt.want {
				t.Errorf("OnRecoveryEnd() cwnd = %d, want ssthresh %d", got, tt.want)
			}
			// Recovery leaves the algorithm in congestion avoidance:
			// a window of bytes acked grows it by one SMSS.
			k.a.OnAck(tt.want, testRTT, 0, k.now)
			if got, want := k.a.Cwnd(), tt.want+mss; got != want {
				t.Errorf("one RTT after recovery: cwnd = %d, want %d", got, want)
			}
		})
	}
}

// TestNewRenoOnTimeout: cwnd collapses to the loss window, one SMSS;
// ssthresh per eqn. 4, held by a second timeout of the retransmission.
func TestNewRenoOnTimeout(t *testing.T) {
	const mss = 1460
	tests := []struct {
		name         string
		inFlight     int
		again        int // inFlight at a second, back-to-back timeout; -1 none
		wantSsthresh int
	}{
		{"single timeout", 60 * mss, -1, 30 * mss},
		{"floor 2 SMSS", mss, -1, 2 * mss},
		{"repeated timeout holds ssthresh", 60 * mss, mss, 30 * mss},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := newClock(NewNewReno(), mss, testRTT)
			k.slowStartTo(t, 80)
			k.a.OnTimeout(tt.inFlight, k.now)
			if tt.again >= 0 {
				k.a.OnTimeout(tt.again, k.now)
			}
			if got, want := k.a.Cwnd(), mss; got != want {
				t.Errorf("OnTimeout(%d) cwnd = %d, want %d", tt.inFlight, got, want)
			}
			if got := k.a.Ssthresh(); got != tt.wantSsthresh {
				t.Errorf("OnTimeout(%d) ssthresh = %d, want %d", tt.inFlight, got, tt.wantSsthresh)
			}
		})
	}
	// Once new data is acked, the next timeout sets ssthresh afresh.
	k := newClock(NewNewReno(), mss, testRTT)
	k.a.OnTimeout(60*mss, k.now)
	k.a.OnAck(mss, testRTT, 0, k.now)
	k.a.OnTimeout(10*mss, k.now)
	if got, want := k.a.Ssthresh(), 5*mss; got != want {
		t.Errorf("timeout after an ACK: ssthresh = %d, want %d", got, want)
	}
}

func TestNewRenoSetMSS(t *testing.T) {
	tests := []struct {
		name                   string
		cwnd, ssthresh, newMSS int
		wantCwnd, wantSsthresh int
	}{
		{"smaller MSS keeps bytes", 20 * 1460, 10 * 1460, 536, 20 * 1460, 10 * 1460},
		{"larger MSS keeps bytes", 20 * 1460, 10 * 1460, 4000, 20 * 1460, 10 * 1460},
		{"floors in new MSS", 1460, 2 * 1460, 8960, 8960, 2 * 8960},
		{"no ssthresh yet", 20 * 1460, InfiniteSsthresh, 536, 20 * 1460, InfiniteSsthresh},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &NewReno{}
			r.Init(1460, t0)
			r.cwnd, r.ssthresh = tt.cwnd, tt.ssthresh
			r.SetMSS(tt.newMSS)
			if got := r.Cwnd(); got != tt.wantCwnd {
				t.Errorf("SetMSS(%d) cwnd = %d, want %d", tt.newMSS, got, tt.wantCwnd)
			}
			if got := r.Ssthresh(); got != tt.wantSsthresh {
				t.Errorf("SetMSS(%d) ssthresh = %d, want %d", tt.newMSS, got, tt.wantSsthresh)
			}
			// Growth is now in units of the new MSS.
			r.ssthresh = r.cwnd
			r.OnAck(r.cwnd, testRTT, 0, t0)
			if got, want := r.Cwnd(), tt.wantCwnd+tt.newMSS; got != want {
				t.Errorf("after SetMSS(%d), one window acked: cwnd = %d, want %d", tt.newMSS, got, want)
			}
		})
	}
}

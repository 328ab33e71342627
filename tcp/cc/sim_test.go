package cc

import (
	"testing"
	"time"
)

const (
	testMSS = 1460
	testRTT = 100 * time.Millisecond
)

// t0 is the simulated clock's origin; the algorithms see no other time.
var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// ackClock is a synthetic ACK clock: each round (one RTT) the sender has
// the window it held at the round's start in flight, and the receiver acks
// it in MSS-sized ACKs spread evenly over the RTT.
type ackClock struct {
	a   Algorithm
	mss int
	rtt time.Duration
	now time.Time
}

func newClock(a Algorithm, mss int, rtt time.Duration) *ackClock {
	a.Init(mss, t0)
	return &ackClock{a: a, mss: mss, rtt: rtt, now: t0}
}

// round acks one window over one RTT.
func (k *ackClock) round() {
	w := k.a.Cwnd()
	n := max(w/k.mss, 1)
	step := k.rtt / time.Duration(n)
	for i := range n {
		k.now = k.now.Add(step)
		if i == n-1 {
			k.now = k.now.Add(k.rtt - step*time.Duration(n)) // no drift
		}
		k.a.OnAck(k.mss, k.rtt, w-k.mss, k.now)
	}
}

// slowStartTo acks single segments, with no time passing, until cwnd
// reaches segs segments (from below, in slow start).
func (k *ackClock) slowStartTo(t *testing.T, segs int) {
	t.Helper()
	for k.a.Cwnd() < segs*k.mss {
		k.a.OnAck(k.mss, k.rtt, k.a.Cwnd(), k.now)
	}
	if got, want := k.a.Cwnd(), segs*k.mss; got != want {
		t.Fatalf("slow start overshot: cwnd = %d, want %d", got, want)
	}
}

// loss is a fast-retransmit congestion event with a full window in
// flight, one RTT of recovery, and its end.
func (k *ackClock) loss() {
	k.a.OnCongestion(k.a.Cwnd(), k.now)
	k.now = k.now.Add(k.rtt)
	k.a.OnRecoveryEnd(k.now)
}

func TestNew(t *testing.T) {
	tests := []struct {
		name     string
		wantName string
		wantOK   bool
	}{
		{"cubic", "cubic", true},
		{"", "cubic", true},
		{"newreno", "newreno", true},
		{"reno", "newreno", true},
		{"bbr", "", false},
		{"CUBIC", "", false},
	}
	for _, tt := range tests {
		a, ok := New(tt.name)
		if ok != tt.wantOK {
			t.Errorf("New(%q) ok = %v, want %v", tt.name, ok, tt.wantOK)
			continue
		}
		if !ok {
			if a != nil {
				t.Errorf("New(%q) = %v, want nil", tt.name, a)
			}
			continue
		}
		if got := a.Name(); got != tt.wantName {
			t.Errorf("New(%q).Name() = %q, want %q", tt.name, got, tt.wantName)
		}
	}
	// Each call is a fresh instance.
	a, _ := New("cubic")
	b, _ := New("cubic")
	if a == b {
		t.Errorf("New(%q) returned the same instance twice", "cubic")
	}
}

func TestInitialWindow(t *testing.T) {
	tests := []struct {
		mss, want int
	}{
		{536, 5360},
		{1460, 14600},
		{4000, 14600},
		{9000, 18000},
	}
	for _, tt := range tests {
		if got := InitialWindow(tt.mss); got != tt.want {
			t.Errorf("InitialWindow(%d) = %d, want %d", tt.mss, got, tt.want)
		}
		for _, name := range []string{"newreno", "cubic"} {
			a, _ := New(name)
			a.Init(tt.mss, t0)
			if got := a.Cwnd(); got != tt.want {
				t.Errorf("%s: Init(%d) cwnd = %d, want %d", name, tt.mss, got, tt.want)
			}
			if got := a.Ssthresh(); got != InfiniteSsthresh {
				t.Errorf("%s: Init(%d) ssthresh = %d, want %d", name, tt.mss, got, InfiniteSsthresh)
			}
		}
	}
}

// TestCUBICFasterThanNewReno: on a path of fixed capacity where a loss
// comes whenever cwnd reaches it, CUBIC returns to the capacity (its
// W_max) far sooner after each loss than NewReno's one SMSS per RTT.
func TestCUBICFasterThanNewReno(t *testing.T) {
	const capacity = 2000 // segments
	const cycles = 3
	rttsToRecover := func(a Algorithm) []int {
		k := newClock(a, testMSS, testRTT)
		k.slowStartTo(t, capacity)
		var out []int
		for range cycles {
			k.loss()
			n := 0
			for a.Cwnd() < capacity*testMSS {
				k.round()
				n++
				if n > 10*capacity {
					t.Fatalf("%s: no recovery to %d segments in %d RTTs", a.Name(), capacity, n)
				}
			}
			out = append(out, n)
		}
		return out
	}
	reno := rttsToRecover(NewNewReno())
	cubic := rttsToRecover(NewCUBIC())
	// CUBIC's cycles differ: a loss that comes a fraction of a segment
	// short of W_max triggers fast convergence and a longer cycle.
	t.Logf("RTTs from loss back to %d segments: newreno %v, cubic %v", capacity, reno, cubic)
	for i := range cycles {
		// NewReno: 1000 segments at 1 SMSS per RTT. CUBIC: about K =
		// cbrt(2000*0.3/0.4) = 11.4 s = 114 RTTs.
		if reno[i] < 990 {
			t.Errorf("cycle %d: newreno took %d RTTs, want ≈ 1000", i, reno[i])
		}
		if cubic[i]*5 > reno[i] {
			t.Errorf("cycle %d: cubic took %d RTTs, newreno %d; want cubic at least 5x faster", i, cubic[i], reno[i])
		}
	}
}

func TestOnAckAllocs(t *testing.T) {
	for _, name := range []string{"newreno", "cubic"} {
		a, _ := New(name)
		k := newClock(a, testMSS, testRTT)
		k.slowStartTo(t, 100)
		k.loss()
		allocs := testing.AllocsPerRun(1000, func() {
			k.now = k.now.Add(time.Millisecond)
			a.OnAck(testMSS, testRTT, a.Cwnd(), k.now)
		})
		if allocs != 0 {
			t.Errorf("%s: OnAck allocs = %v, want 0", name, allocs)
		}
	}
}

func BenchmarkOnAck(b *testing.B) {
	for _, name := range []string{"newreno", "cubic"} {
		b.Run(name, func(b *testing.B) {
			a, _ := New(name)
			a.Init(testMSS, t0)
			for a.Cwnd() < 1000*testMSS {
				a.OnAck(testMSS, testRTT, a.Cwnd(), t0)
			}
			a.OnCongestion(a.Cwnd(), t0)
			a.OnRecoveryEnd(t0)
			now := t0
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				now = now.Add(100 * time.Microsecond)
				a.OnAck(testMSS, testRTT, 500*testMSS, now)
				if i%1000000 == 999999 { // stay in a realistic range
					a.OnCongestion(a.Cwnd(), now)
					a.OnRecoveryEnd(now)
				}
			}
		})
	}
}

package cc_test

import (
	"fmt"
	"time"

	"ustack/tcp/cc"
)

// Both algorithms through the same events, with a 1000-byte MSS and a
// 100 ms RTT on a simulated clock.
func Example() {
	const mss = 1000
	const rtt = 100 * time.Millisecond
	for _, name := range []string{"newreno", "cubic"} {
		a, _ := cc.New(name)
		now := time.Unix(0, 0)
		a.Init(mss, now)
		fmt.Printf("%s: init cwnd=%d\n", a.Name(), a.Cwnd())

		// One RTT of ACKs, one per segment: slow start doubles cwnd.
		ackWindow := func() {
			w := a.Cwnd()
			for range w / mss {
				now = now.Add(rtt / time.Duration(w/mss))
				a.OnAck(mss, rtt, w-mss, now)
			}
		}
		for range 3 {
			ackWindow()
		}
		fmt.Printf("%s: 3 RTTs of slow start: cwnd=%d\n", a.Name(), a.Cwnd())

		// Three duplicate ACKs: NewReno halves, CUBIC keeps 0.7.
		a.OnCongestion(a.Cwnd(), now)
		now = now.Add(rtt)
		a.OnRecoveryEnd(now)
		fmt.Printf("%s: after loss: cwnd=%d ssthresh=%d\n", a.Name(), a.Cwnd(), a.Ssthresh())

		for range 10 {
			ackWindow()
		}
		fmt.Printf("%s: 10 RTTs later: cwnd=%d\n", a.Name(), a.Cwnd())

		a.OnTimeout(a.Cwnd(), now)
		fmt.Printf("%s: after timeout: cwnd=%d ssthresh=%d\n", a.Name(), a.Cwnd(), a.Ssthresh())
	}
	// Output:
	// newreno: init cwnd=10000
	// newreno: 3 RTTs of slow start: cwnd=80000
	// newreno: after loss: cwnd=40000 ssthresh=40000
	// newreno: 10 RTTs later: cwnd=50000
	// newreno: after timeout: cwnd=1000 ssthresh=25000
	// cubic: init cwnd=10000
	// cubic: 3 RTTs of slow start: cwnd=80000
	// cubic: after loss: cwnd=56000 ssthresh=56000
	// cubic: 10 RTTs later: cwnd=70031
	// cubic: after timeout: cwnd=1000 ssthresh=49022
}

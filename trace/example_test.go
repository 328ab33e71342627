package trace_test

import (
	"fmt"
	"net/netip"
	"time"

	"ustack/trace"
	"ustack/wire"
)

// Layers get their probes once; a listener subscribes with a DTrace-style
// pattern. A probe nobody listens to costs one atomic load.
func ExampleTracer_Subscribe() {
	tr := trace.New(nil)
	drop := tr.Probe("ip", "drop")
	recv := tr.Probe("ip", "receive")
	cancel := tr.Subscribe("ip:::drop", func(e *trace.Event) {
		fmt.Printf("%s: %s\n", e.Probe.FullName(), e.Reason)
	})
	defer cancel()
	if drop.Enabled() {
		drop.Fire(&trace.Event{Reason: "bad header checksum"})
	}
	fmt.Println("receive enabled:", recv.Enabled())
	// Output:
	// ip:::drop: bad header checksum
	// receive enabled: false
}

// A filter is compiled once and matched against each event without
// allocating; port stands for either end.
func ExampleParseFilter() {
	f, err := trace.ParseFilter("port == 80 && flags & SYN")
	if err != nil {
		panic(err)
	}
	tr := trace.New(nil)
	send := tr.Probe("tcp", "send")
	cancel := tr.Subscribe("tcp:::*", func(e *trace.Event) {
		if f.Match(e) {
			fmt.Println(e)
		}
	})
	defer cancel()
	src, dst := netip.MustParseAddr("10.0.0.2"), netip.MustParseAddr("10.0.0.1")
	send.Fire(&trace.Event{Src: src, Dst: dst, SrcPort: 5000, DstPort: 80, Segment: true, Seq: 1000, Flags: wire.TCPFlagSYN, Window: 64240})
	send.Fire(&trace.Event{Src: src, Dst: dst, SrcPort: 5000, DstPort: 80, Segment: true, Seq: 1001, Ack: 1, Flags: wire.TCPFlagACK, Window: 502})

	_, err = trace.ParseFilter("port = 80")
	fmt.Println(err)
	// Output:
	// tcp:::send 10.0.0.2:5000 -> 10.0.0.1:80 seq 1000 ack 0 flags SYN win 64240 len 0
	// filter "port = 80": column 6: use == to compare
}

// A Walker follows packets by id through the probes that saw them.
func ExampleWalker() {
	tr := trace.New(nil)
	t0 := time.Unix(0, 0)
	w := trace.NewWalker(time.Second, func(wk *trace.Walk) { fmt.Print(wk) })
	for i, name := range []string{"receive", "route", "drop"} {
		p := tr.Probe("ip", name)
		e := &trace.Event{Probe: p, PktID: 7, Time: t0.Add(time.Duration(i) * 3 * time.Microsecond), Dev: "eth0"}
		if name == "drop" {
			e.Reason = "no route" // a drop ends the walk
		}
		w.Add(e)
	}
	// Output:
	// packet 7: 3 stages in 6µs
	//          +0s        3µs  ip:::receive         eth0
	//         +3µs        3µs  ip:::route           eth0
	//         +6µs          -  ip:::drop            eth0 reason: no route
}

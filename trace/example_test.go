package trace_test

import (
	"fmt"

	"ustack/trace"
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

package stats_test

import (
	"os"

	"ustack/stats"
)

// An Exposition is what a /metrics handler writes: MIBs by name, with
// labels for what there are several of.
func ExampleExposition() {
	var tcp stats.TCP
	tcp.RetransSegs.Add(12)

	var e stats.Exposition
	e.Counter("ustack_tcp_retrans_segs_total", "TCP counter RetransSegs.", tcp.RetransSegs.Load())
	e.Gauge("ustack_link_up", "Whether the interface is up.", 1, stats.Label{Name: "interface", Value: "eth0"})
	e.WriteTo(os.Stdout)
	// Output:
	// # HELP ustack_tcp_retrans_segs_total TCP counter RetransSegs.
	// # TYPE ustack_tcp_retrans_segs_total counter
	// ustack_tcp_retrans_segs_total 12
	// # HELP ustack_link_up Whether the interface is up.
	// # TYPE ustack_link_up gauge
	// ustack_link_up{interface="eth0"} 1
}

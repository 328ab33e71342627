package stats_test

import (
	"fmt"

	"ustack/stats"
)

// Counters are named as the MIBs name them; Walk lists them for display,
// as netstat -s does.
func ExampleWalk() {
	var udp stats.UDP
	udp.InDatagrams.Add(3)
	udp.NoPorts.Inc()
	stats.Walk(&udp, func(name string, v int64) {
		if v != 0 {
			fmt.Println(name, v)
		}
	})
	// Output:
	// InDatagrams 3
	// NoPorts 1
}

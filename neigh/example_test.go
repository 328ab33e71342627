package neigh_test

import (
	"fmt"

	"ustack/neigh"
)

// Entries move through Linux's NUD states.
func ExampleState() {
	for _, s := range []neigh.State{neigh.Incomplete, neigh.Reachable, neigh.Stale, neigh.Delay, neigh.Probe, neigh.Failed, neigh.Permanent} {
		fmt.Print(s, " ")
	}
	fmt.Println()
	// Output:
	// INCOMPLETE REACHABLE STALE DELAY PROBE FAILED PERMANENT
}

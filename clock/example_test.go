package clock_test

import (
	"fmt"
	"time"

	"ustack/clock"
)

// A manual clock runs timers only when told to advance, so a test can
// run a whole network on virtual time.
func ExampleManual() {
	clk := clock.NewManual(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	clk.AfterFunc(3*time.Second, func() { fmt.Println("retransmit at", clk.Now().Format("15:04:05")) })
	clk.AfterFunc(time.Second, func() { fmt.Println("probe at", clk.Now().Format("15:04:05")) })
	clk.Advance(5 * time.Second)
	// Output:
	// probe at 00:00:01
	// retransmit at 00:00:03
}

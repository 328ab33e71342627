package ipv4_test

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"ustack/ipv4"
	"ustack/stack"
)

// Ping through the stack's own loopback device, as ping(8) would.
func ExampleProto_Ping() {
	s := stack.New(stack.Options{})
	defer s.Close()
	sum, _ := s.IP().Ping(context.Background(), netip.MustParseAddr("127.0.0.1"),
		ipv4.PingOptions{Count: 2, Interval: time.Millisecond}, nil)
	fmt.Printf("%d transmitted, %d received\n", sum.Sent, sum.Received)
	// Output:
	// 2 transmitted, 2 received
}

package arp_test

import (
	"fmt"
	"net/netip"

	"ustack/netdev"
	"ustack/stack"
)

// Adding an address is announced on the notifier chain, where ARP (a
// gratuitous announcement) and routing (the connected route) listen.
func Example() {
	s := stack.New(stack.Options{})
	defer s.Close()
	s.Devices().Subscribe(func(e netdev.Event) {
		if e.Kind == netdev.EventAddrAdd {
			fmt.Println("address added:", e.Addr, "on", e.Dev.Name())
		}
	})
	lo, _ := s.Device("lo")
	s.Addrs().Add(lo, netip.MustParsePrefix("127.0.0.2/8"))

	// Output:
	// address added: 127.0.0.2/8 on lo
}

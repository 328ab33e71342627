package netsim_test

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"ustack/ipv4"
	"ustack/netsim"
)

// Two hosts and a router in one process: ping across the router.
func Example() {
	n := netsim.New(netsim.Options{Seed: 1})
	defer n.Close()
	client, router, server := n.Host("client"), n.Router("router"), n.Host("server")
	n.MustLink(client, "10.0.1.2/24", router, "10.0.1.1/24", netsim.LinkOptions{})
	n.MustLink(router, "10.0.2.1/24", server, "10.0.2.2/24", netsim.LinkOptions{})
	client.DefaultRoute("10.0.1.1")
	server.DefaultRoute("10.0.2.1")

	sum, err := client.Ping(context.Background(), netip.MustParseAddr("10.0.2.2"),
		ipv4.PingOptions{Count: 3, Interval: 10 * time.Millisecond}, func(r ipv4.EchoReply) {
			fmt.Printf("reply from %v seq %d ttl %d\n", r.From, r.Seq, r.TTL)
		})
	fmt.Println(sum.Sent, "sent,", sum.Received, "received,", err)
	// Output:
	// reply from 10.0.2.2 seq 1 ttl 63
	// reply from 10.0.2.2 seq 2 ttl 63
	// reply from 10.0.2.2 seq 3 ttl 63
	// 3 sent, 3 received, <nil>
}

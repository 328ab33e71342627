package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestDemo runs the demo and checks that every part of the story is told:
// each layer appears, ARP resolves on both subnets, the router forwards,
// pings come back, UDP is echoed, and the fragmented datagram is
// reassembled byte for byte.
func TestDemo(t *testing.T) {
	var out bytes.Buffer
	if err := demo(&out, 2, 3000); err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	text := out.String()
	for _, want := range []string{
		"arp:::request", "who-has 10.0.1.1 tell 10.0.1.2", "arp:::reply", "arp:::resolved",
		"who-has 10.0.2.2 tell 10.0.2.1",
		"netdev:::receive", "ether:::receive", "ip:::route", "ip:::forward", "eth0 -> eth1",
		"icmp:::receive", "echo reply",
		"icmp_seq=1 ttl=63", "icmp_seq=2 ttl=63", "2 packets transmitted, 2 received, 0% packet loss",
		"udp:::receive", "socket:::enqueue", "socket:::dequeue", `read "hello, server" from 10.0.2.2:7`,
		"ip:::fragment", "ip:::reassembled", "from 3 fragments", "read 3000 bytes back, identical: true",
		"ForwDatagrams=", "ReasmOKs=1", "FragCreates=3",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("demo output:\n%s", text)
	}
}

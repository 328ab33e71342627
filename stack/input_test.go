package stack

import (
	"net/netip"
	"testing"
	"time"

	"ustack/clock"
	"ustack/stats"
	"ustack/wire"
)

// TestIPv4InputChecks feeds one malformed or misaddressed packet per case
// and asserts the one counter RFC 1122 / RFC 4293 says must move.
func TestIPv4InputChecks(t *testing.T) {
	udp := func(dst netip.Addr) []byte { return udpPayload(peerIP, dst, 1000, 9, []byte("x")) }
	cases := []struct {
		name    string
		frame   []byte
		counter string // in stats.IP
		icmp    wire.ICMPv4TypeCode
	}{
		{"bad version", ipFrame(ipSpec{src: peerIP, dst: ourIP, proto: wire.ProtoUDP, payload: udp(ourIP), mutate: func(h []byte) { h[0] = 0x65 }}), "InHdrErrors", 0},
		{"IHL below 5", ipFrame(ipSpec{src: peerIP, dst: ourIP, proto: wire.ProtoUDP, payload: udp(ourIP), mutate: func(h []byte) { h[0] = 0x44 }}), "InHdrErrors", 0},
		{"bad header checksum", ipFrame(ipSpec{src: peerIP, dst: ourIP, proto: wire.ProtoUDP, payload: udp(ourIP), keepCksum: true, mutate: func(h []byte) { h[10] ^= 0xff }}), "InCsumErrors", 0},
		{"total length below header", ipFrame(ipSpec{src: peerIP, dst: ourIP, proto: wire.ProtoUDP, payload: udp(ourIP), mutate: func(h []byte) { h[2], h[3] = 0, 12 }}), "InHdrErrors", 0},
		{"total length beyond frame", ipFrame(ipSpec{src: peerIP, dst: ourIP, proto: wire.ProtoUDP, payload: udp(ourIP), mutate: func(h []byte) { h[2], h[3] = 0x05, 0xdc }}), "InTruncatedPkts", 0},
		{"truncated header", ipFrame(ipSpec{src: peerIP, dst: ourIP, proto: wire.ProtoUDP})[:wire.EthernetHeaderLen+12], "InHdrErrors", 0},
		{"source loopback on the wire", ipFrame(ipSpec{src: netip.MustParseAddr("127.0.0.1"), dst: ourIP, proto: wire.ProtoUDP, payload: udp(ourIP)}), "InMartians", 0},
		{"source multicast", ipFrame(ipSpec{src: netip.MustParseAddr("224.0.0.5"), dst: ourIP, proto: wire.ProtoUDP, payload: udp(ourIP)}), "InMartians", 0},
		{"source limited broadcast", ipFrame(ipSpec{src: netip.MustParseAddr("255.255.255.255"), dst: ourIP, proto: wire.ProtoUDP, payload: udp(ourIP)}), "InMartians", 0},
		{"source directed broadcast", ipFrame(ipSpec{src: netip.MustParseAddr("10.0.0.255"), dst: ourIP, proto: wire.ProtoUDP, payload: udp(ourIP)}), "InMartians", 0},
		{"source in 0/8", ipFrame(ipSpec{src: netip.MustParseAddr("0.1.2.3"), dst: ourIP, proto: wire.ProtoUDP, payload: udp(ourIP)}), "InMartians", 0},
		{"source class E", ipFrame(ipSpec{src: netip.MustParseAddr("240.0.0.1"), dst: ourIP, proto: wire.ProtoUDP, payload: udp(ourIP)}), "InMartians", 0},
		{"not ours, not forwarding", ipFrame(ipSpec{src: peerIP, dst: netip.MustParseAddr("10.9.9.9"), proto: wire.ProtoUDP, payload: udp(netip.MustParseAddr("10.9.9.9"))}), "InAddrErrors", 0},
		{"destination loopback", ipFrame(ipSpec{src: peerIP, dst: netip.MustParseAddr("127.0.0.1"), proto: wire.ProtoUDP, payload: udp(netip.MustParseAddr("127.0.0.1"))}), "InAddrErrors", 0},
		{"unknown protocol", ipFrame(ipSpec{src: peerIP, dst: ourIP, proto: 253, payload: []byte("abcdefgh")}), "InUnknownProtos", wire.ICMPv4ProtoUnreachable},
		{"closed UDP port", ipFrame(ipSpec{src: peerIP, dst: ourIP, proto: wire.ProtoUDP, payload: udp(ourIP)}), "InDelivers", wire.ICMPv4PortUnreachable},
		{"padded frame delivered", ipFrame(ipSpec{src: peerIP, dst: ourIP, proto: wire.ProtoUDP, payload: udp(ourIP), pad: 18}), "InDelivers", wire.ICMPv4PortUnreachable},
		{"broadcast to closed port: no ICMP", ipFrame(ipSpec{src: peerIP, dst: netip.MustParseAddr("10.0.0.255"), proto: wire.ProtoUDP, payload: udp(netip.MustParseAddr("10.0.0.255")), dstMAC: wire.BroadcastMAC}), "InBcastPkts", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, nic := hostWithProbe(t, Options{})
			before := stats.Snapshot(&s.Stats().IP)
			sentBefore := len(nic.sent())
			nic.inject(tc.frame)
			deadline := time.Now().Add(5 * time.Second)
			for stats.Snapshot(&s.Stats().IP)[tc.counter] == before[tc.counter] {
				if time.Now().After(deadline) {
					t.Fatalf("%s did not move; counters %v", tc.counter, stats.Snapshot(&s.Stats().IP))
				}
				time.Sleep(time.Millisecond)
			}
			after := stats.Snapshot(&s.Stats().IP)
			if after["InReceives"] != before["InReceives"]+1 && tc.name != "truncated header" {
				t.Errorf("InReceives moved by %d, want 1", after["InReceives"]-before["InReceives"])
			}
			if tc.icmp == 0 {
				time.Sleep(20 * time.Millisecond)
				if got := nic.sent()[sentBefore:]; len(got) != 0 {
					t.Fatalf("stack sent %d frames, want none", len(got))
				}
				return
			}
			out := nic.waitSent(t, sentBefore+1)[sentBefore]
			eth, v := parseOut(t, out)
			icmp := v.Payload()
			if eth.Dst != peerMAC || v.Protocol() != wire.ProtoICMP || v.Dst() != peerIP || v.Src() != ourIP {
				t.Fatalf("reply %v→%v proto %v to %v, want ICMP 10.0.0.1→10.0.0.2", v.Src(), v.Dst(), v.Protocol(), eth.Dst)
			}
			if got := wire.NewICMPv4TypeCode(wire.ICMPv4Type(icmp[0]), icmp[1]); got != tc.icmp {
				t.Fatalf("ICMP %v, want %v", got, tc.icmp)
			}
			if wire.Fold(wire.Checksum(icmp, 0)) != 0xffff {
				t.Fatal("ICMP checksum invalid")
			}
			// The quote starts with the offending IP header.
			q, err := wire.ParseIPv4HeaderView(icmp[8:])
			if err != nil || q.Src() != peerIP || q.Dst() != ourIP {
				t.Fatalf("quoted header %x: %v", icmp[8:], err)
			}
		})
	}
}

func TestEchoReplyAndBroadcastEchoIgnored(t *testing.T) {
	s, nic := hostWithProbe(t, Options{})
	n0 := len(nic.sent())
	nic.inject(ipFrame(ipSpec{src: peerIP, dst: ourIP, proto: wire.ProtoICMP, payload: echoRequest(7, 3, []byte("ping!"))}))
	out := nic.waitSent(t, n0+1)[n0]
	_, v := parseOut(t, out)
	icmp := v.Payload()
	if wire.ICMPv4Type(icmp[0]) != wire.ICMPv4EchoReply || string(icmp[8:]) != "ping!" || icmp[5] != 7 || icmp[7] != 3 {
		t.Fatalf("echo reply %x", icmp)
	}
	if wire.Fold(wire.Checksum(icmp, 0)) != 0xffff {
		t.Fatal("echo reply checksum invalid")
	}
	nic.inject(ipFrame(ipSpec{src: peerIP, dst: netip.MustParseAddr("10.0.0.255"), proto: wire.ProtoICMP, payload: echoRequest(7, 4, nil), dstMAC: wire.BroadcastMAC}))
	deadline := time.Now().Add(5 * time.Second)
	for s.Stats().ICMP.InEchos.Load() != 2 {
		if time.Now().After(deadline) {
			t.Fatal("broadcast echo not received")
		}
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond)
	if len(nic.sent()) != n0+1 {
		t.Fatal("answered an echo request sent to a broadcast address")
	}
	if s.Stats().ICMP.OutEchoReps.Load() != 1 {
		t.Fatalf("OutEchoReps = %d, want 1", s.Stats().ICMP.OutEchoReps.Load())
	}
}

// TestReassemblyTimeoutSendsTimeExceeded: the first fragment of a
// datagram whose rest never comes is answered, once the reassembly timer
// runs out (on a manual clock), with time exceeded code 1 quoting it; a
// datagram whose first fragment never came times out silently.
func TestReassemblyTimeoutSendsTimeExceeded(t *testing.T) {
	clk := clock.NewManual(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	s, nic := hostWithProbe(t, Options{Clock: clk})
	payload := udpPayload(peerIP, ourIP, 1000, 9, make([]byte, 100))
	first := ipFrame(ipSpec{src: peerIP, dst: ourIP, proto: wire.ProtoUDP, id: 77, flags: wire.IPv4MoreFragments, payload: payload[:48]})
	tail := ipFrame(ipSpec{src: peerIP, dst: ourIP, proto: wire.ProtoUDP, id: 78, fragOff: 48, payload: payload[48:]})
	n0 := len(nic.sent())
	nic.inject(first)
	nic.inject(tail)
	deadline := time.Now().Add(5 * time.Second)
	for s.Stats().IP.ReasmReqds.Load() != 2 {
		if time.Now().After(deadline) {
			t.Fatal("fragments not seen")
		}
		time.Sleep(time.Millisecond)
	}
	clk.Advance(29 * time.Second)
	if got := len(nic.sent()); got != n0 {
		t.Fatalf("sent %d frames before the timeout", got-n0)
	}
	clk.Advance(2 * time.Second)
	out := nic.waitSent(t, n0+1)[n0]
	_, v := parseOut(t, out)
	icmp := v.Payload()
	if tc := wire.NewICMPv4TypeCode(wire.ICMPv4Type(icmp[0]), icmp[1]); tc != wire.ICMPv4ReassemblyTimeout {
		t.Fatalf("sent %v, want time exceeded in reassembly", tc)
	}
	q, err := wire.ParseIPv4HeaderView(icmp[8:])
	if err != nil || q.ID() != 77 {
		t.Fatalf("quoted datagram id %d (%v), want 77", q.ID(), err)
	}
	if got := s.Stats().IP.ReasmTimeout.Load(); got != 2 {
		t.Fatalf("ReasmTimeout = %d, want 2", got)
	}
	time.Sleep(20 * time.Millisecond)
	if got := len(nic.sent()); got != n0+1 {
		t.Fatalf("sent %d errors, want 1 (none for the datagram without its first fragment)", got-n0)
	}
}

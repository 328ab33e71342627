package stack

import (
	"net/netip"
	"testing"
	"time"

	"ustack/wire"
)

// TestOptionsReflectedInEchoReply: an echo request with Record Route and
// Timestamp options gets a reply carrying them, with this host's entry
// added (RFC 1122 §3.2.2.6, as Linux's ip_options_echo does).
func TestOptionsReflectedInEchoReply(t *testing.T) {
	s, nic := hostWithProbe(t, Options{})
	_ = s
	rr := []byte{byte(wire.IPv4OptRecordRoute), 11, 8, 10, 0, 0, 2, 0, 0, 0, 0, byte(wire.IPv4OptNOP)}
	ts := []byte{byte(wire.IPv4OptTimestamp), 12, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	n0 := len(nic.sent())
	nic.inject(ipFrame(ipSpec{src: peerIP, dst: ourIP, proto: wire.ProtoICMP, payload: echoRequest(1, 1, nil), options: append(append([]byte{}, rr...), ts...)}))
	_, v := parseOut(t, nic.waitSent(t, n0+1)[n0])
	opts := v.Options()
	if len(opts) != 24 {
		t.Fatalf("reply options %x, want 24 bytes (RR + TS)", opts)
	}
	if got := netip.AddrFrom4([4]byte(opts[7:11])); got != ourIP || opts[2] != 12 {
		t.Fatalf("reply RR %x: want our address %v recorded in the second slot", opts[:11], ourIP)
	}
	if opts[11+2] != 9 {
		t.Fatalf("reply TS pointer %d, want 9 (one timestamp added)", opts[13])
	}
	if wire.ICMPv4Type(v.Payload()[0]) != wire.ICMPv4EchoReply {
		t.Fatal("not an echo reply")
	}
}

// TestMalformedOptionGetsParameterProblem: a zero option length is
// answered with a parameter problem pointing at it; a source-routed
// packet is refused silently (accept_source_route=0).
func TestMalformedOptionGetsParameterProblem(t *testing.T) {
	s, nic := hostWithProbe(t, Options{})
	n0 := len(nic.sent())
	bad := []byte{byte(wire.IPv4OptNOP), byte(wire.IPv4OptTimestamp), 0, 5}
	nic.inject(ipFrame(ipSpec{src: peerIP, dst: ourIP, proto: wire.ProtoICMP, payload: echoRequest(1, 1, nil), options: bad}))
	_, v := parseOut(t, nic.waitSent(t, n0+1)[n0])
	icmp := v.Payload()
	if tc := wire.NewICMPv4TypeCode(wire.ICMPv4Type(icmp[0]), icmp[1]); tc != wire.ICMPv4PointerIndicates || icmp[4] != 22 {
		t.Fatalf("got %v pointer %d, want parameter problem pointing at byte 22 (the bad length)", tc, icmp[4])
	}
	if n := s.Stats().IP.InHdrErrors.Load(); n != 1 {
		t.Fatalf("InHdrErrors = %d, want 1", n)
	}
	lsrr := []byte{byte(wire.IPv4OptLSRR), 7, 4, 10, 0, 0, 9, byte(wire.IPv4OptEOL)}
	nic.inject(ipFrame(ipSpec{src: peerIP, dst: ourIP, proto: wire.ProtoICMP, payload: echoRequest(1, 2, nil), options: lsrr}))
	deadline := time.Now().Add(5 * time.Second)
	for s.Stats().IP.InDiscards.Load() != 1 {
		if time.Now().After(deadline) {
			t.Fatal("source-routed packet not discarded")
		}
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond)
	if len(nic.sent()) != n0+1 {
		t.Fatal("answered a source-routed packet")
	}
}

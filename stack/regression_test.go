package stack

// Regression tests for bugs found in review; each names what broke.

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"syscall"
	"testing"
	"time"

	"ustack/ipv4"
	"ustack/wire"
)

// Forwarding a packet with options out of a device with no address used
// to panic (zero Addr in the Record Route stamp).
func TestForwardOptionsOutUnnumberedDevice(t *testing.T) {
	s, in := hostWithProbe(t, Options{Forwarding: true})
	out := newProbeNIC(wire.MAC{2, 0, 0, 0, 0, 0x77})
	dev, err := s.AddNIC("eth1", out) // no address: unnumbered
	if err != nil {
		t.Fatal(err)
	}
	dst := netip.MustParseAddr("192.0.2.9")
	s.AddRoute(fibRoute("192.0.2.0/24", dev))
	s.Neigh().SetStatic(dev, dst, wire.MAC{2, 0, 0, 0, 0, 0x99})
	rr := []byte{byte(wire.IPv4OptRecordRoute), 7, 4, 0, 0, 0, 0, byte(wire.IPv4OptEOL)}
	in.inject(ipFrame(ipSpec{src: peerIP, dst: dst, proto: wire.ProtoUDP, payload: udpPayload(peerIP, dst, 1, 2, nil), options: rr}))
	f := out.waitSent(t, 1)[0]
	_, v := parseOut(t, f)
	if got := netip.AddrFrom4([4]byte(v.Options()[3:7])); got != ourIP {
		t.Fatalf("recorded %v, want some address of ours (%v)", got, ourIP)
	}
}

// Options of a reassembled echo request were read from a released chunk.
func TestEchoOptionsFromFragmentedRequest(t *testing.T) {
	_, nic := hostWithProbe(t, Options{})
	rr := []byte{byte(wire.IPv4OptRecordRoute), 11, 4, 0, 0, 0, 0, 0, 0, 0, 0, byte(wire.IPv4OptEOL)}
	msg := echoRequest(9, 1, make([]byte, 100))
	n0 := len(nic.sent())
	nic.inject(ipFrame(ipSpec{src: peerIP, dst: ourIP, proto: wire.ProtoICMP, id: 5, flags: wire.IPv4MoreFragments, payload: msg[:64], options: rr}))
	nic.inject(ipFrame(ipSpec{src: peerIP, dst: ourIP, proto: wire.ProtoICMP, id: 5, fragOff: 64, payload: msg[64:]}))
	_, v := parseOut(t, nic.waitSent(t, n0+1)[n0])
	o := v.Options()
	if len(o) < 11 || o[0] != byte(wire.IPv4OptRecordRoute) || netip.AddrFrom4([4]byte(o[3:7])) != ourIP {
		t.Fatalf("reply options %x, want Record Route with our address", o)
	}
}

// A frame whose first view held only the headers lost them on Pull, so
// the port unreachable it deserved was never sent.
func TestICMPErrorForHeaderOnlyFirstView(t *testing.T) {
	s, nic := hostWithProbe(t, Options{})
	frame := ipFrame(ipSpec{src: peerIP, dst: ourIP, proto: wire.ProtoUDP, payload: udpPayload(peerIP, ourIP, 1000, 9, []byte("split"))})
	n0 := len(nic.sent())
	nic.injectViews(frame[:wire.EthernetHeaderLen+wire.IPv4MinHeaderLen], frame[wire.EthernetHeaderLen+wire.IPv4MinHeaderLen:])
	_, v := parseOut(t, nic.waitSent(t, n0+1)[n0])
	icmp := v.Payload()
	if tc := wire.NewICMPv4TypeCode(wire.ICMPv4Type(icmp[0]), icmp[1]); tc != wire.ICMPv4PortUnreachable {
		t.Fatalf("sent %v, want port unreachable", tc)
	}
	if q, err := wire.ParseIPv4HeaderView(icmp[8:]); err != nil || q.Src() != peerIP || len(icmp) < 8+28 || icmp[8+20+3] != 9 {
		t.Fatalf("quote %x: want the IP header and the UDP header (dst port 9)", icmp[8:])
	}
	if s.Stats().ICMP.OutDestUnreachs.Load() != 1 {
		t.Fatal("OutDestUnreachs not counted")
	}
}

// Empty datagrams were not charged against the receive buffer.
func TestEmptyDatagramsAreBounded(t *testing.T) {
	s, nic := hostWithProbe(t, Options{})
	pc, err := s.ListenPacket("udp", ":7")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	pc.(interface{ SetReadBuffer(int) error }).SetReadBuffer(1024)
	for i := 0; i < 100; i++ {
		nic.inject(ipFrame(ipSpec{src: peerIP, dst: ourIP, proto: wire.ProtoUDP, payload: udpPayload(peerIP, ourIP, 1, 7, nil)}))
	}
	waitCounter(t, "InDatagrams+RcvbufErrors", func() uint64 {
		return s.Stats().UDP.InDatagrams.Load() + s.Stats().UDP.RcvbufErrors.Load()
	}, 100)
	if n := s.Stats().UDP.InDatagrams.Load(); n > 4 {
		t.Fatalf("queued %d empty datagrams in a 1024-byte buffer, want at most 4 (256 bytes each)", n)
	}
}

// Packets from the wire claiming our own address, or 127.0.0.1 with a
// malformed option, are martians: counted, and never answered.
func TestOwnAndLoopbackSourcesAreMartians(t *testing.T) {
	s, nic := hostWithProbe(t, Options{})
	n0 := len(nic.sent())
	nic.inject(ipFrame(ipSpec{src: ourIP, dst: ourIP, proto: wire.ProtoICMP, payload: echoRequest(1, 1, nil)}))
	bad := []byte{byte(wire.IPv4OptNOP), byte(wire.IPv4OptTimestamp), 0, 5}
	nic.inject(ipFrame(ipSpec{src: netip.MustParseAddr("127.0.0.1"), dst: ourIP, proto: wire.ProtoICMP, payload: echoRequest(1, 2, nil), options: bad}))
	waitCounter(t, "InMartians", s.Stats().IP.InMartians.Load, 2)
	time.Sleep(20 * time.Millisecond)
	if len(nic.sent()) != n0 || s.Stats().ICMP.InEchos.Load() != 0 || s.Stats().ICMP.InParmProbs.Load() != 0 {
		t.Fatal("a martian was answered")
	}
}

// A socket bound to 127.0.0.1 must not put 127.0.0.1 on the wire.
func TestLoopbackSourceStaysHome(t *testing.T) {
	s, nic := hostWithProbe(t, Options{})
	pc, err := s.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	n0 := len(nic.sent())
	_, err = pc.WriteTo([]byte("x"), net.UDPAddrFromAddrPort(netip.AddrPortFrom(peerIP, 9)))
	if !errors.Is(err, syscall.EADDRNOTAVAIL) {
		t.Fatalf("send from 127.0.0.1 to %v = %v, want EADDRNOTAVAIL", peerIP, err)
	}
	if len(nic.sent()) != n0 {
		t.Fatal("a 127.0.0.1 source left on eth0")
	}
	if _, err := s.DialContext(context.Background(), "udp", "224.0.0.251:5353"); !errors.Is(err, syscall.ENETUNREACH) {
		t.Fatalf("dial to a multicast group = %v, want ENETUNREACH until multicast exists", err)
	}
}

// Close used to leave UDP readers blocked, and a ping spinning.
func TestCloseWakesReadersAndPings(t *testing.T) {
	s := New(Options{CheckedBuffers: true})
	nic := newProbeNIC(ourMAC)
	s.AddNIC("eth0", nic)
	s.AddAddress("eth0", netip.MustParsePrefix("10.0.0.1/24"))
	pc, _ := s.ListenPacket("udp", ":7")
	readErr := make(chan error, 1)
	go func() { _, _, err := pc.ReadFrom(make([]byte, 8)); readErr <- err }()
	pingDone := make(chan error, 1)
	go func() {
		_, err := s.Ping(context.Background(), netip.MustParseAddr("10.0.0.2"), ipv4.PingOptions{Count: 1, Timeout: time.Hour}, nil)
		pingDone <- err
	}()
	time.Sleep(30 * time.Millisecond)
	s.Close()
	select {
	case err := <-readErr:
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("blocked read after Stack.Close = %v, want net.ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Stack.Close left a reader blocked")
	}
	select {
	case err := <-pingDone:
		if !errors.Is(err, ipv4.ErrPingerClosed) {
			t.Fatalf("ping across Close = %v, want ErrPingerClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a ping outlived Stack.Close")
	}
}

// Package net's contract details: an expired deadline fails even with
// data queued; WriteTo on a connected socket is refused; setting a
// deadline on a closed socket fails.
func TestUDPContractDetails(t *testing.T) {
	s := New(Options{CheckedBuffers: true})
	defer s.Close()
	srv, _ := s.ListenPacket("udp", "127.0.0.1:7")
	c, _ := s.DialContext(context.Background(), "udp", "127.0.0.1:7")
	c.Write([]byte("queued"))
	time.Sleep(20 * time.Millisecond)
	srv.SetReadDeadline(time.Now().Add(-time.Second))
	if _, _, err := srv.ReadFrom(make([]byte, 10)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read with a passed deadline and data queued = %v, want a timeout", err)
	}
	srv.SetReadDeadline(time.Time{})
	if _, _, err := srv.ReadFrom(make([]byte, 10)); err != nil {
		t.Fatalf("read after clearing the deadline: %v", err)
	}
	if _, err := c.(net.PacketConn).WriteTo([]byte("x"), srv.LocalAddr()); !errors.Is(err, net.ErrWriteToConnected) {
		t.Fatalf("WriteTo on a connected socket = %v, want ErrWriteToConnected", err)
	}
	srv.Close()
	if err := srv.SetDeadline(time.Now()); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("SetDeadline after Close = %v, want net.ErrClosed", err)
	}
	c.Close()
}

// Our own broadcasts reach our own sockets, through loopback.
func TestOwnBroadcastLoopsBack(t *testing.T) {
	s, _ := hostWithProbe(t, Options{})
	pc, _ := s.ListenPacket("udp", ":6000")
	defer pc.Close()
	tx, _ := s.ListenPacket("udp", ":0")
	defer tx.Close()
	tx.WriteTo([]byte("all"), net.UDPAddrFromAddrPort(netip.MustParseAddrPort("10.0.0.255:6000")))
	pc.SetReadDeadline(time.Now().Add(3 * time.Second))
	buf := make([]byte, 8)
	if n, _, err := pc.ReadFrom(buf); err != nil || string(buf[:n]) != "all" {
		t.Fatalf("own broadcast: %q, %v", buf[:n], err)
	}
}

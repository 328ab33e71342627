package netsim

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"ustack/clock"
	"ustack/drivers/fault"
	"ustack/ipv4"
	"ustack/wire"
)

var (
	errDeadline = os.ErrDeadlineExceeded
	errClosed   = net.ErrClosed
	noImpair    = fault.Impair{}
)

// TestFragNeededCarriesNextHopMTU: a DF packet too big for the router's
// next hop gets ICMP fragmentation needed with that hop's MTU (RFC 1191).
func TestFragNeededCarriesNextHopMTU(t *testing.T) {
	tp := newTopo(t, LinkOptions{MTU: 9000}, LinkOptions{MTU: 1400})
	var got []ipv4.EchoReply
	tp.client.Ping(ctx(t), serverIP, ipv4.PingOptions{Count: 1, Size: 2000, DF: true, Timeout: 2 * time.Second},
		func(r ipv4.EchoReply) { got = append(got, r) })
	if len(got) != 1 || got[0].Err == nil {
		t.Fatalf("DF ping over a smaller MTU: %v", got)
	}
	e := got[0].Err
	if wire.NewICMPv4TypeCode(e.Type, e.Code) != wire.ICMPv4FragmentationNeeded || e.MTU != 1400 || e.From != routerL {
		t.Fatalf("got %v mtu %d from %v, want fragmentation needed, mtu 1400, from the router",
			wire.NewICMPv4TypeCode(e.Type, e.Code), e.MTU, e.From)
	}
	if n := tp.router.Stats().IP.FragFails.Load(); n != 1 {
		t.Fatalf("router FragFails = %d, want 1", n)
	}
	// Without DF the router fragments instead.
	sum, _ := tp.client.Ping(ctx(t), serverIP, ipv4.PingOptions{Count: 1, Size: 2000, Timeout: 2 * time.Second}, nil)
	if sum.Received != 1 {
		t.Fatalf("ping without DF: %v", sum)
	}
	// A DF datagram bigger than our own MTU fails at once with EMSGSIZE.
	if _, err := tp.client.Ping(ctx(t), serverIP, ipv4.PingOptions{Count: 1, Size: 9000, DF: true}, nil); !errors.Is(err, ipv4.ErrMessageSize) {
		t.Fatalf("local DF ping over the MTU: %v, want ErrMessageSize", err)
	}
}

// TestICMPErrorsAreRateLimited: a burst of packets to a closed port gets
// at most the bucket's burst of port unreachables; the rest are counted.
func TestICMPErrorsAreRateLimited(t *testing.T) {
	tp := newTopo(t, LinkOptions{}, LinkOptions{})
	// Unconnected: a connected socket would see ECONNREFUSED on the
	// send after the first unreachable, and not send (as Linux does).
	c, err := tp.client.ListenPacket("udp", ":0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	to := net.UDPAddrFromAddrPort(netip.MustParseAddrPort("10.0.2.2:9"))
	// Resolve the neighbours first: a burst into an unresolved entry
	// overflows its queue of 101 (unres_qlen) and loses the oldest.
	if sum, _ := tp.client.Ping(ctx(t), serverIP, ipv4.PingOptions{Count: 1}, nil); sum.Received != 1 {
		t.Fatal("warm-up ping failed")
	}
	const sent = 200
	for i := 0; i < sent; i++ {
		if _, err := c.WriteTo([]byte("x"), to); err != nil {
			t.Fatal(err)
		}
	}
	st := &tp.server.Stats().ICMP
	deadline := time.Now().Add(5 * time.Second)
	for tp.server.Stats().UDP.NoPorts.Load() < sent && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	out, limited := st.OutDestUnreachs.Load(), st.OutRateLimited.Load()
	if out+limited != sent {
		t.Fatalf("port unreachables sent %d + rate-limited %d, want %d", out, limited, sent)
	}
	// The bucket holds 50 and refills at 1000/s while the burst lasts.
	if out < 50 || out > 120 || limited == 0 {
		t.Fatalf("sent %d port unreachables and limited %d in a burst of %d, want about the bucket's 50", out, limited, sent)
	}
}

func TestUDPSocketSemantics(t *testing.T) {
	tp := newTopo(t, LinkOptions{}, LinkOptions{})
	s := tp.server
	pc, err := s.ListenPacket("udp", ":5000")
	if err != nil {
		t.Fatal(err)
	}
	// Address in use, as errno and as package net prints it.
	if _, err := s.ListenPacket("udp", ":5000"); !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("second bind = %v, want EADDRINUSE", err)
	}
	if _, err := s.ListenPacket("udp", "10.9.9.9:5001"); !errors.Is(err, syscall.EADDRNOTAVAIL) {
		t.Fatalf("bind to a foreign address = %v, want EADDRNOTAVAIL", err)
	}
	// A deadline cuts a pending read, with net's timeout error.
	done := make(chan error, 1)
	go func() {
		_, _, err := pc.ReadFrom(make([]byte, 10))
		done <- err
	}()
	time.Sleep(20 * time.Millisecond)
	pc.SetReadDeadline(time.Now().Add(30 * time.Millisecond))
	select {
	case err := <-done:
		var ne interface{ Timeout() bool }
		if !errors.Is(err, errDeadline) || !errors.As(err, &ne) || !ne.Timeout() {
			t.Fatalf("read past the deadline = %v, want os.ErrDeadlineExceeded with Timeout()", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a deadline set during a pending read did not cut it")
	}
	// A past deadline fails at once; clearing it lets reads wait again.
	pc.SetReadDeadline(time.Now().Add(-time.Second))
	if _, _, err := pc.ReadFrom(make([]byte, 10)); !errors.Is(err, errDeadline) {
		t.Fatalf("read with a past deadline = %v", err)
	}
	pc.SetReadDeadline(time.Time{})
	// Close wakes a pending reader with net.ErrClosed.
	go func() {
		_, _, err := pc.ReadFrom(make([]byte, 10))
		done <- err
	}()
	time.Sleep(20 * time.Millisecond)
	pc.Close()
	select {
	case err := <-done:
		if !errors.Is(err, errClosed) {
			t.Fatalf("read on a closed socket = %v, want net.ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not wake a pending reader")
	}
	// The port is free again.
	pc2, err := s.ListenPacket("udp", ":5000")
	if err != nil {
		t.Fatalf("rebind after close: %v", err)
	}
	pc2.Close()
}

func TestUDPBroadcastReachesEverySocket(t *testing.T) {
	n := New(Options{Seed: 5, CheckedBuffers: true})
	defer n.Close()
	sw := n.Switch()
	hosts := []*Host{n.Host("a"), n.Host("b"), n.Host("c")}
	for i, h := range hosts {
		if _, err := sw.Attach(h, netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 0, 0, byte(i + 1)}), 24).String(), noImpair); err != nil {
			t.Fatal(err)
		}
	}
	// A wildcard socket on b, and on c one on the wildcard and one on
	// its own address: a broadcast reaches all three.
	b1, _ := hosts[1].ListenPacket("udp", "0.0.0.0:6000")
	c1, _ := hosts[2].ListenPacket("udp", ":6000")
	c2, err := hosts[2].ListenPacket("udp", "10.0.0.3:6000")
	if err == nil {
		t.Fatal("binding 10.0.0.3:6000 beside 0.0.0.0:6000 succeeded; want EADDRINUSE as without SO_REUSEADDR")
	}
	_ = c2
	defer b1.Close()
	defer c1.Close()
	tx, err := hosts[0].ListenPacket("udp", ":0")
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Close()
	for _, dst := range []string{"10.0.0.255:6000", "255.255.255.255:6000"} {
		ap := netip.MustParseAddrPort(dst)
		if _, err := tx.WriteTo([]byte("to all"), net.UDPAddrFromAddrPort(ap)); err != nil {
			t.Fatalf("send to %s: %v", dst, err)
		}
		for _, pc := range []net.PacketConn{b1, c1} {
			buf := make([]byte, 20)
			pc.SetReadDeadline(time.Now().Add(3 * time.Second))
			k, _, err := pc.ReadFrom(buf)
			if err != nil || string(buf[:k]) != "to all" {
				t.Fatalf("broadcast to %s: %q, %v", dst, buf[:k], err)
			}
		}
	}
	if n := hosts[0].Stats().IP.OutBcastPkts.Load(); n != 2 {
		t.Fatalf("OutBcastPkts = %d, want 2", n)
	}
	// No port unreachable is ever sent for a broadcast.
	for _, h := range hosts {
		if n := h.Stats().ICMP.OutDestUnreachs.Load(); n != 0 {
			t.Fatalf("%s sent %d unreachables in reply to broadcasts", h.Name, n)
		}
	}
}

// A ping to a neighbour that never answers ARP waits, by default, as
// iputils ping does when nothing has come back (10 s), so the host
// unreachable that ARP's failure brings after three requests (3 s)
// reaches it, as "Destination Host Unreachable".
func TestPingWaitsForHostUnreachable(t *testing.T) {
	clk := clock.NewManual(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	n := New(Options{Seed: 7, Clock: clk})
	t.Cleanup(func() { n.Close() })
	a, b := n.Host("a"), n.Host("b")
	n.MustLink(a, "10.0.0.1/24", b, "10.0.0.2/24", LinkOptions{})
	type result struct {
		sum     ipv4.PingSummary
		replies []ipv4.EchoReply
		err     error
	}
	done := make(chan result, 1)
	go func() {
		var r result
		r.sum, r.err = a.Ping(t.Context(), netip.MustParseAddr("10.0.0.99"), ipv4.PingOptions{Count: 1}, func(e ipv4.EchoReply) { r.replies = append(r.replies, e) })
		done <- r
	}()
	var r result
	for i := 0; ; i++ {
		select {
		case r = <-done:
		case <-time.After(time.Millisecond):
			if i > 20000 {
				t.Fatal("Ping did not return")
			}
			clk.Advance(10 * time.Millisecond)
			continue
		}
		break
	}
	if r.err != nil || r.sum.Sent != 1 || r.sum.Errors != 1 || len(r.replies) != 1 || r.replies[0].Err == nil ||
		r.replies[0].Err.Type != wire.ICMPv4DestUnreach || r.replies[0].Err.Code != 1 {
		t.Fatalf("Ping = %+v, %v, replies %+v; want one request answered by host unreachable", r.sum, r.err, r.replies)
	}
	if s := r.replies[0].String(); !strings.Contains(s, "Destination Host Unreachable") {
		t.Errorf("reply reads %q, want ping's Destination Host Unreachable", s)
	}
}

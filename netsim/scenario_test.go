package netsim

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"ustack/drivers/fault"
	"ustack/ipv4"
	"ustack/neigh"
	"ustack/wire"
)

// topo is the scenario network: client 10.0.1.2 — (10.0.1.1) router
// (10.0.2.1) — server 10.0.2.2.
type topo struct {
	n                      *Network
	client, router, server *Host
	left, right            *Link
}

func newTopo(t *testing.T, left, right LinkOptions) *topo {
	t.Helper()
	n := New(Options{Seed: 42, CheckedBuffers: true, Neigh: neigh.Config{RetransTime: 50 * time.Millisecond}})
	tp := &topo{n: n, client: n.Host("client"), router: n.Router("router"), server: n.Host("server")}
	tp.left = n.MustLink(tp.client, "10.0.1.2/24", tp.router, "10.0.1.1/24", left)
	tp.right = n.MustLink(tp.router, "10.0.2.1/24", tp.server, "10.0.2.2/24", right)
	if err := tp.client.DefaultRoute("10.0.1.1"); err != nil {
		t.Fatal(err)
	}
	if err := tp.server.DefaultRoute("10.0.2.1"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		n.Close()
		for _, h := range []*Host{tp.client, tp.router, tp.server} {
			if live := h.Pool().Live(); live != 0 {
				t.Errorf("%s: %d packet buffers still held after Close (leak)", h.Name, live)
			}
		}
	})
	return tp
}

var (
	clientIP = netip.MustParseAddr("10.0.1.2")
	routerL  = netip.MustParseAddr("10.0.1.1")
	serverIP = netip.MustParseAddr("10.0.2.2")
)

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return c
}

// udpEcho serves UDP echo on h at port until the test ends.
func udpEcho(t *testing.T, h *Host, port string) {
	t.Helper()
	pc, err := h.ListenPacket("udp", ":"+port)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 70000)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			pc.WriteTo(buf[:n], from)
		}
	}()
}

func TestPingThroughRouter(t *testing.T) {
	tp := newTopo(t, LinkOptions{}, LinkOptions{})
	var replies []ipv4.EchoReply
	sum, err := tp.client.Ping(ctx(t), serverIP, ipv4.PingOptions{Count: 3, Interval: 20 * time.Millisecond}, func(r ipv4.EchoReply) { replies = append(replies, r) })
	if err != nil {
		t.Fatal(err)
	}
	if sum.Sent != 3 || sum.Received != 3 {
		t.Fatalf("ping: %v", sum)
	}
	for _, r := range replies {
		if r.From != serverIP || r.TTL != 63 || r.RTT <= 0 {
			t.Fatalf("reply %v: want from %v with TTL 63 (one hop)", r, serverIP)
		}
	}
	if n := tp.router.Stats().IP.ForwDatagrams.Load(); n != 6 {
		t.Fatalf("router ForwDatagrams = %d, want 6", n)
	}
	if n := tp.client.Stats().ARP.Resolved.Load(); n != 1 {
		t.Fatalf("client resolved %d neighbours, want 1 (the router)", n)
	}
}

func TestUDPEchoThroughRouter(t *testing.T) {
	tp := newTopo(t, LinkOptions{}, LinkOptions{})
	udpEcho(t, tp.server, "7")
	c, err := tp.client.DialContext(ctx(t), "udp", "10.0.2.2:7")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got := c.LocalAddr().(*net.UDPAddr).AddrPort().Addr(); got != clientIP {
		t.Fatalf("LocalAddr = %v, want the route's source %v", got, clientIP)
	}
	buf := make([]byte, 100)
	for i := 0; i < 10; i++ {
		msg := []byte{byte(i), 'h', 'i'}
		if _, err := c.Write(msg); err != nil {
			t.Fatal(err)
		}
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, err := c.Read(buf)
		if err != nil || !bytes.Equal(buf[:n], msg) {
			t.Fatalf("echo %d: %q, %v", i, buf[:n], err)
		}
	}
	if n := tp.server.Stats().UDP.InDatagrams.Load(); n != 10 {
		t.Fatalf("server InDatagrams = %d, want 10", n)
	}
}

// TestFragmentedDatagram sends 60,000 bytes in one datagram: the client
// fragments it (MTU 1500), the router forwards the fragments, the server
// reassembles it; and back through a 576-MTU link the router fragments.
func TestFragmentedDatagram(t *testing.T) {
	for _, tc := range []struct {
		name                     string
		left, right              int
		clientOKs, clientCreates uint64
		routerOKs, routerCreates uint64
	}{
		// 60,008 bytes of UDP in 1,480-byte pieces: 41 fragments.
		{"client fragments", 1500, 1500, 1, 41, 0, 0},
		// 7 fragments of up to 8,976 bytes, each cut again by the router
		// into 1,480-byte pieces: 6×7 + 5 = 47.
		{"router fragments", 9000, 1500, 1, 7, 7, 47},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tp := newTopo(t, LinkOptions{MTU: tc.left}, LinkOptions{MTU: tc.right})
			pc, err := tp.server.ListenPacket("udp", ":9000")
			if err != nil {
				t.Fatal(err)
			}
			defer pc.Close()
			payload := make([]byte, 60000)
			r := rand.New(rand.NewPCG(1, 2))
			for i := range payload {
				payload[i] = byte(r.Uint32())
			}
			c, err := tp.client.DialContext(ctx(t), "udp", "10.0.2.2:9000")
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if _, err := c.Write(payload); err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 70000)
			pc.SetReadDeadline(time.Now().Add(5 * time.Second))
			n, _, err := pc.ReadFrom(buf)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(buf[:n], payload) {
				t.Fatalf("reassembled %d bytes differ from the 60000 sent", n)
			}
			for _, h := range []struct {
				host        *Host
				ok, creates uint64
			}{{tp.client, tc.clientOKs, tc.clientCreates}, {tp.router, tc.routerOKs, tc.routerCreates}} {
				if ok, creates := h.host.Stats().IP.FragOKs.Load(), h.host.Stats().IP.FragCreates.Load(); ok != h.ok || creates != h.creates {
					t.Fatalf("%s FragOKs=%d FragCreates=%d, want %d and %d", h.host.Name, ok, creates, h.ok, h.creates)
				}
			}
			if ok := tp.server.Stats().IP.ReasmOKs.Load(); ok != 1 {
				t.Fatalf("server ReasmOKs = %d, want 1", ok)
			}
		})
	}
}

func TestTTLExpiryGivesTimeExceeded(t *testing.T) {
	tp := newTopo(t, LinkOptions{}, LinkOptions{})
	var got []ipv4.EchoReply
	sum, _ := tp.client.Ping(ctx(t), serverIP, ipv4.PingOptions{Count: 1, TTL: 1, Timeout: 2 * time.Second}, func(r ipv4.EchoReply) { got = append(got, r) })
	if sum.Errors != 1 || len(got) != 1 || got[0].Err == nil {
		t.Fatalf("ping with TTL 1: %v %v", sum, got)
	}
	e := got[0].Err
	if e.Type != wire.ICMPv4TimeExceeded || e.Code != 0 || e.From != routerL {
		t.Fatalf("got %v code %d from %v, want time exceeded in transit from %v", e.Type, e.Code, e.From, routerL)
	}
	if n := tp.router.Stats().ICMP.OutTimeExcds.Load(); n != 1 {
		t.Fatalf("router OutTimeExcds = %d, want 1", n)
	}
}

func TestPortUnreachableRefusesConnectedSocket(t *testing.T) {
	tp := newTopo(t, LinkOptions{}, LinkOptions{})
	c, err := tp.client.DialContext(ctx(t), "udp", "10.0.2.2:9")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("anyone?"))
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err = c.Read(make([]byte, 10))
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("Read after port unreachable = %v, want ECONNREFUSED", err)
	}
	if want := "read udp 10.0.1.2:"; len(err.Error()) < len(want) || err.Error()[:len(want)] != want {
		t.Fatalf("error text %q, want it to start %q like package net", err, want)
	}
	if n := tp.server.Stats().UDP.NoPorts.Load(); n != 1 {
		t.Fatalf("server NoPorts = %d, want 1", n)
	}
}

func TestARPFailureGivesHostUnreachable(t *testing.T) {
	tp := newTopo(t, LinkOptions{}, LinkOptions{})
	var got []ipv4.EchoReply
	tp.client.Ping(ctx(t), netip.MustParseAddr("10.0.2.99"), ipv4.PingOptions{Count: 1, Timeout: 3 * time.Second}, func(r ipv4.EchoReply) { got = append(got, r) })
	if len(got) != 1 || got[0].Err == nil {
		t.Fatalf("ping of a missing host: %v", got)
	}
	if e := got[0].Err; wire.NewICMPv4TypeCode(e.Type, e.Code) != wire.ICMPv4HostUnreachable || e.From != routerL {
		t.Fatalf("got %v from %v, want host unreachable from the router", wire.NewICMPv4TypeCode(e.Type, e.Code), e.From)
	}
	if n := tp.router.Stats().ARP.ResFailed.Load(); n != 1 {
		t.Fatalf("router ResFailed = %d, want 1", n)
	}
	// The same, for a missing neighbour on the client's own subnet: the
	// client's own stack reports it.
	got = nil
	tp.client.Ping(ctx(t), netip.MustParseAddr("10.0.1.77"), ipv4.PingOptions{Count: 1, Timeout: 3 * time.Second}, func(r ipv4.EchoReply) { got = append(got, r) })
	if len(got) != 1 || got[0].Err == nil || got[0].Err.From != clientIP {
		t.Fatalf("ping of a missing neighbour: %v, want host unreachable from ourselves", got)
	}
}

// TestLossyReorderingLink repeats the ICMP and UDP exchanges over wires
// that lose 10% of frames and reorder 10%, each way.
func TestLossyReorderingLink(t *testing.T) {
	im := LinkOptions{Impair: fault.Impair{Loss: 0.10, Reorder: 0.10, ReorderTimeout: 5 * time.Millisecond}}
	tp := newTopo(t, im, im)
	sum, err := tp.client.Ping(ctx(t), serverIP, ipv4.PingOptions{Count: 100, Interval: 2 * time.Millisecond, Timeout: time.Second}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Each round trip crosses four lossy hops: about 0.9^4 = 66% should
	// come back; ARP retries cover losses during resolution.
	if sum.Received < 40 || sum.Received > 90 {
		t.Fatalf("ping over 10%% loss: %v; want between 40 and 90 of 100", sum)
	}
	t.Logf("ping over 4 lossy hops: %v", sum)
	udpEcho(t, tp.server, "7")
	c, err := tp.client.DialContext(ctx(t), "udp", "10.0.2.2:7")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 100)
	tries := 0
	for i := 0; i < 50; i++ {
		msg := []byte{byte(i), 'x'}
		for {
			tries++
			if tries > 500 {
				t.Fatal("UDP echo over the lossy link did not converge in 500 tries")
			}
			c.Write(msg)
			c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
			n, err := c.Read(buf)
			if err == nil && bytes.Equal(buf[:n], msg) {
				break
			}
			// A late echo of an earlier try may arrive: drain and retry.
		}
	}
	t.Logf("50 UDP echoes took %d tries", tries)
	var lost uint64
	for _, l := range []*Link{tp.left, tp.right} {
		lost += l.EndA.Impairment().Lost + l.EndB.Impairment().Lost
	}
	if lost == 0 {
		t.Fatal("the impaired links lost nothing")
	}
}

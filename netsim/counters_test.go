package netsim

import (
	"encoding/binary"
	"io"
	"net"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"ustack/drivers/vwire"
	"ustack/ipv4"
	"ustack/neigh"
	"ustack/netdev"
	"ustack/pkt"
	"ustack/stats"
	"ustack/tcp"
)

// dropFirstData is a driver that loses the first TCP segment carrying
// data that its host sends, and passes everything else to the wire.
type dropFirstData struct {
	netdev.Driver
	dropped atomic.Int32
}

func (d *dropFirstData) Transmit(b *pkt.Buf) error {
	if d.dropped.Load() == 0 && tcpPayloadLen(b) > 0 && d.dropped.Add(1) == 1 {
		b.Free() // lost on the wire: the device counted it sent
		return nil
	}
	return d.Driver.Transmit(b)
}

// tcpPayloadLen returns the TCP payload length of an Ethernet frame, or 0.
func tcpPayloadLen(b *pkt.Buf) int {
	var h [14 + 60 + 20]byte
	n := b.CopyRange(0, h[:])
	if n < 14+20 || binary.BigEndian.Uint16(h[12:]) != 0x0800 || h[14+9] != tcp.ProtoNumber {
		return 0
	}
	ihl := int(h[14]&0xf) * 4
	if n < 14+ihl+13 {
		return 0
	}
	total := int(binary.BigEndian.Uint16(h[16:]))
	thl := int(h[14+ihl+12]>>4) * 4
	return total - ihl - thl
}

// mibs snapshots every counter of a host, by "MIB.Name", and its
// devices' by "dev.Name".
func mibs(h *Host) map[string]int64 {
	m := map[string]int64{}
	s := h.Stats()
	for name, mib := range map[string]any{"Ether": &s.Ether, "ARP": &s.ARP, "IP": &s.IP, "ICMP": &s.ICMP, "UDP": &s.UDP, "TCP": &s.TCP} {
		stats.Walk(mib, func(n string, v int64) { m[name+"."+n] = v })
	}
	for _, d := range h.Devices().Devices() {
		stats.Walk(&d.Stats, func(n string, v int64) { m[d.Name()+"."+n] = v })
	}
	return m
}

// delta is what moved between two snapshots.
func delta(before, after map[string]int64) map[string]int64 {
	d := map[string]int64{}
	for k, v := range after {
		if v != before[k] {
			d[k] = v - before[k]
		}
	}
	return d
}

// TestCountersExact runs a scripted workload through client — router —
// server and checks the counters it moved against exact values: pings,
// datagrams to a closed port, and a TCP exchange whose first data segment
// the wire loses once.
func TestCountersExact(t *testing.T) {
	n := New(Options{Seed: 7, CheckedBuffers: true, Neigh: neigh.Config{RetransTime: 50 * time.Millisecond}})
	client, router, server := n.Host("client"), n.Router("router"), n.Host("server")
	t.Cleanup(func() { n.Close() })
	ca, cb := vwire.NewPair(vwire.Config{Name: "client", MAC: vwire.SeededMAC(7, 1)}, vwire.Config{Name: "router", MAC: vwire.SeededMAC(7, 2)})
	lossy := &dropFirstData{Driver: ca}
	if _, err := client.attach(lossy, "10.0.1.2/24"); err != nil {
		t.Fatal(err)
	}
	if _, err := router.attach(cb, "10.0.1.1/24"); err != nil {
		t.Fatal(err)
	}
	n.MustLink(router, "10.0.2.1/24", server, "10.0.2.2/24", LinkOptions{})
	if err := client.DefaultRoute("10.0.1.1"); err != nil {
		t.Fatal(err)
	}
	if err := server.DefaultRoute("10.0.2.1"); err != nil {
		t.Fatal(err)
	}
	l, err := server.Listen("tcp", ":80")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()

	// Warm up: resolve every neighbour, so that the workload moves no
	// ARP counter and loses nothing to a resolution queue.
	if sum, err := client.Ping(ctx(t), serverIP, ipv4.PingOptions{Count: 1, Timeout: 2 * time.Second}, nil); err != nil || sum.Received != 1 {
		t.Fatalf("warm-up ping: %+v, %v", sum, err)
	}
	hosts := []*Host{client, router, server}
	// A device counts a frame sent once its driver returns, which may be
	// after the peer has handled it: wait until every frame sent is
	// counted on both ends of each wire, less the one the lossy end lost.
	settle := func() {
		dev := func(h *Host, name string) *netdev.Device { d, _ := h.Device(name); return d }
		ce, rl, rr, se := dev(client, "eth0"), dev(router, "eth0"), dev(router, "eth1"), dev(server, "eth0")
		waitFor(t, "every frame counted at both ends", func() bool {
			return rl.Stats.RxPackets.Load() == ce.Stats.TxPackets.Load()-uint64(lossy.dropped.Load()) &&
				ce.Stats.RxPackets.Load() == rl.Stats.TxPackets.Load() &&
				se.Stats.RxPackets.Load() == rr.Stats.TxPackets.Load() &&
				rr.Stats.RxPackets.Load() == se.Stats.TxPackets.Load()
		})
	}
	settle()
	before := map[*Host]map[string]int64{}
	for _, h := range hosts {
		before[h] = mibs(h)
	}

	// 1. Pings.
	const pings = 4
	sum, err := client.Ping(ctx(t), serverIP, ipv4.PingOptions{Count: pings, Interval: 5 * time.Millisecond, Timeout: 2 * time.Second}, nil)
	if err != nil || sum.Received != pings {
		t.Fatalf("ping: %+v, %v", sum, err)
	}

	// 2. Datagrams to a closed port: each draws a port unreachable.
	const closed = 6
	pc, err := client.ListenPacket("udp", ":0")
	if err != nil {
		t.Fatal(err)
	}
	to := net.UDPAddrFromAddrPort(netip.MustParseAddrPort("10.0.2.2:9"))
	for range closed {
		if _, err := pc.WriteTo([]byte("nobody"), to); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "port unreachables at the client", func() bool {
		return client.Stats().ICMP.InDestUnreachs.Load() == uint64(before[client]["ICMP.InDestUnreachs"])+closed
	})
	pc.Close()

	// 3. A TCP exchange; the client's request is lost once.
	served := make(chan error, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			served <- err
			return
		}
		defer c.Close()
		buf := make([]byte, 5)
		if _, err := io.ReadFull(c, buf); err != nil {
			served <- err
			return
		}
		if _, err := c.Write([]byte("world")); err != nil {
			served <- err
			return
		}
		_, err = io.ReadAll(c) // until the client's FIN
		served <- err
	}()
	c, err := client.DialContext(ctx(t), "tcp", "10.0.2.2:80")
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	reply := make([]byte, 5)
	if _, err := io.ReadFull(c, reply); err != nil || string(reply) != "world" {
		t.Fatalf("reply %q, %v", reply, err)
	}
	var info tcp.SocketInfo
	for _, s := range client.TCP().Sockets() {
		if s.Remote.Port() == 80 {
			info = s
		}
	}
	if info.State != tcp.Established || info.TotalRetrans != 1 {
		t.Errorf("client's connection in the table: state %v, total retrans %d; want ESTABLISHED, 1", info.State, info.TotalRetrans)
	}
	c.Close()
	if err := <-served; err != nil {
		t.Fatalf("server: %v", err)
	}
	// Quiet: the server's side closed, the client's in TIME_WAIT.
	waitFor(t, "the connection to close", func() bool {
		for _, s := range server.TCP().Sockets() {
			if s.State != tcp.Listen {
				return false
			}
		}
		socks := client.TCP().Sockets()
		return len(socks) == 1 && socks[0].State == tcp.TimeWait
	})
	if got := lossy.dropped.Load(); got != 1 {
		t.Fatalf("the wire lost %d segments, want 1", got)
	}
	settle()

	d := map[*Host]map[string]int64{}
	for _, h := range hosts {
		d[h] = delta(before[h], mibs(h))
	}
	for _, c := range []struct {
		h    *Host
		name string
		want int64
	}{
		// Pings and port unreachables.
		{client, "ICMP.OutEchos", pings},
		{client, "ICMP.OutMsgs", pings},
		{client, "ICMP.InEchoReps", pings},
		{client, "ICMP.InDestUnreachs", closed},
		{client, "ICMP.InMsgs", pings + closed},
		{client, "ICMP.InErrors", 0},
		{server, "ICMP.InEchos", pings},
		{server, "ICMP.InMsgs", pings},
		{server, "ICMP.OutEchoReps", pings},
		{server, "ICMP.OutDestUnreachs", closed},
		{server, "ICMP.OutMsgs", pings + closed},
		{server, "ICMP.OutRateLimited", 0},
		{client, "UDP.OutDatagrams", closed},
		{server, "UDP.NoPorts", closed},
		{server, "UDP.InDatagrams", 0},
		{server, "UDP.InErrors", 0},
		// TCP: one connection each way, one retransmission.
		{client, "TCP.ActiveOpens", 1},
		{server, "TCP.PassiveOpens", 1},
		{client, "TCP.RetransSegs", 1},
		{server, "TCP.RetransSegs", 0},
		{client, "TCP.AttemptFails", 0},
		{server, "TCP.AttemptFails", 0},
		{client, "TCP.EstabResets", 0},
		{server, "TCP.EstabResets", 0},
		{client, "TCP.CurrEstab", 0},
		{server, "TCP.CurrEstab", 0},
		{client, "TCP.OutRsts", 0},
		{server, "TCP.OutRsts", 0},
		{client, "TCP.InErrs", 0},
		{server, "TCP.InErrs", 0},
		// The segment lost on the wire is the only difference.
		{server, "TCP.InSegs", d[client]["TCP.OutSegs"] - 1},
		{client, "TCP.InSegs", d[server]["TCP.OutSegs"]},
		{server, "IP.InReceives", d[client]["IP.OutRequests"] - 1},
		{client, "IP.InReceives", d[server]["IP.OutRequests"]},
		{server, "IP.InDelivers", d[server]["IP.InReceives"]},
		{client, "IP.InDelivers", d[client]["IP.InReceives"]},
		{router, "IP.ForwDatagrams", d[client]["IP.OutRequests"] - 1 + d[server]["IP.OutRequests"]},
		{router, "IP.InReceives", d[router]["IP.ForwDatagrams"]},
		{router, "IP.OutRequests", 0},
		{router, "eth0.RxPackets", d[client]["eth0.TxPackets"] - 1},
		{client, "eth0.RxPackets", d[router]["eth0.TxPackets"]},
		// Nothing else lost anywhere.
		{client, "IP.InDiscards", 0},
		{router, "IP.OutDiscards", 0},
		{server, "IP.InHdrErrors", 0},
		{router, "ARP.UnresolvedDiscards", 0},
	} {
		if got := d[c.h][c.name]; got != c.want {
			t.Errorf("%s %s moved by %d, want %d", c.h.Name, c.name, got, c.want)
		}
	}
	// The exact values above, by construction: pings and datagrams.
	if got := d[client]["IP.OutRequests"]; got < pings+closed+5 {
		t.Errorf("client IP.OutRequests moved by %d, want at least the %d pings and datagrams and 5 TCP segments", got, pings+closed)
	}
	if t.Failed() || testing.Verbose() {
		for _, h := range hosts {
			t.Logf("%s moved: %v", h.Name, d[h])
		}
	}
}

// waitFor polls cond until it holds, or fails the test after 10s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

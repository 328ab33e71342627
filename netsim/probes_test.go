package netsim

// Probe arguments checked on known exchanges: a TCP handshake, a
// retransmission forced by dropping one segment, a fragmented datagram,
// and packet walks.

import (
	"encoding/binary"
	"io"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"ustack/clock"
	"ustack/drivers/vwire"
	"ustack/netdev"
	"ustack/pkt"
	"ustack/trace"
	"ustack/wire"
)

// recorder keeps copies of the events of the probes it subscribed to.
type recorder struct {
	mu     sync.Mutex
	events []trace.Event
}

func record(t *testing.T, h *Host, pattern string, opts ...trace.Option) *recorder {
	r := &recorder{}
	cancel := h.Tracer().Subscribe(pattern, func(e *trace.Event) {
		c := *e
		c.Payload = slices.Clone(e.Payload)
		r.mu.Lock()
		r.events = append(r.events, c)
		r.mu.Unlock()
	}, opts...)
	t.Cleanup(cancel)
	return r
}

// of returns the events of probe name ("tcp:::send") so far.
func (r *recorder) of(name string) []trace.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []trace.Event
	for _, e := range r.events {
		if e.Probe.FullName() == name {
			out = append(out, e)
		}
	}
	return out
}

// byID returns the probes, in order, whose events carry packet id id.
func (r *recorder) byID(id uint64) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, e := range r.events {
		if e.PktID == id {
			out = append(out, e.Probe.FullName())
		}
	}
	return out
}

// states returns the tcp:::state-change transitions as "OLD->NEW".
func (r *recorder) states() []string {
	var out []string
	for _, e := range r.of("tcp:::state-change") {
		out = append(out, e.OldState+"->"+e.NewState)
	}
	return out
}

// dropDriver is a wire end that drops the frames drop selects.
type dropDriver struct {
	netdev.Driver
	drop    func(frame []byte) bool
	dropped atomic.Int32
}

func (d *dropDriver) Transmit(b *pkt.Buf) error {
	f := make([]byte, b.Len())
	b.CopyTo(f)
	if d.drop(f) {
		d.dropped.Add(1)
		b.Free()
		return nil
	}
	return d.Driver.Transmit(b)
}

// tcpSegment parses an Ethernet/IPv4/TCP frame: its seq and payload
// length, and whether it is TCP at all.
func tcpSegment(f []byte) (seq uint32, n int, ok bool) {
	if len(f) < wire.EthernetHeaderLen+wire.IPv4MinHeaderLen+wire.TCPMinHeaderLen || binary.BigEndian.Uint16(f[12:]) != uint16(wire.EtherTypeIPv4) {
		return 0, 0, false
	}
	ip := f[wire.EthernetHeaderLen:]
	if ip[9] != 6 {
		return 0, 0, false
	}
	hl := int(ip[0]&0xf) * 4
	total := int(binary.BigEndian.Uint16(ip[2:]))
	tcp := ip[hl:]
	thl := int(tcp[12]>>4) * 4
	return binary.BigEndian.Uint32(tcp[4:]), total - hl - thl, true
}

// pairWith joins a (10.0.0.1) and b (10.0.0.2) by a wire whose a end is
// wrapped by wrap (nil: none).
func pairWith(t *testing.T, wrap func(netdev.Driver) netdev.Driver) (*Host, *Host) {
	t.Helper()
	n := New(Options{Seed: 7, CheckedBuffers: true})
	t.Cleanup(func() { n.Close() })
	a, b := n.Host("a"), n.Host("b")
	ea, eb := vwire.NewPair(vwire.Config{Name: "a", MAC: vwire.SeededMAC(7, 1)}, vwire.Config{Name: "b", MAC: vwire.SeededMAC(7, 2)})
	var da netdev.Driver = ea
	if wrap != nil {
		da = wrap(ea)
	}
	if _, err := a.attach(da, "10.0.0.1/24"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.attach(eb, "10.0.0.2/24"); err != nil {
		t.Fatal(err)
	}
	return a, b
}

// waitFor polls cond for up to 10 seconds.
func waitProbe(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for i := 0; !cond(); i++ {
		if i == 1000 {
			t.Fatalf("no %s after 10s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestProbesTCPHandshake(t *testing.T) {
	a, b := pairWith(t, nil)
	const pat = "tcp:::*,socket:::*,ip:::send,ether:::send,netdev:::transmit"
	ra, rb := record(t, a, pat), record(t, b, pat)
	ln, err := b.Listen("tcp", "10.0.0.2:80")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			accepted <- c
		}
	}()
	c, err := a.DialContext(t.Context(), "tcp", "10.0.0.2:80")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sc := <-accepted
	defer sc.Close()
	local := netip.MustParseAddrPort(c.LocalAddr().String())
	waitProbe(t, "ESTABLISHED on b", func() bool { return slices.Contains(rb.states(), "SYN_RCVD->ESTABLISHED") })

	if got, want := ra.states(), []string{"CLOSED->SYN_SENT", "SYN_SENT->ESTABLISHED"}; !slices.Equal(got, want) {
		t.Errorf("a: state changes %v, want %v", got, want)
	}
	if got, want := rb.states(), []string{"CLOSED->LISTEN", "LISTEN->SYN_RCVD", "SYN_RCVD->ESTABLISHED"}; !slices.Equal(got, want) {
		t.Errorf("b: state changes %v, want %v", got, want)
	}

	// The three segments, as each side sent and received them.
	aSent, bSent := ra.of("tcp:::send"), rb.of("tcp:::send")
	aRcvd, bRcvd := ra.of("tcp:::receive"), rb.of("tcp:::receive")
	if len(aSent) < 2 || len(bSent) < 1 || len(aRcvd) < 1 || len(bRcvd) < 2 {
		t.Fatalf("sent a %d b %d, received a %d b %d; want at least 2, 1, 1, 2", len(aSent), len(bSent), len(aRcvd), len(bRcvd))
	}
	syn, synack, ack := aSent[0], bSent[0], aSent[1]
	iss := syn.Seq
	checkSeg := func(what string, e trace.Event, src, dst netip.AddrPort, seq, ackn uint32, flags wire.TCPFlags) {
		t.Helper()
		if !e.Segment || e.Seq != seq || e.Ack != ackn || e.Flags != flags || e.Len != 0 || e.Proto != 6 {
			t.Errorf("%s: segment %v seq %d ack %d flags %v len %d proto %d; want seq %d ack %d flags %v len 0 proto 6",
				what, e.Segment, e.Seq, e.Ack, e.Flags, e.Len, e.Proto, seq, ackn, flags)
		}
		if got := netip.AddrPortFrom(e.Src, e.SrcPort); got != src {
			t.Errorf("%s: from %v, want %v", what, got, src)
		}
		if got := netip.AddrPortFrom(e.Dst, e.DstPort); got != dst {
			t.Errorf("%s: to %v, want %v", what, got, dst)
		}
		if e.PktID == 0 {
			t.Errorf("%s: no packet id", what)
		}
		if e.Window == 0 || e.Window>>e.WScale<<e.WScale != e.Window {
			t.Errorf("%s: window %d with scale %d: not a scaled 16-bit field", what, e.Window, e.WScale)
		}
		if want := "seq " + itoa(seq) + " ack " + itoa(ackn) + " flags " + flags.String(); !strings.Contains(e.String(), want) {
			t.Errorf("%s: %q, want it to say %q", what, e.String(), want)
		}
	}
	server := netip.MustParseAddrPort("10.0.0.2:80")
	checkSeg("a's SYN", syn, local, server, iss, 0, wire.TCPFlagSYN)
	checkSeg("b's SYN", bRcvd[0], local, server, iss, 0, wire.TCPFlagSYN)
	checkSeg("b's SYN-ACK", synack, server, local, synack.Seq, iss+1, wire.TCPFlagSYN|wire.TCPFlagACK)
	checkSeg("a's SYN-ACK", aRcvd[0], server, local, synack.Seq, iss+1, wire.TCPFlagSYN|wire.TCPFlagACK)
	checkSeg("a's ACK", ack, local, server, iss+1, synack.Seq+1, wire.TCPFlagACK)
	checkSeg("b's ACK", bRcvd[1], local, server, iss+1, synack.Seq+1, wire.TCPFlagACK)
	if syn.WScale != 0 || synack.WScale != 0 {
		t.Errorf("SYNs with window scale %d and %d, want 0 (a SYN's window is not scaled)", syn.WScale, synack.WScale)
	}
	if ack.WScale == 0 || bRcvd[1].WScale != ack.WScale || bRcvd[1].Window != ack.Window {
		t.Errorf("the ACK: sent with window %d scale %d, received as %d scale %d; want the same, scaled",
			ack.Window, ack.WScale, bRcvd[1].Window, bRcvd[1].WScale)
	}
	// One packet, followed down a's stack by its id.
	if got, want := ra.byID(syn.PktID), []string{"tcp:::send", "ip:::send", "ether:::send", "netdev:::transmit"}; !slices.Equal(got, want) {
		t.Errorf("a's SYN (packet %d) went through %v, want %v", syn.PktID, got, want)
	}

	for _, x := range []struct {
		r     *recorder
		probe string
		local netip.AddrPort
	}{
		{ra, "tcp:::connect-request", local},
		{ra, "tcp:::connect-established", local},
		{ra, "socket:::connect", local},
		{rb, "tcp:::accept-established", server},
		{rb, "socket:::accept", server},
	} {
		evs := x.r.of(x.probe)
		if len(evs) != 1 {
			t.Errorf("%s fired %d times, want once", x.probe, len(evs))
			continue
		}
		e := evs[0]
		peer := local
		if x.local == local {
			peer = server
		}
		if netip.AddrPortFrom(e.Src, e.SrcPort) != x.local || netip.AddrPortFrom(e.Dst, e.DstPort) != peer || e.Reason != "" {
			t.Errorf("%s: %v:%d -> %v:%d reason %q, want %v -> %v", x.probe, e.Src, e.SrcPort, e.Dst, e.DstPort, e.Reason, x.local, peer)
		}
	}
	c.Close()
	waitProbe(t, "socket:::close", func() bool { return len(ra.of("socket:::close")) == 1 })
}

func itoa(v uint32) string { return strconv.FormatUint(uint64(v), 10) }

// Dropping a's first data segment forces a retransmission of it: the
// RTO's, since nothing follows it to draw duplicate ACKs.
func TestProbesRetransmit(t *testing.T) {
	var dropSeq atomic.Uint32
	var dd *dropDriver
	a, b := pairWith(t, func(d netdev.Driver) netdev.Driver {
		dd = &dropDriver{Driver: d}
		dd.drop = func(f []byte) bool {
			seq, n, ok := tcpSegment(f)
			if ok && n > 0 && dd.dropped.Load() == 0 {
				dropSeq.Store(seq)
				return true
			}
			return false
		}
		return dd
	})
	ra := record(t, a, "tcp:::send,tcp:::retransmit,tcp:::cwnd", trace.WithPayload())
	ln, err := b.Listen("tcp", ":7")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan []byte, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		buf := make([]byte, 100)
		n, _ := io.ReadFull(c, buf)
		got <- buf[:n]
	}()
	c, err := a.DialContext(t.Context(), "tcp", "10.0.0.2:7")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	msg := []byte(strings.Repeat("retransmit me! ", 7)[:100])
	if _, err := c.Write(msg); err != nil {
		t.Fatal(err)
	}
	select {
	case data := <-got:
		if string(data) != string(msg) {
			t.Fatalf("b read %q, want %q", data, msg)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the data never arrived")
	}
	if dd.dropped.Load() != 1 {
		t.Fatalf("dropped %d segments, want 1", dd.dropped.Load())
	}
	rtx := ra.of("tcp:::retransmit")
	if len(rtx) == 0 {
		t.Fatal("no tcp:::retransmit")
	}
	r := rtx[0]
	if !r.Segment || r.Seq != dropSeq.Load() || r.Len != len(msg) || r.Flags&wire.TCPFlagACK == 0 || r.PktID == 0 {
		t.Errorf("tcp:::retransmit: seq %d len %d flags %v id %d; want the dropped segment's seq %d, len %d, ACK set, an id",
			r.Seq, r.Len, r.Flags, r.PktID, dropSeq.Load(), len(msg))
	}
	if string(r.Payload) != string(msg) {
		t.Errorf("tcp:::retransmit payload %q, want %q", r.Payload, msg)
	}
	// The retransmission is also a tcp:::send, of the same packet.
	var sends int
	for _, s := range ra.of("tcp:::send") {
		if s.Seq == r.Seq && s.Len == len(msg) {
			sends++
			if s.PktID == r.PktID && string(s.Payload) != string(msg) {
				t.Errorf("tcp:::send of the retransmission: payload %q", s.Payload)
			}
		}
	}
	if sends != 2 {
		t.Errorf("tcp:::send of seq %d: %d times, want 2 (the original and the retransmission)", r.Seq, sends)
	}
	var rto *trace.Event
	for _, e := range ra.of("tcp:::cwnd") {
		if e.Reason == "rto" {
			rto = &e
			break
		}
	}
	if rto == nil {
		t.Fatal("no tcp:::cwnd with reason rto")
	}
	if rto.CWnd <= 0 || rto.Ssthresh <= 0 || rto.SRTT <= 0 || rto.RTTVar <= 0 {
		t.Errorf("tcp:::cwnd at the RTO: cwnd %d ssthresh %d srtt %v rttvar %v; want all positive", rto.CWnd, rto.Ssthresh, rto.SRTT, rto.RTTVar)
	}
}

// A 4,000-byte datagram over MTU 1500 leaves a in three fragments and
// arrives at b reassembled.
func TestProbesFragmentedDatagram(t *testing.T) {
	a, b := pairWith(t, nil)
	ra, rb := record(t, a, "ip:::fragment,ip:::send"), record(t, b, "ip:::reassembled,udp:::receive")
	pc, err := b.ListenPacket("udp", ":9")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	c, err := a.DialContext(t.Context(), "udp", "10.0.0.2:9")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write(make([]byte, 4000)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 8000)
	pc.SetReadDeadline(time.Now().Add(10 * time.Second))
	if n, _, err := pc.ReadFrom(buf); err != nil || n != 4000 {
		t.Fatalf("ReadFrom = %d, %v; want 4000 bytes", n, err)
	}
	frags := ra.of("ip:::fragment")
	type frag struct {
		off, len int
		mf       bool
	}
	var got []frag
	for _, f := range frags {
		got = append(got, frag{f.FragOffset, f.Len, f.MoreFrags})
		if f.IPID != frags[0].IPID || f.Proto != 17 || f.PktID != frags[0].PktID || f.PktID == 0 {
			t.Errorf("fragment at %d: ip id %d proto %d packet %d; want %d, 17, %d", f.FragOffset, f.IPID, f.Proto, f.PktID, frags[0].IPID, frags[0].PktID)
		}
	}
	// 4,008 bytes of UDP: 1,480 + 1,480 + 1,048, each behind 20 of IP.
	if want := []frag{{0, 1500, true}, {1480, 1500, true}, {2960, 1068, false}}; !slices.Equal(got, want) {
		t.Errorf("fragments %v, want %v", got, want)
	}
	sends := ra.of("ip:::send")
	if len(sends) != 1 || sends[0].IPID != frags[0].IPID || sends[0].Len != 4028 || sends[0].TTL != 64 {
		t.Errorf("ip:::send: %d events (first: id %d len %d ttl %d), want one of id %d len 4028 ttl 64", len(sends), sends[0].IPID, sends[0].Len, sends[0].TTL, frags[0].IPID)
	}
	re := rb.of("ip:::reassembled")
	if len(re) != 1 {
		t.Fatalf("ip:::reassembled fired %d times, want once", len(re))
	}
	r := re[0]
	if r.IPID != frags[0].IPID || r.Frags != 3 || r.Len != 4028 || r.Proto != 17 || r.PktID == 0 ||
		r.Src != netip.MustParseAddr("10.0.0.1") || r.Dst != netip.MustParseAddr("10.0.0.2") {
		t.Errorf("ip:::reassembled: id %d frags %d len %d proto %d packet %d %v -> %v; want id %d, 3 fragments, 4028 bytes of UDP from 10.0.0.1 to 10.0.0.2",
			r.IPID, r.Frags, r.Len, r.Proto, r.PktID, r.Src, r.Dst, frags[0].IPID)
	}
	if u := rb.of("udp:::receive"); len(u) != 1 || u[0].PktID != r.PktID || u[0].Len != 4000 {
		t.Errorf("udp:::receive: %v, want one 4000-byte datagram, packet %d", u, r.PktID)
	}
}

// Packet walks on b: a UDP datagram up to its reader, a TCP segment up
// to the socket queue, stage by stage.
func TestPacketWalk(t *testing.T) {
	a, b := pairWith(t, nil)
	var mu sync.Mutex
	var walks []*trace.Walk
	w := trace.NewWalker(time.Hour, func(wk *trace.Walk) {
		mu.Lock()
		walks = append(walks, wk)
		mu.Unlock()
	})
	cancel := b.Tracer().Subscribe("*:::*", w.Add)
	defer cancel()
	pc, err := b.ListenPacket("udp", ":9")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	c, err := a.DialContext(t.Context(), "udp", "10.0.0.2:9")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 100)
	for range 2 { // the first resolves ARP
		c.Write([]byte("walk"))
		pc.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, _, err := pc.ReadFrom(buf); err != nil {
			t.Fatal(err)
		}
	}
	find := func(last string) *trace.Walk {
		mu.Lock()
		defer mu.Unlock()
		for _, wk := range walks {
			if n := len(wk.Steps); n > 0 && wk.Steps[n-1].Probe.FullName() == last {
				return wk
			}
		}
		return nil
	}
	names := func(wk *trace.Walk) []string {
		var out []string
		for _, e := range wk.Steps {
			out = append(out, e.Probe.FullName())
		}
		return out
	}
	// The dequeue ends the walk at once.
	udp := find("socket:::dequeue")
	if udp == nil {
		t.Fatalf("no walk ending in socket:::dequeue among %d", len(walks))
	}
	want := []string{"netdev:::receive", "ether:::receive", "ip:::receive", "ip:::route", "udp:::receive", "socket:::enqueue", "socket:::dequeue"}
	if got := names(udp); !slices.Equal(got, want) {
		t.Errorf("UDP walk %v, want %v\n%v", got, want, udp)
	}
	for i := range udp.Steps {
		if udp.Spent(i) < 0 {
			t.Errorf("stage %d: spent %v", i, udp.Spent(i))
		}
	}
	if udp.Duration() <= 0 || !strings.Contains(udp.String(), "-> 10.0.0.2:9 len 4") {
		t.Errorf("walk rendered:\n%v", udp)
	}

	// A TCP data segment ends in the socket queue; Flush ends its walk.
	ln, err := b.Listen("tcp", ":80")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	read := make(chan struct{})
	go func() {
		defer close(read)
		sc, err := ln.Accept()
		if err != nil {
			return
		}
		defer sc.Close()
		io.ReadFull(sc, make([]byte, 5))
	}()
	tc, err := a.DialContext(t.Context(), "tcp", "10.0.0.2:80")
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	tc.Write([]byte("hello"))
	<-read
	w.Flush()
	tcpw := find("socket:::enqueue")
	if tcpw == nil {
		t.Fatal("no walk ending in socket:::enqueue")
	}
	want = []string{"netdev:::receive", "ether:::receive", "ip:::receive", "ip:::route", "tcp:::receive", "socket:::enqueue"}
	if got := names(tcpw); !slices.Equal(got, want) {
		t.Errorf("TCP walk %v, want %v\n%v", got, want, tcpw)
	}
	if e := tcpw.Steps[4]; !e.Segment || e.Len != 5 || e.Flags&wire.TCPFlagPSH == 0 {
		t.Errorf("the walk's tcp:::receive: %v", &e)
	}
}

// A drop names the packet it drops: udp:::drop of a datagram for a port
// nobody listens on, with its addresses and ports, so that a filter on
// them finds it (the probe fires before UDP has a socket to take them
// from).
func TestProbesDropAddresses(t *testing.T) {
	a, b := pairWith(t, nil)
	rb := record(t, b, "udp:::drop")
	c, err := a.DialContext(t.Context(), "udp", "10.0.0.2:4999")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("nobody home")); err != nil {
		t.Fatal(err)
	}
	local := netip.MustParseAddrPort(c.LocalAddr().String())
	waitProbe(t, "udp:::drop on b", func() bool { return len(rb.of("udp:::drop")) > 0 })
	d := rb.of("udp:::drop")[0]
	if d.Src != local.Addr() || d.SrcPort != local.Port() || d.Dst != netip.MustParseAddr("10.0.0.2") || d.DstPort != 4999 || d.Proto != 17 || d.PktID == 0 || d.Reason == "" {
		t.Errorf("udp:::drop %v:%d -> %v:%d proto %d packet %d reason %q; want %v -> 10.0.0.2:4999, proto 17, a packet id and a reason",
			d.Src, d.SrcPort, d.Dst, d.DstPort, d.Proto, d.PktID, d.Reason, local)
	}
	f, err := trace.ParseFilter("dport == 4999 && src == " + local.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	if !f.Match(&d) {
		t.Errorf("filter %q does not match the drop %v", "dport == 4999", d.String())
	}
}

// A packet that waits for ARP is one walk, the wait shown as the time
// spent in arp:::queue: here the neighbour never answers, so the walk
// runs from the send through the queue to ip:::drop after ARP gives up,
// with the walker's short idle time ticking all along (the queue holds
// the walk open). The ICMP error the drop causes is a packet of its own.
func TestPacketWalkARPWait(t *testing.T) {
	clk := clock.NewManual(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	n := New(Options{Seed: 7, Clock: clk})
	t.Cleanup(func() { n.Close() })
	a, b := n.Host("a"), n.Host("b")
	n.MustLink(a, "10.0.0.1/24", b, "10.0.0.2/24", LinkOptions{})
	var mu sync.Mutex
	var walks []*trace.Walk
	w := trace.NewWalker(100*time.Millisecond, func(wk *trace.Walk) {
		mu.Lock()
		walks = append(walks, wk)
		mu.Unlock()
	})
	defer a.Tracer().Subscribe("*:::*", w.Add)()
	c, err := a.DialContext(t.Context(), "udp", "10.0.0.99:9")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("anyone?")); err != nil {
		t.Fatal(err)
	}
	var id uint64
	waitProbe(t, "the datagram queued for ARP", func() bool { return a.Stats().ARP.OutRequests.Load() > 0 })
	for range 60 { // 6 s in steps of the walker's tick
		clk.Advance(100 * time.Millisecond)
		w.Expire(clk.Now())
	}
	w.Flush()
	mu.Lock()
	defer mu.Unlock()
	var walk *trace.Walk
	for _, wk := range walks {
		if slices.ContainsFunc(wk.Steps, func(e trace.Event) bool { return e.Probe.FullName() == "arp:::queue" }) {
			if walk != nil {
				t.Fatalf("two walks pass arp:::queue:\n%v\n%v", walk, wk)
			}
			walk, id = wk, wk.PktID
		}
	}
	if walk == nil {
		t.Fatalf("no walk through arp:::queue among %d", len(walks))
	}
	for _, wk := range walks {
		if wk != walk && wk.PktID == id {
			t.Errorf("packet %d split over two walks:\n%v\n%v", id, walk, wk)
		}
	}
	var names []string
	queued := -1
	for i, e := range walk.Steps {
		names = append(names, e.Probe.FullName())
		if e.Probe.FullName() == "arp:::queue" {
			queued = i
		}
	}
	lastStep := walk.Steps[len(walk.Steps)-1]
	if lastStep.Probe.FullName() != "ip:::drop" || lastStep.Reason != "neighbour unreachable" || slices.Contains(names, "icmp:::send") {
		t.Errorf("walk %v: want it to end in ip:::drop (neighbour unreachable), with no ICMP error in it\n%v", names, walk)
	}
	if d := walk.Spent(queued); d < 2*time.Second {
		t.Errorf("time spent in arp:::queue %v, want the seconds ARP tried\n%v", d, walk)
	}
	if q := walk.Steps[queued]; q.Dst != netip.MustParseAddr("10.0.0.99") || q.Len == 0 {
		t.Errorf("arp:::queue next hop %v len %d, want 10.0.0.99 and the datagram's length", q.Dst, q.Len)
	}
}

package tcp

import (
	"net/netip"
	"slices"
	"testing"
	"time"

	"ustack/ipv4"
	"ustack/seqnum"
	"ustack/wire"
)

// TestOptionNegotiation: our SYN offers MSS, window scale, SACK and
// timestamps; what the SYN-ACK accepts is used, and the window field of
// later segments is scaled.
func TestOptionNegotiation(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.NoTimestamps, c.NoSACK, c.NoWindowScale = false, false, false })
	ep := h.p.NewEndpoint()
	ep.Bind(netip.AddrPortFrom(hLocal, 80))
	if err := ep.startConnect(netip.AddrPortFrom(hPeer, 5000)); err != nil {
		t.Fatal(err)
	}
	syn := h.expect(fSYN)
	o := syn.opts
	if !o.HasMSS || o.MSS != 1460 || !o.HasWindowScale || !o.SACKPermitted || !o.HasTimestamps {
		t.Fatalf("SYN options %+v: want MSS 1460, WS, SACK-permitted, TS", o)
	}
	peer := wire.TCPOptions{MSS: 1200, HasMSS: true, WindowScale: 2, HasWindowScale: true, SACKPermitted: true,
		HasTimestamps: true, TSVal: 5000, TSEcr: o.TSVal}
	h.inject(seg{seq: peerISS, ack: syn.seq + 1, flags: fSYN | fACK, wnd: 1000, opts: &peer})
	a := h.expect(fACK)
	if !a.opts.HasTimestamps || a.opts.TSEcr != 5000 {
		t.Fatalf("ACK timestamps %+v, want TSecr 5000", a.opts)
	}
	if want := uint16(ep.rcvWindowLocked() >> ep.rcv.Shift); a.wnd != want || ep.rcv.Shift == 0 {
		t.Errorf("window field %d (shift %d), want %d", a.wnd, ep.rcv.Shift, want)
	}
	if ep.mss != 1200 || ep.snd.Shift != 2 || !ep.sackOK || !ep.tsOK {
		t.Fatalf("negotiated mss %d shift %d sack %v ts %v", ep.mss, ep.snd.Shift, ep.sackOK, ep.tsOK)
	}
	c := &conn{ep: ep, iss: syn.seq, ourNxt: syn.seq + 1, peerNxt: peerISS + 1}
	ts := func(v uint32) *wire.TCPOptions { return &wire.TCPOptions{HasTimestamps: true, TSVal: v, TSEcr: 1} }
	// The peer's window of 1000 is scaled by 4 from now on.
	h.inject(seg{seq: c.peerNxt, ack: c.ourNxt, flags: fACK, wnd: 1000, opts: ts(5001)})
	if ep.snd.WND != 4000 {
		t.Errorf("SND.WND = %d, want 4000", ep.snd.WND)
	}
	// PAWS: an older timestamp is dropped with an ACK.
	h.inject(seg{seq: c.peerNxt, ack: c.ourNxt, flags: fACK, data: []byte("old"), opts: ts(4000)})
	h.expect(fACK)
	if h.st.PAWSDrops.Load() != 1 || ep.rcvq.bytes != 0 {
		t.Fatalf("PAWSDrops %d queued %d, want 1 0", h.st.PAWSDrops.Load(), ep.rcvq.bytes)
	}
	// Out-of-order data: the ACK carries a SACK block for it.
	h.inject(seg{seq: c.peerNxt + 10, ack: c.ourNxt, flags: fACK, data: []byte("later"), opts: ts(5002)})
	a = h.expect(fACK)
	if b := a.opts.SACK(); len(b) != 1 || b[0].Left != uint32(c.peerNxt+10) || b[0].Right != uint32(c.peerNxt+15) {
		t.Fatalf("SACK blocks %v, want [%d,%d)", b, c.peerNxt+10, c.peerNxt+15)
	}
}

// TestNoOptions: a peer without options gets MSS 536 and no scaling.
func TestNoOptions(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.NoTimestamps, c.NoSACK, c.NoWindowScale = false, false, false })
	l := listenOn(t, h, 80)
	h.inject(seg{seq: peerISS, flags: fSYN})
	sa := h.expect(fSYN | fACK)
	if sa.opts.HasWindowScale || sa.opts.SACKPermitted || sa.opts.HasTimestamps || !sa.opts.HasMSS {
		t.Fatalf("SYN-ACK options %+v: only MSS may be echoed to a peer without options", sa.opts)
	}
	h.inject(seg{seq: peerISS + 1, ack: sa.seq + 1, flags: fACK})
	c, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	if c.mss != defaultMSS || c.rcv.Shift != 0 || c.snd.Shift != 0 {
		t.Fatalf("mss %d shifts %d/%d", c.mss, c.rcv.Shift, c.snd.Shift)
	}
}

// TestMalformedOptions: a bad option length drops the segment (no spin).
func TestMalformedOptions(t *testing.T) {
	h := newHarness(t, nil)
	listenOn(t, h, 80)
	b := h.pool.Get(128, 24)
	buf := b.View(0)
	hdr := wire.TCPHeader{SrcPort: 5000, DstPort: 80, Seq: 1, Flags: fSYN, Window: 100, Options: []byte{2, 0, 0, 0}}
	hdr.Encode(buf)
	v, _ := wire.ParseTCPView(buf)
	v.SetChecksum(v.CalculateChecksum(wire.PseudoHeaderSum(hPeer, hLocal, ProtoNumber, 24)))
	h.p.Deliver(b, ipv4.RxInfo{Src: hPeer, Dst: hLocal})
	h.expectNone()
	if h.st.InErrs.Load() != 1 {
		t.Errorf("InErrs = %d", h.st.InErrs.Load())
	}
}

// TestBacklog: with cookies off, SYNs beyond the backlog are dropped.
func TestBacklog(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.NoSyncookies = true })
	l := h.p.NewEndpoint()
	l.Bind(netip.AddrPortFrom(netip.IPv4Unspecified(), 80))
	l.Listen(2)
	for port := uint16(6000); port < 6003; port++ {
		h.inject(seg{sport: port, seq: peerISS, flags: fSYN})
	}
	if out := h.sent(); len(out) != 2 {
		t.Fatalf("sent %v, want two SYN-ACKs", describe(out))
	}
	if h.st.ListenDrops.Load() != 1 {
		t.Errorf("ListenDrops = %d", h.st.ListenDrops.Load())
	}
}

// TestSyncookies: beyond the backlog a SYN gets a cookie; its ACK makes
// a connection, a forged ACK a RST.
func TestSyncookies(t *testing.T) {
	h := newHarness(t, nil)
	l := h.p.NewEndpoint()
	l.Bind(netip.AddrPortFrom(netip.IPv4Unspecified(), 80))
	l.Listen(2)
	for port := uint16(6000); port < 6002; port++ {
		h.inject(seg{sport: port, seq: peerISS, flags: fSYN})
	}
	h.sent()
	h.inject(seg{sport: 6002, seq: peerISS, flags: fSYN, opts: &wire.TCPOptions{MSS: 1400, HasMSS: true}})
	sa := h.expect(fSYN | fACK)
	if sa.opts.MSS != 1460 || sa.opts.HasWindowScale || h.st.SyncookiesSent.Load() != 1 {
		t.Fatalf("cookie SYN-ACK options %+v, SyncookiesSent %d", sa.opts, h.st.SyncookiesSent.Load())
	}
	// A forged ACK: RST.
	h.inject(seg{sport: 6002, seq: peerISS + 1, ack: sa.seq + 1001, flags: fACK})
	h.expect(fRST)
	if h.st.SyncookiesFailed.Load() != 1 {
		t.Errorf("SyncookiesFailed = %d", h.st.SyncookiesFailed.Load())
	}
	// The real one, with data: a connection, with the data queued.
	h.inject(seg{sport: 6002, seq: peerISS + 1, ack: sa.seq + 1, flags: fACK | fPSH, data: []byte("GET")})
	c, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	if c.State() != Established || c.mss != 1300 || h.st.SyncookiesRecv.Load() != 1 {
		t.Fatalf("state %v mss %d SyncookiesRecv %d", c.State(), c.mss, h.st.SyncookiesRecv.Load())
	}
	buf := make([]byte, 8)
	if n, _ := c.Read(buf); string(buf[:n]) != "GET" {
		t.Fatalf("Read %q", buf[:n])
	}
	h.sent() // the ACK of "GET"
	// Two periods later the cookie has expired.
	h.inject(seg{sport: 6003, seq: peerISS, flags: fSYN})
	sa = h.expect(fSYN | fACK)
	h.clk.Advance(2 * cookiePeriod)
	h.sent() // SYN-ACK retransmissions of the queued children
	failed := h.st.SyncookiesFailed.Load()
	h.inject(seg{sport: 6003, seq: peerISS + 1, ack: sa.seq + 1, flags: fACK})
	h.expect(fRST)
	if h.st.SyncookiesFailed.Load() != failed+1 {
		t.Errorf("expired cookie not counted as failed")
	}
}

// TestFragNeeded: ICMP fragmentation needed lowers the MSS and resends.
func TestFragNeeded(t *testing.T) {
	h := newHarness(t, nil)
	c := h.established()
	c.ep.SetNoDelay(true)
	c.ep.Write(make([]byte, 1460))
	d := h.expect(fACK | fPSH)
	q := make([]byte, 8)
	q[0], q[1], q[2], q[3] = 0, 80, 0x13, 0x88
	q[4], q[5], q[6], q[7] = byte(d.seq>>24), byte(d.seq>>16), byte(d.seq>>8), byte(d.seq)
	h.p.DeliverError(&ipv4.ICMPError{Type: wire.ICMPv4DestUnreach, Code: 4, Src: hLocal, Dst: hPeer, Proto: ProtoNumber, Transport: q, MTU: 1000})
	out := h.sent()
	if len(out) == 0 || len(out[0].data) != 960 || out[0].seq != d.seq {
		t.Fatalf("after frag needed sent %v, want a 960-byte resend", describe(out))
	}
	if h.st.PMTUUpdates.Load() != 1 {
		t.Errorf("PMTUUpdates = %d", h.st.PMTUUpdates.Load())
	}
}

// TestICMPUnreachableOnSynSent fails the connect with the ICMP's errno.
func TestICMPUnreachableOnSynSent(t *testing.T) {
	h := newHarness(t, nil)
	c := h.active()
	q := []byte{0, 80, 0x13, 0x88, byte(c.iss >> 24), byte(c.iss >> 16), byte(c.iss >> 8), byte(c.iss)}
	h.p.DeliverError(&ipv4.ICMPError{Type: wire.ICMPv4DestUnreach, Code: 1, Src: hLocal, Dst: hPeer, Proto: ProtoNumber, Transport: q})
	h.state(c.ep, Closed)
	if c.ep.err == nil {
		t.Fatal("no error after host unreachable")
	}
}

func TestKeepaliveTimeout(t *testing.T) {
	h := newHarness(t, nil)
	c := h.established()
	c.ep.SetKeepAliveCount(2)
	c.ep.SetKeepAlivePeriod(10 * time.Second)
	c.ep.SetKeepAlive(true)
	h.clk.Advance(10 * time.Second)
	if p := h.expect(fACK); p.seq != c.ourNxt-1 {
		t.Fatalf("keepalive probe seq %d, want %d", p.seq, c.ourNxt-1)
	}
	h.clk.Advance(10 * time.Second)
	h.expect(fACK)
	h.clk.Advance(10 * time.Second)
	h.state(c.ep, Closed)
	if h.st.KeepAliveTimeouts.Load() != 1 {
		t.Errorf("KeepAliveTimeouts = %d", h.st.KeepAliveTimeouts.Load())
	}
}

// TestDSACKSent: data received twice is reported once in a D-SACK block
// ahead of the SACK blocks (RFC 2883 §4): a whole old duplicate, the
// old part of a partial one, and an out-of-order segment queued already.
func TestDSACKSent(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.NoTimestamps, c.NoSACK = true, false })
	c := h.active()
	h.inject(seg{seq: peerISS, ack: c.ourNxt, flags: fSYN | fACK, opts: &wire.TCPOptions{MSS: 1460, HasMSS: true, SACKPermitted: true}})
	h.expect(fACK)
	c.peerNxt = peerISS + 1
	if !c.ep.sackOK {
		t.Fatal("SACK not negotiated")
	}
	blocks := func(a capSeg) []wire.SACKBlock { return a.opts.SACK() }
	b := func(from, to seqnum.Value) wire.SACKBlock {
		return wire.SACKBlock{Left: uint32(from), Right: uint32(to)}
	}
	data := []byte("0123456789")
	h.inject(seg{seq: c.peerNxt, ack: c.ourNxt, flags: fACK, data: data})
	h.sent() // the quick ACK
	base := c.peerNxt
	// The same ten bytes again: a D-SACK for all of them.
	h.inject(seg{seq: base, ack: c.ourNxt, flags: fACK, data: data})
	if got := blocks(h.expect(fACK)); !slices.Equal(got, []wire.SACKBlock{b(base, base+10)}) {
		t.Fatalf("old duplicate: SACK blocks %v, want D-SACK [%d,%d)", got, base, base+10)
	}
	// Out of order at +20, then its duplicate: D-SACK first, then the
	// block holding it (RFC 2883 §4.2 example).
	h.inject(seg{seq: base + 20, ack: c.ourNxt, flags: fACK, data: data[:5]})
	if got := blocks(h.expect(fACK)); !slices.Equal(got, []wire.SACKBlock{b(base+20, base+25)}) {
		t.Fatalf("out of order: SACK blocks %v", got)
	}
	h.inject(seg{seq: base + 20, ack: c.ourNxt, flags: fACK, data: data[:5]})
	if got := blocks(h.expect(fACK)); !slices.Equal(got, []wire.SACKBlock{b(base+20, base+25), b(base+20, base+25)}) {
		t.Fatalf("out-of-order duplicate: SACK blocks %v, want D-SACK then SACK", got)
	}
	// Partly old: [5,15) when 10 arrived: the D-SACK covers [5,10), and
	// it is reported once only.
	h.inject(seg{seq: base + 5, ack: c.ourNxt, flags: fACK, data: data})
	got := blocks(h.expect(fACK))
	if len(got) == 0 || got[0] != b(base+5, base+10) {
		t.Fatalf("partial duplicate: SACK blocks %v, want D-SACK [%d,%d) first", got, base+5, base+10)
	}
	h.inject(seg{seq: base + 15, ack: c.ourNxt, flags: fACK, data: data[:5]})
	for _, a := range h.sent() {
		for _, x := range blocks(a) {
			if x == b(base+5, base+10) {
				t.Fatalf("D-SACK repeated in a later ACK: %v", blocks(a))
			}
		}
	}
	if h.st.DSACKOldSent.Load() != 2 || h.st.DSACKOfoSent.Load() != 1 {
		t.Errorf("DSACKOldSent %d DSACKOfoSent %d, want 2 1", h.st.DSACKOldSent.Load(), h.st.DSACKOfoSent.Load())
	}
}

// TestDSACKFitsTheSegment: a full-sized data segment that carries a
// pending D-SACK block shrinks its payload so header and options stay
// within the MSS the peer allowed.
func TestDSACKFitsTheSegment(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.NoTimestamps, c.NoSACK = true, false })
	c := h.active()
	h.inject(seg{seq: peerISS, ack: c.ourNxt, flags: fSYN | fACK, opts: &wire.TCPOptions{MSS: 1000, HasMSS: true, SACKPermitted: true}})
	h.expect(fACK)
	c.peerNxt = peerISS + 1
	c.ep.SetNoDelay(true)
	data := []byte("0123456789")
	h.inject(seg{seq: c.peerNxt, ack: c.ourNxt, flags: fACK, data: data})
	h.sent()
	c.ep.mu.Lock()
	c.ep.reportDuplicateLocked(c.peerNxt, c.peerNxt+10, false) // as if the data came twice
	c.ep.mu.Unlock()
	c.ep.Write(make([]byte, 3000))
	out := h.sent()
	if len(out) == 0 || len(out[0].opts.SACK()) != 1 {
		t.Fatalf("first segment %v does not carry the D-SACK", describe(out))
	}
	if optLen, n := out[0].opts.Len(), len(out[0].data); optLen+n > 1000 {
		t.Errorf("segment with %d bytes of options carries %d bytes: %d over the MSS of 1000", optLen, n, optLen+n-1000)
	}
}

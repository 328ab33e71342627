package tcp

import (
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"time"

	"ustack/clock"
	"ustack/ipv4"
	"ustack/pkt"
	"ustack/seqnum"
	"ustack/stats"
	"ustack/wire"
)

// fakeIP stands in for the IP layer: it routes everything out of a
// 1500-byte link from 10.0.0.1 and captures each segment sent.
type fakeIP struct {
	mu  sync.Mutex
	out []capSeg
	mtu int
	gso uint16 // the route's GSOMaxSize
}

// capSeg is a captured segment.
type capSeg struct {
	src, dst netip.AddrPort
	seq, ack seqnum.Value
	flags    wire.TCPFlags
	wnd      uint16
	opts     wire.TCPOptions
	data     []byte
	gso      uint16 // the Buf's GSOSize
}

var (
	hLocal = netip.MustParseAddr("10.0.0.1")
	hPeer  = netip.MustParseAddr("10.0.0.2")
)

func (f *fakeIP) RouteOutput(dst, src netip.Addr) (ipv4.Route, error) {
	if !src.IsValid() || src.IsUnspecified() {
		src = hLocal
	}
	mtu := f.mtu
	if mtu == 0 {
		mtu = 1500
	}
	return ipv4.Route{Src: src, Dst: dst, NextHop: dst, MTU: mtu, GSOMaxSize: f.gso}, nil
}

func (f *fakeIP) Output(b *pkt.Buf, rt *ipv4.Route, proto uint8, o ipv4.SendOptions) error {
	raw := append([]byte(nil), b.Bytes()...)
	gso := b.GSOSize
	b.Free()
	v, err := wire.ParseTCPView(raw)
	if err != nil {
		panic(err)
	}
	if !v.IsValidChecksum(wire.PseudoHeaderSum(rt.Src, rt.Dst, ProtoNumber, uint16(len(raw)))) {
		panic("bad checksum on a sent segment")
	}
	c := capSeg{src: netip.AddrPortFrom(rt.Src, v.SrcPort()), dst: netip.AddrPortFrom(rt.Dst, v.DstPort()),
		seq: seqnum.Value(v.Seq()), ack: seqnum.Value(v.Ack()), flags: v.Flags(), wnd: v.Window(), data: v.Payload(), gso: gso}
	if err := v.ParseOptions(&c.opts); err != nil {
		panic(err)
	}
	f.mu.Lock()
	f.out = append(f.out, c)
	f.mu.Unlock()
	return nil
}

// harness drives one Proto with hand-built segments on a manual clock.
type harness struct {
	t    *testing.T
	p    *Proto
	ip   *fakeIP
	clk  *clock.Manual
	pool *pkt.Pool
	st   *stats.TCP
	next int // first capture not yet taken
}

func newHarness(t *testing.T, mod func(*Config)) *harness {
	t.Helper()
	h := &harness{t: t, ip: &fakeIP{}, clk: clock.NewManual(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)),
		pool: pkt.NewPool(pkt.Options{Checked: true}), st: new(stats.TCP)}
	cfg := Config{IP: h.ip, Pool: h.pool, Clock: h.clk, Stats: h.st, Seed: 1,
		NoTimestamps: true, NoSACK: true, NoWindowScale: true, MSL: time.Second}
	if mod != nil {
		mod(&cfg)
	}
	h.p = New(cfg)
	t.Cleanup(func() {
		h.p.Close()
		if n := h.pool.Live(); n != 0 {
			t.Errorf("pool.Live() = %d after Close, want 0", n)
		}
		if n := h.clk.Pending(); n != 0 {
			t.Errorf("%d timers pending after Close, want 0", n)
		}
	})
	return h
}

// seg describes a segment the peer sends.
type seg struct {
	sport, dport uint16
	seq, ack     seqnum.Value
	flags        wire.TCPFlags
	wnd          uint16
	opts         *wire.TCPOptions
	data         []byte
	zeroWnd      bool   // advertise a zero window (wnd 0 means 65535)
	gso          uint16 // a GSO super-segment of segments this long
}

// inject delivers s as if it came from 10.0.0.2.
func (h *harness) inject(s seg) {
	h.t.Helper()
	if s.sport == 0 {
		s.sport = 5000
	}
	if s.dport == 0 {
		s.dport = 80
	}
	if s.wnd == 0 && s.flags&wire.TCPFlagRST == 0 && !s.zeroWnd {
		s.wnd = 65535
	}
	var ob [40]byte
	on := 0
	if s.opts != nil {
		on = s.opts.Encode(ob[:])
	}
	hl := wire.TCPMinHeaderLen + on
	b := h.pool.Get(pkt.MaxHeaderLen, hl+len(s.data))
	buf := b.View(0)
	hdr := wire.TCPHeader{SrcPort: s.sport, DstPort: s.dport, Seq: uint32(s.seq), Ack: uint32(s.ack), Flags: s.flags, Window: s.wnd, Options: ob[:on]}
	hdr.Encode(buf)
	copy(buf[hl:], s.data)
	v, _ := wire.ParseTCPView(buf)
	v.SetChecksum(v.CalculateChecksum(wire.PseudoHeaderSum(hPeer, hLocal, ProtoNumber, uint16(len(buf)))))
	b.GSOSize = s.gso
	h.p.Deliver(b, ipv4.RxInfo{Src: hPeer, Dst: hLocal, Proto: ProtoNumber, TTL: 64})
}

// sent returns the segments sent since the last call.
func (h *harness) sent() []capSeg {
	h.ip.mu.Lock()
	defer h.ip.mu.Unlock()
	out := h.ip.out[h.next:]
	h.next = len(h.ip.out)
	return out
}

// expect takes exactly one sent segment with the given flags.
func (h *harness) expect(flags wire.TCPFlags) capSeg {
	h.t.Helper()
	out := h.sent()
	if len(out) != 1 {
		h.t.Fatalf("sent %d segments %v, want one with flags %v", len(out), describe(out), flags)
	}
	if out[0].flags != flags {
		h.t.Fatalf("sent flags %v (seq %d ack %d), want %v", out[0].flags, out[0].seq, out[0].ack, flags)
	}
	return out[0]
}

func (h *harness) expectNone() {
	h.t.Helper()
	if out := h.sent(); len(out) != 0 {
		h.t.Fatalf("sent %v, want nothing", describe(out))
	}
}

func describe(out []capSeg) []string {
	var s []string
	for _, c := range out {
		s = append(s, fmt.Sprintf("seq %d ack %d flags %v win %d len %d", uint32(c.seq), uint32(c.ack), c.flags, c.wnd, len(c.data)))
	}
	return s
}

func (h *harness) state(ep *Endpoint, want State) {
	h.t.Helper()
	if got := ep.State(); got != want {
		h.t.Fatalf("state = %v, want %v", got, want)
	}
}

const peerISS = seqnum.Value(1000)

// conn is an endpoint under test with the peer's view of the sequence
// space: our ISS and the next numbers each side sends.
type conn struct {
	ep      *Endpoint
	iss     seqnum.Value
	ourNxt  seqnum.Value // what we expect our next segment to carry as seq
	peerNxt seqnum.Value // the peer's next sequence number
	sport   uint16       // the peer's port
	dport   uint16
}

// active opens a connection from 10.0.0.1 to 10.0.0.2:5000... the peer
// answering at port 80 is the convention here: our side is port 80 for
// passive tests, and the peer's port 5000. For active tests the endpoint
// binds 10.0.0.1:80 and connects to 10.0.0.2:5000.
func (h *harness) active() *conn {
	h.t.Helper()
	ep := h.p.NewEndpoint()
	if err := ep.Bind(netip.AddrPortFrom(hLocal, 80)); err != nil {
		h.t.Fatal(err)
	}
	if err := ep.startConnect(netip.AddrPortFrom(hPeer, 5000)); err != nil {
		h.t.Fatal(err)
	}
	syn := h.expect(wire.TCPFlagSYN)
	h.state(ep, SynSent)
	return &conn{ep: ep, iss: syn.seq, ourNxt: syn.seq + 1, peerNxt: peerISS, sport: 5000, dport: 80}
}

// established returns an ESTABLISHED active connection.
func (h *harness) established() *conn {
	h.t.Helper()
	c := h.active()
	h.inject(seg{seq: peerISS, ack: c.ourNxt, flags: wire.TCPFlagSYN | wire.TCPFlagACK, opts: &wire.TCPOptions{MSS: 1460, HasMSS: true}})
	a := h.expect(wire.TCPFlagACK)
	if a.seq != c.ourNxt || a.ack != peerISS+1 {
		h.t.Fatalf("handshake ACK seq %d ack %d, want %d %d", a.seq, a.ack, c.ourNxt, peerISS+1)
	}
	c.peerNxt = peerISS + 1
	h.state(c.ep, Established)
	return c
}

// ack injects a pure ACK from the peer acknowledging everything we sent.
func (h *harness) ack(c *conn) {
	h.inject(seg{seq: c.peerNxt, ack: c.ourNxt, flags: wire.TCPFlagACK})
}

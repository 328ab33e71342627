package netdev

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"sync"
	"testing"

	"ustack/pkt"
	"ustack/wire"
)

// gsoDriver records the frames it is given, with their GSOSize.
type gsoDriver struct {
	caps   Caps
	mu     sync.Mutex
	frames [][]byte
	gso    []uint16
}

func (g *gsoDriver) Caps() Caps           { return g.caps }
func (g *gsoDriver) Start(Receiver) error { return nil }
func (g *gsoDriver) Close() error         { return nil }
func (g *gsoDriver) Transmit(b *pkt.Buf) error {
	g.mu.Lock()
	g.frames = append(g.frames, append([]byte(nil), b.Bytes()...))
	g.gso = append(g.gso, b.GSOSize)
	g.mu.Unlock()
	b.Free()
	return nil
}

var (
	gsoSrc = netip.MustParseAddr("10.0.0.1")
	gsoDst = netip.MustParseAddr("10.0.0.2")
)

// gsoPacket describes a TCP super-packet for the tests.
type gsoPacket struct {
	ipOpts  int // IP option bytes (a multiple of 4)
	tcpOpts int // TCP option bytes (a multiple of 4)
	payload int
	gso     uint16
	flags   wire.TCPFlags
	split   []int // cut the payload into views at these offsets
}

const (
	gsoSeq = 0xfffff000 // wraps within the packet
	gsoID  = 0xfffe     // wraps too
)

// build returns the network-layer packet (IPv4 header, TCP header,
// payload in views as split says) with a valid TCP checksum over the
// whole, and the payload.
func (g gsoPacket) build(pool *pkt.Pool) (*pkt.Buf, []byte) {
	payload := make([]byte, g.payload)
	for i := range payload {
		payload[i] = byte(i*7 + i>>8)
	}
	var b *pkt.Buf
	prev := 0
	for _, at := range append(append([]int(nil), g.split...), g.payload) {
		piece := pool.Copy(pkt.MaxHeaderLen, payload[prev:at])
		if b == nil {
			b = piece
		} else {
			b.Append(piece)
		}
		prev = at
	}
	thl := wire.TCPMinHeaderLen + g.tcpOpts
	th := b.Push(thl)
	clear(th)
	binary.BigEndian.PutUint16(th[0:], 40000)
	binary.BigEndian.PutUint16(th[2:], 80)
	binary.BigEndian.PutUint32(th[4:], gsoSeq)
	binary.BigEndian.PutUint32(th[8:], 12345)
	binary.BigEndian.PutUint16(th[12:], uint16(thl/4)<<12|uint16(g.flags))
	binary.BigEndian.PutUint16(th[14:], 512)
	for i := wire.TCPMinHeaderLen; i < thl; i++ {
		th[i] = byte(wire.TCPOptNOP)
	}
	sum := wire.ChecksumChunks(wire.PseudoHeaderSum(gsoSrc, gsoDst, wire.ProtoTCP, uint16(thl+g.payload)), th, payload)
	binary.BigEndian.PutUint16(th[16:], ^wire.Fold(sum))
	opts := make([]byte, g.ipOpts)
	for i := range opts {
		opts[i] = 1 // NOP
	}
	ih := wire.IPv4Header{TotalLen: uint16(wire.IPv4MinHeaderLen + g.ipOpts + thl + g.payload), ID: gsoID,
		Flags: wire.IPv4DontFragment, TTL: 64, Protocol: wire.ProtoTCP, Src: gsoSrc, Dst: gsoDst, Options: opts}
	hb := b.Push(ih.Len())
	ih.Encode(hb)
	v, _ := wire.ParseIPv4HeaderView(hb)
	v.SetChecksum(v.CalculateChecksum())
	b.SetNetworkHeader()
	b.GSOSize = g.gso
	return b, payload
}

// checkSegments parses frames (Ethernet, IPv4, TCP) as the software
// segmentation of g must have made them.
func checkSegments(t *testing.T, g gsoPacket, payload []byte, frames [][]byte) {
	t.Helper()
	want := (g.payload + int(g.gso) - 1) / int(g.gso)
	if len(frames) != want {
		t.Fatalf("%d frames, want %d", len(frames), want)
	}
	var got []byte
	for i, f := range frames {
		eth, err := wire.ParseEthernetView(f)
		if err != nil || eth.EtherType() != wire.EtherTypeIPv4 || eth.Dst() != macB || eth.Src() != macA {
			t.Fatalf("frame %d: Ethernet header %x", i, f[:min(len(f), 14)])
		}
		ip, err := wire.ParseIPv4View(f[wire.EthernetHeaderLen:])
		if err != nil {
			t.Fatalf("frame %d: ParseIPv4View = %v", i, err)
		}
		if int(ip.TotalLen()) != len(f)-wire.EthernetHeaderLen {
			t.Errorf("frame %d: total length %d, frame carries %d", i, ip.TotalLen(), len(f)-wire.EthernetHeaderLen)
		}
		if !ip.IsValidChecksum() {
			t.Errorf("frame %d: bad IP header checksum", i)
		}
		if id := ip.ID(); id != uint16(gsoID+i) {
			t.Errorf("frame %d: IP ID %#x, want %#x", i, id, uint16(gsoID+i))
		}
		if !ip.DontFragment() || ip.IsFragment() || ip.TTL() != 64 || ip.HeaderLen() != wire.IPv4MinHeaderLen+g.ipOpts {
			t.Errorf("frame %d: IP header changed: DF %v frag %v TTL %d hlen %d", i, ip.DontFragment(), ip.IsFragment(), ip.TTL(), ip.HeaderLen())
		}
		tcp, err := wire.ParseTCPView(ip.Payload())
		if err != nil {
			t.Fatalf("frame %d: ParseTCPView = %v", i, err)
		}
		if !tcp.IsValidChecksum(wire.PseudoHeaderSum(ip.Src(), ip.Dst(), wire.ProtoTCP, uint16(len(ip.Payload())))) {
			t.Errorf("frame %d: bad TCP checksum", i)
		}
		if s := tcp.Seq(); s != uint32(gsoSeq+len(got)) {
			t.Errorf("frame %d: seq %#x, want %#x", i, s, uint32(gsoSeq+len(got)))
		}
		last := i == len(frames)-1
		wantFlags := g.flags
		if !last {
			wantFlags &^= wire.TCPFlagFIN | wire.TCPFlagPSH
		}
		if i > 0 {
			wantFlags &^= wire.TCPFlagCWR
		}
		if tcp.Flags() != wantFlags {
			t.Errorf("frame %d: flags %v, want %v", i, tcp.Flags(), wantFlags)
		}
		if tcp.Ack() != 12345 || tcp.Window() != 512 || tcp.HeaderLen() != wire.TCPMinHeaderLen+g.tcpOpts {
			t.Errorf("frame %d: TCP header changed: ack %d win %d hlen %d", i, tcp.Ack(), tcp.Window(), tcp.HeaderLen())
		}
		p := tcp.Payload()
		if !last && len(p) != int(g.gso) || len(p) > int(g.gso) || len(p) == 0 {
			t.Errorf("frame %d: %d payload bytes with GSO size %d", i, len(p), g.gso)
		}
		got = append(got, p...)
	}
	if !bytes.Equal(got, payload) {
		t.Errorf("the segments' payloads joined differ from the super-packet's")
	}
}

func TestSoftwareGSO(t *testing.T) {
	all := wire.TCPFlagACK | wire.TCPFlagPSH | wire.TCPFlagFIN | wire.TCPFlagCWR | wire.TCPFlagECE
	for _, tc := range []struct {
		name string
		g    gsoPacket
	}{
		{"exact multiple", gsoPacket{payload: 3 * 1460, gso: 1460, flags: wire.TCPFlagACK | wire.TCPFlagPSH}},
		{"short last segment", gsoPacket{payload: 3*1448 + 7, gso: 1448, tcpOpts: 12, flags: all}},
		{"odd size, views at odd offsets", gsoPacket{payload: 5001, gso: 999, tcpOpts: 12, flags: all, split: []int{1, 1000, 2999, 3001}}},
		{"IP options", gsoPacket{payload: 4000, gso: 1400, ipOpts: 8, tcpOpts: 20, flags: wire.TCPFlagACK}},
		{"one segment", gsoPacket{payload: 1000, gso: 1460, flags: all}},
		{"largest", gsoPacket{payload: 0xffff - 20 - 32, gso: 1448, tcpOpts: 12, flags: wire.TCPFlagACK | wire.TCPFlagPSH}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, pool := newTestRegistry(t)
			drv := &gsoDriver{caps: Caps{Link: LinkEthernet, MTU: 1500, MAC: macA}}
			d, err := r.Register("", drv)
			if err != nil {
				t.Fatal(err)
			}
			r.SetUp(d, true)
			b, payload := tc.g.build(pool)
			if err := d.SendEthernet(b, macB, wire.EtherTypeIPv4); err != nil {
				t.Fatalf("SendEthernet = %v", err)
			}
			checkSegments(t, tc.g, payload, drv.frames)
			for i, g := range drv.gso {
				if g != 0 {
					t.Errorf("frame %d reached the driver with GSOSize %d, want 0", i, g)
				}
			}
			n := uint64(len(drv.frames))
			if got := r.stats.OutGSOPackets.Load(); got != 1 {
				t.Errorf("OutGSOPackets = %d, want 1", got)
			}
			if got := r.stats.OutGSOSegs.Load(); got != n {
				t.Errorf("OutGSOSegs = %d, want %d", got, n)
			}
			if got := r.stats.OutFrames.Load(); got != n {
				t.Errorf("OutFrames = %d, want %d (one per wire frame)", got, n)
			}
			if got := d.Stats.TxPackets.Load(); got != n {
				t.Errorf("TxPackets = %d, want %d", got, n)
			}
		})
	}
}

// TestGSODevice: a device with GSO carries a super-packet whole, up to its
// GSO maximum; above it, software segmentation takes over.
func TestGSODevice(t *testing.T) {
	for _, tc := range []struct {
		name    string
		max     int
		payload int
		whole   bool
	}{
		{"within the maximum", GSOMaxSize, 20000, true},
		{"at the maximum", 20 + 20 + 20000, 20000, true},
		{"above the maximum", 20 + 20 + 19999, 20000, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, pool := newTestRegistry(t)
			drv := &gsoDriver{caps: Caps{Link: LinkEthernet, MTU: 1500, MAC: macA, GSOMaxSize: tc.max}}
			d, _ := r.Register("", drv)
			r.SetUp(d, true)
			g := gsoPacket{payload: tc.payload, gso: 1460, flags: wire.TCPFlagACK | wire.TCPFlagPSH}
			b, payload := g.build(pool)
			if err := d.SendEthernet(b, macB, wire.EtherTypeIPv4); err != nil {
				t.Fatalf("SendEthernet = %v", err)
			}
			if !tc.whole {
				checkSegments(t, g, payload, drv.frames)
				return
			}
			if len(drv.frames) != 1 || drv.gso[0] != 1460 {
				t.Fatalf("driver got %d frames (GSO sizes %v), want the super-packet whole with GSO size 1460", len(drv.frames), drv.gso)
			}
			if n := len(drv.frames[0]); n != 14+20+20+tc.payload {
				t.Errorf("frame of %d bytes, want %d", n, 14+20+20+tc.payload)
			}
			if got := r.stats.OutGSOPackets.Load(); got != 0 {
				t.Errorf("OutGSOPackets = %d, want 0", got)
			}
		})
	}
}

// TestGSOErrors: what software GSO cannot cut is dropped and counted.
func TestGSOErrors(t *testing.T) {
	for _, tc := range []struct {
		name    string
		mangle  func(b *pkt.Buf)
		err     error
		counter func(r *Registry) uint64
	}{
		{"not TCP", func(b *pkt.Buf) { b.Bytes()[9] = byte(wire.ProtoUDP) }, ErrNotSegmentable,
			func(r *Registry) uint64 { return r.stats.OutGSOErrors.Load() }},
		{"a fragment", func(b *pkt.Buf) { b.Bytes()[6] |= 0x20 }, ErrNotSegmentable,
			func(r *Registry) uint64 { return r.stats.OutGSOErrors.Load() }},
		{"total length wrong", func(b *pkt.Buf) { b.Trim(b.Len() - 1) }, ErrNotSegmentable,
			func(r *Registry) uint64 { return r.stats.OutGSOErrors.Load() }},
		{"segments above the MTU", func(b *pkt.Buf) { b.GSOSize = 1461 }, ErrTooBig,
			func(r *Registry) uint64 { return r.stats.OutTooBig.Load() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, pool := newTestRegistry(t)
			drv := &gsoDriver{caps: Caps{Link: LinkEthernet, MTU: 1500, MAC: macA}}
			d, _ := r.Register("", drv)
			r.SetUp(d, true)
			b, _ := gsoPacket{payload: 5000, gso: 1460, flags: wire.TCPFlagACK}.build(pool)
			tc.mangle(b)
			if err := d.SendEthernet(b, macB, wire.EtherTypeIPv4); err != tc.err {
				t.Errorf("SendEthernet = %v, want %v", err, tc.err)
			}
			if len(drv.frames) != 0 {
				t.Errorf("driver got %d frames, want none", len(drv.frames))
			}
			if c := tc.counter(r); c != 1 {
				t.Errorf("counter = %d, want 1", c)
			}
			if d.Stats.TxDropped.Load() != 1 {
				t.Errorf("TxDropped = %d, want 1", d.Stats.TxDropped.Load())
			}
		})
	}
}

// TestGSOOnIPLink: on a link without Ethernet headers (TUN), Transmit
// segments.
func TestGSOOnIPLink(t *testing.T) {
	r, pool := newTestRegistry(t)
	drv := &gsoDriver{caps: Caps{Link: LinkIP, MTU: 1500}}
	d, _ := r.Register("", drv)
	r.SetUp(d, true)
	g := gsoPacket{payload: 4000, gso: 1448, tcpOpts: 12, flags: wire.TCPFlagACK | wire.TCPFlagFIN}
	b, payload := g.build(pool)
	if err := d.Transmit(b); err != nil {
		t.Fatalf("Transmit = %v", err)
	}
	// Give checkSegments the Ethernet header it expects.
	for i, f := range drv.frames {
		drv.frames[i] = append(frame(macB, macA, wire.EtherTypeIPv4, ""), f...)
	}
	checkSegments(t, g, payload, drv.frames)
}

// discardDriver frees what it is given.
type discardDriver struct{ caps Caps }

func (g *discardDriver) Caps() Caps                { return g.caps }
func (g *discardDriver) Start(Receiver) error      { return nil }
func (g *discardDriver) Close() error              { return nil }
func (g *discardDriver) Transmit(b *pkt.Buf) error { b.Free(); return nil }

// TestGSOAllocs guards software segmentation's steady state: segments
// come from the pool, their payload by reference.
func TestGSOAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop items")
	}
	pool := pkt.NewPool(pkt.Options{})
	r := NewRegistry(Config{Pool: pool})
	defer r.Close()
	d, _ := r.Register("", &discardDriver{caps: Caps{Link: LinkEthernet, MTU: 1500, MAC: macA}})
	r.SetUp(d, true)
	g := gsoPacket{payload: 44 * 1448, gso: 1448, tcpOpts: 12, flags: wire.TCPFlagACK}
	tmpl, _ := g.build(pool)
	defer tmpl.Free()
	send := func() {
		b := tmpl.Clone()
		b.GSOSize = g.gso
		d.SendEthernet(b, macB, wire.EtherTypeIPv4)
	}
	send()
	if n := testing.AllocsPerRun(100, send); n > 0 {
		t.Errorf("software GSO of 44 segments: %.1f allocations, want 0", n)
	}
}

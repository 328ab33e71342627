package stack

import (
	"encoding/binary"
	"net/netip"
	"sync"
	"testing"
	"time"

	"ustack/ipv4/fib"
	"ustack/netdev"
	"ustack/pkt"
	"ustack/wire"
)

// probeNIC is a driver a test drives by hand: it injects frames as if
// they came off the wire and collects what the stack transmits.
type probeNIC struct {
	caps netdev.Caps
	rx   netdev.Receiver
	mu   sync.Mutex
	out  [][]byte
	cond chan struct{}
}

func newProbeNIC(mac wire.MAC) *probeNIC {
	return &probeNIC{caps: netdev.Caps{Link: netdev.LinkEthernet, MTU: 1500, MAC: mac}, cond: make(chan struct{}, 1)}
}

func (p *probeNIC) Caps() netdev.Caps              { return p.caps }
func (p *probeNIC) Start(rx netdev.Receiver) error { p.rx = rx; return nil }
func (p *probeNIC) Close() error                   { return nil }
func (p *probeNIC) Transmit(b *pkt.Buf) error {
	p.mu.Lock()
	p.out = append(p.out, append([]byte(nil), b.Bytes()...))
	p.mu.Unlock()
	b.Free()
	select {
	case p.cond <- struct{}{}:
	default:
	}
	return nil
}

func (p *probeNIC) inject(frame []byte) {
	p.rx.Receive(p.rx.Pool().Copy(pkt.MaxHeaderLen, frame))
}

// sent returns the frames transmitted so far.
func (p *probeNIC) sent() [][]byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([][]byte(nil), p.out...)
}

// waitSent waits until at least n frames were transmitted.
func (p *probeNIC) waitSent(t *testing.T, n int) [][]byte {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		if s := p.sent(); len(s) >= n {
			return s
		}
		select {
		case <-p.cond:
		case <-deadline:
			t.Fatalf("stack transmitted %d frames, want %d", len(p.sent()), n)
		}
	}
}

var (
	ourMAC  = wire.MAC{2, 0, 0, 0, 0, 0x01}
	peerMAC = wire.MAC{2, 0, 0, 0, 0, 0x02}
	ourIP   = netip.MustParseAddr("10.0.0.1")
	peerIP  = netip.MustParseAddr("10.0.0.2")
)

// hostWithProbe returns a stack with one probe NIC at 10.0.0.1/24 and a
// static neighbour 10.0.0.2, so replies need no ARP.
func hostWithProbe(t *testing.T, o Options) (*Stack, *probeNIC) {
	t.Helper()
	o.CheckedBuffers = true
	s := New(o)
	nic := newProbeNIC(ourMAC)
	dev, err := s.AddNIC("eth0", nic)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AddAddress("eth0", netip.MustParsePrefix("10.0.0.1/24")); err != nil {
		t.Fatal(err)
	}
	if err := s.Neigh().SetStatic(dev, peerIP, peerMAC); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.Close()
		if n := s.Pool().Live(); n != 0 {
			t.Errorf("pool.Live() = %d after Close, want 0", n)
		}
	})
	nic.waitSent(t, 1) // the gratuitous ARP for the address
	return s, nic
}

// ipFrame builds an Ethernet+IPv4 frame; mutate edits the IP header bytes
// (after the checksum is computed unless recsum).
type ipSpec struct {
	src, dst  netip.Addr
	proto     wire.IPProtocol
	ttl       uint8
	flags     wire.IPv4Flags
	fragOff   uint16
	id        uint16
	payload   []byte
	dstMAC    wire.MAC
	pad       int
	mutate    func(h []byte)
	keepCksum bool // mutate after the checksum (to corrupt it)
	options   []byte
}

func ipFrame(s ipSpec) []byte {
	if s.ttl == 0 {
		s.ttl = 64
	}
	if s.dstMAC == (wire.MAC{}) {
		s.dstMAC = ourMAC
	}
	hl := wire.IPv4MinHeaderLen + len(s.options)
	b := make([]byte, wire.EthernetHeaderLen+hl+len(s.payload)+s.pad)
	eth := wire.EthernetHeader{Dst: s.dstMAC, Src: peerMAC, EtherType: wire.EtherTypeIPv4}
	eth.Encode(b)
	ip := b[wire.EthernetHeaderLen:]
	h := wire.IPv4Header{TotalLen: uint16(hl + len(s.payload)), ID: s.id, Flags: s.flags, FragOff: s.fragOff,
		TTL: s.ttl, Protocol: s.proto, Src: s.src, Dst: s.dst, Options: s.options}
	h.Encode(ip)
	copy(ip[hl:], s.payload)
	if s.mutate != nil && !s.keepCksum {
		s.mutate(ip)
	}
	ip[10], ip[11] = 0, 0
	binary.BigEndian.PutUint16(ip[10:], ^wire.Fold(wire.Checksum(ip[:hl], 0)))
	if s.mutate != nil && s.keepCksum {
		s.mutate(ip)
	}
	return b
}

// udpPayload builds a UDP datagram with a correct checksum.
func udpPayload(src, dst netip.Addr, sport, dport uint16, data []byte) []byte {
	b := make([]byte, wire.UDPHeaderLen+len(data))
	h := wire.UDPHeader{SrcPort: sport, DstPort: dport, Length: uint16(len(b))}
	h.Encode(b)
	copy(b[wire.UDPHeaderLen:], data)
	cs := ^wire.Fold(wire.Checksum(b, wire.PseudoHeaderSum(src, dst, wire.ProtoUDP, uint16(len(b)))))
	binary.BigEndian.PutUint16(b[6:], cs)
	return b
}

// echoRequest builds an ICMP echo request.
func echoRequest(id, seq uint16, data []byte) []byte {
	b := make([]byte, wire.ICMPv4HeaderLen+len(data))
	b[0] = byte(wire.ICMPv4Echo)
	binary.BigEndian.PutUint16(b[4:], id)
	binary.BigEndian.PutUint16(b[6:], seq)
	copy(b[8:], data)
	binary.BigEndian.PutUint16(b[2:], ^wire.Fold(wire.Checksum(b, 0)))
	return b
}

// parseOut splits a transmitted frame into its IPv4 view and payload.
func parseOut(t *testing.T, frame []byte) (wire.EthernetHeader, wire.IPv4View) {
	t.Helper()
	var eth wire.EthernetHeader
	if _, err := eth.Parse(frame); err != nil {
		t.Fatalf("transmitted frame: %v", err)
	}
	v, err := wire.ParseIPv4View(frame[wire.EthernetHeaderLen:])
	if err != nil {
		t.Fatalf("transmitted IPv4 %x: %v", frame, err)
	}
	if !v.IsValidChecksum() {
		t.Fatalf("transmitted IPv4 header has a bad checksum")
	}
	return eth, v
}

// injectViews delivers a frame made of several views, as a driver handing
// over a header and a payload in separate chunks would.
func (p *probeNIC) injectViews(parts ...[]byte) {
	pool := p.rx.Pool()
	b := pool.Copy(pkt.MaxHeaderLen, parts[0])
	for _, part := range parts[1:] {
		b.Append(pool.Copy(0, part))
	}
	p.rx.Receive(b)
}

// waitCounter waits until c reports want.
func waitCounter(t *testing.T, what string, c func() uint64, want uint64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for c() != want {
		if time.Now().After(deadline) {
			t.Fatalf("%s = %d, want %d", what, c(), want)
		}
		time.Sleep(time.Millisecond)
	}
}

func fibRoute(dst string, dev *netdev.Device) fib.Route {
	return fib.Route{Dst: netip.MustParsePrefix(dst), Dev: dev.Index()}
}

package ipv4

import (
	"encoding/binary"
	"net/netip"
	"testing"

	"ustack/pkt"
	"ustack/wire"
)

// gsoTestPacket builds a TCP segment (header of thl bytes, payload of n
// bytes in views cut at split) behind an IPv4 header of ihl bytes, with a
// zero TCP checksum, and marks it GSO with gso.
func gsoTestPacket(pool *pkt.Pool, ihl, thl, n int, gso uint16, split ...int) *pkt.Buf {
	payload := make([]byte, n)
	for i := range payload {
		payload[i] = byte(i*13 + 5)
	}
	var b *pkt.Buf
	prev := 0
	for _, at := range append(split, n) {
		p := pool.Copy(pkt.MaxHeaderLen, payload[prev:at])
		if b == nil {
			b = p
		} else {
			b.Append(p)
		}
		prev = at
	}
	th := b.Push(thl)
	clear(th)
	binary.BigEndian.PutUint16(th[0:], 1234)
	binary.BigEndian.PutUint16(th[2:], 80)
	th[12] = byte(thl/4) << 4
	th[13] = byte(wire.TCPFlagACK)
	opts := make([]byte, ihl-wire.IPv4MinHeaderLen)
	for i := range opts {
		opts[i] = 1
	}
	h := wire.IPv4Header{TotalLen: uint16(ihl + thl + n), TTL: 64, Protocol: wire.ProtoTCP, Flags: wire.IPv4DontFragment,
		Src: netip.MustParseAddr("10.0.1.2"), Dst: netip.MustParseAddr("10.0.2.2"), Options: opts}
	h.Encode(b.Push(ihl))
	b.GSOSize = gso
	return b
}

func TestGSOSizes(t *testing.T) {
	pool := pkt.NewPool(pkt.Options{Checked: true})
	for _, tc := range []struct {
		name        string
		ihl, thl, n int
		gso         uint16
		proto       wire.IPProtocol
		size        int
		segs        uint32
		ok          bool
	}{
		{"full segments", 20, 32, 10 * 1448, 1448, wire.ProtoTCP, 20 + 32 + 1448, 10, true},
		{"a short tail", 20, 32, 10*1448 + 1, 1448, wire.ProtoTCP, 20 + 32 + 1448, 11, true},
		{"IP options", 24, 20, 5000, 1000, wire.ProtoTCP, 24 + 20 + 1000, 5, true},
		{"less than one segment", 20, 20, 500, 1000, wire.ProtoTCP, 20 + 20 + 500, 1, true},
		{"not TCP", 20, 20, 5000, 1000, wire.ProtoUDP, 0, 0, false},
		{"no payload", 20, 20, 0, 1000, wire.ProtoTCP, 0, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := gsoTestPacket(pool, tc.ihl, tc.thl, tc.n, tc.gso)
			defer b.Free()
			hb := b.Peek(tc.ihl)
			hb[9] = byte(tc.proto)
			h, _ := wire.ParseIPv4HeaderView(hb)
			// Forwarding sees the packet at its IPv4 header.
			want := tc.size
			if tc.n == 0 && tc.proto == wire.ProtoTCP {
				want = tc.ihl + tc.thl // not for Output, but no bigger than its headers
			}
			if got := gsoForwardSize(b, h); got != want {
				t.Errorf("gsoForwardSize = %d, want %d", got, want)
			}
			// Output sees it at its TCP header, before the IP header goes on.
			b.Pull(tc.ihl)
			size, segs, ok := gsoOutputSize(b, tc.ihl, uint8(tc.proto))
			if size != tc.size || segs != tc.segs || ok != tc.ok {
				t.Errorf("gsoOutputSize = %d, %d, %v; want %d, %d, %v", size, segs, ok, tc.size, tc.segs, tc.ok)
			}
		})
	}
}

// TestGSOFixChecksum: a super-packet with no TCP checksum gets the right
// one, over payload views at odd offsets too.
func TestGSOFixChecksum(t *testing.T) {
	pool := pkt.NewPool(pkt.Options{Checked: true})
	for _, split := range [][]int{nil, {1}, {1, 777, 4001}} {
		b := gsoTestPacket(pool, 24, 32, 9000, 1448, split...)
		h, _ := wire.ParseIPv4HeaderView(b.Peek(24))
		gsoFixChecksum(b, h)
		raw := b.Bytes()
		ip, err := wire.ParseIPv4View(raw)
		if err != nil {
			t.Fatal(err)
		}
		tcp, _ := wire.ParseTCPView(ip.Payload())
		if !tcp.IsValidChecksum(wire.PseudoHeaderSum(ip.Src(), ip.Dst(), wire.ProtoTCP, uint16(len(ip.Payload())))) {
			t.Errorf("views split at %v: TCP checksum %#04x is wrong", split, tcp.Checksum())
		}
		b.Free()
	}
	if n := pool.Live(); n != 0 {
		t.Errorf("pool.Live() = %d, want 0", n)
	}
}

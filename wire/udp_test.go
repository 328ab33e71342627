package wire_test

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"testing"

	"ustack/wire"
)

// The UDP echo request from the golden capture, 192.0.2.1 -> 198.51.100.2.
var udpHello = fromHex(`
	9722          // source port 38690
	0007          // destination port 7 (echo)
	0015          // length 21
	285a          // checksum
	68656c6c6f2c20776972652121  // "hello, wire!!", an odd length
`)

var udpPseudo = wire.PseudoHeaderSum(netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("198.51.100.2"), wire.ProtoUDP, 21)

func TestUDPParse(t *testing.T) {
	set := func(b []byte, off int, v ...byte) []byte {
		b = bytes.Clone(b)
		copy(b[off:], v)
		return b
	}
	tests := []struct {
		name       string
		in         []byte
		want       wire.UDPHeader
		wantErr    error
		payloadLen int
	}{
		{"hello", udpHello, wire.UDPHeader{SrcPort: 38690, DstPort: 7, Length: 21, Checksum: 0x285a}, nil, 13},
		{"bytes after the length are not payload", append(bytes.Clone(udpHello), 0, 0, 0),
			wire.UDPHeader{SrcPort: 38690, DstPort: 7, Length: 21, Checksum: 0x285a}, nil, 13},
		{"header only", set(udpHello[:8], 4, 0, 8), wire.UDPHeader{SrcPort: 38690, DstPort: 7, Length: 8, Checksum: 0x285a}, nil, 0},
		{"7 bytes", udpHello[:7], wire.UDPHeader{}, wire.ErrTruncated, 0},
		{"empty", nil, wire.UDPHeader{}, wire.ErrTruncated, 0},
		{"length 7", set(udpHello, 4, 0, 7), wire.UDPHeader{}, wire.ErrBadLength, 0},
		{"length 0 (jumbogram style)", set(udpHello, 4, 0, 0), wire.UDPHeader{}, wire.ErrBadLength, 0},
		{"length past the end", set(udpHello, 4, 0, 22), wire.UDPHeader{}, wire.ErrShortPacket, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h wire.UDPHeader
			n, err := h.Parse(tt.in)
			if h != tt.want || err != tt.wantErr {
				t.Errorf("Parse(%x) = %+v, %v, want %+v, %v", tt.in, h, err, tt.want, tt.wantErr)
			}
			v, verr := wire.ParseUDPView(tt.in)
			if verr != tt.wantErr {
				t.Errorf("ParseUDPView(%x) = %v, want %v", tt.in, verr, tt.wantErr)
			}
			if err != nil {
				return
			}
			got := wire.UDPHeader{SrcPort: v.SrcPort(), DstPort: v.DstPort(), Length: v.Length(), Checksum: v.Checksum()}
			if got != tt.want || n != 8 || h.Len() != 8 {
				t.Errorf("ParseUDPView(%x) = %+v, want %+v", tt.in, got, tt.want)
			}
			if len(v.Payload()) != tt.payloadLen || !bytes.Equal(v.Header(), tt.in[:8]) || len(v.Bytes()) != 8+tt.payloadLen {
				t.Errorf("ParseUDPView(%x): payload %x, want %d bytes", tt.in, v.Payload(), tt.payloadLen)
			}
			out := make([]byte, 8)
			if h.Encode(out); !bytes.Equal(out, tt.in[:8]) {
				t.Errorf("Encode(%+v) = %x, want %x", h, out, tt.in[:8])
			}
		})
	}
}

func TestUDPChecksum(t *testing.T) {
	v, _ := wire.ParseUDPView(bytes.Clone(udpHello))
	if !v.IsValidChecksum(udpPseudo) || v.CalculateChecksum(udpPseudo) != 0x285a {
		t.Errorf("hello: IsValidChecksum %v, CalculateChecksum %#04x, want true, 0x285a", v.IsValidChecksum(udpPseudo), v.CalculateChecksum(udpPseudo))
	}
	// The header and the odd-length payload in pieces, as an output path
	// holds them.
	hdr := bytes.Clone(udpHello[:8])
	binary.BigEndian.PutUint16(hdr[6:], 0)
	p := udpHello[8:]
	for split := 0; split <= len(p); split++ {
		if got := wire.UDPChecksum(udpPseudo, hdr, p[:split], p[split:]); got != 0x285a {
			t.Errorf("UDPChecksum(%#x, %x, %x, %x) = %#04x, want 0x285a", udpPseudo, hdr, p[:split], p[split:], got)
		}
		if !wire.VerifyChecksum(udpPseudo, udpHello[:8+split], udpHello[8+split:]) {
			t.Errorf("VerifyChecksum(%#x, split at %d) = false, want true", udpPseudo, split)
		}
	}
	// A wrong pseudo-header (another destination) fails.
	other := wire.PseudoHeaderSum(netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("198.51.100.3"), wire.ProtoUDP, 21)
	if v.IsValidChecksum(other) {
		t.Errorf("IsValidChecksum with the wrong destination = true")
	}
	// Zero means no checksum (RFC 768).
	v.SetChecksum(0)
	if !v.IsValidChecksum(other) {
		t.Errorf("IsValidChecksum with checksum 0 = false, want true")
	}
	// A computed zero is sent as 0xffff: make the payload's last word
	// bring the sum to -0.
	b := append(bytes.Clone(udpHello[:8]), 0, 0)
	binary.BigEndian.PutUint16(b[4:], 10)
	binary.BigEndian.PutUint16(b[6:], 0)
	ps := wire.PseudoHeaderSum(netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("198.51.100.2"), wire.ProtoUDP, 10)
	binary.BigEndian.PutUint16(b[8:], ^wire.Fold(wire.Checksum(b, ps)))
	z, _ := wire.ParseUDPView(b)
	if got := z.CalculateChecksum(ps); got != 0xffff {
		t.Errorf("CalculateChecksum of a datagram summing to -0 = %#04x, want 0xffff", got)
	}
	if got := wire.UDPChecksum(ps, b); got != 0xffff {
		t.Errorf("UDPChecksum of a datagram summing to -0 = %#04x, want 0xffff", got)
	}
	z.SetChecksum(0xffff)
	if !z.IsValidChecksum(ps) {
		t.Errorf("IsValidChecksum with 0xffff for a computed 0 = false, want true")
	}
}

func TestUDPSetters(t *testing.T) {
	b := make([]byte, 21)
	h := wire.UDPHeader{SrcPort: 38690, DstPort: 7, Length: 21}
	h.Encode(b)
	copy(b[8:], udpHello[8:])
	v, err := wire.ParseUDPView(b)
	if err != nil {
		t.Fatal(err)
	}
	v.SetChecksum(v.CalculateChecksum(udpPseudo))
	if !bytes.Equal(b, udpHello) {
		t.Errorf("constructed = %x, want %x", b, udpHello)
	}
	v.SetSrcPort(1)
	v.SetDstPort(2)
	v.SetLength(9)
	if !bytes.Equal(b[:6], fromHex("0001 0002 0009")) {
		t.Errorf("after setters header = %x", b[:8])
	}
}

package wire_test

import (
	"bytes"
	"net/netip"
	"reflect"
	"testing"

	"ustack/wire"
)

// IPv4 headers from the golden capture and one made by hand.
var (
	// Echo request 192.0.2.1 -> 192.0.2.2, 64 bytes of ICMP after it.
	ipv4EchoHdr = fromHex(`
		45        // version 4, IHL 5
		00        // TOS
		0054      // total length 84
		3206      // ID 12806
		4000      // flags DF, offset 0
		40        // TTL 64
		01        // protocol ICMP
		849f      // header checksum
		c0000201  // source 192.0.2.1
		c0000202  // destination 192.0.2.2
	`)
	// Middle fragment of the 3000-byte ping.
	ipv4FragHdr = fromHex(`
		45 00 05dc  // version 4, IHL 5, TOS 0, total length 1500
		3207        // ID 12807
		20b9        // flags MF, offset 185 (1480 bytes)
		40 01       // TTL 64, ICMP
		9e5d        // header checksum
		c0000201 c0000202
	`)
	// An IGMP report with the router alert option (RFC 2113), IHL 6.
	ipv4OptHdr = fromHex(`
		46 00 002c  // version 4, IHL 6, TOS 0, total length 44
		0001 4000   // ID 1, DF
		01 02       // TTL 1, IGMP
		42b3        // header checksum
		c0000201    // source 192.0.2.1
		e0000016    // destination 224.0.0.22
		94040000    // option: router alert, length 4, value 0
	`)
)

func ipv4Packet(hdr []byte, payloadLen int) []byte {
	b := bytes.Clone(hdr)
	for i := range payloadLen {
		b = append(b, byte(i))
	}
	return b
}

func TestIPv4Parse(t *testing.T) {
	echo := ipv4Packet(ipv4EchoHdr, 64)
	frag := ipv4Packet(ipv4FragHdr, 1480)
	opt := ipv4Packet(ipv4OptHdr, 24)
	a := netip.MustParseAddr
	set := func(b []byte, off int, v ...byte) []byte {
		b = bytes.Clone(b)
		copy(b[off:], v)
		return b
	}
	tests := []struct {
		name       string
		in         []byte
		want       wire.IPv4Header
		wantErr    error
		payloadLen int
	}{
		{"echo request", echo, wire.IPv4Header{TotalLen: 84, ID: 12806, Flags: wire.IPv4DontFragment, TTL: 64,
			Protocol: wire.ProtoICMP, Checksum: 0x849f, Src: a("192.0.2.1"), Dst: a("192.0.2.2"), Options: []byte{}}, nil, 64},
		{"Ethernet padding is not payload", append(bytes.Clone(echo), 0, 0, 0, 0), wire.IPv4Header{TotalLen: 84, ID: 12806,
			Flags: wire.IPv4DontFragment, TTL: 64, Protocol: wire.ProtoICMP, Checksum: 0x849f,
			Src: a("192.0.2.1"), Dst: a("192.0.2.2"), Options: []byte{}}, nil, 64},
		{"middle fragment", frag, wire.IPv4Header{TotalLen: 1500, ID: 12807, Flags: wire.IPv4MoreFragments, FragOff: 1480,
			TTL: 64, Protocol: wire.ProtoICMP, Checksum: 0x9e5d, Src: a("192.0.2.1"), Dst: a("192.0.2.2"), Options: []byte{}}, nil, 1480},
		{"router alert option", opt, wire.IPv4Header{TotalLen: 44, ID: 1, Flags: wire.IPv4DontFragment, TTL: 1,
			Protocol: wire.ProtoIGMP, Checksum: 0x42b3, Src: a("192.0.2.1"), Dst: a("224.0.0.22"),
			Options: fromHex("94040000")}, nil, 20},
		{"header only, total length 20", set(ipv4EchoHdr, 2, 0, 20, 0x32, 0x06, 0x40, 0x00, 0x40, 0x01, 0x84, 0xdf),
			wire.IPv4Header{TotalLen: 20, ID: 12806, Flags: wire.IPv4DontFragment, TTL: 64, Protocol: wire.ProtoICMP, Checksum: 0x84df,
				Src: a("192.0.2.1"), Dst: a("192.0.2.2"), Options: []byte{}}, nil, 0},
		{"empty", nil, wire.IPv4Header{}, wire.ErrTruncated, 0},
		{"19 bytes", ipv4EchoHdr[:19], wire.IPv4Header{}, wire.ErrTruncated, 0},
		{"version 6", set(echo, 0, 0x65), wire.IPv4Header{}, wire.ErrBadVersion, 0},
		{"version 0", set(echo, 0, 0x05), wire.IPv4Header{}, wire.ErrBadVersion, 0},
		{"IHL 4", set(echo, 0, 0x44), wire.IPv4Header{}, wire.ErrBadHeaderLen, 0},
		{"IHL 0", set(echo, 0, 0x40), wire.IPv4Header{}, wire.ErrBadHeaderLen, 0},
		{"IHL 15 past the buffer", set(ipv4EchoHdr, 0, 0x4f), wire.IPv4Header{}, wire.ErrTruncated, 0},
		{"options cut short", ipv4OptHdr[:22], wire.IPv4Header{}, wire.ErrTruncated, 0},
		{"total length 0 (TSO)", set(echo, 2, 0, 0), wire.IPv4Header{}, wire.ErrBadTotalLen, 0},
		{"total length 19", set(echo, 2, 0, 19), wire.IPv4Header{}, wire.ErrBadTotalLen, 0},
		{"total length inside the options", set(opt, 2, 0, 22), wire.IPv4Header{}, wire.ErrBadTotalLen, 0},
		{"total length past the buffer", set(echo, 2, 0, 85), wire.IPv4Header{}, wire.ErrShortPacket, 0},
		{"total length 65535", set(echo, 2, 0xff, 0xff), wire.IPv4Header{}, wire.ErrShortPacket, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h wire.IPv4Header
			n, err := h.Parse(tt.in)
			if !reflect.DeepEqual(h, tt.want) || err != tt.wantErr {
				t.Errorf("Parse(%x) = %+v, %v, want %+v, %v", tt.in, h, err, tt.want, tt.wantErr)
			}
			v, verr := wire.ParseIPv4View(tt.in)
			if verr != tt.wantErr {
				t.Errorf("ParseIPv4View(%x) = %v, want %v", tt.in, verr, tt.wantErr)
			}
			if err != nil {
				return
			}
			hl := 20 + len(tt.want.Options)
			if n != hl || v.HeaderLen() != hl || int(v.IHL())*4 != hl || h.Len() != hl || v.Version() != 4 {
				t.Errorf("Parse(%x): n %d, HeaderLen %d, IHL %d, Len %d, Version %d; want header length %d",
					tt.in, n, v.HeaderLen(), v.IHL(), h.Len(), v.Version(), hl)
			}
			got := wire.IPv4Header{TOS: v.TOS(), TotalLen: v.TotalLen(), ID: v.ID(), Flags: v.Flags(),
				FragOff: v.FragmentOffset(), TTL: v.TTL(), Protocol: v.Protocol(), Checksum: v.Checksum(),
				Src: v.Src(), Dst: v.Dst(), Options: v.Options()}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseIPv4View(%x) = %+v, want %+v", tt.in, got, tt.want)
			}
			if len(v.Payload()) != tt.payloadLen || !bytes.Equal(v.Payload(), tt.in[hl:hl+tt.payloadLen]) {
				t.Errorf("ParseIPv4View(%x).Payload() has %d bytes, want %d", tt.in, len(v.Payload()), tt.payloadLen)
			}
			if !v.IsValidChecksum() || v.CalculateChecksum() != v.Checksum() {
				t.Errorf("ParseIPv4View(%x): IsValidChecksum %v, CalculateChecksum %#04x, want true, %#04x",
					tt.in, v.IsValidChecksum(), v.CalculateChecksum(), v.Checksum())
			}
			if v.DontFragment() != (h.Flags&wire.IPv4DontFragment != 0) || v.MoreFragments() != (h.Flags&wire.IPv4MoreFragments != 0) ||
				v.IsFragment() != (v.MoreFragments() || v.FragmentOffset() != 0) {
				t.Errorf("ParseIPv4View(%x): DF %v MF %v IsFragment %v", tt.in, v.DontFragment(), v.MoreFragments(), v.IsFragment())
			}
			out := make([]byte, h.Len())
			if n := h.Encode(out); n != hl || !bytes.Equal(out, tt.in[:hl]) {
				t.Errorf("Encode(%+v) = %d, %x, want %d, %x", h, n, out, hl, tt.in[:hl])
			}
		})
	}
}

func TestIPv4HeaderView(t *testing.T) {
	// The first 28 bytes of a 1428-byte datagram, as quoted in an ICMP
	// error: ParseIPv4View refuses it, ParseIPv4HeaderView takes it.
	quote := fromHex("450005940000400040014932c0000201c6336402 0800a0ed24520001")
	if _, err := wire.ParseIPv4View(quote); err != wire.ErrShortPacket {
		t.Errorf("ParseIPv4View(%x) = %v, want %v", quote, err, wire.ErrShortPacket)
	}
	v, err := wire.ParseIPv4HeaderView(quote)
	if err != nil {
		t.Fatalf("ParseIPv4HeaderView(%x) = %v, want nil", quote, err)
	}
	if v.TotalLen() != 1428 || !bytes.Equal(v.Payload(), quote[20:]) || !v.IsValidChecksum() {
		t.Errorf("ParseIPv4HeaderView(%x): TotalLen %d, Payload %x, IsValidChecksum %v", quote, v.TotalLen(), v.Payload(), v.IsValidChecksum())
	}
	for _, tt := range []struct {
		in   []byte
		want error
	}{
		{quote[:19], wire.ErrTruncated},
		{append([]byte{0x44}, quote[1:]...), wire.ErrBadHeaderLen},
		{append([]byte{0x55}, quote[1:]...), wire.ErrBadVersion},
		{append([]byte{0x48}, quote[1:]...), wire.ErrTruncated},
	} {
		if _, err := wire.ParseIPv4HeaderView(tt.in); err != tt.want {
			t.Errorf("ParseIPv4HeaderView(%x) = %v, want %v", tt.in, err, tt.want)
		}
	}
}

func TestIPv4Construct(t *testing.T) {
	h := wire.IPv4Header{TotalLen: 84, ID: 12806, Flags: wire.IPv4DontFragment, TTL: 64, Protocol: wire.ProtoICMP,
		Src: netip.MustParseAddr("192.0.2.1"), Dst: netip.MustParseAddr("192.0.2.2")}
	buf := make([]byte, 84)
	n := h.Encode(buf)
	v, err := wire.ParseIPv4View(buf)
	if err != nil {
		t.Fatalf("ParseIPv4View(%x) = %v", buf, err)
	}
	v.SetChecksum(v.CalculateChecksum())
	if !bytes.Equal(buf[:n], ipv4EchoHdr) {
		t.Errorf("Encode(%+v) then checksum = %x, want %x", h, buf[:n], ipv4EchoHdr)
	}

	// Options are padded to 4 bytes with zeros (EOL).
	h = wire.IPv4Header{TotalLen: 24, TTL: 1, Options: []byte{0x94, 0x04, 0x00}}
	buf = bytes.Repeat([]byte{0xee}, 24)
	if n := h.Encode(buf); n != 24 || buf[0] != 0x46 || !bytes.Equal(buf[20:], []byte{0x94, 0x04, 0, 0}) {
		t.Errorf("Encode(%+v) = %d, %x, want 24 bytes, IHL 6, options 94040000", h, n, buf)
	}

	// An IPv6 address cannot be written into an IPv4 header.
	func() {
		defer func() {
			if recover() == nil {
				t.Errorf("Encode with an IPv6 source did not panic")
			}
		}()
		h := wire.IPv4Header{Src: netip.MustParseAddr("2001:db8::1")}
		h.Encode(make([]byte, 20))
	}()
	func() {
		defer func() {
			if recover() == nil {
				t.Errorf("Encode with 41 option bytes did not panic")
			}
		}()
		h := wire.IPv4Header{Options: make([]byte, 41)}
		h.Encode(make([]byte, 64))
	}()
}

func TestIPv4Setters(t *testing.T) {
	b := ipv4Packet(ipv4FragHdr, 1480)
	v, err := wire.ParseIPv4View(b)
	if err != nil {
		t.Fatal(err)
	}
	v.SetTOS(0xb8)
	v.SetID(0xbeef)
	v.SetTTL(3)
	v.SetProtocol(wire.ProtoUDP)
	v.SetSrc(netip.MustParseAddr("::ffff:198.51.100.7")) // IPv4-mapped is fine
	v.SetDst(netip.MustParseAddr("203.0.113.9"))
	v.SetFlags(wire.IPv4DontFragment | wire.IPv4FlagReserved)
	if v.FragmentOffset() != 1480 {
		t.Errorf("SetFlags changed the offset to %d", v.FragmentOffset())
	}
	v.SetFragmentOffset(2960)
	if v.Flags() != wire.IPv4DontFragment|wire.IPv4FlagReserved {
		t.Errorf("SetFragmentOffset changed the flags to %v", v.Flags())
	}
	v.SetTotalLen(1000)
	v.SetChecksum(v.CalculateChecksum())
	want := wire.IPv4Header{TOS: 0xb8, TotalLen: 1000, ID: 0xbeef, Flags: wire.IPv4DontFragment | wire.IPv4FlagReserved,
		FragOff: 2960, TTL: 3, Protocol: wire.ProtoUDP, Checksum: v.Checksum(),
		Src: netip.MustParseAddr("198.51.100.7"), Dst: netip.MustParseAddr("203.0.113.9"), Options: []byte{}}
	var h wire.IPv4Header
	if _, err := h.Parse(b); err != nil || !reflect.DeepEqual(h, want) {
		t.Errorf("Parse(%x) = %+v, %v, want %+v, nil", b[:20], h, err, want)
	}
	if !v.IsValidChecksum() || len(v.Payload()) != 980 {
		t.Errorf("after setters: IsValidChecksum %v, %d payload bytes, want true, 980", v.IsValidChecksum(), len(v.Payload()))
	}

	// Length fields overwritten to nonsense cannot make accessors panic.
	v.SetTotalLen(65535)
	if len(v.Payload()) != 1480 {
		t.Errorf("total length 65535: %d payload bytes, want the 1480 there are", len(v.Payload()))
	}
	v.SetTotalLen(3)
	if len(v.Payload()) != 0 {
		t.Errorf("total length 3: %d payload bytes, want 0", len(v.Payload()))
	}
	short := bytes.Clone(ipv4EchoHdr)
	sv, _ := wire.ParseIPv4HeaderView(short)
	short[0] = 0x4f // IHL 15 over a 20-byte buffer
	if sv.HeaderLen() != 20 || len(sv.Options()) != 0 || len(sv.Payload()) != 0 {
		t.Errorf("IHL 15 over 20 bytes: HeaderLen %d, %d option bytes", sv.HeaderLen(), len(sv.Options()))
	}
	short[0] = 0x41
	if sv.HeaderLen() != 20 || sv.IsValidChecksum() {
		t.Errorf("IHL 1: HeaderLen %d, want 20", sv.HeaderLen())
	}
}

func TestIPv4DecrementTTL(t *testing.T) {
	for ttl := 0; ttl < 256; ttl++ {
		for _, hdr := range [][]byte{ipv4EchoHdr, ipv4FragHdr, ipv4OptHdr} {
			b := bytes.Clone(hdr)
			v, _ := wire.ParseIPv4HeaderView(b)
			v.SetTTL(uint8(ttl))
			v.SetChecksum(v.CalculateChecksum())
			want := uint8(max(ttl-1, 0))
			if got := v.DecrementTTL(); got != want || v.TTL() != want {
				t.Fatalf("DecrementTTL() with TTL %d = %d (field %d), want %d", ttl, got, v.TTL(), want)
			}
			if !v.IsValidChecksum() || v.Checksum() != v.CalculateChecksum() {
				t.Fatalf("DecrementTTL() from TTL %d: checksum %#04x, want %#04x", ttl, v.Checksum(), v.CalculateChecksum())
			}
		}
	}
}

func TestIPv4EnumStrings(t *testing.T) {
	tests := []struct {
		got, want string
	}{
		{wire.ProtoTCP.String(), "TCP"},
		{wire.ProtoUDP.String(), "UDP"},
		{wire.ProtoICMP.String(), "ICMP"},
		{wire.ProtoIGMP.String(), "IGMP"},
		{wire.ProtoIPIP.String(), "IPIP"},
		{wire.ProtoICMPv6.String(), "ICMPv6"},
		{wire.IPProtocol(132).String(), "IPProtocol(132)"},
		{wire.IPv4Flags(0).String(), "0"},
		{wire.IPv4DontFragment.String(), "DF"},
		{(wire.IPv4MoreFragments | wire.IPv4DontFragment | wire.IPv4FlagReserved).String(), "RF|DF|MF"},
		{wire.IPv4Flags(0x11).String(), "MF|0x10"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("String() = %q, want %q", tt.got, tt.want)
		}
	}
}

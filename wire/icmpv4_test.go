package wire_test

import (
	"bytes"
	"net/netip"
	"testing"

	"ustack/wire"
)

// ICMPv4 messages (the IPv4 payload) from the golden capture, and one made
// by hand.
var (
	icmpEchoRequest = fromHex(`
		08        // type echo
		00        // code 0
		eb7b      // checksum
		244e      // identifier 9294
		0001      // sequence 1
		1f64026b00000000 0493030000000000            // data: ping's timestamp
		101112131415161718191a1b1c1d1e1f 202122232425262728292a2b2c2d2e2f 3031323334353637 // pattern
	`)
	icmpPortUnreachable = fromHex(`
		03 03     // destination unreachable, port unreachable
		e958      // checksum
		00000000  // unused
		45000027f55540003f115a39c0000201c6336402  // quoted IPv4 header, UDP to 198.51.100.2
		9722 0009 0013 5237                       // quoted UDP header, 38690 -> 9
		6e6f626f647920686f6d65                    // quoted data "nobody home"
	`)
	icmpFragNeeded = fromHex(`
		03 04     // destination unreachable, fragmentation needed and DF set
		2abb      // checksum
		0000      // unused
		0500      // next-hop MTU 1280 (RFC 1191)
		450005940000400040014932c0000201c6336402  // quoted IPv4 header, 1428 bytes with DF
		0800a0ed24520001                          // first 8 bytes of the quoted echo request
	`)
	icmpTimeExceeded = fromHex(`
		0b 00     // time exceeded, TTL exceeded in transit
		f4ff      // checksum
		00000000  // unused
		45000054170740000101766bc0000201c6336402  // quoted IPv4 header, TTL 1
		0800 0848 2451 0001 1f64026b00000000 e7c3030000000000 // quoted echo request
		101112131415161718191a1b1c1d1e1f 202122232425262728292a2b2c2d2e2f 3031323334353637
	`)
)

func TestICMPv4Parse(t *testing.T) {
	tests := []struct {
		name    string
		in      []byte
		want    wire.ICMPv4Header
		wantErr error
	}{
		{"echo request", icmpEchoRequest, wire.ICMPv4Header{Type: wire.ICMPv4Echo, Checksum: 0xeb7b, Rest: 0x244e0001}, nil},
		{"port unreachable", icmpPortUnreachable, wire.ICMPv4Header{Type: wire.ICMPv4DestUnreach, Code: 3, Checksum: 0xe958}, nil},
		{"fragmentation needed", icmpFragNeeded, wire.ICMPv4Header{Type: wire.ICMPv4DestUnreach, Code: 4, Checksum: 0x2abb, Rest: 1280}, nil},
		{"time exceeded", icmpTimeExceeded, wire.ICMPv4Header{Type: wire.ICMPv4TimeExceeded, Checksum: 0xf4ff}, nil},
		{"header only", fromHex("0000ffff00000000"), wire.ICMPv4Header{Type: wire.ICMPv4EchoReply, Checksum: 0xffff}, nil},
		{"7 bytes", icmpEchoRequest[:7], wire.ICMPv4Header{}, wire.ErrTruncated},
		{"empty", nil, wire.ICMPv4Header{}, wire.ErrTruncated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h wire.ICMPv4Header
			n, err := h.Parse(tt.in)
			if h != tt.want || err != tt.wantErr {
				t.Errorf("Parse(%x) = %+v, %v, want %+v, %v", tt.in, h, err, tt.want, tt.wantErr)
			}
			v, verr := wire.ParseICMPv4View(tt.in)
			if verr != tt.wantErr {
				t.Errorf("ParseICMPv4View(%x) = %v, want %v", tt.in, verr, tt.wantErr)
			}
			if err != nil {
				return
			}
			got := wire.ICMPv4Header{Type: v.Type(), Code: v.Code(), Checksum: v.Checksum(), Rest: v.Rest()}
			if got != tt.want || v.TypeCode() != h.TypeCode() || n != 8 || h.Len() != 8 {
				t.Errorf("ParseICMPv4View(%x) = %+v (%v), want %+v", tt.in, got, v.TypeCode(), tt.want)
			}
			if !v.IsValidChecksum() || v.CalculateChecksum() != v.Checksum() {
				t.Errorf("ParseICMPv4View(%x): IsValidChecksum %v, CalculateChecksum %#04x, want true, %#04x",
					tt.in, v.IsValidChecksum(), v.CalculateChecksum(), v.Checksum())
			}
			if !bytes.Equal(v.Payload(), tt.in[8:]) || !bytes.Equal(v.Bytes(), tt.in) {
				t.Errorf("ParseICMPv4View(%x).Payload() = %x", tt.in, v.Payload())
			}
			out := make([]byte, 8)
			if h.Encode(out); !bytes.Equal(out, tt.in[:8]) {
				t.Errorf("Encode(%+v) = %x, want %x", h, out, tt.in[:8])
			}
		})
	}
}

func TestICMPv4Accessors(t *testing.T) {
	echo, _ := wire.ParseICMPv4View(icmpEchoRequest)
	if echo.ID() != 9294 || echo.Seq() != 1 || echo.TypeCode() != wire.ICMPv4EchoRequestCode || echo.Type().IsError() {
		t.Errorf("echo: ID %d Seq %d TypeCode %v", echo.ID(), echo.Seq(), echo.TypeCode())
	}
	if h := wire.NewICMPv4Echo(wire.ICMPv4Echo, 9294, 1); h.ID() != 9294 || h.Seq() != 1 || h.Rest != 0x244e0001 {
		t.Errorf("NewICMPv4Echo(Echo, 9294, 1) = %+v", h)
	}

	fn, _ := wire.ParseICMPv4View(icmpFragNeeded)
	if fn.TypeCode() != wire.ICMPv4FragmentationNeeded || fn.NextHopMTU() != 1280 || !fn.Type().IsError() {
		t.Errorf("fragmentation needed: TypeCode %v, NextHopMTU %d, want %v, 1280", fn.TypeCode(), fn.NextHopMTU(), wire.ICMPv4FragmentationNeeded)
	}

	tests := []struct {
		name      string
		in        []byte
		tc        wire.ICMPv4TypeCode
		src, dst  string
		proto     wire.IPProtocol
		transport string
	}{
		{"port unreachable", icmpPortUnreachable, wire.ICMPv4PortUnreachable, "192.0.2.1", "198.51.100.2", wire.ProtoUDP,
			"97220009001352376e6f626f647920686f6d65"},
		{"fragmentation needed", icmpFragNeeded, wire.ICMPv4FragmentationNeeded, "192.0.2.1", "198.51.100.2", wire.ProtoICMP,
			"0800a0ed24520001"},
		{"time exceeded", icmpTimeExceeded, wire.ICMPv4TTLExceeded, "192.0.2.1", "198.51.100.2", wire.ProtoICMP,
			"0800084824510001" + "1f64026b00000000e7c3030000000000101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f3031323334353637"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := wire.ParseICMPv4View(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			ip, transport, err := v.Quoted()
			if err != nil || v.TypeCode() != tt.tc {
				t.Fatalf("Quoted() of %x = %v; TypeCode %v, want %v", tt.in, err, v.TypeCode(), tt.tc)
			}
			if ip.Src().String() != tt.src || ip.Dst().String() != tt.dst || ip.Protocol() != tt.proto ||
				!bytes.Equal(transport, fromHex(tt.transport)) || !ip.IsValidChecksum() {
				t.Errorf("Quoted() of %x = %v > %v %v, %x; want %v > %v %v, %v", tt.in,
					ip.Src(), ip.Dst(), ip.Protocol(), transport, tt.src, tt.dst, tt.proto, tt.transport)
			}
		})
	}
	// A quote that is not an IPv4 header.
	bad, _ := wire.ParseICMPv4View(fromHex("0303 0000 00000000 6000000000000000"))
	if _, _, err := bad.Quoted(); err != wire.ErrTruncated {
		t.Errorf("Quoted() of 8 bytes = %v, want %v", err, wire.ErrTruncated)
	}
}

func TestICMPv4Construct(t *testing.T) {
	// An echo reply to icmpEchoRequest, built in place as icmp_echo does.
	b := bytes.Clone(icmpEchoRequest)
	v, _ := wire.ParseICMPv4View(b)
	v.SetType(wire.ICMPv4EchoReply)
	v.SetChecksum(v.CalculateChecksum())
	if !v.IsValidChecksum() || v.Checksum() != 0xf37b {
		t.Errorf("echo reply checksum = %#04x, want 0xf37b", v.Checksum())
	}
	// Incremental update gives the same result (RFC 1624).
	if got := wire.UpdateChecksum16(0xeb7b, 0x0800, 0x0000); got != 0xf37b {
		t.Errorf("UpdateChecksum16(0xeb7b, 0x0800, 0) = %#04x, want 0xf37b", got)
	}

	// Fragmentation needed from scratch.
	b = make([]byte, 8, 36)
	h := wire.ICMPv4Header{Type: wire.ICMPv4DestUnreach, Code: 4}
	h.Encode(b)
	b = append(b, icmpFragNeeded[8:]...)
	v, _ = wire.ParseICMPv4View(b)
	v.SetNextHopMTU(1280)
	v.SetChecksum(v.CalculateChecksum())
	if !bytes.Equal(b, icmpFragNeeded) {
		t.Errorf("built fragmentation needed = %x, want %x", b, icmpFragNeeded)
	}
	v.SetTypeCode(wire.ICMPv4TTLExceeded)
	v.SetRest(0)
	v.SetID(7)
	v.SetSeq(9)
	v.SetCode(1)
	if v.TypeCode() != wire.ICMPv4ReassemblyTimeout || v.Rest() != 7<<16|9 {
		t.Errorf("after setters: %v, rest %#x", v.TypeCode(), v.Rest())
	}
	gw := fromHex("0500 0000 c0000263")
	if r, _ := wire.ParseICMPv4View(gw); r.Gateway() != netip.MustParseAddr("192.0.2.99") || r.TypeCode() != wire.ICMPv4RedirectNet {
		t.Errorf("redirect: gateway %v, %v", r.Gateway(), r.TypeCode())
	}
	if p, _ := wire.ParseICMPv4View(fromHex("0c00 0000 09000000")); p.Pointer() != 9 || p.TypeCode() != wire.ICMPv4PointerIndicates {
		t.Errorf("parameter problem: pointer %d, %v", p.Pointer(), p.TypeCode())
	}
}

func TestICMPv4Strings(t *testing.T) {
	tests := []struct {
		got, want string
	}{
		{wire.ICMPv4Echo.String(), "Echo"},
		{wire.ICMPv4Type(42).String(), "ICMPv4Type(42)"},
		{wire.ICMPv4EchoRequestCode.String(), "Echo"},
		{wire.ICMPv4EchoReplyCode.String(), "EchoReply"},
		{wire.NewICMPv4TypeCode(wire.ICMPv4Echo, 3).String(), "Echo(code 3)"},
		{wire.ICMPv4PortUnreachable.String(), "DestinationUnreachable(PortUnreachable)"},
		{wire.ICMPv4FragmentationNeeded.String(), "DestinationUnreachable(FragmentationNeeded)"},
		{wire.ICMPv4PrecedenceCutoff.String(), "DestinationUnreachable(PrecedenceCutoff)"},
		{wire.NewICMPv4TypeCode(wire.ICMPv4DestUnreach, 16).String(), "DestinationUnreachable(code 16)"},
		{wire.ICMPv4RedirectHost.String(), "Redirect(Host)"},
		{wire.ICMPv4TTLExceeded.String(), "TimeExceeded(TTLExceeded)"},
		{wire.ICMPv4ReassemblyTimeout.String(), "TimeExceeded(FragmentReassemblyTimeExceeded)"},
		{wire.NewICMPv4TypeCode(wire.ICMPv4TimeExceeded, 2).String(), "TimeExceeded(code 2)"},
		{wire.ICMPv4BadLength.String(), "ParameterProblem(BadLength)"},
		{wire.NewICMPv4TypeCode(99, 1).String(), "ICMPv4Type(99)(code 1)"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("String() = %q, want %q", tt.got, tt.want)
		}
	}
}

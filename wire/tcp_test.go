package wire_test

import (
	"bytes"
	"net/netip"
	"reflect"
	"testing"

	"ustack/wire"
)

// TCP segments from the golden capture.
var (
	// SYN 192.0.2.1:43658 -> 198.51.100.2:8080.
	tcpSYN = fromHex(`
		aa8a      // source port 43658
		1f90      // destination port 8080
		27b7fed3  // sequence number
		00000000  // acknowledgment number
		a0        // data offset 10 (40 bytes), reserved 0
		02        // flags SYN
		fbe0      // window 64480
		2779      // checksum
		0000      // urgent pointer
		020404d8            // MSS 1240
		0402                // SACK permitted
		080a693fdf6200000000 // timestamps, TSval 0x693fdf62, TSecr 0
		01                  // NOP
		03030a              // window scale 10
	`)
	// A duplicate ACK with a SACK block, same direction.
	tcpSACK = fromHex(`
		aa8a 1f90           // ports
		27b7ff29            // sequence number
		d13e78bc            // acknowledgment number
		b0 10               // data offset 11 (44 bytes), ACK
		0049                // window 73
		938d 0000           // checksum, urgent pointer
		0101 080a693fdf689541f22c // NOP NOP timestamps
		0101 050a d13e7d88d13e9584 // NOP NOP SACK, 1 block
	`)
	// RST|ACK 198.51.100.2:8081 -> 192.0.2.1:59826, refusing a SYN.
	tcpRST = fromHex(`
		1f91 e9b2           // ports 8081 -> 59826
		00000000            // sequence number 0
		695ba580            // acknowledgment number
		50 14               // data offset 5, RST|ACK
		0000 ab79 0000      // window 0, checksum, urgent pointer
	`)
)

var (
	addrA = netip.MustParseAddr("192.0.2.1")
	addrB = netip.MustParseAddr("198.51.100.2")
)

func TestTCPParse(t *testing.T) {
	set := func(b []byte, off int, v ...byte) []byte {
		b = bytes.Clone(b)
		copy(b[off:], v)
		return b
	}
	withData := append(bytes.Clone(tcpRST), "abc"...)
	tests := []struct {
		name       string
		in         []byte
		want       wire.TCPHeader
		wantErr    error
		payloadLen int
	}{
		{"SYN with options", tcpSYN, wire.TCPHeader{SrcPort: 43658, DstPort: 8080, Seq: 0x27b7fed3, Flags: wire.TCPFlagSYN,
			Window: 64480, Checksum: 0x2779, Options: tcpSYN[20:]}, nil, 0},
		{"ACK with SACK", tcpSACK, wire.TCPHeader{SrcPort: 43658, DstPort: 8080, Seq: 0x27b7ff29, Ack: 0xd13e78bc,
			Flags: wire.TCPFlagACK, Window: 73, Checksum: 0x938d, Options: tcpSACK[20:]}, nil, 0},
		{"RST", tcpRST, wire.TCPHeader{SrcPort: 8081, DstPort: 59826, Ack: 0x695ba580, Flags: wire.TCPFlagRST | wire.TCPFlagACK,
			Checksum: 0xab79, Options: []byte{}}, nil, 0},
		{"with data", withData, wire.TCPHeader{SrcPort: 8081, DstPort: 59826, Ack: 0x695ba580, Flags: wire.TCPFlagRST | wire.TCPFlagACK,
			Checksum: 0xab79, Options: []byte{}}, nil, 3},
		{"every flag and reserved bit", set(tcpRST, 12, 0x5f, 0xff), wire.TCPHeader{SrcPort: 8081, DstPort: 59826, Ack: 0x695ba580,
			Flags: 0xfff, Checksum: 0xab79, Options: []byte{}}, nil, 0},
		{"empty", nil, wire.TCPHeader{}, wire.ErrTruncated, 0},
		{"19 bytes", tcpRST[:19], wire.TCPHeader{}, wire.ErrTruncated, 0},
		{"data offset 4", set(tcpRST, 12, 0x40), wire.TCPHeader{}, wire.ErrBadHeaderLen, 0},
		{"data offset 0", set(tcpSYN, 12, 0x00), wire.TCPHeader{}, wire.ErrBadHeaderLen, 0},
		{"data offset past the end", set(tcpRST, 12, 0x60), wire.TCPHeader{}, wire.ErrTruncated, 0},
		{"options cut short", tcpSYN[:39], wire.TCPHeader{}, wire.ErrTruncated, 0},
		{"data offset 15, 40 bytes", set(tcpSYN, 12, 0xf0), wire.TCPHeader{}, wire.ErrTruncated, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h wire.TCPHeader
			n, err := h.Parse(tt.in)
			if !reflect.DeepEqual(h, tt.want) || err != tt.wantErr {
				t.Errorf("Parse(%x) = %+v, %v, want %+v, %v", tt.in, h, err, tt.want, tt.wantErr)
			}
			v, verr := wire.ParseTCPView(tt.in)
			if verr != tt.wantErr {
				t.Errorf("ParseTCPView(%x) = %v, want %v", tt.in, verr, tt.wantErr)
			}
			if err != nil {
				return
			}
			hl := 20 + len(tt.want.Options)
			if n != hl || v.HeaderLen() != hl || int(v.DataOffset())*4 != hl || h.Len() != hl {
				t.Errorf("Parse(%x): n %d, HeaderLen %d, DataOffset %d, Len %d; want %d", tt.in, n, v.HeaderLen(), v.DataOffset(), h.Len(), hl)
			}
			got := wire.TCPHeader{SrcPort: v.SrcPort(), DstPort: v.DstPort(), Seq: v.Seq(), Ack: v.Ack(), Flags: v.Flags(),
				Window: v.Window(), Checksum: v.Checksum(), Urgent: v.UrgentPointer(), Options: v.Options()}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseTCPView(%x) = %+v, want %+v", tt.in, got, tt.want)
			}
			if len(v.Payload()) != tt.payloadLen || !bytes.Equal(v.Header(), tt.in[:hl]) || !bytes.Equal(v.Bytes(), tt.in) {
				t.Errorf("ParseTCPView(%x): payload %x, want %d bytes", tt.in, v.Payload(), tt.payloadLen)
			}
			out := make([]byte, h.Len())
			if n := h.Encode(out); n != hl || !bytes.Equal(out, tt.in[:hl]) {
				t.Errorf("Encode(%+v) = %d, %x, want %x", h, n, out, tt.in[:hl])
			}
		})
	}
}

func TestTCPChecksum(t *testing.T) {
	tests := []struct {
		name     string
		seg      []byte
		src, dst netip.Addr
	}{
		{"SYN", tcpSYN, addrA, addrB},
		{"SACK", tcpSACK, addrA, addrB},
		{"RST", tcpRST, addrB, addrA},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ps := wire.PseudoHeaderSum(tt.src, tt.dst, wire.ProtoTCP, uint16(len(tt.seg)))
			v, _ := wire.ParseTCPView(bytes.Clone(tt.seg))
			want := v.Checksum()
			if !v.IsValidChecksum(ps) || v.CalculateChecksum(ps) != want {
				t.Errorf("IsValidChecksum %v, CalculateChecksum %#04x, want true, %#04x", v.IsValidChecksum(ps), v.CalculateChecksum(ps), want)
			}
			if wrong := wire.PseudoHeaderSum(tt.dst, tt.dst, wire.ProtoTCP, uint16(len(tt.seg))); v.IsValidChecksum(wrong) {
				t.Errorf("IsValidChecksum with a wrong pseudo-header = true")
			}
			v.SetChecksum(0)
			b := v.Bytes()
			for split := 1; split < len(b); split += 3 { // odd and even splits
				if got := wire.TCPChecksum(ps, b[:split], b[split:]); got != want {
					t.Errorf("TCPChecksum(%#x, split at %d) = %#04x, want %#04x", ps, split, got, want)
				}
			}
			if wire.VerifyChecksum(ps, b) {
				t.Errorf("VerifyChecksum with checksum field 0 = true")
			}
		})
	}
}

func TestTCPSetters(t *testing.T) {
	b := bytes.Clone(tcpSACK)
	v, _ := wire.ParseTCPView(b)
	ps := wire.PseudoHeaderSum(addrA, addrB, wire.ProtoTCP, uint16(len(b)))
	v.SetSrcPort(1)
	v.SetDstPort(2)
	v.SetSeq(3)
	v.SetAck(4)
	v.SetFlags(wire.TCPFlagFIN | wire.TCPFlagACK | wire.TCPFlagCWR)
	v.SetWindow(5)
	v.SetUrgentPointer(6)
	v.SetChecksum(v.CalculateChecksum(ps))
	want := wire.TCPHeader{SrcPort: 1, DstPort: 2, Seq: 3, Ack: 4, Flags: wire.TCPFlagFIN | wire.TCPFlagACK | wire.TCPFlagCWR,
		Window: 5, Checksum: v.Checksum(), Urgent: 6, Options: tcpSACK[20:]}
	var h wire.TCPHeader
	if _, err := h.Parse(b); err != nil || !reflect.DeepEqual(h, want) {
		t.Errorf("Parse(%x) = %+v, %v, want %+v", b, h, err, want)
	}
	if v.DataOffset() != 11 || !v.IsValidChecksum(ps) {
		t.Errorf("SetFlags changed the data offset to %d, or checksum invalid", v.DataOffset())
	}
	// A data offset overwritten to nonsense cannot make accessors panic.
	b[12] = 0xf0
	if v.HeaderLen() != 44 || len(v.Payload()) != 0 {
		t.Errorf("data offset 15 over 44 bytes: HeaderLen %d", v.HeaderLen())
	}
	b[12] = 0x10
	if v.HeaderLen() != 20 || len(v.Options()) != 0 {
		t.Errorf("data offset 1: HeaderLen %d", v.HeaderLen())
	}

	// Construct the SYN from its parts.
	var o wire.TCPOptions
	if err := o.Parse(tcpSYN[20:]); err != nil {
		t.Fatal(err)
	}
	opts := make([]byte, o.Len())
	o.Encode(opts)
	syn := wire.TCPHeader{SrcPort: 43658, DstPort: 8080, Seq: 0x27b7fed3, Flags: wire.TCPFlagSYN, Window: 64480, Options: opts}
	out := make([]byte, syn.Len())
	syn.Encode(out)
	ps = wire.PseudoHeaderSum(addrA, addrB, wire.ProtoTCP, uint16(len(out)))
	sv, _ := wire.ParseTCPView(out)
	sv.SetChecksum(wire.TCPChecksum(ps, out))
	if !bytes.Equal(out, tcpSYN) {
		t.Errorf("constructed SYN = %x, want %x", out, tcpSYN)
	}
	// Options not a multiple of 4 are padded with EOL.
	h = wire.TCPHeader{Options: []byte{1, 1, 1, 1, 1}}
	out = bytes.Repeat([]byte{0xee}, 28)
	if n := h.Encode(out); n != 28 || out[12]>>4 != 7 || !bytes.Equal(out[20:], []byte{1, 1, 1, 1, 1, 0, 0, 0}) {
		t.Errorf("Encode(%+v) = %d, %x", h, n, out)
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Errorf("Encode with 41 option bytes did not panic")
			}
		}()
		h := wire.TCPHeader{Options: make([]byte, 41)}
		h.Encode(make([]byte, 64))
	}()
}

func TestTCPFlagsString(t *testing.T) {
	tests := []struct {
		f    wire.TCPFlags
		want string
	}{
		{0, "0"},
		{wire.TCPFlagSYN, "SYN"},
		{wire.TCPFlagSYN | wire.TCPFlagACK, "SYN|ACK"},
		{wire.TCPFlagFIN | wire.TCPFlagPSH | wire.TCPFlagACK, "FIN|PSH|ACK"},
		{wire.TCPFlagRST | wire.TCPFlagURG | wire.TCPFlagECE | wire.TCPFlagCWR | wire.TCPFlagAE, "RST|URG|ECE|CWR|AE"},
		{0xe00, "0xe00"},
		{0xfff, "FIN|SYN|RST|PSH|ACK|URG|ECE|CWR|AE|0xe00"},
	}
	for _, tt := range tests {
		if got := tt.f.String(); got != tt.want {
			t.Errorf("TCPFlags(%#x).String() = %q, want %q", uint16(tt.f), got, tt.want)
		}
	}
}

package wire_test

import (
	"bytes"
	"net/netip"
	"testing"

	"ustack/wire"
)

// The ARP request and reply from the golden capture.
var (
	arpRequest = fromHex(`
		0001          // HTYPE Ethernet
		0800          // PTYPE IPv4
		06            // HLEN
		04            // PLEN
		0001          // OPER request
		02000000000a  // SHA
		c0000201      // SPA 192.0.2.1
		000000000000  // THA unknown
		c0000202      // TPA 192.0.2.2
	`)
	arpReply = fromHex(`
		0001 0800 06 04  // Ethernet, IPv4, 6, 4
		0002             // OPER reply
		020000000001     // SHA
		c0000202         // SPA 192.0.2.2
		02000000000a     // THA
		c0000201         // TPA 192.0.2.1
	`)
)

func TestARPParse(t *testing.T) {
	a1, a2 := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")
	mA, mR := wire.MAC{2, 0, 0, 0, 0, 0x0a}, wire.MAC{2, 0, 0, 0, 0, 1}
	patch := func(b []byte, off int, v ...byte) []byte {
		b = bytes.Clone(b)
		copy(b[off:], v)
		return b
	}
	tests := []struct {
		name    string
		in      []byte
		want    wire.ARPHeader
		wantErr error
	}{
		{"request", arpRequest, wire.ARPHeader{Op: wire.ARPRequest, SenderMAC: mA, SenderIP: a1, TargetIP: a2}, nil},
		{"reply", arpReply, wire.ARPHeader{Op: wire.ARPReply, SenderMAC: mR, SenderIP: a2, TargetMAC: mA, TargetIP: a1}, nil},
		{"Ethernet padding after", append(bytes.Clone(arpReply), make([]byte, 18)...),
			wire.ARPHeader{Op: wire.ARPReply, SenderMAC: mR, SenderIP: a2, TargetMAC: mA, TargetIP: a1}, nil},
		{"unknown op is not checked", patch(arpRequest, 6, 0, 9),
			wire.ARPHeader{Op: 9, SenderMAC: mA, SenderIP: a1, TargetIP: a2}, nil},
		{"27 bytes", arpRequest[:27], wire.ARPHeader{}, wire.ErrTruncated},
		{"empty", nil, wire.ARPHeader{}, wire.ErrTruncated},
		{"HTYPE IEEE 802", patch(arpRequest, 0, 0, 6), wire.ARPHeader{}, wire.ErrNotEthernetIPv4},
		{"PTYPE IPv6", patch(arpRequest, 2, 0x86, 0xdd), wire.ARPHeader{}, wire.ErrNotEthernetIPv4},
		{"HLEN 8", patch(arpRequest, 4, 8), wire.ARPHeader{}, wire.ErrNotEthernetIPv4},
		{"PLEN 16", patch(arpRequest, 5, 16), wire.ARPHeader{}, wire.ErrNotEthernetIPv4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h wire.ARPHeader
			n, err := h.Parse(tt.in)
			if h != tt.want || err != tt.wantErr {
				t.Errorf("Parse(%x) = %+v, %v, want %+v, %v", tt.in, h, err, tt.want, tt.wantErr)
			}
			v, verr := wire.ParseARPView(tt.in)
			if verr != tt.wantErr {
				t.Errorf("ParseARPView(%x) = %v, want %v", tt.in, verr, tt.wantErr)
			}
			if err != nil {
				return
			}
			if v.HType() != 1 || v.PType() != wire.EtherTypeIPv4 || v.HLen() != 6 || v.PLen() != 4 {
				t.Errorf("ParseARPView(%x): HType %d PType %v HLen %d PLen %d", tt.in, v.HType(), v.PType(), v.HLen(), v.PLen())
			}
			got := wire.ARPHeader{Op: v.Op(), SenderMAC: v.SenderMAC(), SenderIP: v.SenderIP(), TargetMAC: v.TargetMAC(), TargetIP: v.TargetIP()}
			if got != tt.want {
				t.Errorf("ParseARPView(%x) = %+v, want %+v", tt.in, got, tt.want)
			}
			if n != 28 || len(v.Bytes()) != 28 {
				t.Errorf("Parse(%x) read %d bytes, view %d, want 28", tt.in, n, len(v.Bytes()))
			}
			out := make([]byte, h.Len())
			if h.Encode(out); !bytes.Equal(out, tt.in[:28]) {
				t.Errorf("Encode(%+v) = %x, want %x", h, out, tt.in[:28])
			}
		})
	}
}

func TestARPConstructReply(t *testing.T) {
	// Turn the request into the reply in place, as arp_process does.
	b := bytes.Clone(arpRequest)
	v, err := wire.ParseARPView(b)
	if err != nil {
		t.Fatal(err)
	}
	v.SetOp(wire.ARPReply)
	v.SetTargetMAC(v.SenderMAC())
	sip, tip := v.SenderIP(), v.TargetIP()
	v.SetTargetIP(sip)
	v.SetSenderIP(tip)
	v.SetSenderMAC(wire.MAC{2, 0, 0, 0, 0, 1})
	if !bytes.Equal(b, arpReply) {
		t.Errorf("reply built in place = %x, want %x", b, arpReply)
	}
}

func TestARPOpString(t *testing.T) {
	for op, want := range map[wire.ARPOp]string{
		wire.ARPRequest: "Request", wire.ARPReply: "Reply", wire.ARPReverseReq: "ReverseRequest",
		wire.ARPReverseReply: "ReverseReply", 9: "ARPOp(9)",
	} {
		if got := op.String(); got != want {
			t.Errorf("ARPOp(%d).String() = %q, want %q", uint16(op), got, want)
		}
	}
}

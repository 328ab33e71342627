package wire_test

import (
	"bytes"
	"testing"

	"ustack/wire"
)

// ARP request from the golden capture, 42 bytes, no padding.
var ethARPRequest = fromHex(`
	ffffffffffff  // destination: broadcast
	02000000000a  // source 02:00:00:00:00:0a
	0806          // EtherType ARP
	0001 0800 06 04 0001 02000000000a c0000201 000000000000 c0000202 // ARP payload
`)

func TestMACString(t *testing.T) {
	tests := []struct {
		m    wire.MAC
		want string
	}{
		{wire.MAC{}, "00:00:00:00:00:00"},
		{wire.BroadcastMAC, "ff:ff:ff:ff:ff:ff"},
		{wire.MAC{0x02, 0x00, 0x5e, 0x10, 0xab, 0x0c}, "02:00:5e:10:ab:0c"},
	}
	for _, tt := range tests {
		if got := tt.m.String(); got != tt.want {
			t.Errorf("MAC(%x).String() = %q, want %q", tt.m[:], got, tt.want)
		}
	}
}

func TestParseMAC(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    wire.MAC
		wantErr error
	}{
		{"colons", "02:00:5e:10:ab:0c", wire.MAC{2, 0, 0x5e, 0x10, 0xab, 0x0c}, nil},
		{"hyphens upper case", "02-00-5E-10-AB-0C", wire.MAC{2, 0, 0x5e, 0x10, 0xab, 0x0c}, nil},
		{"one-digit octets", "2:0:5e:1:ab:c", wire.MAC{2, 0, 0x5e, 1, 0xab, 0x0c}, nil},
		{"broadcast", "ff:ff:ff:ff:ff:ff", wire.BroadcastMAC, nil},
		{"empty", "", wire.MAC{}, wire.ErrBadMAC},
		{"five octets", "02:00:5e:10:ab", wire.MAC{}, wire.ErrBadMAC},
		{"seven octets", "02:00:5e:10:ab:0c:01", wire.MAC{}, wire.ErrBadMAC},
		{"mixed separators", "02:00-5e:10:ab:0c", wire.MAC{}, wire.ErrBadMAC},
		{"three digits", "002:00:5e:10:ab:0c", wire.MAC{}, wire.ErrBadMAC},
		{"not hex", "0g:00:5e:10:ab:0c", wire.MAC{}, wire.ErrBadMAC},
		{"empty octet", "02::5e:10:ab:0c", wire.MAC{}, wire.ErrBadMAC},
		{"trailing separator", "02:00:5e:10:ab:0c:", wire.MAC{}, wire.ErrBadMAC},
		{"dots", "0200.5e10.ab0c", wire.MAC{}, wire.ErrBadMAC},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := wire.ParseMAC(tt.in)
			if got != tt.want || err != tt.wantErr {
				t.Errorf("ParseMAC(%q) = %v, %v, want %v, %v", tt.in, got, err, tt.want, tt.wantErr)
			}
			if err == nil {
				if back, _ := wire.ParseMAC(got.String()); back != got {
					t.Errorf("ParseMAC(%q) = %v, want %v", got.String(), back, got)
				}
			}
		})
	}
}

func TestMACPredicates(t *testing.T) {
	tests := []struct {
		m                          wire.MAC
		broadcast, multicast, zero bool
	}{
		{wire.BroadcastMAC, true, true, false},
		{wire.MAC{0x01, 0x00, 0x5e, 0, 0, 1}, false, true, false},
		{wire.MAC{0x02, 0, 0, 0, 0, 1}, false, false, false},
		{wire.MAC{}, false, false, true},
	}
	for _, tt := range tests {
		if tt.m.IsBroadcast() != tt.broadcast || tt.m.IsMulticast() != tt.multicast || tt.m.IsZero() != tt.zero {
			t.Errorf("%v: IsBroadcast, IsMulticast, IsZero = %v, %v, %v, want %v, %v, %v", tt.m,
				tt.m.IsBroadcast(), tt.m.IsMulticast(), tt.m.IsZero(), tt.broadcast, tt.multicast, tt.zero)
		}
	}
}

func TestEtherTypeString(t *testing.T) {
	tests := []struct {
		t    wire.EtherType
		want string
	}{
		{wire.EtherTypeIPv4, "IPv4"},
		{wire.EtherTypeARP, "ARP"},
		{wire.EtherTypeVLAN, "VLAN"},
		{wire.EtherTypeIPv6, "IPv6"},
		{0x88cc, "EtherType(0x88cc)"},
	}
	for _, tt := range tests {
		if got := tt.t.String(); got != tt.want {
			t.Errorf("EtherType(%#x).String() = %q, want %q", uint16(tt.t), got, tt.want)
		}
	}
}

func TestEthernetParse(t *testing.T) {
	tests := []struct {
		name    string
		in      []byte
		want    wire.EthernetHeader
		wantErr error
	}{
		{"ARP request", ethARPRequest, wire.EthernetHeader{
			Dst: wire.BroadcastMAC, Src: wire.MAC{2, 0, 0, 0, 0, 0x0a}, EtherType: wire.EtherTypeARP}, nil},
		{"header only", ethARPRequest[:14], wire.EthernetHeader{
			Dst: wire.BroadcastMAC, Src: wire.MAC{2, 0, 0, 0, 0, 0x0a}, EtherType: wire.EtherTypeARP}, nil},
		{"13 bytes", ethARPRequest[:13], wire.EthernetHeader{}, wire.ErrTruncated},
		{"empty", nil, wire.EthernetHeader{}, wire.ErrTruncated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h wire.EthernetHeader
			n, err := h.Parse(tt.in)
			if h != tt.want || err != tt.wantErr {
				t.Errorf("Parse(%x) = %+v, %v, want %+v, %v", tt.in, h, err, tt.want, tt.wantErr)
			}
			v, verr := wire.ParseEthernetView(tt.in)
			if verr != tt.wantErr {
				t.Errorf("ParseEthernetView(%x) = %v, want %v", tt.in, verr, tt.wantErr)
			}
			if err != nil {
				return
			}
			if n != 14 || h.Len() != 14 {
				t.Errorf("Parse(%x) read %d bytes, Len %d, want 14", tt.in, n, h.Len())
			}
			if got := (wire.EthernetHeader{Dst: v.Dst(), Src: v.Src(), EtherType: v.EtherType()}); got != tt.want {
				t.Errorf("ParseEthernetView(%x) = %+v, want %+v", tt.in, got, tt.want)
			}
			if !bytes.Equal(v.Payload(), tt.in[14:]) || !bytes.Equal(v.Header(), tt.in[:14]) || len(v.Bytes()) != len(tt.in) {
				t.Errorf("ParseEthernetView(%x): header %x payload %x", tt.in, v.Header(), v.Payload())
			}
			var out [14]byte
			if n := h.Encode(out[:]); n != 14 || !bytes.Equal(out[:], tt.in[:14]) {
				t.Errorf("Encode(%+v) = %d, %x, want 14, %x", h, n, out, tt.in[:14])
			}
		})
	}
}

func TestEthernetViewSetters(t *testing.T) {
	b := bytes.Clone(ethARPRequest)
	v, err := wire.ParseEthernetView(b)
	if err != nil {
		t.Fatal(err)
	}
	v.SetDst(wire.MAC{1, 2, 3, 4, 5, 6})
	v.SetSrc(wire.MAC{7, 8, 9, 10, 11, 12})
	v.SetEtherType(wire.EtherTypeIPv4)
	want := fromHex("010203040506 0708090a0b0c 0800")
	if !bytes.Equal(b[:14], want) {
		t.Errorf("after setters header = %x, want %x", b[:14], want)
	}
	if !bytes.Equal(b[14:], ethARPRequest[14:]) {
		t.Errorf("setters changed the payload")
	}
}

func TestEncodeShortBufferPanics(t *testing.T) {
	tests := []struct {
		name string
		enc  func([]byte) int
		n    int
	}{
		{"Ethernet", (&wire.EthernetHeader{}).Encode, 14},
		{"ARP", (&wire.ARPHeader{}).Encode, 28},
		{"IPv4", (&wire.IPv4Header{Options: make([]byte, 3)}).Encode, 24},
		{"ICMPv4", (&wire.ICMPv4Header{}).Encode, 8},
		{"UDP", (&wire.UDPHeader{}).Encode, 8},
		{"TCP", (&wire.TCPHeader{Options: make([]byte, 5)}).Encode, 28},
		{"TCPOptions", (&wire.TCPOptions{HasMSS: true}).Encode, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if n := tt.enc(make([]byte, tt.n)); n != tt.n {
				t.Errorf("Encode into %d bytes = %d, want %d", tt.n, n, tt.n)
			}
			defer func() {
				if recover() == nil {
					t.Errorf("Encode into %d bytes did not panic", tt.n-1)
				}
			}()
			tt.enc(make([]byte, tt.n-1))
		})
	}
}

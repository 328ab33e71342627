package pcap

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"testing"

	"ustack/netdev"
	"ustack/wire"
)

var (
	srcIP = netip.MustParseAddr("10.0.0.1")
	dstIP = netip.MustParseAddr("10.0.0.2")
)

// ipFrame builds an Ethernet frame holding an IPv4 datagram of protocol
// proto around seg, every checksum left zero, as a stack trusting its
// link's offload may leave them. fragOff is the fragment offset field
// (in 8-byte units, with 0x2000 for more fragments).
func ipFrame(proto wire.IPProtocol, seg []byte, fragOff uint16) []byte {
	f := make([]byte, wire.EthernetHeaderLen+20+len(seg))
	copy(f, []byte{2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00})
	ip := f[wire.EthernetHeaderLen:]
	ip[0] = 0x45
	binary.BigEndian.PutUint16(ip[2:], uint16(20+len(seg)))
	binary.BigEndian.PutUint16(ip[6:], fragOff)
	ip[8], ip[9] = 64, byte(proto)
	copy(ip[12:], srcIP.AsSlice())
	copy(ip[16:], dstIP.AsSlice())
	copy(ip[20:], seg)
	return f
}

// transportOK checks the transport checksum of an unfragmented datagram
// from scratch: the one's complement sum over pseudo-header (for TCP and
// UDP) and segment, checksum field included, is all ones.
func transportOK(proto wire.IPProtocol, seg []byte) bool {
	var sum uint32
	if proto != wire.ProtoICMP {
		sum = wire.PseudoHeaderSum(srcIP, dstIP, proto, uint16(len(seg)))
	}
	return wire.Fold(wire.Checksum(seg, sum)) == 0xffff
}

func TestFillChecksums(t *testing.T) {
	tcp := make([]byte, 20+5) // a TCP header and "hello"
	binary.BigEndian.PutUint16(tcp[0:], 80)
	binary.BigEndian.PutUint16(tcp[2:], 5000)
	tcp[12] = 5 << 4
	tcp[13] = 0x18 // PSH|ACK
	copy(tcp[20:], "hello")
	udp := []byte{0x30, 0x39, 0x00, 0x07, 0x00, 0x0b, 0xff, 0xff, 'a', 'b', 'c'} // a wrong checksum
	udpNone := []byte{0x30, 0x39, 0x00, 0x07, 0x00, 0x0b, 0x00, 0x00, 'a', 'b', 'c'}
	icmp := []byte{8, 0, 0, 0, 0x12, 0x34, 0, 1, 'p', 'i', 'n', 'g', '!'} // echo request, odd length

	for _, tc := range []struct {
		name      string
		proto     wire.IPProtocol
		seg       []byte
		fragOff   uint16
		transport bool // the transport checksum must come out valid
	}{
		{"tcp", wire.ProtoTCP, tcp, 0, true},
		{"udp with a wrong checksum", wire.ProtoUDP, udp, 0, true},
		{"icmp", wire.ProtoICMP, icmp, 0, true},
		{"first fragment", wire.ProtoUDP, udp, 0x2000, false},
		{"later fragment", wire.ProtoTCP, tcp, 0x0010, false},
	} {
		f := ipFrame(tc.proto, tc.seg, tc.fragOff)
		FillChecksums(f, netdev.LinkEthernet)
		ip, _ := wire.ParseIPv4View(f[wire.EthernetHeaderLen:])
		if !ip.IsValidChecksum() {
			t.Errorf("%s: IPv4 header checksum %#04x invalid", tc.name, ip.Checksum())
		}
		seg := ip.Payload()
		if tc.transport && !transportOK(tc.proto, seg) {
			t.Errorf("%s: transport checksum invalid: %x", tc.name, seg)
		}
		if !tc.transport && !bytes.Equal(seg, tc.seg) {
			t.Errorf("%s: fragment payload changed to %x, want %x (its checksum covers the whole datagram)", tc.name, seg, tc.seg)
		}
	}

	// A UDP datagram without a checksum keeps none (RFC 768).
	f := ipFrame(wire.ProtoUDP, udpNone, 0)
	FillChecksums(f, netdev.LinkEthernet)
	if c := binary.BigEndian.Uint16(f[wire.EthernetHeaderLen+20+6:]); c != 0 {
		t.Errorf("UDP without checksum: checksum %#04x, want 0", c)
	}

	// A bare IP frame, as on a TUN link.
	f = ipFrame(wire.ProtoTCP, tcp, 0)[wire.EthernetHeaderLen:]
	FillChecksums(f, netdev.LinkIP)
	if ip, _ := wire.ParseIPv4View(f); !ip.IsValidChecksum() || !transportOK(wire.ProtoTCP, ip.Payload()) {
		t.Errorf("IP link: checksums not filled: %x", f)
	}

	// Left alone: what is not IPv4, and a datagram cut short (by the
	// snapshot length), whose header alone is filled.
	arp := bytes.Repeat([]byte{0xaa}, 42)
	arp[12], arp[13] = 0x08, 0x06
	orig := bytes.Clone(arp)
	FillChecksums(arp, netdev.LinkEthernet)
	if !bytes.Equal(arp, orig) {
		t.Errorf("ARP frame changed")
	}
	f = ipFrame(wire.ProtoTCP, tcp, 0)
	cut := f[:len(f)-3]
	FillChecksums(cut, netdev.LinkEthernet)
	if h, _ := wire.ParseIPv4HeaderView(cut[wire.EthernetHeaderLen:]); !h.IsValidChecksum() {
		t.Errorf("cut datagram: header checksum not filled")
	}
	if c := binary.BigEndian.Uint16(cut[wire.EthernetHeaderLen+20+16:]); c != 0 {
		t.Errorf("cut datagram: TCP checksum %#04x computed over part of the segment", c)
	}
	for _, short := range [][]byte{nil, f[:10], f[:wire.EthernetHeaderLen+10]} {
		FillChecksums(bytes.Clone(short), netdev.LinkEthernet) // must not panic
	}
}

// The checksum of a UDP datagram that sums to zero is sent as 0xffff.
func TestFillChecksumsUDPZero(t *testing.T) {
	// Find a payload word that makes the computed checksum 0.
	seg := []byte{0x30, 0x39, 0x00, 0x07, 0x00, 0x0a, 0, 0, 0, 0}
	sum := wire.Checksum(seg, wire.PseudoHeaderSum(srcIP, dstIP, wire.ProtoUDP, uint16(len(seg))))
	binary.BigEndian.PutUint16(seg[8:], ^wire.Fold(sum)) // now the whole sums to 0xffff
	seg[6] = 1                                           // any non-zero checksum, to be recomputed
	f := ipFrame(wire.ProtoUDP, seg, 0)
	FillChecksums(f, netdev.LinkEthernet)
	if c := binary.BigEndian.Uint16(f[wire.EthernetHeaderLen+20+6:]); c != 0xffff {
		t.Errorf("checksum %#04x, want 0xffff", c)
	}
}

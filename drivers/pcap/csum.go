package pcap

// Checksums for the capture copy of a frame from a link with checksum
// offload. Read before editing: RFC 791 §3.1 (header checksum), RFC 768
// (UDP: the pseudo-header; a computed 0 is sent as 0xffff; 0 means no
// checksum), RFC 9293 §3.1 (TCP), RFC 792 (ICMP: the whole message),
// RFC 1071 (the sum).

import (
	"encoding/binary"

	"ustack/netdev"
	"ustack/wire"
)

// FillChecksums computes, in frame (a copy of an IPv4 frame on a link of
// type link), the IPv4 header checksum and, for a datagram that is not a
// fragment and is held whole, its TCP, UDP or ICMP checksum: what a NIC
// with checksum offload puts on the wire. A UDP datagram sent without a
// checksum (0) keeps none. Frames that are not IPv4, or too short to
// hold what they claim, are left as they are; so is the transport
// checksum of a fragment, which covers the whole datagram.
func FillChecksums(frame []byte, link netdev.LinkType) {
	p := frame
	if link == netdev.LinkEthernet {
		if len(p) < wire.EthernetHeaderLen || wire.EtherType(binary.BigEndian.Uint16(p[12:])) != wire.EtherTypeIPv4 {
			return
		}
		p = p[wire.EthernetHeaderLen:]
	}
	ip, err := wire.ParseIPv4HeaderView(p)
	if err != nil {
		return
	}
	ip.SetChecksum(ip.CalculateChecksum())
	hl, total := ip.HeaderLen(), int(ip.TotalLen())
	if total < hl || total > len(p) || ip.IsFragment() {
		return
	}
	seg := p[hl:total]
	var at int // offset of the checksum field in seg
	var sum uint32
	switch ip.Protocol() {
	case wire.ProtoTCP:
		if len(seg) < wire.TCPMinHeaderLen {
			return
		}
		at = 16
		sum = wire.PseudoHeaderSum(ip.Src(), ip.Dst(), wire.ProtoTCP, uint16(len(seg)))
	case wire.ProtoUDP:
		if len(seg) < wire.UDPHeaderLen || binary.BigEndian.Uint16(seg[6:]) == 0 {
			return
		}
		at = 6
		sum = wire.PseudoHeaderSum(ip.Src(), ip.Dst(), wire.ProtoUDP, uint16(len(seg)))
	case wire.ProtoICMP:
		if len(seg) < 4 {
			return
		}
		at = 2
	default:
		return
	}
	binary.BigEndian.PutUint16(seg[at:], 0)
	c := ^wire.Fold(wire.Checksum(seg, sum))
	if c == 0 && ip.Protocol() == wire.ProtoUDP {
		c = 0xffff
	}
	binary.BigEndian.PutUint16(seg[at:], c)
}

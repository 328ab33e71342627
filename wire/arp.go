// ARP for IPv4 over Ethernet.
//
// Read before editing: RFC 826 (the packet format and the reception
// algorithm), RFC 5227 (probes and announcements: sender IP 0.0.0.0,
// gratuitous ARP), RFC 5494 (the operation code registry), RFC 1122 §2.3.2.
//
// The packet, with the lengths fixed to hardware Ethernet (6) and protocol
// IPv4 (4):
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|     Hardware type (HTYPE)     |     Protocol type (PTYPE)     |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|  HLEN (6)     |  PLEN (4)     |        Operation (OPER)       |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|             Sender hardware address (SHA), 6 bytes            |
//	+                               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                               |  Sender protocol address (SPA)
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	   (SPA, 4 bytes)               |  Target hardware address (THA)
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               +
//	|                          (THA, 6 bytes)                       |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|               Target protocol address (TPA), 4 bytes          |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+

package wire

import (
	"encoding/binary"
	"net/netip"
	"strconv"
)

// Offsets and lengths of an Ethernet/IPv4 ARP packet.
const (
	arpHType = 0
	arpPType = 2
	arpHLen  = 4
	arpPLen  = 5
	arpOp    = 6
	arpSHA   = 8
	arpSPA   = 14
	arpTHA   = 18
	arpTPA   = 24

	// ARPLen is the length of an Ethernet/IPv4 ARP packet.
	ARPLen = 28
	// ARPHardwareEthernet is the HTYPE of Ethernet (RFC 826 "ares_hrd$Ethernet").
	ARPHardwareEthernet = 1
)

// ARPOp is the ARP operation code.
type ARPOp uint16

// ARP operations (RFC 826, RFC 903).
const (
	ARPRequest      ARPOp = 1
	ARPReply        ARPOp = 2
	ARPReverseReq   ARPOp = 3
	ARPReverseReply ARPOp = 4
)

func (o ARPOp) String() string {
	switch o {
	case ARPRequest:
		return "Request"
	case ARPReply:
		return "Reply"
	case ARPReverseReq:
		return "ReverseRequest"
	case ARPReverseReply:
		return "ReverseReply"
	}
	return "ARPOp(" + strconv.Itoa(int(o)) + ")"
}

// ARPView is a view of an Ethernet/IPv4 ARP packet. Build it with
// ParseARPView; its accessors then cannot panic.
type ARPView struct {
	b []byte
}

// ParseARPView returns a view of the ARP packet at the start of b (the
// payload of an Ethernet frame, padding allowed after it). It checks that
// the packet is long enough and that it is for Ethernet and IPv4: HTYPE 1,
// PTYPE 0x0800, HLEN 6, PLEN 4, as Linux's arp_rcv does; the operation is
// not checked. The view aliases b.
func ParseARPView(b []byte) (ARPView, error) {
	if len(b) < ARPLen {
		return ARPView{}, ErrTruncated
	}
	v := ARPView{b[:ARPLen]}
	if v.HType() != ARPHardwareEthernet || v.PType() != EtherTypeIPv4 || v.HLen() != 6 || v.PLen() != 4 {
		return ARPView{}, ErrNotEthernetIPv4
	}
	return v, nil
}

// HType returns the hardware type, 1 for Ethernet.
func (v ARPView) HType() uint16 { return binary.BigEndian.Uint16(v.b[arpHType:]) }

// PType returns the protocol type, an EtherType.
func (v ARPView) PType() EtherType { return EtherType(binary.BigEndian.Uint16(v.b[arpPType:])) }

// HLen returns the hardware address length.
func (v ARPView) HLen() uint8 { return v.b[arpHLen] }

// PLen returns the protocol address length.
func (v ARPView) PLen() uint8 { return v.b[arpPLen] }

// Op returns the operation.
func (v ARPView) Op() ARPOp { return ARPOp(binary.BigEndian.Uint16(v.b[arpOp:])) }

// SenderMAC returns the sender hardware address.
func (v ARPView) SenderMAC() MAC { return MAC(v.b[arpSHA : arpSHA+6]) }

// SenderIP returns the sender protocol address.
func (v ARPView) SenderIP() netip.Addr { return netip.AddrFrom4([4]byte(v.b[arpSPA : arpSPA+4])) }

// TargetMAC returns the target hardware address.
func (v ARPView) TargetMAC() MAC { return MAC(v.b[arpTHA : arpTHA+6]) }

// TargetIP returns the target protocol address.
func (v ARPView) TargetIP() netip.Addr { return netip.AddrFrom4([4]byte(v.b[arpTPA : arpTPA+4])) }

// SetOp sets the operation.
func (v ARPView) SetOp(o ARPOp) { binary.BigEndian.PutUint16(v.b[arpOp:], uint16(o)) }

// SetSenderMAC sets the sender hardware address.
func (v ARPView) SetSenderMAC(m MAC) { copy(v.b[arpSHA:], m[:]) }

// SetSenderIP sets the sender protocol address; see IPv4View.SetSrc for
// which addresses are accepted.
func (v ARPView) SetSenderIP(a netip.Addr) { putAddr4(v.b[arpSPA:], a) }

// SetTargetMAC sets the target hardware address.
func (v ARPView) SetTargetMAC(m MAC) { copy(v.b[arpTHA:], m[:]) }

// SetTargetIP sets the target protocol address.
func (v ARPView) SetTargetIP(a netip.Addr) { putAddr4(v.b[arpTPA:], a) }

// Bytes returns the 28 bytes of the packet, without Ethernet padding.
func (v ARPView) Bytes() []byte { return v.b }

// ARPHeader is the struct form of an Ethernet/IPv4 ARP packet. The
// hardware and protocol types and lengths are implied: Encode writes 1,
// 0x0800, 6 and 4.
type ARPHeader struct {
	Op        ARPOp
	SenderMAC MAC
	SenderIP  netip.Addr
	TargetMAC MAC
	TargetIP  netip.Addr
}

// Parse reads the ARP packet at the start of b and returns its length.
func (h *ARPHeader) Parse(b []byte) (n int, err error) {
	v, err := ParseARPView(b)
	if err != nil {
		return 0, err
	}
	*h = ARPHeader{
		Op:        v.Op(),
		SenderMAC: v.SenderMAC(),
		SenderIP:  v.SenderIP(),
		TargetMAC: v.TargetMAC(),
		TargetIP:  v.TargetIP(),
	}
	return ARPLen, nil
}

// Len returns the encoded length of h, 28.
func (h *ARPHeader) Len() int { return ARPLen }

// Encode writes h to the start of dst and returns the number of bytes
// written. It panics if len(dst) < h.Len() or if an address is IPv6.
func (h *ARPHeader) Encode(dst []byte) int {
	_ = dst[ARPLen-1]
	binary.BigEndian.PutUint16(dst[arpHType:], ARPHardwareEthernet)
	binary.BigEndian.PutUint16(dst[arpPType:], uint16(EtherTypeIPv4))
	dst[arpHLen] = 6
	dst[arpPLen] = 4
	binary.BigEndian.PutUint16(dst[arpOp:], uint16(h.Op))
	copy(dst[arpSHA:], h.SenderMAC[:])
	putAddr4(dst[arpSPA:], h.SenderIP)
	copy(dst[arpTHA:], h.TargetMAC[:])
	putAddr4(dst[arpTPA:], h.TargetIP)
	return ARPLen
}

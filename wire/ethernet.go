// Ethernet II framing.
//
// Read before editing: RFC 894 (IP datagrams over Ethernet: the Ethernet II
// frame and its EtherType), IEEE 802.3 clause 3 (MAC frame format, minimum
// frame size), RFC 7042 §2 (MAC address structure, group bit), RFC 7042
// appendix B and the IEEE EtherType registry (EtherType values).
//
// The frame as a NIC hands it over, without preamble and FCS:
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                    Destination MAC address                    |
//	+                               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                               |                               |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               +
//	|                      Source MAC address                       |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|           EtherType           |   Payload (46..1500 bytes)    :
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// A frame shorter than 60 bytes is padded with zeros by the sender, so the
// payload may be longer than the packet it carries: upper layers bound it by
// their own length fields.

package wire

import (
	"encoding/binary"
	"strconv"
)

// Offsets and lengths of the Ethernet II header.
const (
	ethDst       = 0
	ethSrc       = 6
	ethEtherType = 12

	// EthernetHeaderLen is the length of an Ethernet II header.
	EthernetHeaderLen = 14
	// EthernetMinFrameLen is the shortest frame on the wire, without FCS;
	// shorter ones are padded to it.
	EthernetMinFrameLen = 60
	// EthernetMTU is the largest payload of an Ethernet II frame.
	EthernetMTU = 1500
)

// MAC is a 48-bit IEEE 802 MAC address.
type MAC [6]byte

// BroadcastMAC is ff:ff:ff:ff:ff:ff.
var BroadcastMAC = MAC{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

// String returns m as six lower-case hex octets separated by colons.
func (m MAC) String() string {
	const hexdig = "0123456789abcdef"
	var b [17]byte
	for i, o := range m {
		if i > 0 {
			b[3*i-1] = ':'
		}
		b[3*i] = hexdig[o>>4]
		b[3*i+1] = hexdig[o&0xf]
	}
	return string(b[:])
}

// IsBroadcast reports whether m is ff:ff:ff:ff:ff:ff.
func (m MAC) IsBroadcast() bool { return m == BroadcastMAC }

// IsMulticast reports whether m is a group address (the I/G bit, the low bit
// of the first octet, is set). The broadcast address is one.
func (m MAC) IsMulticast() bool { return m[0]&1 != 0 }

// IsZero reports whether m is 00:00:00:00:00:00.
func (m MAC) IsZero() bool { return m == MAC{} }

// ParseMAC parses six hex octets separated by ':' or '-' (one or two digits
// each, one kind of separator throughout), as in "02:00:5e:10:00:01".
func ParseMAC(s string) (MAC, error) {
	var m MAC
	var sep byte
	for i := range m {
		if i > 0 {
			if len(s) == 0 || (s[0] != ':' && s[0] != '-') || (sep != 0 && s[0] != sep) {
				return MAC{}, ErrBadMAC
			}
			sep = s[0]
			s = s[1:]
		}
		n := 0
		for n < 2 && n < len(s) && unhex(s[n]) >= 0 {
			n++
		}
		if n == 0 {
			return MAC{}, ErrBadMAC
		}
		v := 0
		for j := 0; j < n; j++ {
			v = v<<4 | unhex(s[j])
		}
		m[i] = byte(v)
		s = s[n:]
	}
	if len(s) != 0 {
		return MAC{}, ErrBadMAC
	}
	return m, nil
}

func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c - 'a' + 10)
	case 'A' <= c && c <= 'F':
		return int(c - 'A' + 10)
	}
	return -1
}

// EtherType is the protocol field of an Ethernet II frame.
type EtherType uint16

// EtherTypes ustack knows by name.
const (
	EtherTypeIPv4 EtherType = 0x0800
	EtherTypeARP  EtherType = 0x0806
	EtherTypeVLAN EtherType = 0x8100 // IEEE 802.1Q tag
	EtherTypeIPv6 EtherType = 0x86dd
)

func (t EtherType) String() string {
	switch t {
	case EtherTypeIPv4:
		return "IPv4"
	case EtherTypeARP:
		return "ARP"
	case EtherTypeVLAN:
		return "VLAN"
	case EtherTypeIPv6:
		return "IPv6"
	}
	return "EtherType(0x" + strconv.FormatUint(uint64(t), 16) + ")"
}

// EthernetView is a view of an Ethernet II frame. Build it with
// ParseEthernetView; its accessors then cannot panic.
type EthernetView struct {
	b []byte
}

// ParseEthernetView returns a view of the frame b, which must hold at least
// the 14-byte header. The view aliases b.
func ParseEthernetView(b []byte) (EthernetView, error) {
	if len(b) < EthernetHeaderLen {
		return EthernetView{}, ErrTruncated
	}
	return EthernetView{b}, nil
}

// Dst returns the destination address.
func (v EthernetView) Dst() MAC { return MAC(v.b[ethDst : ethDst+6]) }

// Src returns the source address.
func (v EthernetView) Src() MAC { return MAC(v.b[ethSrc : ethSrc+6]) }

// EtherType returns the protocol of the payload.
func (v EthernetView) EtherType() EtherType {
	return EtherType(binary.BigEndian.Uint16(v.b[ethEtherType:]))
}

// SetDst sets the destination address.
func (v EthernetView) SetDst(m MAC) { copy(v.b[ethDst:], m[:]) }

// SetSrc sets the source address.
func (v EthernetView) SetSrc(m MAC) { copy(v.b[ethSrc:], m[:]) }

// SetEtherType sets the protocol field.
func (v EthernetView) SetEtherType(t EtherType) {
	binary.BigEndian.PutUint16(v.b[ethEtherType:], uint16(t))
}

// Header returns the 14 header bytes.
func (v EthernetView) Header() []byte { return v.b[:EthernetHeaderLen] }

// Payload returns the bytes after the header, padding included.
func (v EthernetView) Payload() []byte { return v.b[EthernetHeaderLen:] }

// Bytes returns the whole frame.
func (v EthernetView) Bytes() []byte { return v.b }

// EthernetHeader is the struct form of an Ethernet II header.
type EthernetHeader struct {
	Dst, Src  MAC
	EtherType EtherType
}

// Parse reads the header at the start of b and returns its length.
func (h *EthernetHeader) Parse(b []byte) (n int, err error) {
	v, err := ParseEthernetView(b)
	if err != nil {
		return 0, err
	}
	*h = EthernetHeader{Dst: v.Dst(), Src: v.Src(), EtherType: v.EtherType()}
	return EthernetHeaderLen, nil
}

// Len returns the encoded length of h, 14.
func (h *EthernetHeader) Len() int { return EthernetHeaderLen }

// Encode writes h to the start of dst and returns the number of bytes
// written. It panics if len(dst) < h.Len().
func (h *EthernetHeader) Encode(dst []byte) int {
	_ = dst[EthernetHeaderLen-1]
	copy(dst[ethDst:], h.Dst[:])
	copy(dst[ethSrc:], h.Src[:])
	binary.BigEndian.PutUint16(dst[ethEtherType:], uint16(h.EtherType))
	return EthernetHeaderLen
}

// IPv4 header.
//
// Read before editing: RFC 791 §3.1 (the header), RFC 1122 §3.2.1 (what a
// host must check on input), RFC 1812 §5.2.2 and §5.3.1 (router checks, TTL
// decrement), RFC 6864 (the ID field), RFC 1071 and RFC 1624 (the header
// checksum and its incremental update), RFC 3168 §5 (ECN in the TOS byte).
// Linux's ip_rcv_core is the input check order this file's constructors
// support.
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|Version|  IHL  |Type of Service|          Total Length         |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|         Identification        |Flags|      Fragment Offset    |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|  Time to Live |    Protocol   |         Header Checksum       |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                       Source Address                          |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                    Destination Address                        |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                    Options                    |    Padding    |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// IHL counts 32-bit words (5..15), Total Length bytes of header and data.
// Flags are, from the most significant bit: reserved (must be 0), DF, MF.
// Fragment Offset counts 8-byte units; this package converts it to bytes.
// Options are not interpreted here: they are skipped by IHL and handed over
// as bytes.

package wire

import (
	"encoding/binary"
	"net/netip"
	"strconv"
)

// Offsets and lengths of the IPv4 header.
const (
	ipv4VerIHL   = 0
	ipv4TOS      = 1
	ipv4TotalLen = 2
	ipv4ID       = 4
	ipv4FlagsOff = 6
	ipv4TTL      = 8
	ipv4Protocol = 9
	ipv4Checksum = 10
	ipv4Src      = 12
	ipv4Dst      = 16
	ipv4Options  = 20

	// IPv4MinHeaderLen is the length of an IPv4 header without options.
	IPv4MinHeaderLen = 20
	// IPv4MaxHeaderLen is the length of an IPv4 header with IHL 15.
	IPv4MaxHeaderLen = 60
	// IPv4Version is the value of the version field.
	IPv4Version = 4

	ipv4FragOffMask = 0x1fff
)

// IPProtocol is the IPv4 Protocol field (the IPv6 Next Header).
type IPProtocol uint8

// IP protocol numbers ustack knows by name (IANA "Assigned Internet
// Protocol Numbers").
const (
	ProtoICMP   IPProtocol = 1
	ProtoIGMP   IPProtocol = 2
	ProtoIPIP   IPProtocol = 4
	ProtoTCP    IPProtocol = 6
	ProtoUDP    IPProtocol = 17
	ProtoICMPv6 IPProtocol = 58
)

func (p IPProtocol) String() string {
	switch p {
	case ProtoICMP:
		return "ICMP"
	case ProtoIGMP:
		return "IGMP"
	case ProtoIPIP:
		return "IPIP"
	case ProtoTCP:
		return "TCP"
	case ProtoUDP:
		return "UDP"
	case ProtoICMPv6:
		return "ICMPv6"
	}
	return "IPProtocol(" + strconv.Itoa(int(p)) + ")"
}

// IPv4Flags are the three flag bits of the IPv4 header, as the low three
// bits of the value.
type IPv4Flags uint8

// IPv4 flag bits.
const (
	IPv4MoreFragments IPv4Flags = 1 << 0 // MF
	IPv4DontFragment  IPv4Flags = 1 << 1 // DF
	IPv4FlagReserved  IPv4Flags = 1 << 2 // must be zero (RFC 791)
)

func (f IPv4Flags) String() string {
	if f == 0 {
		return "0"
	}
	s := ""
	add := func(bit IPv4Flags, name string) {
		if f&bit != 0 {
			if s != "" {
				s += "|"
			}
			s += name
		}
	}
	add(IPv4FlagReserved, "RF")
	add(IPv4DontFragment, "DF")
	add(IPv4MoreFragments, "MF")
	if rest := f &^ 7; rest != 0 {
		add(rest, "0x"+strconv.FormatUint(uint64(rest), 16))
	}
	return s
}

// putAddr4 writes a, which must be an IPv4 (or IPv4-mapped) address or the
// zero Addr (written as 0.0.0.0), to dst[:4].
func putAddr4(dst []byte, a netip.Addr) {
	_ = dst[3]
	if !a.IsValid() {
		dst[0], dst[1], dst[2], dst[3] = 0, 0, 0, 0
		return
	}
	b := a.As4() // panics on an IPv6 address: a programming error
	copy(dst, b[:])
}

// IPv4View is a view of an IPv4 packet. Build it with ParseIPv4View (or
// ParseIPv4HeaderView); its accessors then cannot panic, even if the
// length fields are later overwritten: lengths read from the buffer are
// clamped to it.
type IPv4View struct {
	b []byte
}

// ParseIPv4View returns a view of the IPv4 packet at the start of b, after
// the checks of RFC 1122 §3.2.1.1-2 and Linux's ip_rcv_core that need no
// state: version 4, IHL ≥ 5, the header fits in b, total length ≥ header
// length, and total length ≤ len(b). The view covers b[:TotalLen], so any
// link-layer padding is dropped. The checksum is not checked: call
// IsValidChecksum. The view aliases b.
//
// Errors: ErrTruncated (b shorter than 20 bytes or than IHL*4),
// ErrBadVersion, ErrBadHeaderLen (IHL < 5), ErrBadTotalLen (total length
// < header length), ErrShortPacket (total length > len(b)).
func ParseIPv4View(b []byte) (IPv4View, error) {
	v, err := ParseIPv4HeaderView(b)
	if err != nil {
		return IPv4View{}, err
	}
	tl := int(binary.BigEndian.Uint16(b[ipv4TotalLen:]))
	if tl < v.HeaderLen() {
		return IPv4View{}, ErrBadTotalLen
	}
	if tl > len(b) {
		return IPv4View{}, ErrShortPacket
	}
	return IPv4View{b[:tl]}, nil
}

// ParseIPv4HeaderView is ParseIPv4View without the total length checks:
// version 4, IHL ≥ 5 and the header fits in b. The view covers all of b.
// Use it on the original datagram quoted in an ICMP error, which is cut
// short of its total length, or to check the header checksum before the
// lengths as ip_rcv_core does. Payload is then bounded by both the total
// length and len(b).
func ParseIPv4HeaderView(b []byte) (IPv4View, error) {
	if len(b) < IPv4MinHeaderLen {
		return IPv4View{}, ErrTruncated
	}
	if b[ipv4VerIHL]>>4 != IPv4Version {
		return IPv4View{}, ErrBadVersion
	}
	hl := int(b[ipv4VerIHL]&0xf) * 4
	if hl < IPv4MinHeaderLen {
		return IPv4View{}, ErrBadHeaderLen
	}
	if hl > len(b) {
		return IPv4View{}, ErrTruncated
	}
	return IPv4View{b}, nil
}

// Version returns the version field, 4 unless overwritten.
func (v IPv4View) Version() uint8 { return v.b[ipv4VerIHL] >> 4 }

// IHL returns the header length field in 32-bit words.
func (v IPv4View) IHL() uint8 { return v.b[ipv4VerIHL] & 0xf }

// HeaderLen returns the header length in bytes, IHL*4 clamped to
// [20, len(Bytes())].
func (v IPv4View) HeaderLen() int {
	hl := int(v.b[ipv4VerIHL]&0xf) * 4
	if hl < IPv4MinHeaderLen {
		hl = IPv4MinHeaderLen
	}
	if hl > len(v.b) {
		hl = len(v.b)
	}
	return hl
}

// TOS returns the type of service byte (DSCP and ECN).
func (v IPv4View) TOS() uint8 { return v.b[ipv4TOS] }

// TotalLen returns the total length field.
func (v IPv4View) TotalLen() uint16 { return binary.BigEndian.Uint16(v.b[ipv4TotalLen:]) }

// ID returns the identification field.
func (v IPv4View) ID() uint16 { return binary.BigEndian.Uint16(v.b[ipv4ID:]) }

// Flags returns the three flag bits.
func (v IPv4View) Flags() IPv4Flags { return IPv4Flags(v.b[ipv4FlagsOff] >> 5) }

// DontFragment reports whether DF is set.
func (v IPv4View) DontFragment() bool { return v.Flags()&IPv4DontFragment != 0 }

// MoreFragments reports whether MF is set.
func (v IPv4View) MoreFragments() bool { return v.Flags()&IPv4MoreFragments != 0 }

// FragmentOffset returns the fragment offset in bytes (the field times 8).
func (v IPv4View) FragmentOffset() uint16 {
	return binary.BigEndian.Uint16(v.b[ipv4FlagsOff:]) & ipv4FragOffMask * 8
}

// IsFragment reports whether the packet is a fragment: MF set or a
// non-zero offset (cf. Linux ip_is_fragment).
func (v IPv4View) IsFragment() bool {
	return binary.BigEndian.Uint16(v.b[ipv4FlagsOff:])&(uint16(IPv4MoreFragments)<<13|ipv4FragOffMask) != 0
}

// TTL returns the time to live.
func (v IPv4View) TTL() uint8 { return v.b[ipv4TTL] }

// Protocol returns the protocol of the payload.
func (v IPv4View) Protocol() IPProtocol { return IPProtocol(v.b[ipv4Protocol]) }

// Checksum returns the header checksum field.
func (v IPv4View) Checksum() uint16 { return binary.BigEndian.Uint16(v.b[ipv4Checksum:]) }

// Src returns the source address.
func (v IPv4View) Src() netip.Addr { return netip.AddrFrom4([4]byte(v.b[ipv4Src : ipv4Src+4])) }

// Dst returns the destination address.
func (v IPv4View) Dst() netip.Addr { return netip.AddrFrom4([4]byte(v.b[ipv4Dst : ipv4Dst+4])) }

// Options returns the option bytes, padding included (empty if IHL is 5).
func (v IPv4View) Options() []byte { return v.b[ipv4Options:v.HeaderLen()] }

// Header returns the header bytes, options included.
func (v IPv4View) Header() []byte { return v.b[:v.HeaderLen()] }

// Payload returns the bytes after the header up to the total length,
// clamped to the buffer.
func (v IPv4View) Payload() []byte {
	hl := v.HeaderLen()
	end := int(v.TotalLen())
	if end > len(v.b) {
		end = len(v.b)
	}
	if end < hl {
		end = hl
	}
	return v.b[hl:end]
}

// Bytes returns the bytes the view covers: the packet up to its total
// length for ParseIPv4View, all of the buffer for ParseIPv4HeaderView.
func (v IPv4View) Bytes() []byte { return v.b }

// SetTOS sets the type of service byte.
func (v IPv4View) SetTOS(tos uint8) { v.b[ipv4TOS] = tos }

// SetTotalLen sets the total length field. Payload follows it, clamped to
// the buffer.
func (v IPv4View) SetTotalLen(n uint16) { binary.BigEndian.PutUint16(v.b[ipv4TotalLen:], n) }

// SetID sets the identification field.
func (v IPv4View) SetID(id uint16) { binary.BigEndian.PutUint16(v.b[ipv4ID:], id) }

// SetFlags sets the three flag bits, keeping the fragment offset.
func (v IPv4View) SetFlags(f IPv4Flags) {
	v.b[ipv4FlagsOff] = v.b[ipv4FlagsOff]&0x1f | byte(f&7)<<5
}

// SetFragmentOffset sets the fragment offset, given in bytes; off/8 is
// written (off should be a multiple of 8), keeping the flags.
func (v IPv4View) SetFragmentOffset(off uint16) {
	w := binary.BigEndian.Uint16(v.b[ipv4FlagsOff:])&^ipv4FragOffMask | off/8&ipv4FragOffMask
	binary.BigEndian.PutUint16(v.b[ipv4FlagsOff:], w)
}

// SetTTL sets the time to live.
func (v IPv4View) SetTTL(ttl uint8) { v.b[ipv4TTL] = ttl }

// SetProtocol sets the protocol field.
func (v IPv4View) SetProtocol(p IPProtocol) { v.b[ipv4Protocol] = byte(p) }

// SetChecksum sets the header checksum field.
func (v IPv4View) SetChecksum(c uint16) { binary.BigEndian.PutUint16(v.b[ipv4Checksum:], c) }

// SetSrc sets the source address. a must be an IPv4 or IPv4-mapped
// address, or the zero Addr, written as 0.0.0.0; an IPv6 address panics,
// as netip.Addr.As4 does.
func (v IPv4View) SetSrc(a netip.Addr) { putAddr4(v.b[ipv4Src:], a) }

// SetDst sets the destination address, as SetSrc.
func (v IPv4View) SetDst(a netip.Addr) { putAddr4(v.b[ipv4Dst:], a) }

// CalculateChecksum returns the checksum of the header as if its checksum
// field were zero: the value SetChecksum should store.
func (v IPv4View) CalculateChecksum() uint16 {
	h := v.Header()
	s := Checksum(h[:ipv4Checksum], 0)
	s = Checksum(h[ipv4Checksum+2:], s)
	return ^Fold(s)
}

// IsValidChecksum reports whether the header checksum is correct.
func (v IPv4View) IsValidChecksum() bool {
	return Fold(Checksum(v.Header(), 0)) == 0xffff
}

// DecrementTTL decrements the TTL and updates the checksum incrementally
// (RFC 1624; cf. Linux ip_decrease_ttl), and returns the new TTL. A TTL of
// 0 is left alone. A forwarder drops the packet instead when TTL ≤ 1
// (RFC 1812 §5.3.1), so it checks before calling.
func (v IPv4View) DecrementTTL() uint8 {
	ttl := v.TTL()
	if ttl == 0 {
		return 0
	}
	old := binary.BigEndian.Uint16(v.b[ipv4TTL:]) // TTL and protocol
	v.b[ipv4TTL] = ttl - 1
	v.SetChecksum(UpdateChecksum16(v.Checksum(), old, old-0x100))
	return ttl - 1
}

// IPv4Header is the struct form of an IPv4 header. Version and IHL are
// implied: Encode writes 4 and Len()/4.
type IPv4Header struct {
	TOS      uint8
	TotalLen uint16
	ID       uint16
	Flags    IPv4Flags
	FragOff  uint16 // in bytes; a multiple of 8
	TTL      uint8
	Protocol IPProtocol
	Checksum uint16
	Src, Dst netip.Addr
	// Options are the option bytes. After Parse they alias the buffer
	// parsed and include its padding. Encode pads them with zeros (End of
	// Option List) to a multiple of 4 bytes; at most 40 bytes fit.
	Options []byte
}

// Parse reads the IPv4 header at the start of b, with the checks of
// ParseIPv4View, and returns the header length.
func (h *IPv4Header) Parse(b []byte) (n int, err error) {
	v, err := ParseIPv4View(b)
	if err != nil {
		return 0, err
	}
	*h = IPv4Header{
		TOS:      v.TOS(),
		TotalLen: v.TotalLen(),
		ID:       v.ID(),
		Flags:    v.Flags(),
		FragOff:  v.FragmentOffset(),
		TTL:      v.TTL(),
		Protocol: v.Protocol(),
		Checksum: v.Checksum(),
		Src:      v.Src(),
		Dst:      v.Dst(),
		Options:  v.Options(),
	}
	return v.HeaderLen(), nil
}

// Len returns the encoded header length: 20 plus the options rounded up to
// a multiple of 4.
func (h *IPv4Header) Len() int {
	return IPv4MinHeaderLen + (len(h.Options)+3)&^3
}

// Encode writes h to the start of dst and returns the header length. The
// fields are written as they are, the checksum included (see
// IPv4View.CalculateChecksum). It panics if len(dst) < h.Len(), if the
// options are longer than 40 bytes, or if an address is IPv6.
func (h *IPv4Header) Encode(dst []byte) int {
	n := h.Len()
	if n > IPv4MaxHeaderLen {
		panic("wire: IPv4 options longer than 40 bytes")
	}
	_ = dst[n-1]
	dst[ipv4VerIHL] = IPv4Version<<4 | byte(n/4)
	dst[ipv4TOS] = h.TOS
	binary.BigEndian.PutUint16(dst[ipv4TotalLen:], h.TotalLen)
	binary.BigEndian.PutUint16(dst[ipv4ID:], h.ID)
	binary.BigEndian.PutUint16(dst[ipv4FlagsOff:], uint16(h.Flags&7)<<13|h.FragOff/8&ipv4FragOffMask)
	dst[ipv4TTL] = h.TTL
	dst[ipv4Protocol] = byte(h.Protocol)
	binary.BigEndian.PutUint16(dst[ipv4Checksum:], h.Checksum)
	putAddr4(dst[ipv4Src:], h.Src)
	putAddr4(dst[ipv4Dst:], h.Dst)
	k := copy(dst[ipv4Options:n], h.Options)
	clear(dst[ipv4Options+k : n])
	return n
}

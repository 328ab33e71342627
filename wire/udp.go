// UDP header.
//
// Read before editing: RFC 768 (the header, the pseudo-header, a zero
// checksum meaning "none", a computed zero sent as all ones), RFC 1122
// §4.1.3.4 (checksum handling on receive), RFC 8085 §3.4 (guidelines on
// checksums and lengths).
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|          Source Port          |       Destination Port        |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|            Length             |           Checksum            |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                          data octets ...                      :
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Length counts header and data. The checksum covers the pseudo-header
// (source, destination, zero, protocol 17, UDP length), the header and the
// data.

package wire

import "encoding/binary"

// Offsets and lengths of the UDP header.
const (
	udpSrcPort  = 0
	udpDstPort  = 2
	udpLength   = 4
	udpChecksum = 6

	// UDPHeaderLen is the length of the UDP header.
	UDPHeaderLen = 8
)

// UDPView is a view of a UDP datagram. Build it with ParseUDPView; its
// accessors then cannot panic.
type UDPView struct {
	b []byte
}

// ParseUDPView returns a view of the UDP datagram at the start of b (the
// IPv4 payload) after checking, as Linux's __udp4_lib_rcv does, that the
// header fits, that the length field is at least 8 and that it is not past
// the end of b. The view covers b[:Length]: bytes after it are ignored.
// The checksum is checked by IsValidChecksum. The view aliases b.
//
// Errors: ErrTruncated, ErrBadLength (length < 8), ErrShortPacket
// (length > len(b)).
func ParseUDPView(b []byte) (UDPView, error) {
	if len(b) < UDPHeaderLen {
		return UDPView{}, ErrTruncated
	}
	n := int(binary.BigEndian.Uint16(b[udpLength:]))
	if n < UDPHeaderLen {
		return UDPView{}, ErrBadLength
	}
	if n > len(b) {
		return UDPView{}, ErrShortPacket
	}
	return UDPView{b[:n]}, nil
}

// SrcPort returns the source port.
func (v UDPView) SrcPort() uint16 { return binary.BigEndian.Uint16(v.b[udpSrcPort:]) }

// DstPort returns the destination port.
func (v UDPView) DstPort() uint16 { return binary.BigEndian.Uint16(v.b[udpDstPort:]) }

// Length returns the length field.
func (v UDPView) Length() uint16 { return binary.BigEndian.Uint16(v.b[udpLength:]) }

// Checksum returns the checksum field; 0 means the sender computed none.
func (v UDPView) Checksum() uint16 { return binary.BigEndian.Uint16(v.b[udpChecksum:]) }

// Header returns the 8 header bytes.
func (v UDPView) Header() []byte { return v.b[:UDPHeaderLen] }

// Payload returns the data, as delimited when the view was made.
func (v UDPView) Payload() []byte { return v.b[UDPHeaderLen:] }

// Bytes returns the datagram, header and data.
func (v UDPView) Bytes() []byte { return v.b }

// SetSrcPort sets the source port.
func (v UDPView) SetSrcPort(p uint16) { binary.BigEndian.PutUint16(v.b[udpSrcPort:], p) }

// SetDstPort sets the destination port.
func (v UDPView) SetDstPort(p uint16) { binary.BigEndian.PutUint16(v.b[udpDstPort:], p) }

// SetLength sets the length field (the view keeps its extent).
func (v UDPView) SetLength(n uint16) { binary.BigEndian.PutUint16(v.b[udpLength:], n) }

// SetChecksum sets the checksum field.
func (v UDPView) SetChecksum(c uint16) { binary.BigEndian.PutUint16(v.b[udpChecksum:], c) }

// CalculateChecksum returns the checksum of the datagram, as if its
// checksum field were zero, for the pseudo-header sum pseudo
// (PseudoHeaderSum(src, dst, ProtoUDP, v.Length())). A result of zero is
// returned as 0xffff (RFC 768), so the value can always be stored.
func (v UDPView) CalculateChecksum(pseudo uint32) uint16 {
	s := Checksum(v.b[:udpChecksum], pseudo)
	s = Checksum(v.b[udpChecksum+2:], s)
	return udpFinish(s)
}

// IsValidChecksum reports whether the checksum is correct for the
// pseudo-header sum pseudo. A zero checksum field, meaning none was sent
// (RFC 768), is reported valid: a caller that requires checksums tests
// Checksum() == 0 itself.
func (v UDPView) IsValidChecksum(pseudo uint32) bool {
	return v.Checksum() == 0 || Fold(Checksum(v.b, pseudo)) == 0xffff
}

func udpFinish(s uint32) uint16 {
	c := ^Fold(s)
	if c == 0 {
		c = 0xffff
	}
	return c
}

// UDPChecksum returns the UDP checksum field for a datagram given as
// chunks, header first with its checksum field zero, then the data in as
// many pieces as it is held in (any lengths). pseudo is
// PseudoHeaderSum(src, dst, ProtoUDP, length). Zero is returned as 0xffff.
func UDPChecksum(pseudo uint32, chunks ...[]byte) uint16 {
	return udpFinish(ChecksumChunks(pseudo, chunks...))
}

// UDPHeader is the struct form of the UDP header.
type UDPHeader struct {
	SrcPort, DstPort uint16
	Length           uint16
	Checksum         uint16
}

// Parse reads the header at the start of b, with the checks of
// ParseUDPView, and returns its length, 8.
func (h *UDPHeader) Parse(b []byte) (n int, err error) {
	v, err := ParseUDPView(b)
	if err != nil {
		return 0, err
	}
	*h = UDPHeader{SrcPort: v.SrcPort(), DstPort: v.DstPort(), Length: v.Length(), Checksum: v.Checksum()}
	return UDPHeaderLen, nil
}

// Len returns the encoded length of h, 8.
func (h *UDPHeader) Len() int { return UDPHeaderLen }

// Encode writes h to the start of dst and returns the number of bytes
// written, checksum as it is. It panics if len(dst) < h.Len().
func (h *UDPHeader) Encode(dst []byte) int {
	_ = dst[UDPHeaderLen-1]
	binary.BigEndian.PutUint16(dst[udpSrcPort:], h.SrcPort)
	binary.BigEndian.PutUint16(dst[udpDstPort:], h.DstPort)
	binary.BigEndian.PutUint16(dst[udpLength:], h.Length)
	binary.BigEndian.PutUint16(dst[udpChecksum:], h.Checksum)
	return UDPHeaderLen
}

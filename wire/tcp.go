// TCP header.
//
// Read before editing: RFC 9293 §3.1 (the header format) and §3.4 (the
// checksum and pseudo-header), RFC 3168 §6.1 (ECE and CWR), RFC 3540 and
// draft-ietf-tcpm-accurate-ecn (the AE bit, formerly NS), RFC 1624
// (incremental checksum update). Options are in tcpopt.go.
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|          Source Port          |       Destination Port        |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                        Sequence Number                        |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                    Acknowledgment Number                      |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|  Data |     |A|C|E|U|A|P|R|S|F|                               |
//	| Offset| Rsrv|E|W|C|R|C|S|S|Y|I|            Window             |
//	|       |     | |R|E|G|K|H|T|N|N|                               |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|           Checksum            |         Urgent Pointer        |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                    Options                    |    Padding    |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                             data                              :
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Data Offset counts 32-bit words of header (5..15). TCPFlags holds the
// 12 bits after it: the three reserved bits, AE, and the eight classic
// flags, so that every header bit round-trips.

package wire

import (
	"encoding/binary"
	"strconv"
)

// Offsets and lengths of the TCP header.
const (
	tcpSrcPort   = 0
	tcpDstPort   = 2
	tcpSeq       = 4
	tcpAck       = 8
	tcpDataOff   = 12 // high nibble; the low nibble and the next byte are TCPFlags
	tcpFlags     = 12
	tcpWindow    = 14
	tcpChecksum  = 16
	tcpUrgent    = 18
	tcpOptions   = 20
	tcpFlagsMask = 0x0fff

	// TCPMinHeaderLen is the length of a TCP header without options.
	TCPMinHeaderLen = 20
	// TCPMaxHeaderLen is the length of a TCP header with data offset 15.
	TCPMaxHeaderLen = 60
	// TCPMaxOptionsLen is the most option bytes a header can carry.
	TCPMaxOptionsLen = TCPMaxHeaderLen - TCPMinHeaderLen
)

// TCPFlags are the control bits of a TCP header, plus the reserved bits
// next to them.
type TCPFlags uint16

// TCP control bits.
const (
	TCPFlagFIN TCPFlags = 1 << 0
	TCPFlagSYN TCPFlags = 1 << 1
	TCPFlagRST TCPFlags = 1 << 2
	TCPFlagPSH TCPFlags = 1 << 3
	TCPFlagACK TCPFlags = 1 << 4
	TCPFlagURG TCPFlags = 1 << 5
	TCPFlagECE TCPFlags = 1 << 6
	TCPFlagCWR TCPFlags = 1 << 7
	TCPFlagAE  TCPFlags = 1 << 8 // AccECN; was NS (RFC 3540, historic)
)

var tcpFlagNames = [...]string{"FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR", "AE"}

// String returns the set flags joined by '|' ("SYN|ACK"), reserved bits as
// hex, or "0".
func (f TCPFlags) String() string {
	if f == 0 {
		return "0"
	}
	var buf [48]byte
	b := buf[:0]
	for i, name := range tcpFlagNames {
		if f&(1<<i) != 0 {
			if len(b) > 0 {
				b = append(b, '|')
			}
			b = append(b, name...)
		}
	}
	if rest := f &^ (1<<len(tcpFlagNames) - 1); rest != 0 {
		if len(b) > 0 {
			b = append(b, '|')
		}
		b = append(b, "0x"...)
		b = strconv.AppendUint(b, uint64(rest), 16)
	}
	return string(b)
}

// TCPView is a view of a TCP segment. Build it with ParseTCPView; its
// accessors then cannot panic.
type TCPView struct {
	b []byte
}

// ParseTCPView returns a view of the TCP segment b (the whole IPv4
// payload: the checksum covers all of it) after checking that the header
// fits and that the data offset is at least 5, as Linux's tcp_v4_rcv
// does. Options are checked only when parsed (TCPOptions.Parse,
// NextTCPOption), the checksum by IsValidChecksum. The view aliases b.
//
// Errors: ErrTruncated (b shorter than 20 bytes or than the data offset),
// ErrBadHeaderLen (data offset < 5).
func ParseTCPView(b []byte) (TCPView, error) {
	if len(b) < TCPMinHeaderLen {
		return TCPView{}, ErrTruncated
	}
	hl := int(b[tcpDataOff]>>4) * 4
	if hl < TCPMinHeaderLen {
		return TCPView{}, ErrBadHeaderLen
	}
	if hl > len(b) {
		return TCPView{}, ErrTruncated
	}
	return TCPView{b}, nil
}

// SrcPort returns the source port.
func (v TCPView) SrcPort() uint16 { return binary.BigEndian.Uint16(v.b[tcpSrcPort:]) }

// DstPort returns the destination port.
func (v TCPView) DstPort() uint16 { return binary.BigEndian.Uint16(v.b[tcpDstPort:]) }

// Seq returns the sequence number.
func (v TCPView) Seq() uint32 { return binary.BigEndian.Uint32(v.b[tcpSeq:]) }

// Ack returns the acknowledgment number.
func (v TCPView) Ack() uint32 { return binary.BigEndian.Uint32(v.b[tcpAck:]) }

// DataOffset returns the data offset field in 32-bit words.
func (v TCPView) DataOffset() uint8 { return v.b[tcpDataOff] >> 4 }

// HeaderLen returns the header length in bytes, the data offset times 4
// clamped to [20, len(Bytes())].
func (v TCPView) HeaderLen() int {
	hl := int(v.b[tcpDataOff]>>4) * 4
	if hl < TCPMinHeaderLen {
		hl = TCPMinHeaderLen
	}
	if hl > len(v.b) {
		hl = len(v.b)
	}
	return hl
}

// Flags returns the control bits (and the reserved bits).
func (v TCPView) Flags() TCPFlags {
	return TCPFlags(binary.BigEndian.Uint16(v.b[tcpFlags:]) & tcpFlagsMask)
}

// Window returns the window field, not scaled.
func (v TCPView) Window() uint16 { return binary.BigEndian.Uint16(v.b[tcpWindow:]) }

// Checksum returns the checksum field.
func (v TCPView) Checksum() uint16 { return binary.BigEndian.Uint16(v.b[tcpChecksum:]) }

// UrgentPointer returns the urgent pointer field.
func (v TCPView) UrgentPointer() uint16 { return binary.BigEndian.Uint16(v.b[tcpUrgent:]) }

// Options returns the option bytes, padding included.
func (v TCPView) Options() []byte { return v.b[tcpOptions:v.HeaderLen()] }

// ParseOptions parses the options into o; see TCPOptions.Parse.
func (v TCPView) ParseOptions(o *TCPOptions) error { return o.Parse(v.Options()) }

// Header returns the header bytes, options included.
func (v TCPView) Header() []byte { return v.b[:v.HeaderLen()] }

// Payload returns the segment data.
func (v TCPView) Payload() []byte { return v.b[v.HeaderLen():] }

// Bytes returns the whole segment.
func (v TCPView) Bytes() []byte { return v.b }

// SetSrcPort sets the source port.
func (v TCPView) SetSrcPort(p uint16) { binary.BigEndian.PutUint16(v.b[tcpSrcPort:], p) }

// SetDstPort sets the destination port.
func (v TCPView) SetDstPort(p uint16) { binary.BigEndian.PutUint16(v.b[tcpDstPort:], p) }

// SetSeq sets the sequence number.
func (v TCPView) SetSeq(s uint32) { binary.BigEndian.PutUint32(v.b[tcpSeq:], s) }

// SetAck sets the acknowledgment number.
func (v TCPView) SetAck(a uint32) { binary.BigEndian.PutUint32(v.b[tcpAck:], a) }

// SetFlags sets the control and reserved bits, keeping the data offset.
func (v TCPView) SetFlags(f TCPFlags) {
	w := binary.BigEndian.Uint16(v.b[tcpFlags:])&^tcpFlagsMask | uint16(f)&tcpFlagsMask
	binary.BigEndian.PutUint16(v.b[tcpFlags:], w)
}

// SetWindow sets the window field.
func (v TCPView) SetWindow(w uint16) { binary.BigEndian.PutUint16(v.b[tcpWindow:], w) }

// SetChecksum sets the checksum field.
func (v TCPView) SetChecksum(c uint16) { binary.BigEndian.PutUint16(v.b[tcpChecksum:], c) }

// SetUrgentPointer sets the urgent pointer field.
func (v TCPView) SetUrgentPointer(p uint16) { binary.BigEndian.PutUint16(v.b[tcpUrgent:], p) }

// CalculateChecksum returns the checksum of the segment, as if its
// checksum field were zero, for the pseudo-header sum pseudo
// (PseudoHeaderSum(src, dst, ProtoTCP, uint16(len(v.Bytes())))).
func (v TCPView) CalculateChecksum(pseudo uint32) uint16 {
	s := Checksum(v.b[:tcpChecksum], pseudo)
	s = Checksum(v.b[tcpChecksum+2:], s)
	return ^Fold(s)
}

// IsValidChecksum reports whether the checksum is correct for the
// pseudo-header sum pseudo.
func (v TCPView) IsValidChecksum(pseudo uint32) bool {
	return Fold(Checksum(v.b, pseudo)) == 0xffff
}

// TCPChecksum returns the TCP checksum field for a segment given as
// chunks, header first with its checksum field zero, then the data in as
// many pieces as it is held in (any lengths). pseudo is
// PseudoHeaderSum(src, dst, ProtoTCP, segment length).
func TCPChecksum(pseudo uint32, chunks ...[]byte) uint16 {
	return ^Fold(ChecksumChunks(pseudo, chunks...))
}

// VerifyChecksum reports whether a TCP segment, or a UDP datagram with a
// non-zero checksum, given as chunks (checksum field as received) is
// correct for the pseudo-header sum pseudo.
func VerifyChecksum(pseudo uint32, chunks ...[]byte) bool {
	return Fold(ChecksumChunks(pseudo, chunks...)) == 0xffff
}

// TCPHeader is the struct form of a TCP header. The data offset is
// implied: Encode writes Len()/4.
type TCPHeader struct {
	SrcPort, DstPort uint16
	Seq, Ack         uint32
	Flags            TCPFlags
	Window           uint16
	Checksum         uint16
	Urgent           uint16
	// Options are the option bytes (see TCPOptions to build or read
	// them). After Parse they alias the buffer parsed and include its
	// padding. Encode pads them with zeros (End of Option List) to a
	// multiple of 4 bytes; at most 40 bytes fit.
	Options []byte
}

// Parse reads the TCP header at the start of b, with the checks of
// ParseTCPView, and returns the header length.
func (h *TCPHeader) Parse(b []byte) (n int, err error) {
	v, err := ParseTCPView(b)
	if err != nil {
		return 0, err
	}
	*h = TCPHeader{
		SrcPort:  v.SrcPort(),
		DstPort:  v.DstPort(),
		Seq:      v.Seq(),
		Ack:      v.Ack(),
		Flags:    v.Flags(),
		Window:   v.Window(),
		Checksum: v.Checksum(),
		Urgent:   v.UrgentPointer(),
		Options:  v.Options(),
	}
	return v.HeaderLen(), nil
}

// Len returns the encoded header length: 20 plus the options rounded up to
// a multiple of 4.
func (h *TCPHeader) Len() int { return TCPMinHeaderLen + (len(h.Options)+3)&^3 }

// Encode writes h to the start of dst and returns the header length,
// checksum as it is (see TCPView.CalculateChecksum and TCPChecksum). It
// panics if len(dst) < h.Len() or if the options are longer than 40 bytes.
func (h *TCPHeader) Encode(dst []byte) int {
	n := h.Len()
	if n > TCPMaxHeaderLen {
		panic("wire: TCP options longer than 40 bytes")
	}
	_ = dst[n-1]
	binary.BigEndian.PutUint16(dst[tcpSrcPort:], h.SrcPort)
	binary.BigEndian.PutUint16(dst[tcpDstPort:], h.DstPort)
	binary.BigEndian.PutUint32(dst[tcpSeq:], h.Seq)
	binary.BigEndian.PutUint32(dst[tcpAck:], h.Ack)
	binary.BigEndian.PutUint16(dst[tcpFlags:], uint16(n/4)<<12|uint16(h.Flags)&tcpFlagsMask)
	binary.BigEndian.PutUint16(dst[tcpWindow:], h.Window)
	binary.BigEndian.PutUint16(dst[tcpChecksum:], h.Checksum)
	binary.BigEndian.PutUint16(dst[tcpUrgent:], h.Urgent)
	k := copy(dst[tcpOptions:n], h.Options)
	clear(dst[tcpOptions+k : n])
	return n
}

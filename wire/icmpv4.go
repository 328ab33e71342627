// ICMPv4 header.
//
// Read before editing: RFC 792 (message formats), RFC 1122 §3.2.2 (what a
// host must do with each), RFC 1812 §4.3 (errors a router sends, how much
// of the original datagram to quote, codes 13-15), RFC 1191 §4 (the
// next-hop MTU in "fragmentation needed"), RFC 4884 (the length field of
// extended errors), RFC 6918 (deprecated types).
//
// Every message starts with the same 8 bytes; the second word depends on
// the type:
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|     Type      |     Code      |          Checksum             |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                       Rest of header                          |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|     Data: echo data, or the original IP header + 8 bytes ...  :
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Rest of header:
//
//	echo, echo reply, timestamp:  | Identifier | Sequence Number |
//	dest. unreachable, code 4:    | unused (0) | Next-Hop MTU    |   RFC 1191
//	other dest. unreachable,
//	time exceeded:                | unused (0)                   |
//	parameter problem:            | Pointer | unused (0)         |
//	redirect:                     | Gateway Internet Address     |
//
// The checksum covers the whole ICMP message, header and data.

package wire

import (
	"encoding/binary"
	"net/netip"
	"strconv"
)

// Offsets and lengths of the ICMPv4 header.
const (
	icmpType     = 0
	icmpCode     = 1
	icmpChecksum = 2
	icmpRest     = 4
	icmpID       = 4
	icmpSeq      = 6
	icmpMTU      = 6
	icmpPointer  = 4
	icmpGateway  = 4

	// ICMPv4HeaderLen is the length of the ICMPv4 header.
	ICMPv4HeaderLen = 8
)

// ICMPv4Type is the ICMPv4 message type.
type ICMPv4Type uint8

// ICMPv4 message types (RFC 792, RFC 1256).
const (
	ICMPv4EchoReply      ICMPv4Type = 0
	ICMPv4DestUnreach    ICMPv4Type = 3
	ICMPv4SourceQuench   ICMPv4Type = 4 // deprecated (RFC 6633)
	ICMPv4Redirect       ICMPv4Type = 5
	ICMPv4Echo           ICMPv4Type = 8
	ICMPv4RouterAdvert   ICMPv4Type = 9
	ICMPv4RouterSolicit  ICMPv4Type = 10
	ICMPv4TimeExceeded   ICMPv4Type = 11
	ICMPv4ParamProblem   ICMPv4Type = 12
	ICMPv4Timestamp      ICMPv4Type = 13
	ICMPv4TimestampReply ICMPv4Type = 14
)

var icmpv4TypeNames = [...]string{
	ICMPv4EchoReply:      "EchoReply",
	ICMPv4DestUnreach:    "DestinationUnreachable",
	ICMPv4SourceQuench:   "SourceQuench",
	ICMPv4Redirect:       "Redirect",
	ICMPv4Echo:           "Echo",
	ICMPv4RouterAdvert:   "RouterAdvertisement",
	ICMPv4RouterSolicit:  "RouterSolicitation",
	ICMPv4TimeExceeded:   "TimeExceeded",
	ICMPv4ParamProblem:   "ParameterProblem",
	ICMPv4Timestamp:      "Timestamp",
	ICMPv4TimestampReply: "TimestampReply",
}

func (t ICMPv4Type) String() string {
	if int(t) < len(icmpv4TypeNames) && icmpv4TypeNames[t] != "" {
		return icmpv4TypeNames[t]
	}
	return "ICMPv4Type(" + strconv.Itoa(int(t)) + ")"
}

// IsError reports whether t is an error message, one that quotes the
// datagram that caused it and to which no error may be sent back
// (RFC 1122 §3.2.2).
func (t ICMPv4Type) IsError() bool {
	switch t {
	case ICMPv4DestUnreach, ICMPv4SourceQuench, ICMPv4Redirect, ICMPv4TimeExceeded, ICMPv4ParamProblem:
		return true
	}
	return false
}

// ICMPv4TypeCode is a message type and code together, type in the high
// byte: a code means something only with its type, so the named codes are
// constants of this type.
type ICMPv4TypeCode uint16

// NewICMPv4TypeCode returns the pair t, c.
func NewICMPv4TypeCode(t ICMPv4Type, c uint8) ICMPv4TypeCode {
	return ICMPv4TypeCode(t)<<8 | ICMPv4TypeCode(c)
}

// Type returns the type half.
func (tc ICMPv4TypeCode) Type() ICMPv4Type { return ICMPv4Type(tc >> 8) }

// Code returns the code half.
func (tc ICMPv4TypeCode) Code() uint8 { return uint8(tc) }

// Named type/code pairs (RFC 792, RFC 1122 §3.2.2.1, RFC 1812 §5.2.7.1).
const (
	ICMPv4EchoRequestCode = ICMPv4TypeCode(ICMPv4Echo) << 8
	ICMPv4EchoReplyCode   = ICMPv4TypeCode(ICMPv4EchoReply) << 8

	ICMPv4NetUnreachable         = ICMPv4TypeCode(ICMPv4DestUnreach)<<8 | 0
	ICMPv4HostUnreachable        = ICMPv4TypeCode(ICMPv4DestUnreach)<<8 | 1
	ICMPv4ProtoUnreachable       = ICMPv4TypeCode(ICMPv4DestUnreach)<<8 | 2
	ICMPv4PortUnreachable        = ICMPv4TypeCode(ICMPv4DestUnreach)<<8 | 3
	ICMPv4FragmentationNeeded    = ICMPv4TypeCode(ICMPv4DestUnreach)<<8 | 4
	ICMPv4SourceRouteFailed      = ICMPv4TypeCode(ICMPv4DestUnreach)<<8 | 5
	ICMPv4NetUnknown             = ICMPv4TypeCode(ICMPv4DestUnreach)<<8 | 6
	ICMPv4HostUnknown            = ICMPv4TypeCode(ICMPv4DestUnreach)<<8 | 7
	ICMPv4SourceHostIsolated     = ICMPv4TypeCode(ICMPv4DestUnreach)<<8 | 8
	ICMPv4NetProhibited          = ICMPv4TypeCode(ICMPv4DestUnreach)<<8 | 9
	ICMPv4HostProhibited         = ICMPv4TypeCode(ICMPv4DestUnreach)<<8 | 10
	ICMPv4NetUnreachableForTOS   = ICMPv4TypeCode(ICMPv4DestUnreach)<<8 | 11
	ICMPv4HostUnreachableForTOS  = ICMPv4TypeCode(ICMPv4DestUnreach)<<8 | 12
	ICMPv4CommProhibited         = ICMPv4TypeCode(ICMPv4DestUnreach)<<8 | 13
	ICMPv4HostPrecedenceViolated = ICMPv4TypeCode(ICMPv4DestUnreach)<<8 | 14
	ICMPv4PrecedenceCutoff       = ICMPv4TypeCode(ICMPv4DestUnreach)<<8 | 15

	ICMPv4RedirectNet       = ICMPv4TypeCode(ICMPv4Redirect)<<8 | 0
	ICMPv4RedirectHost      = ICMPv4TypeCode(ICMPv4Redirect)<<8 | 1
	ICMPv4RedirectTOSNet    = ICMPv4TypeCode(ICMPv4Redirect)<<8 | 2
	ICMPv4RedirectTOSHost   = ICMPv4TypeCode(ICMPv4Redirect)<<8 | 3
	ICMPv4TTLExceeded       = ICMPv4TypeCode(ICMPv4TimeExceeded)<<8 | 0
	ICMPv4ReassemblyTimeout = ICMPv4TypeCode(ICMPv4TimeExceeded)<<8 | 1
	ICMPv4PointerIndicates  = ICMPv4TypeCode(ICMPv4ParamProblem)<<8 | 0
	ICMPv4MissingOption     = ICMPv4TypeCode(ICMPv4ParamProblem)<<8 | 1
	ICMPv4BadLength         = ICMPv4TypeCode(ICMPv4ParamProblem)<<8 | 2
)

var icmpv4UnreachNames = [...]string{
	"NetUnreachable", "HostUnreachable", "ProtocolUnreachable", "PortUnreachable",
	"FragmentationNeeded", "SourceRouteFailed", "NetUnknown", "HostUnknown",
	"SourceHostIsolated", "NetProhibited", "HostProhibited", "NetUnreachableForTOS",
	"HostUnreachableForTOS", "CommunicationProhibited", "HostPrecedenceViolation",
	"PrecedenceCutoff",
}

// String returns "Type" for a code-less type with code 0, "Type(Code)"
// with the code's name where it has one, and "Type(code N)" otherwise.
func (tc ICMPv4TypeCode) String() string {
	t, c := tc.Type(), tc.Code()
	var name string
	switch t {
	case ICMPv4DestUnreach:
		if int(c) < len(icmpv4UnreachNames) {
			name = icmpv4UnreachNames[c]
		}
	case ICMPv4Redirect:
		name = [...]string{"Net", "Host", "TOSNet", "TOSHost", ""}[min(c, 4)]
	case ICMPv4TimeExceeded:
		name = [...]string{"TTLExceeded", "FragmentReassemblyTimeExceeded", ""}[min(c, 2)]
	case ICMPv4ParamProblem:
		name = [...]string{"PointerIndicatesError", "MissingRequiredOption", "BadLength", ""}[min(c, 3)]
	default:
		if c == 0 {
			return t.String()
		}
	}
	if name == "" {
		name = "code " + strconv.Itoa(int(c))
	}
	return t.String() + "(" + name + ")"
}

// ICMPv4View is a view of an ICMPv4 message. Build it with
// ParseICMPv4View; its accessors then cannot panic.
type ICMPv4View struct {
	b []byte
}

// ParseICMPv4View returns a view of the ICMPv4 message b (the whole IPv4
// payload: the checksum covers all of it). It checks only that the 8-byte
// header fits; the checksum is checked by IsValidChecksum. The view
// aliases b.
func ParseICMPv4View(b []byte) (ICMPv4View, error) {
	if len(b) < ICMPv4HeaderLen {
		return ICMPv4View{}, ErrTruncated
	}
	return ICMPv4View{b}, nil
}

// Type returns the message type.
func (v ICMPv4View) Type() ICMPv4Type { return ICMPv4Type(v.b[icmpType]) }

// Code returns the code.
func (v ICMPv4View) Code() uint8 { return v.b[icmpCode] }

// TypeCode returns type and code together, to compare with the named
// pairs such as ICMPv4PortUnreachable.
func (v ICMPv4View) TypeCode() ICMPv4TypeCode {
	return ICMPv4TypeCode(binary.BigEndian.Uint16(v.b[icmpType:]))
}

// Checksum returns the checksum field.
func (v ICMPv4View) Checksum() uint16 { return binary.BigEndian.Uint16(v.b[icmpChecksum:]) }

// Rest returns the second word of the header, whatever the type.
func (v ICMPv4View) Rest() uint32 { return binary.BigEndian.Uint32(v.b[icmpRest:]) }

// ID returns the identifier of an echo or timestamp message.
func (v ICMPv4View) ID() uint16 { return binary.BigEndian.Uint16(v.b[icmpID:]) }

// Seq returns the sequence number of an echo or timestamp message.
func (v ICMPv4View) Seq() uint16 { return binary.BigEndian.Uint16(v.b[icmpSeq:]) }

// NextHopMTU returns the next-hop MTU of a "fragmentation needed and DF
// set" message (RFC 1191 §4); 0 from a router older than RFC 1191.
func (v ICMPv4View) NextHopMTU() uint16 { return binary.BigEndian.Uint16(v.b[icmpMTU:]) }

// Pointer returns the octet offset a parameter problem message points at
// in the quoted header.
func (v ICMPv4View) Pointer() uint8 { return v.b[icmpPointer] }

// Gateway returns the gateway address of a redirect message.
func (v ICMPv4View) Gateway() netip.Addr {
	return netip.AddrFrom4([4]byte(v.b[icmpGateway : icmpGateway+4]))
}

// Payload returns the bytes after the 8-byte header: the echo data, or for
// an error the quoted original datagram.
func (v ICMPv4View) Payload() []byte { return v.b[ICMPv4HeaderLen:] }

// Quoted returns the quoted original datagram of an error message (its IP
// header and at least the first 8 bytes of its payload, RFC 792; as much
// as fits in 576 bytes, RFC 1812 §4.3.2.3) and its IP header as a view
// made by ParseIPv4HeaderView. It fails if the quote is not a well-formed
// IPv4 header. transport is the part of the quote after that header,
// usually the first 8 bytes of a TCP or UDP header: enough for the ports.
func (v ICMPv4View) Quoted() (ip IPv4View, transport []byte, err error) {
	ip, err = ParseIPv4HeaderView(v.Payload())
	if err != nil {
		return IPv4View{}, nil, err
	}
	return ip, ip.b[ip.HeaderLen():], nil
}

// Bytes returns the whole message.
func (v ICMPv4View) Bytes() []byte { return v.b }

// SetType sets the type.
func (v ICMPv4View) SetType(t ICMPv4Type) { v.b[icmpType] = byte(t) }

// SetCode sets the code.
func (v ICMPv4View) SetCode(c uint8) { v.b[icmpCode] = c }

// SetTypeCode sets type and code.
func (v ICMPv4View) SetTypeCode(tc ICMPv4TypeCode) {
	binary.BigEndian.PutUint16(v.b[icmpType:], uint16(tc))
}

// SetChecksum sets the checksum field.
func (v ICMPv4View) SetChecksum(c uint16) { binary.BigEndian.PutUint16(v.b[icmpChecksum:], c) }

// SetRest sets the second word of the header.
func (v ICMPv4View) SetRest(r uint32) { binary.BigEndian.PutUint32(v.b[icmpRest:], r) }

// SetID sets the echo identifier.
func (v ICMPv4View) SetID(id uint16) { binary.BigEndian.PutUint16(v.b[icmpID:], id) }

// SetSeq sets the echo sequence number.
func (v ICMPv4View) SetSeq(seq uint16) { binary.BigEndian.PutUint16(v.b[icmpSeq:], seq) }

// SetNextHopMTU sets the next-hop MTU (and zeroes the unused half word).
func (v ICMPv4View) SetNextHopMTU(mtu uint16) { v.SetRest(uint32(mtu)) }

// CalculateChecksum returns the checksum of the message as if its checksum
// field were zero: the value SetChecksum should store.
func (v ICMPv4View) CalculateChecksum() uint16 {
	s := Checksum(v.b[:icmpChecksum], 0)
	s = Checksum(v.b[icmpChecksum+2:], s)
	return ^Fold(s)
}

// IsValidChecksum reports whether the checksum over the whole message is
// correct.
func (v ICMPv4View) IsValidChecksum() bool { return Fold(Checksum(v.b, 0)) == 0xffff }

// ICMPv4Header is the struct form of the 8-byte ICMPv4 header; the data
// after it is not part of it.
type ICMPv4Header struct {
	Type     ICMPv4Type
	Code     uint8
	Checksum uint16
	// Rest is the second word: identifier<<16 | sequence for echo, the
	// next-hop MTU for fragmentation needed, pointer<<24 for parameter
	// problem, the gateway for redirect. See the helper methods.
	Rest uint32
}

// NewICMPv4Echo returns the header of an echo request or reply.
func NewICMPv4Echo(t ICMPv4Type, id, seq uint16) ICMPv4Header {
	return ICMPv4Header{Type: t, Rest: uint32(id)<<16 | uint32(seq)}
}

// TypeCode returns type and code together.
func (h *ICMPv4Header) TypeCode() ICMPv4TypeCode { return NewICMPv4TypeCode(h.Type, h.Code) }

// ID returns the echo identifier, the high half of Rest.
func (h *ICMPv4Header) ID() uint16 { return uint16(h.Rest >> 16) }

// Seq returns the echo sequence number, the low half of Rest.
func (h *ICMPv4Header) Seq() uint16 { return uint16(h.Rest) }

// NextHopMTU returns the next-hop MTU, the low half of Rest.
func (h *ICMPv4Header) NextHopMTU() uint16 { return uint16(h.Rest) }

// Parse reads the header at the start of b and returns its length, 8.
func (h *ICMPv4Header) Parse(b []byte) (n int, err error) {
	v, err := ParseICMPv4View(b)
	if err != nil {
		return 0, err
	}
	*h = ICMPv4Header{Type: v.Type(), Code: v.Code(), Checksum: v.Checksum(), Rest: v.Rest()}
	return ICMPv4HeaderLen, nil
}

// Len returns the encoded length of h, 8.
func (h *ICMPv4Header) Len() int { return ICMPv4HeaderLen }

// Encode writes h to the start of dst and returns the number of bytes
// written, checksum as it is. It panics if len(dst) < h.Len().
func (h *ICMPv4Header) Encode(dst []byte) int {
	_ = dst[ICMPv4HeaderLen-1]
	dst[icmpType] = byte(h.Type)
	dst[icmpCode] = h.Code
	binary.BigEndian.PutUint16(dst[icmpChecksum:], h.Checksum)
	binary.BigEndian.PutUint32(dst[icmpRest:], h.Rest)
	return ICMPv4HeaderLen
}

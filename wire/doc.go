// Package wire holds the on-the-wire formats of the protocols ustack speaks:
// Ethernet II, ARP for Ethernet/IPv4, IPv4, ICMPv4, UDP and TCP (with its
// options), and the internet checksum. It is layer 0: it imports nothing from
// the rest of the stack, keeps no state and never allocates on a parse path.
//
// Every header comes in two forms.
//
// A view (EthernetView, ARPView, IPv4View, ICMPv4View, UDPView, TCPView) is a
// small value holding a []byte. Its constructor (ParseEthernetView,
// ParseIPv4View, ...) checks the lengths once; after that no accessor or
// setter can panic, whatever the bytes are later changed to. Getters read the
// buffer and setters write it in place, so a view is what the packet path
// uses: it costs nothing and copies nothing.
//
// A header struct (EthernetHeader, ARPHeader, IPv4Header, ICMPv4Header,
// UDPHeader, TCPHeader, TCPOptions) is a plain Go value with Parse, Encode
// and Len. Encode writes into the caller's buffer and never allocates; it
// panics if the buffer is shorter than Len, as an index out of range would.
// The struct form is what tests, tools and the output path use to build a
// header field by field.
//
// Parsers never verify checksums on their own: that is always an explicit
// call (IsValidChecksum), so a caller that trusts a device's checksum offload
// skips it by not calling it.
//
// Errors are the sentinels below; wrap-free so that the packet path can
// compare them with == or errors.Is without allocating. The stack maps them
// to MIB counters (ErrShortPacket to InTruncatedPkts, the rest of the IPv4
// ones to InHdrErrors, and so on).
package wire

import "errors"

var (
	// ErrTruncated reports a buffer shorter than the fixed header, or
	// shorter than the header length the header itself announces.
	ErrTruncated = errors.New("wire: truncated header")
	// ErrShortPacket reports a buffer that holds the whole header but is
	// shorter than the packet length announced in it (IPv4 total length,
	// UDP length). Linux counts this as InTruncatedPkts for IPv4.
	ErrShortPacket = errors.New("wire: packet shorter than its length field")
	// ErrBadVersion reports an IP version field that is not 4.
	ErrBadVersion = errors.New("wire: bad IP version")
	// ErrBadHeaderLen reports an impossible header length field: IPv4
	// IHL < 5 or TCP data offset < 5.
	ErrBadHeaderLen = errors.New("wire: bad header length")
	// ErrBadTotalLen reports an IPv4 total length smaller than the header.
	ErrBadTotalLen = errors.New("wire: bad total length")
	// ErrBadLength reports a UDP length field smaller than the UDP header.
	ErrBadLength = errors.New("wire: bad length field")
	// ErrBadOptionLen reports a TCP option whose length byte is 0 or 1,
	// runs past the end of the options, or does not fit its kind.
	ErrBadOptionLen = errors.New("wire: bad option length")
	// ErrNotEthernetIPv4 reports an ARP packet whose hardware or protocol
	// type or address lengths are not those of Ethernet and IPv4.
	ErrNotEthernetIPv4 = errors.New("wire: ARP is not Ethernet/IPv4")
	// ErrBadMAC reports a string ParseMAC cannot read.
	ErrBadMAC = errors.New("wire: bad MAC address")
)

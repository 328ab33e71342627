// TCP options.
//
// Read before editing: RFC 9293 §3.1 and §3.2 (option framing: EOL, NOP,
// kind-length-data; MSS), RFC 6691 (what MSS counts), RFC 7323 §2 and §3
// (window scale, timestamps) and appendix A (the NOP-padded layout),
// RFC 2018 §2 and §3 (SACK-permitted, SACK blocks), RFC 9293 §3.2 "a TCP
// implementation MUST be able to receive a TCP Option in any segment" and
// "MUST ignore without error any TCP Option it does not implement".
// Linux's tcp_parse_options is the parser this one mirrors; its
// tcp_options_write fixes the order in which Encode lays options out.
//
// Option framing:
//
//	EOL:    +--------+                 NOP:  +--------+
//	        |00000000|                       |00000001|
//	        +--------+                       +--------+
//
//	others: +--------+--------+---  ...  ---+
//	        |  Kind  | Length |   Data       |   Length counts Kind and
//	        +--------+--------+---  ...  ---+   itself: at least 2.
//
//	MSS              kind 2,  length 4:  | MSS (16) |
//	Window scale     kind 3,  length 3:  | shift.cnt (8) |
//	SACK-permitted   kind 4,  length 2
//	SACK             kind 5,  length 2+8n: n × | Left Edge (32) | Right Edge (32) |
//	Timestamps       kind 8,  length 10: | TSval (32) | TSecr (32) |
//
// A length of 0 or 1 would make a naive parser spin; one past the end
// would make it read beyond the header. Both are errors here, and every
// successful step consumes at least one byte, so no loop over options can
// fail to terminate.

package wire

import (
	"encoding/binary"
	"strconv"
)

// Option lengths, kind and length bytes included.
const (
	tcpOptLenMSS           = 4
	tcpOptLenWindowScale   = 3
	tcpOptLenSACKPermitted = 2
	tcpOptLenTimestamps    = 10
	tcpOptLenSACKBase      = 2
	tcpOptLenSACKPerBlock  = 8

	// TCPMaxWindowScale is the largest shift RFC 7323 §2.3 allows; a
	// larger one received is to be treated as 14.
	TCPMaxWindowScale = 14
	// TCPMaxSACKBlocks is the most SACK blocks TCPOptions holds, the most
	// that fit in 40 option bytes.
	TCPMaxSACKBlocks = 4
)

// TCPOptionKind is the kind byte of a TCP option.
type TCPOptionKind uint8

// TCP option kinds (IANA "TCP Option Kind Numbers").
const (
	TCPOptEOL           TCPOptionKind = 0
	TCPOptNOP           TCPOptionKind = 1
	TCPOptMSS           TCPOptionKind = 2
	TCPOptWindowScale   TCPOptionKind = 3
	TCPOptSACKPermitted TCPOptionKind = 4
	TCPOptSACK          TCPOptionKind = 5
	TCPOptTimestamps    TCPOptionKind = 8
	TCPOptMD5           TCPOptionKind = 19 // RFC 2385
	TCPOptUserTimeout   TCPOptionKind = 28 // RFC 5482
	TCPOptAuth          TCPOptionKind = 29 // RFC 5925
	TCPOptMPTCP         TCPOptionKind = 30 // RFC 8684
	TCPOptFastOpen      TCPOptionKind = 34 // RFC 7413
	TCPOptExperiment1   TCPOptionKind = 253
	TCPOptExperiment2   TCPOptionKind = 254
)

func (k TCPOptionKind) String() string {
	switch k {
	case TCPOptEOL:
		return "EOL"
	case TCPOptNOP:
		return "NOP"
	case TCPOptMSS:
		return "MSS"
	case TCPOptWindowScale:
		return "WindowScale"
	case TCPOptSACKPermitted:
		return "SACKPermitted"
	case TCPOptSACK:
		return "SACK"
	case TCPOptTimestamps:
		return "Timestamps"
	case TCPOptMD5:
		return "MD5"
	case TCPOptUserTimeout:
		return "UserTimeout"
	case TCPOptAuth:
		return "TCP-AO"
	case TCPOptMPTCP:
		return "MPTCP"
	case TCPOptFastOpen:
		return "FastOpen"
	case TCPOptExperiment1, TCPOptExperiment2:
		return "Experimental(" + strconv.Itoa(int(k)) + ")"
	}
	return "TCPOptionKind(" + strconv.Itoa(int(k)) + ")"
}

// tcpOptFixedLen returns the only valid length of kind k, 0 if k has no
// fixed length.
func tcpOptFixedLen(k TCPOptionKind) int {
	switch k {
	case TCPOptMSS:
		return tcpOptLenMSS
	case TCPOptWindowScale:
		return tcpOptLenWindowScale
	case TCPOptSACKPermitted:
		return tcpOptLenSACKPermitted
	case TCPOptTimestamps:
		return tcpOptLenTimestamps
	}
	return 0
}

// TCPOption is one option as it appears in the header.
type TCPOption struct {
	Kind TCPOptionKind
	// Data is the option's data, without kind and length bytes; nil for
	// EOL and NOP. It aliases the buffer parsed.
	Data []byte
}

// Len returns the option's length on the wire.
func (o TCPOption) Len() int {
	if o.Kind == TCPOptEOL || o.Kind == TCPOptNOP {
		return 1
	}
	return 2 + len(o.Data)
}

// NextTCPOption decodes the option at the start of b and returns it with
// the bytes after it. Loop while len(rest) > 0:
//
//	for rest := opts; len(rest) > 0; {
//		var o wire.TCPOption
//		o, rest, err = wire.NextTCPOption(rest)
//		...
//	}
//
// EOL (or an empty b) ends the list: it is returned with a nil rest, the
// bytes after it being padding. Unknown kinds are returned like any other,
// for the caller to skip. It fails with ErrBadOptionLen when the length
// byte is missing, is 0 or 1, runs past the end of b, or is not the one
// length a known kind has (MSS 4, window scale 3, SACK-permitted 2,
// timestamps 10, SACK 2+8n with n ≥ 1), and then also returns a nil rest,
// so that a loop that ignores the error still ends.
func NextTCPOption(b []byte) (opt TCPOption, rest []byte, err error) {
	if len(b) == 0 {
		return TCPOption{Kind: TCPOptEOL}, nil, nil
	}
	k := TCPOptionKind(b[0])
	switch k {
	case TCPOptEOL:
		return TCPOption{Kind: k}, nil, nil
	case TCPOptNOP:
		return TCPOption{Kind: k}, b[1:], nil
	}
	if len(b) < 2 {
		return TCPOption{Kind: k}, nil, ErrBadOptionLen
	}
	n := int(b[1])
	if n < 2 || n > len(b) {
		return TCPOption{Kind: k}, nil, ErrBadOptionLen
	}
	if fixed := tcpOptFixedLen(k); fixed != 0 && n != fixed {
		return TCPOption{Kind: k}, nil, ErrBadOptionLen
	}
	if k == TCPOptSACK && (n < tcpOptLenSACKBase+tcpOptLenSACKPerBlock || (n-tcpOptLenSACKBase)%tcpOptLenSACKPerBlock != 0) {
		return TCPOption{Kind: k}, nil, ErrBadOptionLen
	}
	return TCPOption{Kind: k, Data: b[2:n]}, b[n:], nil
}

// TCPOptionIter walks the options of a header:
//
//	it := wire.NewTCPOptionIter(tcp.Options())
//	for it.Next() {
//		o := it.Option()
//		...
//	}
//	if err := it.Err(); err != nil { ... }
//
// It yields every option, NOP and a final EOL included, and stops at EOL,
// at the end of the bytes, or at the first malformed option.
type TCPOptionIter struct {
	rest []byte
	opt  TCPOption
	err  error
	done bool
}

// NewTCPOptionIter returns an iterator over the option bytes opts.
func NewTCPOptionIter(opts []byte) TCPOptionIter {
	return TCPOptionIter{rest: opts}
}

// Next advances to the next option and reports whether there is one.
func (it *TCPOptionIter) Next() bool {
	if it.done || len(it.rest) == 0 {
		it.done = true
		return false
	}
	it.opt, it.rest, it.err = NextTCPOption(it.rest)
	if it.err != nil {
		it.done = true
		return false
	}
	return true
}

// Option returns the current option.
func (it *TCPOptionIter) Option() TCPOption { return it.opt }

// Err returns the error that stopped the iteration, if any.
func (it *TCPOptionIter) Err() error { return it.err }

// SACKBlock is one SACK block: sequence numbers [Left, Right).
type SACKBlock struct {
	Left, Right uint32
}

// TCPOptions holds the options ustack implements, decoded. The zero value
// means no options.
type TCPOptions struct {
	MSS            uint16
	HasMSS         bool
	WindowScale    uint8 // as received; RFC 7323 §2.3 caps its use at 14
	HasWindowScale bool
	SACKPermitted  bool
	TSVal, TSEcr   uint32
	HasTimestamps  bool
	// SACKBlocks[:NumSACKBlocks] are the SACK blocks, in the order sent.
	SACKBlocks    [TCPMaxSACKBlocks]SACKBlock
	NumSACKBlocks int
}

// SACK returns the SACK blocks (a slice of o.SACKBlocks).
func (o *TCPOptions) SACK() []SACKBlock {
	return o.SACKBlocks[:min(max(o.NumSACKBlocks, 0), TCPMaxSACKBlocks)]
}

// Parse decodes the option bytes b into o, as Linux's tcp_parse_options
// does: unknown kinds are skipped, a kind seen twice keeps the last value,
// SACK blocks past the fourth are dropped, and parsing stops at EOL. It
// fails with ErrBadOptionLen on the first malformed option (see
// NextTCPOption); o then holds what came before it, which is what Linux
// acts on, so a caller may choose to use it. Which options are meaningful
// on which segments (MSS on SYN only, ...) is for the caller.
func (o *TCPOptions) Parse(b []byte) error {
	*o = TCPOptions{}
	for rest := b; len(rest) > 0; {
		var opt TCPOption
		var err error
		opt, rest, err = NextTCPOption(rest)
		if err != nil {
			return err
		}
		d := opt.Data
		switch opt.Kind {
		case TCPOptMSS:
			o.MSS, o.HasMSS = binary.BigEndian.Uint16(d), true
		case TCPOptWindowScale:
			o.WindowScale, o.HasWindowScale = d[0], true
		case TCPOptSACKPermitted:
			o.SACKPermitted = true
		case TCPOptTimestamps:
			o.TSVal, o.TSEcr, o.HasTimestamps = binary.BigEndian.Uint32(d), binary.BigEndian.Uint32(d[4:]), true
		case TCPOptSACK:
			o.NumSACKBlocks = 0
			for ; len(d) >= tcpOptLenSACKPerBlock && o.NumSACKBlocks < TCPMaxSACKBlocks; d = d[tcpOptLenSACKPerBlock:] {
				o.SACKBlocks[o.NumSACKBlocks] = SACKBlock{binary.BigEndian.Uint32(d), binary.BigEndian.Uint32(d[4:])}
				o.NumSACKBlocks++
			}
		}
	}
	return nil
}

// Len returns the encoded length of o, a multiple of 4. It can exceed 40
// (timestamps with 4 SACK blocks): a sender sends at most 3 blocks with
// timestamps.
func (o *TCPOptions) Len() int {
	n := 0
	if o.HasMSS {
		n += 4
	}
	if o.HasTimestamps {
		n += 12 // SACK-permitted, if any, takes the place of the 2 NOPs
	}
	if o.HasWindowScale {
		n += 4
	}
	if o.SACKPermitted && !o.HasTimestamps {
		n += 4
	}
	if k := len(o.SACK()); k > 0 {
		n += 4 + 8*k
	}
	return n
}

// Encode writes o to the start of dst in the layout Linux's
// tcp_options_write uses, each option aligned by NOPs (RFC 7323
// appendix A), and returns the number of bytes written, o.Len():
//
//	MSS                          02 04 mm mm
//	SACK-permitted + timestamps  04 02 08 0a vv vv vv vv ee ee ee ee
//	or timestamps alone          01 01 08 0a vv vv vv vv ee ee ee ee
//	window scale                 01 03 03 ss
//	SACK-permitted alone         01 01 04 02
//	SACK blocks                  01 01 05 ll  (left, right) ...
//
// It panics if len(dst) < o.Len().
func (o *TCPOptions) Encode(dst []byte) int {
	if len(dst) < o.Len() {
		panic("wire: TCPOptions.Encode buffer too short")
	}
	n := 0
	if o.HasMSS {
		dst[0], dst[1] = byte(TCPOptMSS), tcpOptLenMSS
		binary.BigEndian.PutUint16(dst[2:], o.MSS)
		n += 4
	}
	if o.HasTimestamps {
		if o.SACKPermitted {
			dst[n], dst[n+1] = byte(TCPOptSACKPermitted), tcpOptLenSACKPermitted
		} else {
			dst[n], dst[n+1] = byte(TCPOptNOP), byte(TCPOptNOP)
		}
		dst[n+2], dst[n+3] = byte(TCPOptTimestamps), tcpOptLenTimestamps
		binary.BigEndian.PutUint32(dst[n+4:], o.TSVal)
		binary.BigEndian.PutUint32(dst[n+8:], o.TSEcr)
		n += 12
	}
	if o.HasWindowScale {
		dst[n], dst[n+1], dst[n+2], dst[n+3] = byte(TCPOptNOP), byte(TCPOptWindowScale), tcpOptLenWindowScale, o.WindowScale
		n += 4
	}
	if o.SACKPermitted && !o.HasTimestamps {
		dst[n], dst[n+1], dst[n+2], dst[n+3] = byte(TCPOptNOP), byte(TCPOptNOP), byte(TCPOptSACKPermitted), tcpOptLenSACKPermitted
		n += 4
	}
	if blocks := o.SACK(); len(blocks) > 0 {
		dst[n], dst[n+1], dst[n+2], dst[n+3] = byte(TCPOptNOP), byte(TCPOptNOP), byte(TCPOptSACK), byte(tcpOptLenSACKBase+tcpOptLenSACKPerBlock*len(blocks))
		n += 4
		for _, s := range blocks {
			binary.BigEndian.PutUint32(dst[n:], s.Left)
			binary.BigEndian.PutUint32(dst[n+4:], s.Right)
			n += 8
		}
	}
	return n
}

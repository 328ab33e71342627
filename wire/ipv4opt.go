// IPv4 options: RFC 791 §3.1 ("Options"), RFC 1812 §5.2.4 (what routers do
// with them), RFC 1122 §3.2.1.8 and §3.2.2.6 (hosts; echo replies).
//
// An option is either a single byte (End of Option List, No Operation) or
// type, length, data:
//
//	+--------+--------+--------...
//	|  type  | length |  data
//	+--------+--------+--------...
//
// The type byte holds the copied flag (copy into every fragment), the
// class and the number.

package wire

// IPv4OptionType is the type byte of an IPv4 option.
type IPv4OptionType uint8

// IPv4 option types ustack knows by name.
const (
	IPv4OptEOL         IPv4OptionType = 0   // End of Option List
	IPv4OptNOP         IPv4OptionType = 1   // No Operation
	IPv4OptRecordRoute IPv4OptionType = 7   // Record Route
	IPv4OptTimestamp   IPv4OptionType = 68  // Internet Timestamp
	IPv4OptSecurity    IPv4OptionType = 130 // Security (RFC 1108)
	IPv4OptLSRR        IPv4OptionType = 131 // Loose Source and Record Route
	IPv4OptSSRR        IPv4OptionType = 137 // Strict Source and Record Route
	IPv4OptRouterAlert IPv4OptionType = 148 // Router Alert (RFC 2113)
	ipv4OptCopiedFlag                 = 0x80
)

// Copied reports whether the option is copied into every fragment.
func (t IPv4OptionType) Copied() bool { return t&ipv4OptCopiedFlag != 0 }

// IPv4Option is one option: its type, its offset within the options, and
// its whole bytes (type and length included; one byte for EOL and NOP).
type IPv4Option struct {
	Type   IPv4OptionType
	Offset int
	Bytes  []byte
}

// NextIPv4Option reads the option at off in opts and returns it and the
// offset of the next. At the end of the options, or at End of Option
// List, it returns done. A length below 2 or running past the end is
// ErrBadOptionLen, with the option's offset in opt.Offset so a caller can
// point an ICMP parameter problem at it. Each step advances at least one
// byte, so a loop over it always ends.
func NextIPv4Option(opts []byte, off int) (opt IPv4Option, next int, done bool, err error) {
	if off >= len(opts) {
		return IPv4Option{}, off, true, nil
	}
	t := IPv4OptionType(opts[off])
	switch t {
	case IPv4OptEOL:
		return IPv4Option{Type: t, Offset: off, Bytes: opts[off : off+1]}, len(opts), true, nil
	case IPv4OptNOP:
		return IPv4Option{Type: t, Offset: off, Bytes: opts[off : off+1]}, off + 1, false, nil
	}
	if off+1 >= len(opts) {
		return IPv4Option{Type: t, Offset: off}, 0, false, ErrBadOptionLen
	}
	l := int(opts[off+1])
	if l < 2 || off+l > len(opts) {
		return IPv4Option{Type: t, Offset: off + 1}, 0, false, ErrBadOptionLen
	}
	return IPv4Option{Type: t, Offset: off, Bytes: opts[off : off+l]}, off + l, false, nil
}

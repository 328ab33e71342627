package ipv4

// IPv4 options, as a host and as a router: RFC 791 §3.1, RFC 1812 §5.2.4
// (a router MUST update Record Route and Timestamp), RFC 1122 §3.2.1.8
// and §3.2.2.6 (a host reflects them in echo replies). Source-routed
// packets are refused, as Linux does by default (accept_source_route=0).
// Cf. Linux's ip_options_compile, ip_forward_options, ip_options_echo.

import (
	"errors"
	"net/netip"
	"time"

	"ustack/wire"
)

var errSourceRoute = errors.New("ipv4: source-routed packet refused")

// optionError says where a malformed option is, for the parameter
// problem's pointer (an offset into the IP header).
type optionError struct{ pointer int }

func (e *optionError) Error() string { return "ipv4: malformed option" }

// checkOptions validates the options of a received header (RFC 1122
// §3.2.1.8: a malformed option is answered with a parameter problem).
func checkOptions(opts []byte) error {
	off := 0
	for {
		opt, next, done, err := wire.NextIPv4Option(opts, off)
		if err != nil {
			return &optionError{pointer: wire.IPv4MinHeaderLen + opt.Offset}
		}
		if done {
			return nil
		}
		b := opt.Bytes
		switch opt.Type {
		case wire.IPv4OptRecordRoute:
			if len(b) < 3 || b[2] < 4 {
				return &optionError{pointer: wire.IPv4MinHeaderLen + opt.Offset + 2}
			}
		case wire.IPv4OptTimestamp:
			if len(b) < 4 || b[2] < 5 {
				return &optionError{pointer: wire.IPv4MinHeaderLen + opt.Offset + 2}
			}
			if flg := b[3] & 0xf; flg != 0 && flg != 1 && flg != 3 {
				return &optionError{pointer: wire.IPv4MinHeaderLen + opt.Offset + 3}
			}
		case wire.IPv4OptLSRR, wire.IPv4OptSSRR:
			return errSourceRoute
		}
		off = next
	}
}

// stampOptions records a hop in place: our address in a Record Route with
// room, and a timestamp (with our address, for flag 1; when we are next
// in the list, for flag 3) in an Internet Timestamp, or its overflow
// count incremented when full. It reports false when the overflow count
// itself overflows (a parameter problem, RFC 791).
func stampOptions(opts []byte, addr netip.Addr, now time.Time) bool {
	var a [4]byte
	if addr.Is4() {
		a = addr.As4()
	}
	off := 0
	for {
		opt, next, done, err := wire.NextIPv4Option(opts, off)
		if err != nil || done {
			return true
		}
		b := opt.Bytes
		switch opt.Type {
		case wire.IPv4OptRecordRoute:
			if p := int(b[2]); p+3 <= len(b) && addr.Is4() {
				copy(b[p-1:], a[:])
				b[2] += 4
			}
		case wire.IPv4OptTimestamp:
			p, flg := int(b[2]), b[3]&0xf
			if flg != 0 && !addr.Is4() {
				break // no address to record
			}
			slot := 4
			if flg != 0 {
				slot = 8
			}
			if p+slot-1 > len(b) {
				over := b[3] >> 4
				if over == 15 {
					return false
				}
				b[3] = (over+1)<<4 | flg
				break
			}
			switch flg {
			case 0:
				putTimestamp(b[p-1:], now)
				b[2] += 4
			case 1:
				copy(b[p-1:], a[:])
				putTimestamp(b[p+3:], now)
				b[2] += 8
			case 3:
				if netip.AddrFrom4([4]byte(b[p-1:p+3])) == addr {
					putTimestamp(b[p+3:], now)
					b[2] += 8
				}
			}
		}
		off = next
	}
}

// putTimestamp writes milliseconds since midnight UT (RFC 791).
func putTimestamp(b []byte, now time.Time) {
	u := now.UTC()
	ms := uint32((u.Hour()*3600+u.Minute()*60+u.Second())*1000 + u.Nanosecond()/1e6)
	b[0], b[1], b[2], b[3] = byte(ms>>24), byte(ms>>16), byte(ms>>8), byte(ms)
}

// echoOptions returns the options to put in a reply to a packet that
// carried opts: Record Route and Timestamp are reflected (the reply then
// records its own hops), others are left out (cf. ip_options_echo).
func echoOptions(opts []byte) []byte {
	var out []byte
	off := 0
	for {
		opt, next, done, err := wire.NextIPv4Option(opts, off)
		if err != nil || done {
			break
		}
		switch opt.Type {
		case wire.IPv4OptRecordRoute, wire.IPv4OptTimestamp:
			out = append(out, opt.Bytes...)
		}
		off = next
	}
	for len(out)%4 != 0 {
		out = append(out, byte(wire.IPv4OptEOL))
	}
	return out
}

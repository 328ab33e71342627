// Fragmentation on output.
//
// Read before editing: RFC 791 §3.1 (options and their copied flag) and
// §3.2 (the fragmentation procedure); RFC 1122 §3.3.3; RFC 1191 (DF and
// fragmentation needed with the next-hop MTU); RFC 8900 (why fragments
// are best avoided). Linux: net/ipv4/ip_output.c (ip_do_fragment, slow
// path) and net/ipv4/ip_options.c (ip_options_fragment).

package ipfrag

import (
	"errors"

	"ustack/pkt"
	"ustack/stats"
	"ustack/trace"
	"ustack/wire"
)

// Errors of Fragment, matched with errors.Is.
var (
	// ErrDontFragment reports a datagram larger than the MTU with DF set:
	// the caller answers with ICMP fragmentation needed (RFC 1191).
	ErrDontFragment = errors.New("ipfrag: fragmentation needed and DF set")
	// ErrMTUTooSmall reports an MTU that leaves no room for 8 bytes of
	// payload after the header (RFC 791 requires 68 of every link).
	ErrMTUTooSmall = errors.New("ipfrag: MTU too small to fragment")
	// ErrBadHeader reports a datagram whose IPv4 header cannot be
	// fragmented: malformed, shorter than its total length, or whose
	// fragments would have offsets beyond 65,528.
	ErrBadHeader = errors.New("ipfrag: malformed IPv4 header")
)

// Option type octets of RFC 791 §3.1: copied flag (1 bit), class (2),
// number (5). End of Option List and No Operation are one octet; every
// other option has a length octet counting the type and itself.
const (
	optEnd    = 0x00
	optNOP    = 0x01
	optCopied = 0x80 // the option goes into every fragment
)

// Fragment takes ownership of b, a complete IPv4 datagram whose data starts
// at its header, and passes emit, in order, fragments of it that are each
// at most mtu bytes long (cf. ip_do_fragment, slow path). Each fragment's
// payload is a Slice of b's, never copied; its header is pushed in front,
// into a new chunk: the first fragment carries b's header with all its
// options, the others only the options whose copied flag is set (RFC 791
// §3.2; Linux instead overwrites the rest with NOPs, ip_options_fragment).
// Offsets are multiples of 8, MF is set on all but the last (and on the
// last too if b is itself a non-last fragment, being re-fragmented), and
// every header is checksummed. emit takes ownership of each fragment.
//
// A datagram that fits is passed to emit unchanged. Otherwise: DF set
// returns ErrDontFragment, an MTU without room for a header and 8 bytes
// returns ErrMTUTooSmall, a malformed header ErrBadHeader; then b is
// freed, nothing emitted, and FragFails counted. An error from emit stops
// the rest, which is freed, and is returned (FragFails). On success
// FragCreates counts each fragment and FragOKs the datagram; probe
// ip:::fragment, when enabled, fires for each fragment. st and probe may
// be nil. Context: process or softnet.
func Fragment(b *pkt.Buf, mtu int, st *stats.IP, probe *trace.Probe, emit func(*pkt.Buf) error) error {
	if st == nil {
		st = new(stats.IP)
	}
	if b.Len() <= mtu {
		return emit(b)
	}
	fail := func(err error) error {
		st.FragFails.Inc()
		b.Free()
		return err
	}
	hb := b.Peek(wire.IPv4MinHeaderLen)
	if hb == nil {
		return fail(ErrBadHeader)
	}
	hl0 := int(hb[0]&0xf) * 4
	hb = b.Peek(max(hl0, wire.IPv4MinHeaderLen))
	if hb == nil {
		return fail(ErrBadHeader)
	}
	h, err := wire.ParseIPv4HeaderView(hb)
	if err != nil {
		return fail(ErrBadHeader)
	}
	total := int(h.TotalLen())
	if total < hl0 || total > b.Len() {
		return fail(ErrBadHeader)
	}
	b.Trim(total)
	if total <= mtu {
		return emit(b)
	}
	if h.DontFragment() {
		return fail(ErrDontFragment)
	}
	if mtu-hl0 < 8 {
		return fail(ErrMTUTooSmall)
	}
	base := int(h.FragmentOffset())
	if base+total-hl0 > maxDatagramLen-wire.IPv4MinHeaderLen {
		// Past the largest datagram: offsets might not fit in 13 bits.
		return fail(ErrBadHeader)
	}
	origMF := h.MoreFragments()

	// Header templates: fragment zero keeps every option, the others
	// only the copied ones, padded with End of Option List.
	var rest [wire.IPv4MaxHeaderLen]byte
	copy(rest[:], hb[:wire.IPv4MinHeaderLen])
	opts := appendCopiedOptions(rest[wire.IPv4MinHeaderLen:wire.IPv4MinHeaderLen], hb[wire.IPv4MinHeaderLen:hl0])
	hlN := wire.IPv4MinHeaderLen + (len(opts)+3)&^3
	clear(rest[wire.IPv4MinHeaderLen+len(opts) : hlN])
	rest[0] = wire.IPv4Version<<4 | byte(hlN/4)

	payload := total - hl0
	for pos := 0; pos < payload; {
		tmpl, hl := hb[:hl0], hl0
		if pos > 0 {
			tmpl, hl = rest[:hlN], hlN
		}
		n := min((mtu-hl)&^7, payload-pos)
		last := pos+n == payload
		f := b.Slice(hl0+pos, n)
		fh := f.Push(hl) // a new chunk: f shares b's
		copy(fh, tmpl)
		v, _ := wire.ParseIPv4HeaderView(fh) // a copy of b's, checked above
		v.SetTotalLen(uint16(hl + n))
		flags := v.Flags() &^ wire.IPv4MoreFragments
		if !last || origMF {
			flags |= wire.IPv4MoreFragments
		}
		v.SetFlags(flags)
		v.SetFragmentOffset(uint16(base + pos))
		v.SetChecksum(v.CalculateChecksum())
		f.SetNetworkHeader()
		if probe != nil && probe.Enabled() {
			probe.Fire(&trace.Event{PktID: f.ID, Len: hl + n, Proto: uint8(v.Protocol()), Src: v.Src(), Dst: v.Dst(),
				IPID: v.ID(), FragOffset: base + pos, MoreFrags: flags&wire.IPv4MoreFragments != 0})
		}
		if err := emit(f); err != nil {
			return fail(err)
		}
		st.FragCreates.Inc()
		pos += n
	}
	b.Free()
	st.FragOKs.Inc()
	return nil
}

// appendCopiedOptions appends to dst the options in opts whose copied flag
// is set, and returns it. It stops at End of Option List and at a
// malformed option (a length below 2 or beyond the options), so it cannot
// spin; No Operation is dropped, being padding.
func appendCopiedOptions(dst, opts []byte) []byte {
	for len(opts) > 0 {
		switch opts[0] {
		case optEnd:
			return dst
		case optNOP:
			opts = opts[1:]
			continue
		}
		if len(opts) < 2 {
			return dst
		}
		l := int(opts[1])
		if l < 2 || l > len(opts) {
			return dst
		}
		if opts[0]&optCopied != 0 {
			dst = append(dst, opts[:l]...)
		}
		opts = opts[l:]
	}
	return dst
}

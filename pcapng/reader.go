package pcapng

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"time"
)

// MaxBlockLen bounds the blocks the Reader takes; longer ones are
// ErrBadBlock (dumpcap's limit is 16 MiB as well).
const MaxBlockLen = 16 << 20

// Reader reads the packets of a pcapng file, section after section:
// Interface Description Blocks and Interface Statistics Blocks on the way
// are kept (Interfaces, Stats), blocks it does not know are skipped.
type Reader struct {
	r       *bufio.Reader
	order   binary.ByteOrder
	section Section
	ifaces  []Interface
	stats   []Stats
	buf     []byte
}

// NewReader reads the Section Header Block at the start of r.
func NewReader(r io.Reader) (*Reader, error) {
	rd := &Reader{r: bufio.NewReader(r)}
	typ, body, err := rd.block()
	if err == io.EOF {
		return nil, ErrNotPcapng
	}
	if err != nil {
		return nil, err
	}
	if typ != BlockSHB {
		return nil, ErrNotPcapng
	}
	if err := rd.section0(body); err != nil {
		return nil, err
	}
	return rd, nil
}

// Section returns the options of the current section.
func (r *Reader) Section() Section { return r.section }

// Interfaces returns the interfaces of the current section described so
// far, by index.
func (r *Reader) Interfaces() []Interface { return r.ifaces }

// Stats returns the Interface Statistics Blocks of the current section
// read so far.
func (r *Reader) Stats() []Stats { return r.stats }

// Next returns the next packet (an EPB or SPB), or io.EOF after the last.
// The packet's Data is valid until the next call.
func (r *Reader) Next() (Packet, error) {
	for {
		typ, body, err := r.block()
		if err != nil {
			return Packet{}, err
		}
		switch typ {
		case BlockSHB:
			if err := r.section0(body); err != nil {
				return Packet{}, err
			}
		case BlockIDB:
			if err := r.idb(body); err != nil {
				return Packet{}, err
			}
		case BlockISB:
			if err := r.isb(body); err != nil {
				return Packet{}, err
			}
		case BlockEPB:
			return r.epb(body)
		case BlockSPB:
			return r.spb(body)
		}
	}
}

// block reads one block: its type and body (what lies between the
// length fields), checking that both length fields agree. The byte order
// is the section's, except for an SHB, which sets it.
func (r *Reader) block() (uint32, []byte, error) {
	var hdr [12]byte
	if _, err := io.ReadFull(r.r, hdr[:8]); err != nil {
		if err == io.ErrUnexpectedEOF {
			err = fmt.Errorf("%w: truncated block header", ErrBadBlock)
		}
		return 0, nil, err
	}
	typ := binary.LittleEndian.Uint32(hdr[:4]) // the SHB type is a palindrome
	if typ == BlockSHB {
		// The byte-order magic follows the length (§4.1).
		if _, err := io.ReadFull(r.r, hdr[8:12]); err != nil {
			return 0, nil, fmt.Errorf("%w: truncated section header", ErrBadBlock)
		}
		switch {
		case binary.LittleEndian.Uint32(hdr[8:]) == ByteOrderMagic:
			r.order = binary.LittleEndian
		case binary.BigEndian.Uint32(hdr[8:]) == ByteOrderMagic:
			r.order = binary.BigEndian
		default:
			return 0, nil, fmt.Errorf("%w: bad byte-order magic %x", ErrNotPcapng, hdr[8:12])
		}
	} else if r.order == nil {
		return 0, nil, ErrNotPcapng
	}
	typ = r.order.Uint32(hdr[:4])
	n := r.order.Uint32(hdr[4:8])
	if n < 12 || n%4 != 0 || n > MaxBlockLen || typ == BlockSHB && n < 28 {
		return 0, nil, fmt.Errorf("%w: block type %#x has length %d", ErrBadBlock, typ, n)
	}
	body := n - 12
	if cap(r.buf) < int(body)+4 {
		r.buf = make([]byte, body+4)
	}
	b := r.buf[:body+4]
	off := 0
	if typ == BlockSHB {
		copy(b, hdr[8:12])
		off = 4
	}
	if _, err := io.ReadFull(r.r, b[off:]); err != nil {
		return 0, nil, fmt.Errorf("%w: block type %#x truncated", ErrBadBlock, typ)
	}
	if t := r.order.Uint32(b[body:]); t != n {
		return 0, nil, fmt.Errorf("%w: block type %#x has lengths %d and %d", ErrBadBlock, typ, n, t)
	}
	return typ, b[:body], nil
}

// section0 starts a new section from an SHB body.
func (r *Reader) section0(b []byte) error {
	if len(b) < 16 {
		return fmt.Errorf("%w: short section header", ErrBadBlock)
	}
	if major := r.order.Uint16(b[4:]); major != 1 {
		return fmt.Errorf("%w: %d.%d", ErrUnsupported, major, r.order.Uint16(b[6:]))
	}
	r.section, r.ifaces, r.stats = Section{}, nil, nil
	return r.options(b[16:], func(code uint16, v []byte) {
		switch code {
		case optSHBHardware:
			r.section.Hardware = string(v)
		case optSHBOS:
			r.section.OS = string(v)
		case optSHBUserAppl:
			r.section.UserAppl = string(v)
		case optComment:
			r.section.Comment = string(v)
		}
	})
}

func (r *Reader) idb(b []byte) error {
	if len(b) < 8 {
		return fmt.Errorf("%w: short interface description", ErrBadBlock)
	}
	i := Interface{LinkType: LinkType(r.order.Uint16(b)), SnapLen: r.order.Uint32(b[4:]), TSResol: 6}
	err := r.options(b[8:], func(code uint16, v []byte) {
		switch {
		case code == optIfName:
			i.Name = string(v)
		case code == optIfDescription:
			i.Description = string(v)
		case code == optIfMACAddr && len(v) == 6:
			i.MAC = [6]byte(v)
		case code == optIfTSResol && len(v) == 1:
			i.TSResol = v[0]
		}
	})
	r.ifaces = append(r.ifaces, i)
	return err
}

func (r *Reader) epb(b []byte) (Packet, error) {
	if len(b) < 20 {
		return Packet{}, fmt.Errorf("%w: short enhanced packet", ErrBadBlock)
	}
	id := r.order.Uint32(b)
	if int64(id) >= int64(len(r.ifaces)) {
		return Packet{}, ErrNoInterface
	}
	capLen, orig := r.order.Uint32(b[12:]), r.order.Uint32(b[16:])
	if uint64(capLen) > uint64(len(b)-20) {
		return Packet{}, fmt.Errorf("%w: captured length %d exceeds the block", ErrBadBlock, capLen)
	}
	p := Packet{
		Interface: int(id),
		Time:      r.time(int(id), uint64(r.order.Uint32(b[4:]))<<32|uint64(r.order.Uint32(b[8:]))),
		Data:      b[20 : 20+capLen],
		Length:    int(orig),
	}
	opts := int(20 + (capLen+3)&^3)
	if opts > len(b) {
		return Packet{}, fmt.Errorf("%w: packet data padding exceeds the block", ErrBadBlock)
	}
	err := r.options(b[opts:], func(code uint16, v []byte) {
		switch {
		case code == optEPBFlags && len(v) == 4:
			f := r.order.Uint32(v)
			p.Direction, p.Reception = Direction(f&3), Reception(f>>2&7)
		case code == optEPBPacketID && len(v) == 8:
			p.PacketID = r.order.Uint64(v)
		case code == optComment:
			p.Comment = string(v)
		}
	})
	return p, err
}

// spb reads a Simple Packet Block: interface 0, no time (§4.4).
func (r *Reader) spb(b []byte) (Packet, error) {
	if len(b) < 4 || len(r.ifaces) == 0 {
		return Packet{}, fmt.Errorf("%w: simple packet without an interface", ErrBadBlock)
	}
	orig := r.order.Uint32(b)
	n := min(uint64(orig), uint64(len(b)-4))
	if snap := r.ifaces[0].SnapLen; snap != 0 {
		n = min(n, uint64(snap))
	}
	return Packet{Data: b[4 : 4+n], Length: int(orig)}, nil
}

func (r *Reader) isb(b []byte) error {
	if len(b) < 12 {
		return fmt.Errorf("%w: short interface statistics", ErrBadBlock)
	}
	id := int(r.order.Uint32(b))
	if id >= len(r.ifaces) {
		return ErrNoInterface
	}
	ts := func(v []byte) time.Time {
		return r.time(id, uint64(r.order.Uint32(v))<<32|uint64(r.order.Uint32(v[4:])))
	}
	s := Stats{Interface: id, Time: ts(b[4:])}
	err := r.options(b[12:], func(code uint16, v []byte) {
		if len(v) != 8 {
			return
		}
		switch code {
		case optISBStartTime:
			s.Start = ts(v)
		case optISBEndTime:
			s.End = ts(v)
		case optISBIfRecv:
			s.Received = r.order.Uint64(v)
		case optISBIfDrop:
			s.Dropped = r.order.Uint64(v)
		}
	})
	r.stats = append(r.stats, s)
	return err
}

// time converts a timestamp in interface id's units.
func (r *Reader) time(id int, ts uint64) time.Time {
	res := r.ifaces[id].TSResol
	if res&0x80 != 0 {
		shift := uint(res & 0x7f)
		if shift >= 64 {
			return time.Unix(0, 0)
		}
		sec := ts >> shift
		frac := ts & (1<<shift - 1)
		return time.Unix(int64(sec), int64(float64(frac)/float64(uint64(1)<<shift)*1e9))
	}
	if res > 19 {
		return time.Unix(0, 0)
	}
	unit := uint64(math.Pow10(int(res)))
	sec, frac := ts/unit, ts%unit
	ns := frac
	if res <= 9 {
		ns = frac * uint64(math.Pow10(9-int(res)))
	} else {
		ns = frac / uint64(math.Pow10(int(res)-9))
	}
	return time.Unix(int64(sec), int64(ns))
}

// options walks an option list, calling fn for each option until
// opt_endofopt or the end of b. It never spins: each step consumes at
// least 4 bytes.
func (r *Reader) options(b []byte, fn func(code uint16, v []byte)) error {
	for len(b) >= 4 {
		code, n := r.order.Uint16(b), int(r.order.Uint16(b[2:]))
		if code == optEndOfOpt {
			return nil
		}
		padded := (n + 3) &^ 3
		if 4+padded > len(b) {
			return fmt.Errorf("%w: option %d of length %d overruns its block", ErrBadBlock, code, n)
		}
		fn(code, b[4:4+n])
		b = b[4+padded:]
	}
	return nil
}

// Package pcapng writes and reads capture files in the PCAP Next
// Generation format, the one Wireshark, tshark and dumpcap write by
// default: a Section Header Block, an Interface Description Block for each
// interface captured on, then Enhanced Packet Blocks, one per frame, each
// naming its interface, with a nanosecond timestamp, the captured and
// original lengths and the frame's direction; Interface Statistics Blocks
// at the end carry the capture's counts.
//
// Read before editing: draft-ietf-opsawg-pcapng (§3 block and option
// layout, §4.1 SHB, §4.2 IDB, §4.3 EPB and §4.3.1 its flags word, §4.6
// ISB) and the tcpdump.org link-layer header types list (LINKTYPE_*).
//
// The Writer always writes little-endian files with nanosecond
// timestamps; the Reader takes either byte order and any if_tsresol.
package pcapng

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"
)

// Block types (§4, §10.1).
const (
	BlockSHB uint32 = 0x0A0D0D0A // Section Header Block
	BlockIDB uint32 = 0x00000001 // Interface Description Block
	BlockSPB uint32 = 0x00000003 // Simple Packet Block
	BlockISB uint32 = 0x00000005 // Interface Statistics Block
	BlockEPB uint32 = 0x00000006 // Enhanced Packet Block
)

// ByteOrderMagic is the SHB field that tells a reader the byte order of
// the section: it reads 0x1A2B3C4D in the writer's order.
const ByteOrderMagic uint32 = 0x1A2B3C4D

// Option codes (§3.5 and the tables of §4).
const (
	optEndOfOpt = 0
	optComment  = 1

	optSHBHardware = 2
	optSHBOS       = 3
	optSHBUserAppl = 4

	optIfName        = 2
	optIfDescription = 3
	optIfMACAddr     = 6
	optIfTSResol     = 9

	optEPBFlags    = 2
	optEPBPacketID = 5

	optISBStartTime = 2
	optISBEndTime   = 3
	optISBIfRecv    = 4
	optISBIfDrop    = 5
)

// LinkType is a LINKTYPE_ value: what the frames of an interface begin
// with.
type LinkType uint16

const (
	// LinkEthernet frames begin with an Ethernet II header
	// (LINKTYPE_ETHERNET).
	LinkEthernet LinkType = 1
	// LinkRaw frames are bare IPv4 or IPv6 packets, told apart by the
	// version nibble (LINKTYPE_RAW): TUN devices, loopback.
	LinkRaw LinkType = 101
	// LinkIPv4 frames are bare IPv4 packets (LINKTYPE_IPV4).
	LinkIPv4 LinkType = 228
)

func (l LinkType) String() string {
	switch l {
	case LinkEthernet:
		return "EN10MB"
	case LinkRaw:
		return "RAW"
	case LinkIPv4:
		return "IPV4"
	}
	return fmt.Sprintf("LINKTYPE_%d", uint16(l))
}

// DefaultSnapLen is the snapshot length when an Interface gives none:
// tcpdump's MAXIMUM_SNAPLEN, which holds any IPv4 packet, GSO
// super-packets included, with its link header.
const DefaultSnapLen = 262144

// Direction is the inbound/outbound field of the EPB flags word
// (§4.3.1, bits 0-1).
type Direction uint8

const (
	DirUnknown  Direction = 0
	DirInbound  Direction = 1
	DirOutbound Direction = 2
)

func (d Direction) String() string {
	switch d {
	case DirInbound:
		return "in"
	case DirOutbound:
		return "out"
	}
	return "?"
}

// Reception is the reception type field of the EPB flags word (§4.3.1,
// bits 2-4): to whom a received frame was addressed.
type Reception uint8

const (
	RxUnspecified Reception = 0
	RxUnicast     Reception = 1
	RxMulticast   Reception = 2
	RxBroadcast   Reception = 3
	RxPromiscuous Reception = 4
)

// Section describes the capture as a whole: the SHB's options. Empty
// fields are left out.
type Section struct {
	Hardware string // shb_hardware
	OS       string // shb_os
	UserAppl string // shb_userappl: the program that wrote the file
	Comment  string // opt_comment
}

// Interface describes one interface: an IDB.
type Interface struct {
	LinkType LinkType
	// SnapLen is the most bytes kept of a frame (0 when writing:
	// DefaultSnapLen). Longer frames are cut to it.
	SnapLen uint32
	// Name is if_name ("eth0"), Description if_description.
	Name, Description string
	// MAC is if_MACaddr, written when not all zeros.
	MAC [6]byte
	// TSResol is the if_tsresol byte: timestamp units are 10^-TSResol s,
	// or 2^-(TSResol&0x7f) s when its top bit is set. The Writer always
	// writes 9 (nanoseconds); the Reader reports what it read (6, the
	// format's default, when the option is absent).
	TSResol uint8
}

// Packet is one captured frame: an EPB.
type Packet struct {
	// Interface is the interface's index, in the order AddInterface
	// returned them (the order of the IDBs in the section).
	Interface int
	// Time is when the frame was seen.
	Time time.Time
	// Data is the captured bytes (the Writer keeps at most the
	// interface's SnapLen of them).
	Data []byte
	// Length is the frame's length on the wire (0 when writing:
	// len(Data)); more than len(Data) when the capture cut it short.
	Length int
	// Direction and Reception make the epb_flags option, written when
	// either is set.
	Direction Direction
	Reception Reception
	// PacketID is epb_packetid, written when not 0: ustack's packet id,
	// the same a trace walk shows, the same on every interface a
	// forwarded packet crosses.
	PacketID uint64
	// Comment is opt_comment.
	Comment string
}

// Stats are an interface's capture counts: an ISB.
type Stats struct {
	Interface  int
	Time       time.Time // when the counts were taken
	Start, End time.Time // isb_starttime, isb_endtime (zero: absent)
	Received   uint64    // isb_ifrecv: frames the capture saw
	Dropped    uint64    // isb_ifdrop: frames it saw but could not keep
}

// Errors of the package.
var (
	ErrNoInterface  = errors.New("pcapng: packet names an interface with no description block")
	ErrBadLength    = errors.New("pcapng: packet's original length is below its captured length")
	ErrTooLong      = errors.New("pcapng: option or block too long")
	ErrNotPcapng    = errors.New("pcapng: not a pcapng file (no section header block)")
	ErrBadBlock     = errors.New("pcapng: malformed block")
	ErrUnsupported  = errors.New("pcapng: unsupported section version")
	ErrWriterFailed = errors.New("pcapng: an earlier write failed")
)

// Writer writes one section of a pcapng file. It writes each block with
// one Write call; give it a bufio.Writer and Flush that for throughput.
// It is not safe for concurrent use.
type Writer struct {
	w      io.Writer
	buf    []byte
	opts   []byte // scratch for option lists
	ifaces []Interface
	err    error
}

// NewWriter writes a Section Header Block to w and returns a Writer for
// the blocks that follow.
func NewWriter(w io.Writer, s Section) (*Writer, error) {
	pw := &Writer{w: w, buf: make([]byte, 0, 2048)}
	b := pw.begin(BlockSHB)
	b = le.AppendUint32(b, ByteOrderMagic)
	b = le.AppendUint16(b, 1)                  // major version
	b = le.AppendUint16(b, 0)                  // minor version
	b = le.AppendUint64(b, 0xffffffffffffffff) // section length: not given
	var o options
	o.str(optSHBHardware, s.Hardware)
	o.str(optSHBOS, s.OS)
	o.str(optSHBUserAppl, s.UserAppl)
	o.str(optComment, s.Comment)
	if err := pw.finish(o.end(b)); err != nil {
		return nil, err
	}
	return pw, nil
}

// le is the byte order the Writer writes.
var le = binary.LittleEndian

// AddInterface writes an Interface Description Block and returns the
// interface's index, for Packet.Interface and Stats.Interface.
func (w *Writer) AddInterface(i Interface) (int, error) {
	if i.SnapLen == 0 {
		i.SnapLen = DefaultSnapLen
	}
	i.TSResol = 9
	b := w.begin(BlockIDB)
	b = le.AppendUint16(b, uint16(i.LinkType))
	b = le.AppendUint16(b, 0) // reserved
	b = le.AppendUint32(b, i.SnapLen)
	var o options
	o.str(optIfName, i.Name)
	o.str(optIfDescription, i.Description)
	if i.MAC != ([6]byte{}) {
		o.add(optIfMACAddr, i.MAC[:])
	}
	o.add(optIfTSResol, []byte{i.TSResol})
	if err := w.finish(o.end(b)); err != nil {
		return 0, err
	}
	w.ifaces = append(w.ifaces, i)
	return len(w.ifaces) - 1, nil
}

// WritePacket writes an Enhanced Packet Block. Data longer than the
// interface's SnapLen is cut to it.
func (w *Writer) WritePacket(p Packet) error {
	if p.Interface < 0 || p.Interface >= len(w.ifaces) {
		return ErrNoInterface
	}
	data := p.Data
	if snap := int(w.ifaces[p.Interface].SnapLen); len(data) > snap {
		data = data[:snap]
	}
	orig := p.Length
	if orig == 0 {
		orig = len(p.Data)
	}
	if orig < len(data) {
		return ErrBadLength
	}
	if uint64(orig) > 0xffffffff || len(data) > maxBlock {
		return ErrTooLong
	}
	b := w.begin(BlockEPB)
	b = le.AppendUint32(b, uint32(p.Interface))
	b = appendTime(b, p.Time)
	b = le.AppendUint32(b, uint32(len(data)))
	b = le.AppendUint32(b, uint32(orig))
	b = append(b, data...)
	b = pad(b)
	o := options{b: w.opts[:0]}
	if p.Direction != 0 || p.Reception != 0 {
		o.u32(optEPBFlags, uint32(p.Direction&3)|uint32(p.Reception&7)<<2)
	}
	if p.PacketID != 0 {
		o.u64(optEPBPacketID, p.PacketID)
	}
	o.str(optComment, p.Comment)
	b = o.end(b)
	w.opts = o.b[:0]
	return w.finish(b)
}

// WriteStats writes an Interface Statistics Block.
func (w *Writer) WriteStats(s Stats) error {
	if s.Interface < 0 || s.Interface >= len(w.ifaces) {
		return ErrNoInterface
	}
	b := w.begin(BlockISB)
	b = le.AppendUint32(b, uint32(s.Interface))
	b = appendTime(b, s.Time)
	var o options
	if !s.Start.IsZero() {
		o.add(optISBStartTime, appendTime(nil, s.Start))
	}
	if !s.End.IsZero() {
		o.add(optISBEndTime, appendTime(nil, s.End))
	}
	o.u64(optISBIfRecv, s.Received)
	o.u64(optISBIfDrop, s.Dropped)
	return w.finish(o.end(b))
}

// maxBlock bounds a block's body, far above any frame (a block's length
// field is 32 bits; readers cap it much lower).
const maxBlock = 1 << 24

// begin starts a block in w.buf: its type and a length to fill in.
func (w *Writer) begin(typ uint32) []byte {
	b := le.AppendUint32(w.buf[:0], typ)
	return le.AppendUint32(b, 0)
}

// finish fills in the block's total length at both ends and writes it.
func (w *Writer) finish(b []byte) error {
	if w.err != nil {
		return ErrWriterFailed
	}
	n := len(b) + 4
	le.PutUint32(b[4:], uint32(n))
	b = le.AppendUint32(b, uint32(n))
	w.buf = b[:0]
	if _, err := w.w.Write(b); err != nil {
		w.err = err
		return err
	}
	return nil
}

// appendTime appends t as a 64-bit count of nanoseconds since 1970, high
// word first, each word in the section's byte order (§4.3). The zero
// time is 0.
func appendTime(b []byte, t time.Time) []byte {
	var ns uint64
	if !t.IsZero() {
		ns = uint64(t.UnixNano())
	}
	b = le.AppendUint32(b, uint32(ns>>32))
	return le.AppendUint32(b, uint32(ns))
}

// pad appends zeros up to a multiple of 4 bytes.
func pad(b []byte) []byte {
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

// options builds an option list (§3.5): code, length, value padded to 32
// bits, and opt_endofopt after the last.
type options struct{ b []byte }

func (o *options) add(code uint16, v []byte) {
	o.b = le.AppendUint16(o.b, code)
	o.b = le.AppendUint16(o.b, uint16(len(v)))
	o.b = pad(append(o.b, v...))
}

func (o *options) str(code uint16, s string) {
	if s == "" {
		return
	}
	if len(s) > 0xffff-3 {
		s = s[:0xffff-3]
	}
	o.add(code, []byte(s))
}

func (o *options) u32(code uint16, v uint32) {
	o.b = le.AppendUint16(o.b, code)
	o.b = le.AppendUint16(o.b, 4)
	o.b = le.AppendUint32(o.b, v)
}

func (o *options) u64(code uint16, v uint64) {
	o.b = le.AppendUint16(o.b, code)
	o.b = le.AppendUint16(o.b, 8)
	o.b = le.AppendUint64(o.b, v)
}

// end appends the list, if any, to b.
func (o *options) end(b []byte) []byte {
	if len(o.b) == 0 {
		return b
	}
	b = append(b, o.b...)
	return le.AppendUint32(b, optEndOfOpt) // code 0, length 0
}

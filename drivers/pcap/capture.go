// Package pcap captures frames, as tcpdump does, into pcapng files that
// Wireshark and tshark read.
//
// A Capture gathers frames from any number of interfaces into one bounded
// queue, copying each as it passes, and a consumer takes them from there:
// a Writer, which writes a pcapng file, or the control socket's capture
// method, which streams them to `ustack capture`. Frames reach a Capture
// two ways:
//
//   - Wrap puts a recording driver around any netdev.Driver (a TAP device,
//     a virtual wire, a fault injector), the way the fault driver wraps
//     one: every frame the inner driver receives and every frame the
//     stack transmits through it is recorded;
//   - Attach taps a device of a running stack (netdev's capture taps, cf.
//     Linux's ptype_all), and the tap comes off again when the capture
//     stops: what `ustack capture` does to a stack that is already up.
//
// The packet path never waits for a capture: when the queue is full (the
// consumer is slow: a disk, a client over the control socket), the frame
// is dropped and counted, and the count is reported at the end, as
// tcpdump reports "packets dropped by kernel".
//
// What goes into the file is what crossed the driver boundary, with two
// decisions spelled out:
//
//   - Checksums. On a link with checksum offload (netdev.Caps
//     ChecksumOffload: the frames never leave the process) a stack may
//     leave a checksum unfilled, as a Linux stack leaves it for a NIC to
//     fill. The capture copy of such a frame has its IPv4 header checksum
//     and its TCP, UDP or ICMP checksum computed — what the NIC would
//     have put on the wire — so that tshark's checksum checks pass. On a
//     link without offload the frame is recorded as it is: a checksum
//     that is wrong there (a corrupting fault injector) is wrong in the
//     capture too.
//   - GSO. A TCP super-packet that a device carries whole (Caps
//     GSOMaxSize: a veth-like wire between two ustack stacks) is recorded
//     as the one large frame it is, as tcpdump shows it on a Linux device
//     with TSO; its IP total length is its length, so no dissector finds
//     it malformed. A super-packet the device cuts into wire segments is
//     recorded segment by segment, since the tap sits after the cut.
//
// Read before editing: pcap-tstamp(7) and tcpdump(8) (-s, -c, -w, the
// statistics it prints), Linux's net/core/dev.c (dev_queue_xmit_nit,
// deliver_skb to ptype_all) and af_packet.c (tpacket_rcv: a full ring
// drops and counts, tp_drops).
package pcap

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"ustack/clock"
	"ustack/netdev"
	"ustack/pcapng"
	"ustack/pkt"
	"ustack/wire"
)

// DefaultQueue is how many frames wait for a capture's consumer before
// more are dropped.
const DefaultQueue = 4096

// DefaultSnapLen is how many bytes of a frame are kept when Options give
// no SnapLen: all of any frame ustack sends (tcpdump's default).
const DefaultSnapLen = pcapng.DefaultSnapLen

// Options configure a Capture.
type Options struct {
	// SnapLen is the most bytes kept of each frame (0: DefaultSnapLen).
	SnapLen int
	// Queue is how many frames wait for the consumer (0: DefaultQueue).
	Queue int
	// Clock stamps the frames (nil: clock.Real()).
	Clock clock.Clock
}

// Frame is one captured frame, a copy owned by whoever took it from
// Frames until it calls Release.
type Frame struct {
	// Iface is the interface's id in the capture (Iface.ID).
	Iface int
	// Time is when the frame was captured, by the capture's clock.
	Time time.Time
	// Dir says whether the interface received or transmitted the frame.
	Dir netdev.Direction
	// Reception says to whom a received Ethernet frame was addressed.
	Reception pcapng.Reception
	// PktID is ustack's packet id (Buf.ID), the one `ustack trace`
	// shows; 0 if the frame had none.
	PktID uint64
	// Len is the frame's whole length; Data holds its first SnapLen
	// bytes.
	Len  int
	Data []byte

	buf *[]byte
	c   *Capture
}

// Release gives the frame's buffer back to the capture. The frame must
// not be used afterwards.
func (f *Frame) Release() {
	if f.c == nil {
		return
	}
	c := f.c
	f.c, f.Data = nil, nil
	if f.buf != nil && cap(*f.buf) <= maxPooled {
		c.bufs.Put(f.buf)
	}
	f.buf = nil
	c.frames.Put(f)
}

// Buffers up to this size are reused; a larger one (a GSO super-packet)
// goes back to the garbage collector.
const (
	pooledSize = 2048
	maxPooled  = 16 << 10
)

// Stats are a capture's counts.
type Stats struct {
	// Captured frames went into the queue, for the consumer.
	Captured uint64
	// Dropped frames found the queue full.
	Dropped uint64
}

// Capture is a set of captured interfaces and the queue their frames go
// through. Its methods are safe for concurrent use.
type Capture struct {
	o     Options
	q     chan *Frame
	start time.Time

	bufs   sync.Pool // *[]byte
	frames sync.Pool // *Frame

	stopped atomic.Bool

	mu     sync.Mutex
	ifaces []*Iface
}

// New returns a capture with no interfaces yet.
func New(o Options) *Capture {
	if o.SnapLen <= 0 {
		o.SnapLen = DefaultSnapLen
	}
	if o.Queue <= 0 {
		o.Queue = DefaultQueue
	}
	if o.Clock == nil {
		o.Clock = clock.Real()
	}
	c := &Capture{o: o, q: make(chan *Frame, o.Queue), start: o.Clock.Now()}
	c.bufs.New = func() any { b := make([]byte, pooledSize); return &b }
	c.frames.New = func() any { return new(Frame) }
	return c
}

// SnapLen returns the most bytes kept of a frame.
func (c *Capture) SnapLen() int { return c.o.SnapLen }

// Start returns when the capture began, by its clock.
func (c *Capture) Start() time.Time { return c.start }

// Clock returns the clock that stamps the frames.
func (c *Capture) Clock() clock.Clock { return c.o.Clock }

// AddInterface adds an interface named name with the given capabilities
// (its link type, MTU, MAC and checksum offload) and returns it, for
// Record. Wrap and Attach call it. Context: process.
func (c *Capture) AddInterface(name string, caps netdev.Caps) *Iface {
	if caps.Link == 0 {
		caps.Link = netdev.LinkEthernet
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	i := &Iface{c: c, id: len(c.ifaces), name: name, caps: caps}
	c.ifaces = append(c.ifaces, i)
	return i
}

// Attach taps a device of a running stack: every frame it receives and
// transmits from now until Stop is recorded. Context: process.
func (c *Capture) Attach(d *netdev.Device) *Iface {
	caps := d.Caps()
	caps.MTU = d.MTU()
	i := c.AddInterface(d.Name(), caps)
	remove := d.AddTap(func(_ *netdev.Device, b *pkt.Buf, dir netdev.Direction) { i.Record(b, dir) })
	c.mu.Lock()
	i.detach = remove
	c.mu.Unlock()
	if c.stopped.Load() {
		remove()
	}
	return i
}

// Interfaces returns the capture's interfaces, by id.
func (c *Capture) Interfaces() []*Iface {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*Iface(nil), c.ifaces...)
}

// Frames is the queue the consumer takes frames from, in the order they
// were captured. It is never closed: after Stop, take what is left
// without waiting (a select with a default).
func (c *Capture) Frames() <-chan *Frame { return c.q }

// Stop ends the capture: taps come off and frames recorded from now on
// are ignored. Frames already queued stay for the consumer. Context:
// process.
func (c *Capture) Stop() {
	c.stopped.Store(true)
	c.mu.Lock()
	var taps []func()
	for _, i := range c.ifaces {
		if i.detach != nil {
			taps = append(taps, i.detach)
		}
	}
	c.mu.Unlock()
	for _, remove := range taps {
		remove()
	}
}

// Stopped reports whether Stop was called.
func (c *Capture) Stopped() bool { return c.stopped.Load() }

// Stats returns the capture's counts, summed over its interfaces.
func (c *Capture) Stats() Stats {
	var s Stats
	for _, i := range c.Interfaces() {
		is := i.Stats()
		s.Captured += is.Captured
		s.Dropped += is.Dropped
	}
	return s
}

// Iface is one interface of a capture.
type Iface struct {
	c      *Capture
	id     int
	name   string
	caps   netdev.Caps
	detach func() // Attach's tap; guarded by c.mu

	captured, dropped atomic.Uint64
}

// ID returns the interface's id: its index in Interfaces, and in the
// pcapng file the Writer writes.
func (i *Iface) ID() int { return i.id }

// Name returns the interface's name.
func (i *Iface) Name() string { return i.name }

// Caps returns the capabilities the interface was added with.
func (i *Iface) Caps() netdev.Caps { return i.caps }

// Stats returns the interface's counts.
func (i *Iface) Stats() Stats {
	return Stats{Captured: i.captured.Load(), Dropped: i.dropped.Load()}
}

// LinkType returns the pcapng link type of the interface's frames.
func (i *Iface) LinkType() pcapng.LinkType { return LinkType(i.caps.Link) }

// LinkType maps a netdev link type to the pcapng one: Ethernet, or raw IP
// for TUN-like links and loopback (LINKTYPE_RAW, which every reader
// knows; ustack's bare IP frames are IPv4).
func LinkType(l netdev.LinkType) pcapng.LinkType {
	if l == netdev.LinkIP {
		return pcapng.LinkRaw
	}
	return pcapng.LinkEthernet
}

// Description returns the interface as a pcapng Interface Description
// Block describes it, with the capture's snapshot length.
func (i *Iface) Description() pcapng.Interface {
	d := pcapng.Interface{
		LinkType:    i.LinkType(),
		SnapLen:     uint32(i.c.o.SnapLen),
		Name:        i.name,
		Description: fmt.Sprintf("ustack %v link, MTU %d", i.caps.Link, i.caps.MTU),
	}
	if i.caps.Link == netdev.LinkEthernet {
		d.MAC = i.caps.MAC
	}
	if i.caps.ChecksumOffload {
		d.Description += ", checksum offload (checksums computed for the capture)"
	}
	if i.caps.GSOMaxSize > 0 {
		d.Description += fmt.Sprintf(", GSO up to %d bytes (super-packets captured whole)", i.caps.GSOMaxSize)
	}
	return d
}

// Record copies the frame b (data at its link header) into the capture,
// or counts it dropped if the queue is full. It does not take ownership
// of b and never blocks. Context: any.
func (i *Iface) Record(b *pkt.Buf, dir netdev.Direction) {
	c := i.c
	if c.stopped.Load() {
		return
	}
	if len(c.q) >= cap(c.q) { // full: spare the copy
		i.dropped.Add(1)
		return
	}
	n := b.Len()
	snap := min(n, c.o.SnapLen)
	f := c.frames.Get().(*Frame)
	bp := c.bufs.Get().(*[]byte)
	if cap(*bp) < snap {
		c.bufs.Put(bp)
		nb := make([]byte, snap)
		bp = &nb
	}
	f.buf, f.c = bp, c
	f.Data = (*bp)[:snap]
	b.CopyTo(f.Data)
	if i.caps.ChecksumOffload {
		FillChecksums(f.Data, i.caps.Link)
	}
	f.Iface, f.Time, f.Dir, f.PktID, f.Len = i.id, c.o.Clock.Now(), dir, b.ID, n
	f.Reception = pcapng.RxUnspecified
	if dir == netdev.Inbound && i.caps.Link == netdev.LinkEthernet && snap >= wire.EthernetHeaderLen {
		f.Reception = reception(wire.MAC(f.Data[:6]), i.caps.MAC)
	}
	select {
	case c.q <- f:
		i.captured.Add(1)
	default:
		i.dropped.Add(1)
		f.Release()
	}
}

// reception classifies a received frame by its destination, as
// eth_type_trans sets pkt_type.
func reception(dst, own wire.MAC) pcapng.Reception {
	switch {
	case dst == wire.BroadcastMAC:
		return pcapng.RxBroadcast
	case dst.IsMulticast():
		return pcapng.RxMulticast
	case dst == own:
		return pcapng.RxUnicast
	}
	return pcapng.RxPromiscuous
}

// direction maps a tap's direction to the EPB flags' one.
func direction(d netdev.Direction) pcapng.Direction {
	switch d {
	case netdev.Inbound:
		return pcapng.DirInbound
	case netdev.Outbound:
		return pcapng.DirOutbound
	}
	return pcapng.DirUnknown
}

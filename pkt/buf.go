// Package pkt is the packet buffer: ustack's sk_buff / mbuf.
//
// A Buf holds one packet as a list of views into pooled chunks of memory.
// The first view has headroom, so each layer on the way down prepends its
// header (Push) without copying, and each layer on the way up removes its
// header (Pull). The positions of the link, network and transport headers
// are recorded as marks that survive pushes, pulls and copies.
//
// Ownership is single and explicit. Every function that takes a *Buf
// either frees it or passes it on, and its doc comment says "takes
// ownership". After Free the handle must not be touched: in a Checked pool
// any use panics, and a double Free panics in every pool. Clone and Slice
// give a second, independently owned handle that shares the payload
// without copying it; the sharing is counted inside the package, never by
// callers, and a write to shared bytes (Push, Writable) copies first.
package pkt

import (
	"sync/atomic"
	"time"
)

// MaxHeaderLen is the headroom that fits Ethernet, a full IPv4 header and a
// full TCP header, with room to spare.
const MaxHeaderLen = 160

const (
	stateLive  uint32 = 0x11fe
	stateFreed uint32 = 0xdead
)

// PktType says to whom a received frame was addressed (cf. skb->pkt_type).
type PktType uint8

const (
	Host      PktType = iota // addressed to us
	Broadcast                // link-layer broadcast
	Multicast                // link-layer multicast
	OtherHost                // another host's unicast (seen in promiscuous mode)
	Outgoing                 // a copy of a frame we sent (captures)
)

func (t PktType) String() string {
	switch t {
	case Host:
		return "host"
	case Broadcast:
		return "broadcast"
	case Multicast:
		return "multicast"
	case OtherHost:
		return "otherhost"
	case Outgoing:
		return "outgoing"
	}
	return "pkttype?"
}

type view struct {
	c        *chunk
	off, end int // data is c.b[off:end]
}

func (v view) len() int { return v.end - v.off }

// Buf is one packet. The zero value is not usable: get one from a Pool.
type Buf struct {
	// ID identifies the packet for probes (a packet walk follows it).
	ID uint64
	// Dev is the ifindex of the receiving device on input, of the chosen
	// output device on output.
	Dev int
	// Time is when the packet was received or created.
	Time time.Time
	// Type says to whom a received frame was addressed.
	Type PktType
	// Proto is the EtherType (input: from the frame; output: to put in it).
	Proto uint16
	// GSOSize marks a GSO super-packet (cf. skb_shinfo(skb)->gso_size): an
	// IPv4/TCP packet longer than the link MTU, carrying the payload of
	// several wire segments of GSOSize payload bytes each, all but the
	// last full. A device that cannot carry it whole cuts it into those
	// segments (netdev, cf. skb_gso_segment). 0: an ordinary packet. It
	// sits in padding after Proto: it costs the Buf no bytes.
	GSOSize uint16

	views  []view
	inline [3]view

	// base is the logical position of the first data byte. Marks are
	// logical positions, so they survive pushes, pulls and reallocation.
	base              int
	linkMark, netMark int
	transMark         int
	hasLink, hasNet   bool
	hasTrans          bool
	length            int
	state             uint32
	pool              *Pool
}

func (b *Buf) check() {
	if b.state != stateLive {
		if b.state == stateFreed {
			panic("pkt: use of a freed Buf")
		}
		panic("pkt: use of a Buf not from a Pool")
	}
}

// Len returns the number of data bytes.
func (b *Buf) Len() int { return b.length }

// Headroom returns how many bytes can be pushed without reallocating.
func (b *Buf) Headroom() int {
	if len(b.views) == 0 {
		return 0
	}
	return b.views[0].off
}

// NumViews returns how many contiguous pieces the data is in.
func (b *Buf) NumViews() int { return len(b.views) }

// View returns the i-th contiguous piece of the data. The caller must not
// write to it unless it came from Writable or Push.
func (b *Buf) View(i int) []byte {
	v := b.views[i]
	return v.c.b[v.off:v.end]
}

// Push prepends n bytes and returns them for the caller to fill. The
// bytes are always exclusively this Buf's: if the first chunk is shared
// or lacks headroom, a new chunk is put in front.
func (b *Buf) Push(n int) []byte {
	b.check()
	b.base -= n
	b.length += n
	if len(b.views) > 0 {
		v := &b.views[0]
		if v.off >= n && v.c.refs.Load() == 1 {
			v.off -= n
			return v.c.b[v.off : v.off+n]
		}
	}
	c := b.pool.getChunk(MaxHeaderLen + n)
	off := len(c.b) - n
	b.insertView(0, view{c: c, off: off, end: len(c.b)})
	return c.b[off:]
}

// Pull removes the first n bytes and returns them, made contiguous if they
// spanned views. It returns nil, removing nothing, if the Buf is shorter.
func (b *Buf) Pull(n int) []byte {
	h := b.Peek(n)
	if h == nil {
		return nil
	}
	b.consume(n)
	return h
}

// Skip drops the first n bytes without making anything contiguous (Pull
// copies when the bytes span views): a reader consuming payload in
// pieces, as a socket's receive queue does. Views it empties are
// released, and header marks that named bytes in them are cleared.
func (b *Buf) Skip(n int) {
	b.check()
	if n < 0 || n > b.length {
		panic("pkt: Skip out of range")
	}
	b.base += n
	b.length -= n
	dropped := false
	for {
		v := &b.views[0]
		k := min(v.len(), n)
		v.off += k
		n -= k
		if v.off < v.end || len(b.views) == 1 {
			break
		}
		v.c.release()
		b.removeFirst()
		dropped = true
	}
	if dropped {
		b.hasLink = b.hasLink && b.linkMark >= b.base
		b.hasNet = b.hasNet && b.netMark >= b.base
		b.hasTrans = b.hasTrans && b.transMark >= b.base
	}
}

// Peek returns the first n bytes, made contiguous if they spanned views,
// without removing them; nil if the Buf is shorter than n.
func (b *Buf) Peek(n int) []byte {
	b.check()
	if n > b.length {
		return nil
	}
	if n == 0 {
		return []byte{}
	}
	if b.views[0].len() < n {
		b.pullUp(n)
	}
	v := b.views[0]
	return v.c.b[v.off : v.off+n]
}

// Writable returns the first n bytes, contiguous and owned by this Buf
// alone (copied first if shared), for modification in place, e.g. a
// router decrementing the TTL. Nil if the Buf is shorter than n.
func (b *Buf) Writable(n int) []byte {
	h := b.Peek(n)
	if h == nil {
		return nil
	}
	if b.views[0].c.refs.Load() != 1 {
		b.unshareFirst()
		v := b.views[0]
		h = v.c.b[v.off : v.off+n]
	}
	return h
}

// Trim shortens the data to n bytes, dropping the tail (e.g. Ethernet
// padding beyond the IP total length). It does nothing if n >= Len.
func (b *Buf) Trim(n int) {
	b.check()
	if n >= b.length || n < 0 {
		return
	}
	keep := n
	for i := range b.views {
		l := b.views[i].len()
		if keep <= l {
			b.views[i].end = b.views[i].off + keep
			for j := i + 1; j < len(b.views); j++ {
				b.views[j].c.release()
				b.views[j] = view{}
			}
			if keep == 0 && i > 0 {
				b.views[i].c.release()
				b.views[i] = view{}
				b.views = b.views[:i]
			} else {
				b.views = b.views[:i+1]
			}
			break
		}
		keep -= l
	}
	b.length = n
}

// CopyTo copies the data into dst and returns the number of bytes copied.
func (b *Buf) CopyTo(dst []byte) int {
	b.check()
	n := 0
	for _, v := range b.views {
		n += copy(dst[n:], v.c.b[v.off:v.end])
		if n == len(dst) {
			break
		}
	}
	return n
}

// CopyRange copies the data from offset off into dst, returning the bytes copied.
func (b *Buf) CopyRange(off int, dst []byte) int {
	b.check()
	n := 0
	for _, v := range b.views {
		l := v.len()
		if off >= l {
			off -= l
			continue
		}
		n += copy(dst[n:], v.c.b[v.off+off:v.end])
		off = 0
		if n == len(dst) {
			break
		}
	}
	return n
}

// Bytes returns the whole data as one contiguous slice, copying it into a
// single chunk first if it is in several views. Use sparingly.
func (b *Buf) Bytes() []byte {
	b.check()
	if b.length == 0 {
		return []byte{}
	}
	if len(b.views) > 1 {
		b.pullUp(b.length)
	}
	v := b.views[0]
	return v.c.b[v.off:v.end]
}

// Append adds the bytes of p at the end of b, taking ownership of p (whose
// handle is freed). No payload is copied.
func (b *Buf) Append(p *Buf) {
	b.check()
	p.check()
	for _, v := range p.views {
		if v.len() == 0 {
			v.c.release()
			continue
		}
		b.views = append(b.views, v)
	}
	b.length += p.length
	p.views = p.views[:0]
	p.length = 0
	p.Free()
}

// AppendBytes copies data to the end of b, into the last chunk's tailroom
// when it has room and is not shared, else into a new chunk.
func (b *Buf) AppendBytes(data []byte) {
	b.check()
	for len(data) > 0 {
		if n := len(b.views); n > 0 {
			v := &b.views[n-1]
			if v.c.refs.Load() == 1 && v.end < len(v.c.b) {
				k := copy(v.c.b[v.end:], data)
				v.end += k
				b.length += k
				data = data[k:]
				continue
			}
		}
		c := b.pool.getChunk(len(data))
		k := copy(c.b, data)
		b.views = append(b.views, view{c: c, off: 0, end: k})
		b.length += k
		data = data[k:]
	}
}

// Clone returns a second handle to the same packet, sharing the payload.
// Each handle is owned and freed independently; metadata and marks are
// copied.
func (b *Buf) Clone() *Buf {
	return b.Slice(0, b.length)
}

// Slice returns a new Buf holding bytes [off, off+n) of b, sharing them
// without copying. Marks and metadata are copied, positioned so that a
// header mark still names the same bytes.
func (b *Buf) Slice(off, n int) *Buf {
	b.check()
	if off < 0 || n < 0 || off+n > b.length {
		panic("pkt: Slice out of range")
	}
	c := b.pool.newBuf()
	c.copyMeta(b)
	c.base = b.base + off
	skip, want := off, n
	for _, v := range b.views {
		l := v.len()
		if skip >= l {
			skip -= l
			continue
		}
		take := l - skip
		if take > want {
			take = want
		}
		v.c.refs.Add(1)
		c.views = append(c.views, view{c: v.c, off: v.off + skip, end: v.off + skip + take})
		skip = 0
		want -= take
		if want == 0 {
			break
		}
	}
	c.length = n
	return c
}

func (b *Buf) copyMeta(o *Buf) {
	b.ID, b.Dev, b.Time, b.Type, b.Proto, b.GSOSize = o.ID, o.Dev, o.Time, o.Type, o.Proto, o.GSOSize
	b.linkMark, b.netMark, b.transMark = o.linkMark, o.netMark, o.transMark
	b.hasLink, b.hasNet, b.hasTrans = o.hasLink, o.hasNet, o.hasTrans
}

// Free returns the Buf to its pool. The handle must not be used again.
func (b *Buf) Free() {
	if b.state != stateLive {
		if b.state == stateFreed {
			panic("pkt: double free of a Buf")
		}
		panic("pkt: Free of a Buf not from a Pool")
	}
	for i := range b.views {
		b.views[i].c.release()
		b.views[i] = view{}
	}
	b.views = b.views[:0]
	b.state = stateFreed
	b.pool.putBuf(b)
}

// SetLinkHeader marks the current front of the data as the link header.
func (b *Buf) SetLinkHeader() { b.linkMark, b.hasLink = b.base, true }

// SetNetworkHeader marks the current front of the data as the network header.
func (b *Buf) SetNetworkHeader() { b.netMark, b.hasNet = b.base, true }

// SetTransportHeader marks the current front of the data as the transport header.
func (b *Buf) SetTransportHeader() { b.transMark, b.hasTrans = b.base, true }

// LinkHeader returns the bytes from the link header mark to the end of the
// first view: the header and what follows it in the same piece. Nil when
// unmarked or no longer held (a header pulled before a reallocation).
func (b *Buf) LinkHeader() []byte { return b.markBytes(b.linkMark, b.hasLink) }

// NetworkHeader is LinkHeader for the network header.
func (b *Buf) NetworkHeader() []byte { return b.markBytes(b.netMark, b.hasNet) }

// TransportHeader is LinkHeader for the transport header.
func (b *Buf) TransportHeader() []byte { return b.markBytes(b.transMark, b.hasTrans) }

// NetworkOffset returns the network header's offset from the front of the
// data (negative once pulled), and whether it is marked.
func (b *Buf) NetworkOffset() (int, bool) { return b.netMark - b.base, b.hasNet }

func (b *Buf) markBytes(mark int, ok bool) []byte {
	b.check()
	if !ok || len(b.views) == 0 {
		return nil
	}
	v := b.views[0]
	i := v.off + (mark - b.base)
	if i < 0 || i > v.end {
		return nil
	}
	// Bytes before v.off (already pulled) are intact even in a shared
	// chunk: Push never writes into a chunk another handle holds.
	return v.c.b[i:v.end]
}

// consume drops the first n bytes, which Peek has made contiguous in the
// first view. A first view emptied this way is kept while other views
// follow: its headroom holds the headers just pulled, which the marks
// name (an ICMP error quotes them); Peek and pullUp carry them on.
func (b *Buf) consume(n int) {
	b.base += n
	b.length -= n
	b.views[0].off += n
}

func (b *Buf) removeFirst() {
	copy(b.views, b.views[1:])
	b.views[len(b.views)-1] = view{}
	b.views = b.views[:len(b.views)-1]
}

func (b *Buf) insertView(i int, v view) {
	b.views = append(b.views, view{})
	copy(b.views[i+1:], b.views[i:])
	b.views[i] = v
}

// pullUp makes the first n bytes contiguous in a fresh chunk with headroom,
// like m_pullup. The first view's headroom content (already-pulled headers)
// is carried along so that marks stay readable.
func (b *Buf) pullUp(n int) {
	first := b.views[0]
	keepHead := first.off
	if keepHead > MaxHeaderLen {
		keepHead = MaxHeaderLen
	}
	c := b.pool.getChunk(keepHead + n)
	copy(c.b[:keepHead], first.c.b[first.off-keepHead:first.off])
	got := 0
	for got < n {
		v := &b.views[0]
		k := copy(c.b[keepHead+got:keepHead+n], v.c.b[v.off:v.end])
		got += k
		v.off += k
		if v.off == v.end {
			v.c.release()
			b.removeFirst()
		}
	}
	b.insertView(0, view{c: c, off: keepHead, end: keepHead + n})
}

// unshareFirst copies the first view (with its headroom) into a private chunk.
func (b *Buf) unshareFirst() {
	v := b.views[0]
	c := b.pool.getChunk(v.end)
	copy(c.b[:v.end], v.c.b[:v.end])
	v.c.release()
	b.views[0] = view{c: c, off: v.off, end: v.end}
}

type chunk struct {
	b     []byte
	refs  atomic.Int32
	pool  *Pool
	class int8 // index into size classes, -1 for an unpooled chunk
}

func (c *chunk) release() {
	switch r := c.refs.Add(-1); {
	case r == 0:
		c.pool.putChunk(c)
	case r < 0:
		panic("pkt: chunk released more often than held")
	}
}

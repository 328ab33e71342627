// Package ipfrag is IPv4 fragmentation and reassembly.
//
// Read before editing: RFC 791 §2.3 and §3.2 (fragmentation, and the
// reassembly procedure with its resource bound and timer); RFC 815 (hole
// descriptors: what "complete" means); RFC 5722 with Errata 3089 (overlapping
// fragments discard the whole datagram, duplicates are only dropped),
// written for IPv6 and applied to IPv4 by Linux since 2018; RFC 1122
// §3.3.2 (a host must reassemble, time out and report with ICMP time
// exceeded code 1 only when fragment zero arrived); RFC 1858 §3 and
// RFC 3128 (tiny and overlapping fragment attacks). Linux:
// net/ipv4/ip_fragment.c (ip_defrag, ip_frag_queue, ip_frag_reasm,
// ip_expire, ip_do_fragment) and net/ipv4/inet_fragment.c
// (inet_frag_queue_insert, inet_frag_kill, and the LRU evictor of Linux
// before 4.17).
package ipfrag

import (
	"bytes"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"time"

	"ustack/clock"
	"ustack/pkt"
	"ustack/stats"
	"ustack/trace"
	"ustack/wire"
)

// Defaults of Config, after Linux's net.ipv4.ipfrag_* sysctls where it has
// one.
const (
	DefaultTimeout      = 30 * time.Second // ipfrag_time
	DefaultHighThresh   = 4 << 20          // ipfrag_high_thresh
	DefaultLowThresh    = 3 << 20          // ipfrag_low_thresh (pre-4.17 evictor target)
	DefaultMaxDatagrams = 4096
	DefaultMaxFragments = 64
)

// maxDatagramLen is the largest IPv4 datagram the total length field can
// describe (RFC 791 §3.1).
const maxDatagramLen = 0xffff

// Config configures a Reassembler. Zero fields take the defaults.
type Config struct {
	// Clock runs the per-datagram timers (nil: the real clock).
	Clock clock.Clock
	// Stats receives the Reasm* counters and the ReasmMemory gauge (nil:
	// private counters nobody reads).
	Stats *stats.IP
	// Tracer provides the probes ip:::reassembled and ip:::drop (nil: a
	// private tracer nobody listens to).
	Tracer *trace.Tracer
	// Timeout is how long an incomplete datagram is kept after its first
	// fragment (in time of arrival) came (RFC 791's 15 s is a lower bound;
	// default 30 s, Linux's ipfrag_time).
	Timeout time.Duration
	// HighThresh bounds the bytes held in incomplete datagrams: above it,
	// the oldest datagrams are dropped until at most LowThresh remain
	// (defaults 4 MiB and 3 MiB). A fragment is charged its IP length
	// (header and payload), which is what ReasmMemory shows.
	HighThresh, LowThresh int
	// MaxDatagrams bounds the number of incomplete datagrams; a new one
	// beyond it evicts the oldest (default 4096: about what Linux's
	// truesize charge of ~1 KiB per small fragment allows within 4 MiB).
	MaxDatagrams int
	// MaxFragments bounds the fragments of one datagram; one more drops
	// the datagram (default 64: a 64 KiB datagram at MTU 1500 takes 45;
	// FreeBSD's maxfragsperpacket is 16). It stops floods of tiny
	// fragments that would make each insertion and the final join slow.
	// A datagram at MTU 576 (552 bytes per fragment) may then be at most
	// about 35 KB; raise it to receive larger ones over small MTUs.
	MaxFragments int
	// OnTimeout, if set, is called when an incomplete datagram whose
	// first fragment (offset 0) arrived times out, so that the IP layer
	// can send ICMP time exceeded, code 1 (RFC 1122 §3.3.2; cf. ip_expire).
	// It takes ownership of first: the fragment as received, data at its
	// IPv4 header. It runs in the timer's context, without the
	// Reassembler's lock, and may call Process.
	OnTimeout func(first *pkt.Buf)
}

// Reassembler puts fragmented IPv4 datagrams back together (cf. Linux's
// ipq table and ip_defrag). It is safe for concurrent use and runs no
// goroutine of its own: work happens in Process and in timer callbacks.
//
// Lock order: mu is a leaf with respect to the rest of the stack: it is
// taken with no other ustack lock held, and while it is held the
// Reassembler calls only the clock (AfterFunc, Timer.Stop and Reset, which
// take the clock's own lock), the packet pool (Free) and the ip:::drop
// probe, whose listeners must not call back into the Reassembler.
// OnTimeout and the ip:::reassembled probe run after mu is released. A
// timer callback takes mu; a manual clock runs callbacks without its own
// lock held, so the order is always mu, then the clock's.
type Reassembler struct {
	clk       clock.Clock
	st        *stats.IP
	onTimeout func(*pkt.Buf)
	timeout   time.Duration
	high, low int
	maxDgrams int
	maxFrags  int
	probes    struct{ reassembled, drop *trace.Probe }

	mu     sync.Mutex
	queues map[key]*datagram
	// oldest and newest are the ends of the list of incomplete datagrams
	// in order of creation, the eviction order.
	oldest, newest *datagram
	mem            int // bytes charged for held fragments
	closed         bool
	// spare holds datagrams done with, for reuse with their fragment
	// array and timer, which saves most allocations per datagram.
	spare []*datagram
}

// Bounds on what spare keeps.
const (
	maxSpare      = 64
	maxSpareFrags = 2 * DefaultMaxFragments
)

// key identifies a datagram (RFC 791 §3.2: source, destination, protocol
// and identification).
type key struct {
	src, dst [4]byte
	id       uint16
	proto    uint8
}

// datagram is one incomplete datagram (cf. struct ipq).
type datagram struct {
	key key
	// frags are the fragments held, sorted by offset and never
	// overlapping, so a binary search places a new one and its two
	// neighbours are the only ones it can overlap.
	frags []frag
	// size is the datagram's payload length once the last fragment came,
	// else the largest end seen (cf. inet_frag_queue.len).
	size    int
	lastIn  bool // the fragment with MF clear arrived
	firstHL int  // header length of fragment zero; 0 until it arrives
	meat    int  // payload bytes held: complete when lastIn && meat == size
	mem     int  // bytes charged for this datagram's fragments
	dead    bool // removed from the table: a late timer call does nothing
	timer   clock.Timer
	// idle is true when the timer is known not to be pending or running
	// (Stop prevented it), so that q may be reused.
	idle bool

	older, newer *datagram
}

// frag is one held fragment. For fragment zero b starts at the IPv4
// header (skip bytes long); for the others the header has been pulled and
// b is the payload alone.
type frag struct {
	b             *pkt.Buf
	off, end      int32 // payload bytes [off, end) of the datagram
	skip, charged int32
}

// New returns an empty Reassembler.
func New(cfg Config) *Reassembler {
	if cfg.Clock == nil {
		cfg.Clock = clock.Real()
	}
	if cfg.Stats == nil {
		cfg.Stats = new(stats.IP)
	}
	if cfg.Tracer == nil {
		cfg.Tracer = trace.New(cfg.Clock)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.HighThresh <= 0 {
		cfg.HighThresh = DefaultHighThresh
	}
	if cfg.LowThresh <= 0 || cfg.LowThresh > cfg.HighThresh {
		cfg.LowThresh = min(DefaultLowThresh, cfg.HighThresh*3/4)
	}
	if cfg.MaxDatagrams <= 0 {
		cfg.MaxDatagrams = DefaultMaxDatagrams
	}
	if cfg.MaxFragments <= 0 {
		cfg.MaxFragments = DefaultMaxFragments
	}
	r := &Reassembler{
		clk: cfg.Clock, st: cfg.Stats, onTimeout: cfg.OnTimeout, timeout: cfg.Timeout,
		high: cfg.HighThresh, low: cfg.LowThresh, maxDgrams: cfg.MaxDatagrams, maxFrags: cfg.MaxFragments,
		queues: make(map[key]*datagram),
	}
	r.probes.reassembled = cfg.Tracer.Probe("ip", "reassembled")
	r.probes.drop = cfg.Tracer.Probe("ip", "drop")
	return r
}

// Process takes ownership of b, a fragment whose data starts at its IPv4
// header (cf. ip_defrag). When b completes its datagram, Process returns
// the whole datagram: a Buf starting at fragment zero's header (network
// header marked), rewritten with the full total length, MF and offset
// clear and a new checksum, followed by every fragment's payload, joined
// without copying (Append; only if another handle shares fragment zero's
// first piece is that piece copied, to rewrite the header). Otherwise it
// returns nil: b is held, or dropped and counted.
//
// A packet that is not a fragment is returned as it is. The header is
// checked again (version, lengths; not the checksum, which the IP layer
// verifies or the device vouches for), so a malformed packet is dropped
// and counted as ip_rcv would count it; link padding beyond the total
// length is trimmed.
//
// Every fragment counts ReasmReqds and every datagram returned ReasmOKs.
// Drops, each counted and reported on ip:::drop with a reason:
//   - a fragment with no payload, or a non-last one whose payload is not
//     a multiple of 8 bytes: that fragment alone (ReasmFails);
//   - a fragment overlapping one held: the whole datagram (ReasmOverlaps,
//     ReasmFails). An exact duplicate (same offset, length and payload
//     bytes) is not an overlap: it alone is dropped (ReasmDuplicates,
//     Linux's SKB_DROP_REASON_DUP_FRAG, which no MIB counts);
//   - a datagram that would exceed 65,535 bytes (ReasmOversize,
//     ReasmFails), whose last fragment disagrees with another (two
//     different ends, or data beyond the end), or that has more than
//     MaxFragments fragments: the whole datagram (ReasmFails);
//   - datagrams timed out (ReasmTimeout, ReasmFails) or evicted to stay
//     within HighThresh or MaxDatagrams (ReasmEvictions, ReasmFails).
//
// So ReasmFails counts datagrams lost plus fragments refused on their own
// merits, as RFC 4293 leaves open ("for whatever reason").
//
// Context: softnet.
func (r *Reassembler) Process(b *pkt.Buf) *pkt.Buf {
	st := r.st
	hb := b.Peek(wire.IPv4MinHeaderLen)
	if hb == nil {
		r.dropBuf(b, &st.InHdrErrors, "reassembly: truncated header")
		return nil
	}
	hl := int(hb[0]&0xf) * 4
	if hb = b.Peek(max(hl, wire.IPv4MinHeaderLen)); hb == nil {
		r.dropBuf(b, &st.InHdrErrors, "reassembly: truncated options")
		return nil
	}
	h, err := wire.ParseIPv4HeaderView(hb)
	if err != nil {
		r.dropBuf(b, &st.InHdrErrors, "reassembly: "+err.Error())
		return nil
	}
	total := int(h.TotalLen())
	if total < hl {
		r.dropBuf(b, &st.InHdrErrors, "reassembly: total length below header length")
		return nil
	}
	if total > b.Len() {
		r.dropBuf(b, &st.InTruncatedPkts, "reassembly: truncated packet")
		return nil
	}
	b.Trim(total)
	if !h.IsFragment() {
		return b
	}
	st.ReasmReqds.Inc()

	off := int(h.FragmentOffset())
	end := off + total - hl
	mf := h.MoreFragments()
	k := key{src: h.Src().As4(), dst: h.Dst().As4(), id: h.ID(), proto: uint8(h.Protocol())}
	switch {
	case end == off:
		r.dropBuf(b, &st.ReasmFails, "reassembly: empty fragment")
		return nil
	case mf && (end-off)%8 != 0:
		r.dropBuf(b, &st.ReasmFails, "reassembly: fragment length not a multiple of 8")
		return nil
	}
	if off != 0 {
		b.Pull(hl)
		hl = 0
	}

	r.mu.Lock()
	whole, info := r.insertLocked(b, k, off, end, hl, total, mf)
	r.mu.Unlock()

	if whole != nil {
		if p := r.probes.reassembled; p.Enabled() {
			p.Fire(&trace.Event{PktID: whole.ID, Len: whole.Len(), Proto: k.proto, IPID: k.id, Frags: info,
				Src: h4(k.src), Dst: h4(k.dst)})
		}
	}
	return whole
}

// insertLocked files fragment b (payload [off, end); fragment zero still
// carries its hl-byte header) under k, taking ownership, and returns the
// whole datagram if b completed it, with its fragment count (cf.
// ip_frag_queue and inet_frag_queue_insert). cost is the fragment's IP
// length, what it is charged against the memory limit.
func (r *Reassembler) insertLocked(b *pkt.Buf, k key, off, end, hl, cost int, mf bool) (*pkt.Buf, int) {
	st := r.st
	if r.closed {
		r.dropFragLocked(b, k, &st.ReasmFails, "reassembly: closed")
		return nil, 0
	}
	q := r.queues[k]
	// The datagram's total length would be its payload plus fragment
	// zero's header, at least 20 bytes (cf. ip_frag_reasm's oversize
	// check, done here as early as the fragment tells).
	if end+max(hl, wire.IPv4MinHeaderLen) > maxDatagramLen {
		st.ReasmOversize.Inc()
		if q != nil {
			r.killLocked(q, &st.ReasmFails, "reassembly: datagram over 65,535 bytes")
		} else {
			st.ReasmFails.Inc()
		}
		r.dropFragLocked(b, k, nil, "reassembly: datagram over 65,535 bytes")
		return nil, 0
	}
	if q == nil {
		q = r.newLocked(k)
	}

	// Where the datagram ends (cf. ip_frag_queue): the last fragment
	// fixes it, and no fragment may reach beyond it or disagree.
	if !mf {
		if end < q.size || (q.lastIn && end != q.size) {
			r.killLocked(q, &st.ReasmFails, "reassembly: conflicting last fragment")
			r.dropFragLocked(b, k, nil, "reassembly: conflicting last fragment")
			return nil, 0
		}
		q.lastIn = true
		q.size = end
	} else if end > q.size {
		if q.lastIn {
			r.killLocked(q, &st.ReasmFails, "reassembly: fragment beyond the last")
			r.dropFragLocked(b, k, nil, "reassembly: fragment beyond the last")
			return nil, 0
		}
		q.size = end
	}
	hdr := q.firstHL
	if hdr == 0 && off == 0 {
		hdr = hl // fragment zero is new: its header counts
	}
	if q.size+max(hdr, wire.IPv4MinHeaderLen) > maxDatagramLen {
		st.ReasmOversize.Inc()
		r.killLocked(q, &st.ReasmFails, "reassembly: datagram over 65,535 bytes")
		r.dropFragLocked(b, k, nil, "reassembly: datagram over 65,535 bytes")
		return nil, 0
	}

	i, dup, overlap := q.find(int32(off), int32(end))
	if dup {
		old := &q.frags[i]
		if sameBytes(old.b, int(old.skip), b, hl, end-off) {
			// RFC 5722 Errata 3089: a duplicate is dropped, the datagram
			// kept; ReasmDuplicates counts it (Linux: a drop reason). It may
			// still have told where the datagram ends (MF clear on a
			// copy of a fragment first seen with MF set), so look
			// whether the datagram is now complete.
			r.dropFragLocked(b, k, &st.ReasmDuplicates, "reassembly: duplicate fragment")
			return r.completeLocked(q)
		}
		overlap = true
	}
	if overlap {
		st.ReasmOverlaps.Inc()
		r.killLocked(q, &st.ReasmFails, "reassembly: overlapping fragments")
		r.dropFragLocked(b, k, nil, "reassembly: overlapping fragments")
		return nil, 0
	}
	if len(q.frags) >= r.maxFrags {
		r.killLocked(q, &st.ReasmFails, "reassembly: too many fragments")
		r.dropFragLocked(b, k, nil, "reassembly: too many fragments")
		return nil, 0
	}

	q.frags = slices.Insert(q.frags, i, frag{b: b, off: int32(off), end: int32(end), skip: int32(hl), charged: int32(cost)})
	if off == 0 {
		q.firstHL = hl
	}
	q.meat += end - off
	q.mem += cost
	r.charge(cost)
	if whole, n := r.completeLocked(q); whole != nil {
		return whole, n
	}
	if r.mem > r.high {
		r.evictLocked()
	}
	return nil, 0
}

// completeLocked reassembles q if every byte of it is held: the last
// fragment came and, as fragments never overlap, the payload held is as
// long as the datagram (RFC 815's hole list, reduced to a count). It
// returns the datagram and its fragment count, or nil.
func (r *Reassembler) completeLocked(q *datagram) (*pkt.Buf, int) {
	if !q.lastIn || q.meat != q.size {
		return nil, 0
	}
	n := len(q.frags)
	return r.reassembleLocked(q), n
}

// find returns where a fragment of payload [off, end) goes in q.frags,
// whether the fragment there has exactly that range, and whether the new
// one overlaps a neighbour otherwise.
func (q *datagram) find(off, end int32) (i int, dup, overlap bool) {
	n := len(q.frags)
	if n == 0 || q.frags[n-1].end <= off {
		return n, false, false // the common case: in order, at the tail
	}
	i, _ = slices.BinarySearchFunc(q.frags, off, func(f frag, off int32) int {
		switch {
		case f.off < off:
			return -1
		case f.off > off:
			return 1
		}
		return 0
	})
	if i < n && q.frags[i].off == off && q.frags[i].end == end {
		return i, true, false
	}
	overlap = (i > 0 && q.frags[i-1].end > off) || (i < n && q.frags[i].off < end)
	return i, false, overlap
}

// newLocked adds an empty datagram for k, evicting the oldest first if
// there are MaxDatagrams already, and starts its timer.
func (r *Reassembler) newLocked(k key) *datagram {
	for len(r.queues) >= r.maxDgrams && r.oldest != nil {
		r.st.ReasmEvictions.Inc()
		r.killLocked(r.oldest, &r.st.ReasmFails, "reassembly: evicted, too many datagrams")
	}
	var q *datagram
	if n := len(r.spare); n > 0 {
		q = r.spare[n-1]
		r.spare[n-1] = nil
		r.spare = r.spare[:n-1]
		q.key = k
		q.timer.Reset(r.timeout)
	} else {
		q = &datagram{key: k, frags: make([]frag, 0, 8)}
		q.timer = r.clk.AfterFunc(r.timeout, func() { r.expire(q) })
	}
	r.queues[k] = q
	q.older = r.newest
	if r.newest != nil {
		r.newest.newer = q
	} else {
		r.oldest = q
	}
	r.newest = q
	return q
}

// recycleLocked keeps q, whose fragments are gone, for reuse by
// newLocked. Only a datagram whose timer Stop prevented is reused: a timer
// call already under way must find its datagram dead, not reborn.
func (r *Reassembler) recycleLocked(q *datagram) {
	clear(q.frags)
	if !q.idle || r.closed || len(r.spare) >= maxSpare || cap(q.frags) > maxSpareFrags {
		q.frags = nil
		return
	}
	*q = datagram{frags: q.frags[:0], timer: q.timer}
	r.spare = append(r.spare, q)
}

// unlinkLocked takes q out of the table and the eviction list, stops its
// timer and uncharges its memory. Its fragments are left to the caller.
func (r *Reassembler) unlinkLocked(q *datagram) {
	q.dead = true
	q.idle = q.timer.Stop()
	delete(r.queues, q.key)
	if q.older != nil {
		q.older.newer = q.newer
	} else {
		r.oldest = q.newer
	}
	if q.newer != nil {
		q.newer.older = q.older
	} else {
		r.newest = q.older
	}
	q.older, q.newer = nil, nil
	r.charge(-q.mem)
	q.mem = 0
}

// killLocked drops q and all its fragments, counting c (cf.
// inet_frag_kill and the discard in ip_frag_queue).
func (r *Reassembler) killLocked(q *datagram, c *stats.Counter, reason string) {
	r.unlinkLocked(q)
	c.Inc()
	if p := r.probes.drop; p.Enabled() {
		var id uint64
		for _, f := range q.frags {
			if f.b != nil {
				id = f.b.ID
				break
			}
		}
		p.Fire(&trace.Event{PktID: id, Len: q.size, Proto: q.key.proto, Src: h4(q.key.src), Dst: h4(q.key.dst),
			Reason: reason, Detail: fmt.Sprintf("id %d, %d fragments", q.key.id, len(q.frags))})
	}
	for i := range q.frags {
		if b := q.frags[i].b; b != nil {
			b.Free()
		}
	}
	r.recycleLocked(q)
}

// evictLocked drops the oldest datagrams until the memory held is at most
// LowThresh (cf. inet_frag_evictor, before Linux 4.17).
func (r *Reassembler) evictLocked() {
	for r.mem > r.low && r.oldest != nil {
		r.st.ReasmEvictions.Inc()
		r.killLocked(r.oldest, &r.st.ReasmFails, "reassembly: evicted, over memory limit")
	}
}

// reassembleLocked joins the fragments of the complete datagram q into
// one Buf and rewrites fragment zero's header for it (cf. ip_frag_reasm).
func (r *Reassembler) reassembleLocked(q *datagram) *pkt.Buf {
	r.unlinkLocked(q)
	whole := q.frags[0].b
	for _, f := range q.frags[1:] {
		whole.Append(f.b)
	}
	hl := q.firstHL
	h, _ := wire.ParseIPv4HeaderView(whole.Writable(hl)) // checked when it arrived
	h.SetTotalLen(uint16(hl + q.size))
	h.SetFlags(h.Flags() &^ wire.IPv4MoreFragments)
	h.SetFragmentOffset(0)
	h.SetChecksum(h.CalculateChecksum())
	whole.SetNetworkHeader()
	r.recycleLocked(q)
	r.st.ReasmOKs.Inc()
	return whole
}

// expire is the timer of datagram q (cf. ip_expire). Context: timer.
func (r *Reassembler) expire(q *datagram) {
	r.mu.Lock()
	if q.dead {
		r.mu.Unlock()
		return
	}
	var first *pkt.Buf
	if r.onTimeout != nil && len(q.frags) > 0 && q.frags[0].off == 0 {
		first = q.frags[0].b
		q.frags[0].b = nil
	}
	r.st.ReasmTimeout.Inc()
	r.killLocked(q, &r.st.ReasmFails, "reassembly: timed out")
	r.mu.Unlock()
	if first != nil {
		r.onTimeout(first)
	}
}

// Close stops every timer and frees every fragment held. Fragments given
// to Process afterwards are dropped (ReasmFails). Context: process.
func (r *Reassembler) Close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	for r.oldest != nil {
		q := r.oldest
		r.unlinkLocked(q)
		for _, f := range q.frags {
			f.b.Free()
		}
		q.frags = nil
	}
	clear(r.spare)
	r.spare = nil
}

// charge adds n (negative to release) to the memory held, keeping the
// ReasmMemory gauge in step.
func (r *Reassembler) charge(n int) {
	r.mem += n
	r.st.ReasmMemory.Add(int64(n))
}

// dropBuf counts c, reports reason on ip:::drop and frees b.
func (r *Reassembler) dropBuf(b *pkt.Buf, c *stats.Counter, reason string) {
	c.Inc()
	if p := r.probes.drop; p.Enabled() {
		p.Fire(&trace.Event{PktID: b.ID, Len: b.Len(), Reason: reason})
	}
	b.Free()
}

// dropFragLocked is dropBuf for a fragment of datagram k; c may be nil
// when the datagram's fate was counted already.
func (r *Reassembler) dropFragLocked(b *pkt.Buf, k key, c *stats.Counter, reason string) {
	if c != nil {
		c.Inc()
	}
	if p := r.probes.drop; p.Enabled() {
		p.Fire(&trace.Event{PktID: b.ID, Len: b.Len(), Proto: k.proto, Src: h4(k.src), Dst: h4(k.dst),
			Reason: reason, Detail: fmt.Sprintf("id %d", k.id)})
	}
	b.Free()
}

func h4(a [4]byte) netip.Addr { return netip.AddrFrom4(a) }

// sameBytes reports whether the n bytes of a from aoff equal those of b
// from boff, comparing view by view without copying.
func sameBytes(a *pkt.Buf, aoff int, b *pkt.Buf, boff int, n int) bool {
	if a.Len()-aoff < n || b.Len()-boff < n {
		return false
	}
	ai, av := seek(a, aoff)
	bi, bv := seek(b, boff)
	for n > 0 {
		for len(av) == 0 {
			ai++
			av = a.View(ai)
		}
		for len(bv) == 0 {
			bi++
			bv = b.View(bi)
		}
		k := min(len(av), len(bv), n)
		if !bytes.Equal(av[:k], bv[:k]) {
			return false
		}
		av, bv, n = av[k:], bv[k:], n-k
	}
	return true
}

// seek returns the index of the view of b holding byte off and the rest
// of that view from off.
func seek(b *pkt.Buf, off int) (int, []byte) {
	for i := range b.NumViews() {
		v := b.View(i)
		if off < len(v) {
			return i, v[off:]
		}
		off -= len(v)
	}
	return b.NumViews() - 1, nil
}

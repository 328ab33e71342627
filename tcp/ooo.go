package tcp

// The out-of-order queue.
//
// Read before editing: RFC 9293 §3.10.7.4 (segments beyond RCV.NXT are
// held, trimmed to the window), RFC 2018 §4 (SACK blocks report what is
// held, the most recent first), RFC 5681 §4.2 (ACK out-of-order segments
// at once). Linux: tcp_data_queue_ofo, tcp_ofo_queue (an rbtree there; a
// sorted slice here, fine for the tens of holes a window has).

import (
	"ustack/pkt"
	"ustack/seqnum"
	"ustack/wire"
)

type oooSeg struct {
	seq seqnum.Value
	b   *pkt.Buf // payload only
}

func (s *oooSeg) end() seqnum.Value { return s.seq.Add(seqnum.Size(s.b.Len())) }

// oooQueue holds segments beyond RCV.NXT, sorted and not overlapping.
// The connection's lock guards it.
type oooQueue struct {
	segs   []oooSeg
	bytes  int
	latest seqnum.Value // start of the most recently queued segment (RFC 2018 block order)
}

// insert queues payload b at seq, taking ownership; overlaps with queued
// segments are trimmed so every byte is held once. It reports whether
// any new byte was queued, and whether the segment overlapped others.
func (q *oooQueue) insert(seq seqnum.Value, b *pkt.Buf) (added, overlapped bool) {
	end := seq.Add(seqnum.Size(b.Len()))
	for _, s := range q.segs { // all of it queued already: a duplicate
		if s.seq.LessThanEq(seq) && end.LessThanEq(s.end()) {
			b.Free()
			return false, true
		}
	}
	// Drop queued segments the new one covers entirely.
	out := q.segs[:0]
	for _, s := range q.segs {
		if seq.LessThanEq(s.seq) && s.end().LessThanEq(end) {
			q.bytes -= s.b.Len()
			s.b.Free()
			overlapped = true
			continue
		}
		out = append(out, s)
	}
	clear(q.segs[len(out):])
	q.segs = out
	// Find the insertion point: the first segment starting after seq.
	i := 0
	for i < len(q.segs) && q.segs[i].seq.LessThanEq(seq) {
		i++
	}
	if i > 0 { // trim the head against the predecessor
		if pe := q.segs[i-1].end(); seq.LessThan(pe) {
			overlapped = true
			if end.LessThanEq(pe) {
				b.Free()
				return false, true
			}
			b.Pull(int(pe.Sub(seq)))
			seq = pe
		}
	}
	if i < len(q.segs) { // trim the tail against the successor
		if ns := q.segs[i].seq; ns.LessThan(end) {
			overlapped = true
			b.Trim(int(ns.Sub(seq)))
			end = ns
		}
	}
	if b.Len() == 0 {
		b.Free()
		return false, overlapped
	}
	q.segs = append(q.segs, oooSeg{})
	copy(q.segs[i+1:], q.segs[i:])
	q.segs[i] = oooSeg{seq: seq, b: b}
	q.bytes += b.Len()
	q.latest = seq
	return true, overlapped
}

// pop returns the first segment if it starts at or before nxt, trimmed to
// start at nxt (segments wholly before nxt are freed on the way); nil
// otherwise. The caller owns the returned Buf.
func (q *oooQueue) pop(nxt seqnum.Value) *pkt.Buf {
	for len(q.segs) > 0 {
		s := q.segs[0]
		if nxt.LessThan(s.seq) {
			return nil
		}
		copy(q.segs, q.segs[1:])
		q.segs[len(q.segs)-1] = oooSeg{}
		q.segs = q.segs[:len(q.segs)-1]
		q.bytes -= s.b.Len()
		if s.end().LessThanEq(nxt) {
			s.b.Free()
			continue
		}
		if d := int(nxt.Sub(s.seq)); d > 0 {
			s.b.Pull(d)
		}
		return s.b
	}
	return nil
}

func (q *oooQueue) empty() bool { return len(q.segs) == 0 }

// sackBlocks fills dst with up to len(dst) blocks of contiguous queued
// data, the block holding the latest segment first (RFC 2018 §4).
func (q *oooQueue) sackBlocks(dst []wire.SACKBlock) int {
	if len(q.segs) == 0 || len(dst) == 0 {
		return 0
	}
	var all [16]wire.SACKBlock
	n := 0
	first := -1
	for i := 0; i < len(q.segs) && n < len(all); {
		l, r := q.segs[i].seq, q.segs[i].end()
		hasLatest := q.segs[i].seq == q.latest
		i++
		for i < len(q.segs) && q.segs[i].seq == r {
			if q.segs[i].seq == q.latest {
				hasLatest = true
			}
			r = q.segs[i].end()
			i++
		}
		if hasLatest {
			first = n
		}
		all[n] = wire.SACKBlock{Left: uint32(l), Right: uint32(r)}
		n++
	}
	k := 0
	if first >= 0 {
		dst[0] = all[first]
		k = 1
	}
	for j := 0; j < n && k < len(dst); j++ {
		if j != first {
			dst[k] = all[j]
			k++
		}
	}
	return k
}

func (q *oooQueue) flush() {
	for _, s := range q.segs {
		s.b.Free()
	}
	q.segs, q.bytes = nil, 0
}

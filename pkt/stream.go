package pkt

// Stream: a byte queue in pooled chunks that packets take their payload
// from by reference.
//
// A TCP send queue is written once (the copy in of a write) and read many
// times: each segment sent or resent carries a range of it. Copying each
// range into the segment would be a second copy of every byte; instead
// the segment's Buf gets views of the Stream's own chunks, counted like
// any shared chunk, the way Linux's tcp_sendmsg fills page fragments that
// the skbs of the write queue and their clones point into. A chunk lives
// until the Stream has consumed it and every Buf that took a range of it
// (including one queued in another stack's receive queue, across an
// in-memory wire) is freed.
//
// Bytes once written are never written again while queued: Write only
// fills a chunk's tailroom, beyond every range any Buf holds, so readers
// of a range never race with the writer.

import "sort"

// streamChunkMin and streamChunkMax bound the chunk a Write takes: small
// writes get small chunks (an idle connection that sent a request holds
// little), big ones the largest pooled class.
const (
	streamChunkMin = 2048
	streamChunkMax = 65536
)

// Stream is a FIFO of bytes. The zero value is not usable: set Pool. Not
// safe for concurrent use (a connection's lock guards it), but Bufs that
// took ranges of it may be used and freed in any goroutine.
type Stream struct {
	Pool *Pool

	segs []streamSeg // segs[0] holds the first byte
	head int64       // stream position of the first byte held
	n    int         // bytes held
}

// streamSeg is bytes c.b[off:end] of one chunk, which are stream
// positions [pos, pos+end-off).
type streamSeg struct {
	c        *chunk
	off, end int
	pos      int64
}

// Len returns the number of bytes held.
func (s *Stream) Len() int { return s.n }

// Chunks returns how many chunks the Stream holds a reference to.
func (s *Stream) Chunks() int { return len(s.segs) }

// Write appends p, copying it once, and returns len(p).
func (s *Stream) Write(p []byte) int {
	total := len(p)
	for len(p) > 0 {
		if k := len(s.segs); k > 0 {
			last := &s.segs[k-1]
			if last.end < len(last.c.b) {
				c := copy(last.c.b[last.end:], p)
				last.end += c
				s.n += c
				p = p[c:]
				continue
			}
		}
		c := s.Pool.getChunk(min(max(len(p), streamChunkMin), streamChunkMax))
		s.segs = append(s.segs, streamSeg{c: c, pos: s.head + int64(s.n)})
	}
	return total
}

// Consume drops the first n bytes (n ≤ Len), releasing every chunk whose
// bytes are all consumed. Once empty, the Stream holds no memory.
func (s *Stream) Consume(n int) {
	if n < 0 || n > s.n {
		panic("pkt: Stream.Consume out of range")
	}
	s.head += int64(n)
	s.n -= n
	drop := 0
	for drop < len(s.segs) {
		g := &s.segs[drop]
		if g.pos+int64(g.end-g.off) > s.head {
			break
		}
		g.c.release()
		drop++
	}
	if drop > 0 {
		k := copy(s.segs, s.segs[drop:])
		clear(s.segs[k:])
		s.segs = s.segs[:k]
	}
	if len(s.segs) > 0 {
		g := &s.segs[0]
		d := int(s.head - g.pos)
		g.off += d
		g.pos = s.head
	}
	if s.n == 0 {
		s.Release()
	}
}

// AppendTo appends bytes [off, off+n) of the Stream to b by reference:
// no byte is copied. Context: the Stream's owner; b may then go anywhere.
func (s *Stream) AppendTo(b *Buf, off, n int) {
	b.check()
	if off < 0 || n < 0 || off+n > s.n {
		panic("pkt: Stream.AppendTo out of range")
	}
	if n == 0 {
		return
	}
	at := s.head + int64(off)
	// The segment holding at: the last one starting at or before it.
	i := sort.Search(len(s.segs), func(i int) bool { return s.segs[i].pos > at }) - 1
	for n > 0 {
		g := s.segs[i]
		from := g.off + int(at-g.pos)
		k := min(g.end-from, n)
		g.c.refs.Add(1)
		b.views = append(b.views, view{c: g.c, off: from, end: from + k})
		b.length += k
		at += int64(k)
		n -= k
		i++
	}
}

// Release drops every byte and chunk; Bufs that took ranges keep theirs.
func (s *Stream) Release() {
	for i := range s.segs {
		s.segs[i].c.release()
	}
	clear(s.segs)
	s.segs = s.segs[:0]
	if cap(s.segs) > 8 {
		s.segs = nil // a big queue's index goes too
	}
	s.head += int64(s.n)
	s.n = 0
}

package tcp

// The send buffer: the bytes from SND.UNA to the end of what the
// application wrote. It is also the retransmission queue: segments take
// their payload from it by sequence offset when sent or resent, so an
// ACK frees bytes by moving the head, never by walking a list (cf. Linux's
// sk_write_queue + tcp_rtx_queue, kept as one queue here).
//
// The bytes live in a pkt.Stream: a Write copies them in once, and each
// segment's packet refers to them without a second copy (cf. the page
// fragments tcp_sendmsg fills and skbs point into). An empty queue holds
// no memory, so an idle connection costs nothing here.

import "ustack/pkt"

// sendRing is the send queue. Not safe for concurrent use: the
// connection's lock guards it.
type sendRing struct {
	s     pkt.Stream
	limit int // SO_SNDBUF
}

func (r *sendRing) len() int  { return r.s.Len() }
func (r *sendRing) free() int { return max(r.limit-r.s.Len(), 0) }

// write copies as much of p as fits and returns how many bytes it took.
// This is the one copy in of a Write.
func (r *sendRing) write(p []byte) int {
	k := min(len(p), r.free())
	if k == 0 {
		return 0
	}
	return r.s.Write(p[:k])
}

// appendTo adds the n bytes starting off bytes past the head to b, by
// reference.
func (r *sendRing) appendTo(b *pkt.Buf, off, n int) { r.s.AppendTo(b, off, n) }

// consume drops n acknowledged bytes from the head.
func (r *sendRing) consume(n int) { r.s.Consume(min(n, r.s.Len())) }

// release frees the memory (the connection is done).
func (r *sendRing) release() { r.s.Release() }

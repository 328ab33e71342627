package tcp

// The send buffer: a byte ring holding the bytes from SND.UNA to the end
// of what the application wrote. It is also the retransmission queue:
// segments are cut from it by sequence offset when sent or resent, so an
// ACK frees bytes by moving the head, never by walking a list (cf. Linux's
// sk_write_queue + tcp_rtx_queue, kept as one ring here).

// sendRing is the byte ring. Not safe for concurrent use: the
// connection's lock guards it.
type sendRing struct {
	buf   []byte // allocated lazily and grown by doubling up to limit
	head  int    // index of the byte at SND.UNA
	n     int    // bytes held
	limit int    // SO_SNDBUF
}

func (r *sendRing) len() int  { return r.n }
func (r *sendRing) free() int { return max(r.limit-r.n, 0) }

// write copies as much of p as fits and returns how many bytes it took.
// This is the one copy in of a Write.
func (r *sendRing) write(p []byte) int {
	k := min(len(p), r.free())
	if k == 0 {
		return 0
	}
	if r.n+k > len(r.buf) {
		r.grow(r.n + k)
	}
	tail := (r.head + r.n) % len(r.buf)
	c := copy(r.buf[tail:], p[:k])
	if c < k {
		copy(r.buf, p[c:k])
	}
	r.n += k
	return k
}

func (r *sendRing) grow(need int) {
	size := max(len(r.buf), 4096)
	for size < need {
		size *= 2
	}
	size = min(max(size, need), max(r.limit, need))
	nb := make([]byte, size)
	r.copyOut(0, nb[:r.n])
	r.buf, r.head = nb, 0
}

// copyOut copies len(dst) bytes starting off bytes past the head.
func (r *sendRing) copyOut(off int, dst []byte) {
	if len(dst) == 0 {
		return
	}
	start := (r.head + off) % len(r.buf)
	c := copy(dst, r.buf[start:])
	if c < len(dst) {
		copy(dst[c:], r.buf)
	}
}

// consume drops n acknowledged bytes from the head.
func (r *sendRing) consume(n int) {
	n = min(n, r.n)
	r.n -= n
	if r.n == 0 {
		r.head = 0
		return
	}
	r.head = (r.head + n) % len(r.buf)
}

// release frees the memory (the connection is done).
func (r *sendRing) release() { r.buf, r.head, r.n = nil, 0, 0 }

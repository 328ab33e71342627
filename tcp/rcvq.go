package tcp

// The receive queue: in-order payload, kept as the packet buffers it
// arrived in (views, no copy) until Read copies it out — the one copy out.

import "ustack/pkt"

// recvQueue is a FIFO of payload Bufs. The connection's lock guards it.
type recvQueue struct {
	bufs  []*pkt.Buf
	head  int
	bytes int
}

func (q *recvQueue) push(b *pkt.Buf) {
	if q.head > 0 && q.head == len(q.bufs) {
		q.bufs, q.head = q.bufs[:0], 0
	} else if q.head > 32 && q.head*2 > len(q.bufs) {
		n := copy(q.bufs, q.bufs[q.head:])
		clear(q.bufs[n:])
		q.bufs, q.head = q.bufs[:n], 0
	}
	q.bufs = append(q.bufs, b)
	q.bytes += b.Len()
}

// read copies up to len(p) bytes out, freeing consumed Bufs.
func (q *recvQueue) read(p []byte) int {
	n := 0
	for n < len(p) && q.head < len(q.bufs) {
		b := q.bufs[q.head]
		k := b.CopyTo(p[n:])
		n += k
		if k == b.Len() {
			b.Free()
			q.bufs[q.head] = nil
			q.head++
		} else {
			b.Skip(k) // no copy, however the payload is split into views
		}
	}
	q.bytes -= n
	return n
}

func (q *recvQueue) flush() {
	for i := q.head; i < len(q.bufs); i++ {
		q.bufs[i].Free()
		q.bufs[i] = nil
	}
	q.bufs, q.head, q.bytes = nil, 0, 0
}

package pkt

// Queue is a bounded FIFO of Bufs, for use under its owner's lock (the
// neighbour resolution queue, a socket's receive queue). It holds at most
// Limit packets and LimitBytes bytes (zero: no byte limit).
type Queue struct {
	Limit      int
	LimitBytes int
	ring       []*Buf
	head, n    int
	bytes      int
}

// Len returns the number of queued packets.
func (q *Queue) Len() int { return q.n }

// Bytes returns the number of queued data bytes.
func (q *Queue) Bytes() int { return q.bytes }

// Push appends b and reports true, taking ownership; when the queue is
// full it reports false and the caller keeps b.
func (q *Queue) Push(b *Buf) bool {
	if q.n >= q.Limit || (q.LimitBytes > 0 && q.n > 0 && q.bytes+b.Len() > q.LimitBytes) {
		return false
	}
	if len(q.ring) == 0 {
		size := q.Limit
		if size > 64 {
			size = 64
		}
		q.ring = make([]*Buf, size)
	} else if q.n == len(q.ring) {
		grown := make([]*Buf, min(2*len(q.ring), q.Limit))
		for i := 0; i < q.n; i++ {
			grown[i] = q.ring[(q.head+i)%len(q.ring)]
		}
		q.ring, q.head = grown, 0
	}
	q.ring[(q.head+q.n)%len(q.ring)] = b
	q.n++
	q.bytes += b.Len()
	return true
}

// Pop removes and returns the oldest packet (nil when empty); the caller
// owns it.
func (q *Queue) Pop() *Buf {
	if q.n == 0 {
		return nil
	}
	b := q.ring[q.head]
	q.ring[q.head] = nil
	q.head = (q.head + 1) % len(q.ring)
	q.n--
	q.bytes -= b.Len()
	return b
}

// Peek returns the oldest packet without removing it (nil when empty).
func (q *Queue) Peek() *Buf {
	if q.n == 0 {
		return nil
	}
	return q.ring[q.head]
}

// Flush frees every queued packet and returns how many there were.
func (q *Queue) Flush() int {
	n := q.n
	for b := q.Pop(); b != nil; b = q.Pop() {
		b.Free()
	}
	return n
}

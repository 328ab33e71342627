package socket

import (
	"net/netip"
	"sync"

	"ustack/pkt"
)

// Datagram is one received datagram with its source.
type Datagram struct {
	Buf  *pkt.Buf // payload only
	From netip.AddrPort
	To   netip.Addr // the destination address it was sent to
}

// DgramQueue is a datagram socket's receive queue, bounded in bytes like
// SO_RCVBUF, with a wait queue readers block on. Safe for concurrent use:
// the packet path pushes, user goroutines pop.
type DgramQueue struct {
	mu      sync.Mutex
	items   []Datagram
	head    int
	bytes   int // payload bytes queued
	charged int // bytes charged against limit: payload plus overhead
	limit   int
	err     error // a pending error (ECONNREFUSED) reported once
	closed  bool
	readyCh chan struct{} // one token while something is readable
}

// NewDgramQueue returns a queue holding at most limit payload bytes.
func NewDgramQueue(limit int) *DgramQueue {
	return &DgramQueue{limit: limit, readyCh: make(chan struct{}, 1)}
}

// SetLimit changes the byte limit (SO_RCVBUF).
func (q *DgramQueue) SetLimit(n int) {
	q.mu.Lock()
	q.limit = n
	q.mu.Unlock()
}

// Limit returns the byte limit.
func (q *DgramQueue) Limit() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.limit
}

// DatagramOverhead is what each queued datagram costs against the limit
// beyond its payload, as Linux charges an skb's truesize: without it,
// empty datagrams would queue without bound.
const DatagramOverhead = 256

func truesize(d Datagram) int { return d.Buf.Len() + DatagramOverhead }

// Push queues d, taking ownership of d.Buf, and reports true; when the
// queue is full or closed it reports false and the caller keeps d.Buf.
// Context: softnet.
func (q *DgramQueue) Push(d Datagram) bool {
	q.mu.Lock()
	if q.closed || (q.charged+truesize(d) > q.limit && q.len() > 0) {
		q.mu.Unlock()
		return false
	}
	if q.head > 0 && q.head == len(q.items) {
		q.items, q.head = q.items[:0], 0
	} else if q.head > 64 && q.head*2 > len(q.items) {
		n := copy(q.items, q.items[q.head:])
		clear(q.items[n:])
		q.items, q.head = q.items[:n], 0
	}
	q.items = append(q.items, d)
	q.bytes += d.Buf.Len()
	q.charged += truesize(d)
	q.signal()
	q.mu.Unlock()
	return true
}

// SetError records an asynchronous error for the next reader (an ICMP
// error on a connected socket, cf. sk->sk_err).
func (q *DgramQueue) SetError(err error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.closed {
		q.err = err
		q.signal()
	}
}

// TakeError returns and clears a pending error.
func (q *DgramQueue) TakeError() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	err := q.err
	q.err = nil
	return err
}

func (q *DgramQueue) len() int { return len(q.items) - q.head }

// Len returns the number of queued datagrams.
func (q *DgramQueue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.len()
}

// Bytes returns the number of queued payload bytes.
func (q *DgramQueue) Bytes() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.bytes
}

// signal leaves a wake-up token; called with q.mu held and q open.
func (q *DgramQueue) signal() {
	select {
	case q.readyCh <- struct{}{}:
	default:
	}
}

// Pop removes the oldest datagram, waiting until one arrives, the
// deadline passes (os.ErrDeadlineExceeded), the queue closes
// (net.ErrClosed) or an asynchronous error is pending. The caller owns
// the returned Buf. Context: process.
func (q *DgramQueue) Pop(dl *Deadline) (Datagram, error) {
	for {
		if dl != nil && dl.Expired() {
			// As package net: a passed deadline fails the call even
			// when data is waiting.
			q.mu.Lock()
			closed := q.closed
			q.mu.Unlock()
			if closed {
				return Datagram{}, ErrClosed
			}
			return Datagram{}, ErrDeadlineExceeded
		}
		q.mu.Lock()
		if q.closed {
			q.mu.Unlock()
			return Datagram{}, ErrClosed
		}
		if q.err != nil {
			err := q.err
			q.err = nil
			q.mu.Unlock()
			return Datagram{}, err
		}
		if q.len() > 0 {
			d := q.items[q.head]
			q.items[q.head] = Datagram{}
			q.head++
			q.bytes -= d.Buf.Len()
			q.charged -= truesize(d)
			if q.len() > 0 {
				q.signal() // wake the next reader
			}
			q.mu.Unlock()
			return d, nil
		}
		q.mu.Unlock()
		var expired <-chan struct{}
		if dl != nil {
			expired = dl.Done()
		}
		select {
		case <-q.readyCh:
		case <-expired:
			return Datagram{}, ErrDeadlineExceeded
		}
	}
}

// Close frees every queued datagram and wakes all readers with
// net.ErrClosed.
func (q *DgramQueue) Close() {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return
	}
	q.closed = true
	items := q.items[q.head:]
	q.items, q.head, q.bytes, q.charged = nil, 0, 0, 0
	q.mu.Unlock()
	for _, d := range items {
		d.Buf.Free()
	}
	close(q.readyCh)
}

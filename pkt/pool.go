package pkt

import (
	"sync"
	"sync/atomic"
)

// sizeClasses are the chunk sizes a Pool recycles. A request larger than
// the last is served by an unpooled chunk of exactly its size.
var sizeClasses = [...]int{256, 2048, 16384, 65536 + 2*MaxHeaderLen}

// Pool recycles Bufs and their memory. It is safe for concurrent use. A
// stack has one; Bufs from different pools may be appended to each other.
type Pool struct {
	checked bool
	bufs    sync.Pool
	chunks  [len(sizeClasses)]sync.Pool

	// Live counts Bufs handed out and not yet freed: a leak detector for
	// tests.
	live atomic.Int64
	// Allocated counts chunks made because the pool was empty.
	allocated atomic.Int64
}

// Options configure a Pool.
type Options struct {
	// Checked makes misuse fail loudly: freed handles are never reused, so
	// any later use panics, and freed memory is poisoned. For tests.
	Checked bool
}

// NewPool returns an empty pool.
func NewPool(o Options) *Pool { return &Pool{checked: o.Checked} }

// Live returns how many Bufs from this pool are held right now.
func (p *Pool) Live() int64 { return p.live.Load() }

// Allocated returns how many chunks this pool has made since it was created.
func (p *Pool) Allocated() int64 { return p.allocated.Load() }

// Get returns a Buf of n data bytes (contents unspecified) after headroom
// bytes of headroom, in one contiguous view.
func (p *Pool) Get(headroom, n int) *Buf {
	b := p.newBuf()
	c := p.getChunk(headroom + n)
	b.views = append(b.views, view{c: c, off: headroom, end: headroom + n})
	b.length = n
	return b
}

// Copy returns a Buf holding a copy of data after headroom bytes of headroom.
func (p *Pool) Copy(headroom int, data []byte) *Buf {
	b := p.Get(headroom, len(data))
	copy(b.View(0), data)
	return b
}

func (p *Pool) newBuf() *Buf {
	var b *Buf
	if !p.checked {
		b, _ = p.bufs.Get().(*Buf)
	}
	if b == nil {
		b = &Buf{pool: p}
	} else {
		*b = Buf{pool: p}
	}
	b.views = b.inline[:0]
	b.state = stateLive
	p.live.Add(1)
	return b
}

func (p *Pool) putBuf(b *Buf) {
	p.live.Add(-1)
	if p.checked {
		return
	}
	p.bufs.Put(b)
}

func (p *Pool) getChunk(n int) *chunk {
	for i, size := range sizeClasses {
		if n <= size {
			if !p.checked {
				if c, _ := p.chunks[i].Get().(*chunk); c != nil {
					c.refs.Store(1)
					return c
				}
			}
			p.allocated.Add(1)
			c := &chunk{b: make([]byte, size), pool: p, class: int8(i)}
			c.refs.Store(1)
			return c
		}
	}
	p.allocated.Add(1)
	c := &chunk{b: make([]byte, n), pool: p, class: -1}
	c.refs.Store(1)
	return c
}

func (p *Pool) putChunk(c *chunk) {
	if c.class < 0 {
		return
	}
	if p.checked {
		for i := range c.b {
			c.b[i] = 0xdb
		}
		return
	}
	c.pool.chunks[c.class].Put(c)
}

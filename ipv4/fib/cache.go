// Read before editing: RFC 1122 §3.3.1.3 (the route cache) and RFC 1812
// §5.2.4.

package fib

import "sync/atomic"

// The route cache remembers the answers of recent lookups, keyed by
// destination address: a direct-mapped array of slots, each holding one
// destination, the generation of the snapshot its answer came from, and a
// pointer to the answer inside that snapshot (nil for "no route", which is
// cached too). A slot is valid only while its generation is the table's
// current one, so every change to the table — which publishes a snapshot
// with a new generation — invalidates the whole cache at once without
// touching it. (Linux kept such a cache, rt_hash_table, until 3.6; here it
// is small, fixed and lock-free.)
//
// Each slot is a seqlock made of atomics, so that concurrent readers and
// fillers never race: a filler makes the sequence odd with a
// compare-and-swap (and gives up if another filler holds the slot — it is
// only a cache), writes the fields, and makes the sequence even again; a
// reader trusts the fields only if it saw the same even sequence before and
// after reading them. Go's atomics are sequentially consistent, which is
// what makes this correct.

// cacheBits sets the number of slots, cacheSize.
const (
	cacheBits = 10
	cacheSize = 1 << cacheBits
)

type cacheSlot struct {
	seq atomic.Uint32 // odd while a filler writes the slot
	dst atomic.Uint32 // destination address
	gen atomic.Uint64 // generation of the answer; 0 = empty slot
	ent atomic.Pointer[entry]
}

// cacheIndex hashes a destination to its slot (Fibonacci hashing: the top
// bits of the product spread nearby addresses apart).
func cacheIndex(dst uint32) uint32 {
	return (dst * 0x9e3779b1) >> (32 - cacheBits)
}

// load returns the cached answer for dst in generation gen, if the slot
// holds one.
func (s *cacheSlot) load(dst uint32, gen uint64) (*entry, bool) {
	q := s.seq.Load()
	if q&1 != 0 {
		return nil, false
	}
	d, g, e := s.dst.Load(), s.gen.Load(), s.ent.Load()
	if s.seq.Load() != q || d != dst || g != gen {
		return nil, false
	}
	return e, true
}

// store caches e as the answer for dst in generation gen, unless another
// filler holds the slot.
func (s *cacheSlot) store(dst uint32, gen uint64, e *entry) {
	q := s.seq.Load()
	if q&1 != 0 || !s.seq.CompareAndSwap(q, q+1) {
		return
	}
	s.dst.Store(dst)
	s.gen.Store(gen)
	s.ent.Store(e)
	s.seq.Store(q + 2)
}

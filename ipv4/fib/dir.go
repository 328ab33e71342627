// Read before editing: RFC 1812 §5.2.4.3 (longest match) and RFC 1122
// §3.3.1.

package fib

// The trie alone costs a lookup one dependent memory access per level, and
// a table of 100,000 prefixes is some 20 levels deep: most of a microsecond
// once the table no longer fits in the processor's caches. So each
// snapshot puts two directly indexed levels in front of it, in the manner
// of DIR-24-8 (Gupta, Lin and McKeown, 1998) but with strides of 8:
//
//   - dir[a>>24], one slot per /8, holds the best route among the prefixes
//     of length 0 to 8 that contain the /8 (prefix expansion), and, if any
//     longer prefix lies inside the /8, a pointer to a second level;
//   - sub[a>>16&0xff], one slot per /16 of that /8, holds the best route
//     among the prefixes of length 9 to 16 that contain the /16, and the
//     node of the trie under which every prefix of length 16 or more inside
//     the /16 lies.
//
// A lookup reads one slot of each level — the first level is 4 KiB and
// stays in cache — then walks what is left of the trie, a few nodes deep;
// the first answer found, from the deepest level, wins. The levels point
// into the trie, which stays the table's one store of routes, and are
// persistent like it: a change copies the first level and at most one
// second-level array, and recomputes only the slots its prefix covers.

// dirSlot is a slot of the first level: a /8.
type dirSlot struct {
	best *entry        // best route of length 0..8 containing the /8, or nil
	sub  *[256]subSlot // nil if no prefix longer than 8 lies inside the /8
}

// subSlot is a slot of the second level: a /16.
type subSlot struct {
	best *entry // best route of length 9..16 containing the /16, or nil
	deep *node  // root of the trie of prefixes of length >= 16 inside the /16, or nil if none is longer than 16
}

// dir is the first level.
type dir [256]dirSlot

// lookup returns the best route of the longest prefix containing a, or nil;
// the same answer as the trie's lookup. It allocates nothing.
func (d *dir) lookup(a uint32) *entry {
	s := &d[a>>24]
	if s.sub == nil {
		return s.best
	}
	ss := &s.sub[a>>16&0xff]
	if ss.deep != nil {
		if e := ss.deep.lookup(a); e != nil {
			return e
		}
	}
	if ss.best != nil {
		return ss.best
	}
	return s.best
}

// bestIn returns the best route of the longest prefix of length lo..hi in
// the trie rooted at n that contains a, or nil.
func (n *node) bestIn(a uint32, lo, hi uint8) *entry {
	var best *entry
	for n != nil && n.bits <= hi && (a^n.key)&mask(n.bits) == 0 {
		if n.bits >= lo && len(n.routes) > 0 {
			best = &n.routes[0]
		}
		if n.bits == 32 {
			break
		}
		n = n.child[bitAt(a, n.bits)]
	}
	return best
}

// subtrie returns the node of the trie rooted at n under which lie all the
// prefixes of length plen or more inside k/plen (the node itself has length
// plen or more), or nil if there are none.
func (n *node) subtrie(k uint32, plen uint8) *node {
	for n != nil {
		if n.bits >= plen {
			if (k^n.key)&mask(plen) != 0 {
				return nil
			}
			return n
		}
		if (k^n.key)&mask(n.bits) != 0 {
			return nil
		}
		n = n.child[bitAt(k, n.bits)]
	}
	return nil
}

// refresh brings d up to date with the trie rooted at root after a change
// to the routes of prefix k/plen. d is a copy of the previous first level,
// sharing its second-level arrays with the previous version.
func (d *dir) refresh(root *node, k uint32, plen uint8) {
	if plen <= 8 {
		lo := k >> 24
		for i := lo; i < lo+1<<(8-plen); i++ {
			d[i].best = root.bestIn(i<<24, 0, 8)
		}
		return
	}
	d.refreshSub(root, k>>24, k>>16&0xff, 1<<(16-min(plen, 16)))
}

// refreshSub recomputes slots lo to lo+n-1 of the second level of /8 i,
// copying the array first, or drops the array if nothing longer than 8 lies
// inside the /8 any more.
func (d *dir) refreshSub(root *node, i, lo, n uint32) {
	st := root.subtrie(i<<24, 8)
	if st == nil || st.bits == 8 && st.child[0] == nil && st.child[1] == nil {
		d[i].sub = nil
		return
	}
	sub := new([256]subSlot)
	if d[i].sub != nil {
		*sub = *d[i].sub
	}
	for j := lo; j < lo+n; j++ {
		k := i<<24 | j<<16
		deep := st.subtrie(k, 16)
		if deep != nil && deep.bits == 16 && deep.child == [2]*node{} {
			deep = nil // just the /16 itself, which best holds
		}
		sub[j] = subSlot{best: st.bestIn(k, 9, 16), deep: deep}
	}
	d[i].sub = sub
}

// rebuild recomputes all of d from the trie rooted at root.
func (d *dir) rebuild(root *node) {
	for i := range uint32(256) {
		d[i] = dirSlot{best: root.bestIn(i<<24, 0, 8)}
		d.refreshSub(root, i, 0, 256)
	}
}

// Read before editing: RFC 1812 §5.2.4.3 (longest match, then best metric)
// and RFC 1122 §3.3.1.

package fib

import "math/bits"

// The table is a path-compressed binary trie over the 32 bits of the
// address (a PATRICIA trie; Linux's fib_trie is its level-compressed
// cousin). It is persistent: a node, once published, is never written
// again. A change copies the nodes on the path from the root to the prefix
// it touches — at most one per prefix length, so at most 33 — and shares
// everything else with the previous version. Readers holding an old root
// keep a consistent table for as long as they look at it; the garbage
// collector reclaims it after.
//
// Invariants, for a node n and its child c = n.child[b]:
//   - n.key has no bits set past n.bits;
//   - c.bits > n.bits, c.key agrees with n.key on n's first n.bits bits,
//     and bit n.bits of c.key (counting from the most significant) is b;
//   - a node with no routes (a glue node) has two children.
//
// So every node holds routes or forks, a trie of N prefixes has fewer than
// 2N nodes, and a lookup visits at most 33 of them.

// entry is a route as the table stores it, with its insertion number for
// breaking ties.
type entry struct {
	Route
	seq uint64
}

// node is one prefix of the trie.
type node struct {
	key    uint32   // the prefix, masked to bits
	bits   uint8    // prefix length, 0..32
	routes []entry  // routes for exactly this prefix, best first; empty in a glue node
	child  [2]*node // longer prefixes, by the bit after this one's last
}

// mask returns the netmask of a prefix length, as a host-order uint32.
// (A shift by 32 yields 0 in Go, so mask(0) is 0.)
func mask(n uint8) uint32 { return ^uint32(0) << (32 - n) }

// bitAt returns bit i of k, counting from the most significant (bit 0).
func bitAt(k uint32, i uint8) int { return int(k>>(31-i)) & 1 }

// commonLen returns the length of the longest prefix shared by the prefixes
// a/alen and b/blen.
func commonLen(a uint32, alen uint8, b uint32, blen uint8) uint8 {
	n := min(alen, blen)
	if d := uint8(bits.LeadingZeros32(a ^ b)); d < n {
		n = d
	}
	return n
}

// lookup returns the best route of the longest prefix in the trie rooted at
// n that contains a, or nil. It allocates nothing. cf. fib_table_lookup.
func (n *node) lookup(a uint32) *entry {
	var best *entry
	for n != nil && (a^n.key)&mask(n.bits) == 0 {
		if len(n.routes) > 0 {
			best = &n.routes[0]
		}
		if n.bits == 32 {
			break
		}
		n = n.child[bitAt(a, n.bits)]
	}
	return best
}

// find returns the node for exactly key/plen, or nil.
func (n *node) find(key uint32, plen uint8) *node {
	for n != nil && n.bits <= plen && (key^n.key)&mask(n.bits) == 0 {
		if n.bits == plen {
			return n
		}
		n = n.child[bitAt(key, n.bits)]
	}
	return nil
}

// walk calls fn for every node holding routes, in pre-order: a prefix
// before the longer prefixes inside it, lower addresses first. That is the
// order of (address, length).
func (n *node) walk(fn func(*node)) {
	if n == nil {
		return
	}
	if len(n.routes) > 0 {
		fn(n)
	}
	n.child[0].walk(fn)
	n.child[1].walk(fn)
}

// update returns a copy of the trie rooted at n in which the routes of
// prefix key/plen are replaced by edit(old), where old is the current list
// (nil if the prefix is absent). edit must not modify old; it returns the
// new list (empty to remove the prefix) or an error, in which case update
// returns n unchanged with that error. Nodes off the path are shared.
func update(n *node, key uint32, plen uint8, edit func(old []entry) ([]entry, error)) (*node, error) {
	if n == nil {
		rs, err := edit(nil)
		if err != nil || len(rs) == 0 {
			return nil, err
		}
		return &node{key: key, bits: plen, routes: rs}, nil
	}
	cl := commonLen(n.key, n.bits, key, plen)
	switch {
	case cl == n.bits && cl == plen: // n is the prefix
		rs, err := edit(n.routes)
		if err != nil {
			return n, err
		}
		m := *n
		m.routes = rs
		return m.tidy(), nil
	case cl == n.bits: // the prefix lies below n
		b := bitAt(key, n.bits)
		c, err := update(n.child[b], key, plen, edit)
		if err != nil {
			return n, err
		}
		m := *n
		m.child[b] = c
		return m.tidy(), nil
	}
	// The prefix is absent: it either contains n (cl == plen) or forks
	// from it at bit cl.
	rs, err := edit(nil)
	if err != nil || len(rs) == 0 {
		return n, err
	}
	leaf := &node{key: key, bits: plen, routes: rs}
	if cl == plen {
		leaf.child[bitAt(n.key, plen)] = n
		return leaf, nil
	}
	fork := &node{key: key & mask(cl), bits: cl}
	fork.child[bitAt(key, cl)] = leaf
	fork.child[bitAt(n.key, cl)] = n
	return fork, nil
}

// tidy restores the glue-node invariant on a freshly copied node: a node
// without routes and with fewer than two children is replaced by its child
// (or by nothing).
func (m *node) tidy() *node {
	if len(m.routes) > 0 || (m.child[0] != nil && m.child[1] != nil) {
		return m
	}
	if m.child[0] != nil {
		return m.child[0]
	}
	return m.child[1] // maybe nil
}

// filter returns a copy of the trie rooted at n without the routes for
// which drop is true, and how many it dropped. Unchanged subtrees are
// shared; if nothing is dropped, n itself is returned.
func filter(n *node, drop func(*Route) bool) (*node, int) {
	if n == nil {
		return nil, 0
	}
	c0, d0 := filter(n.child[0], drop)
	c1, d1 := filter(n.child[1], drop)
	var rs []entry
	dn := 0
	for i := range n.routes {
		if drop(&n.routes[i].Route) {
			dn++
		}
	}
	if dn > 0 {
		rs = make([]entry, 0, len(n.routes)-dn)
		for _, e := range n.routes {
			if !drop(&e.Route) {
				rs = append(rs, e)
			}
		}
	} else {
		rs = n.routes
	}
	if d0+d1+dn == 0 {
		return n, 0
	}
	m := *n
	m.routes = rs
	m.child = [2]*node{c0, c1}
	return m.tidy(), d0 + d1 + dn
}

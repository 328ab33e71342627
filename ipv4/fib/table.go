// Read before editing: RFC 1812 §5.2.4 (route lookup) and RFC 1122 §3.3.1
// (routing outbound datagrams).

package fib

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"sync"
	"sync/atomic"
)

// Table is an IPv4 routing table. The zero value is an empty table ready to
// use; a Table must not be copied after first use.
//
// It is safe for concurrent use. Lookup takes no lock: it reads the current
// snapshot (an immutable trie behind two directly indexed levels; see
// trie.go and dir.go) through an atomic pointer. Changes are
// serialised by mu, the table's only lock (nothing else is held with it, so
// there is no lock order to keep); each builds a new snapshot sharing all
// it did not touch and publishes it with one atomic store, so a lookup sees
// the table either wholly before or wholly after a change, and a Lookup
// that starts after a change has returned sees that change.
type Table struct {
	mu  sync.Mutex // serialises changes
	seq uint64     // insertion number of the last route added; guarded by mu

	snap atomic.Pointer[snapshot] // nil until the first change

	_     [64]byte // keep the counters, written on every lookup, off snap's cache line
	stats Stats
	_     [64]byte

	cache [cacheSize]cacheSlot
}

// snapshot is one immutable version of the table.
type snapshot struct {
	root *node  // the trie: every route
	gen  uint64 // 1 for the first version, then one more for each change
	n    int    // number of routes
	dir  dir    // the directly indexed levels in front of root
}

// Stats counts route cache results. Read it with Load; it is ready at zero.
type Stats struct {
	CacheHits   atomic.Uint64 // lookups answered by the route cache
	CacheMisses atomic.Uint64 // lookups that walked the table
}

// Stats returns the table's counters.
func (t *Table) Stats() *Stats { return &t.stats }

// errUnchanged tells update's caller that an edit found nothing to do.
var errUnchanged = errors.New("fib: unchanged")

// key4 returns an IPv4 address as a host-order uint32.
func key4(a netip.Addr) uint32 {
	b := a.As4()
	return binary.BigEndian.Uint32(b[:])
}

// Lookup returns the route to dst: among the routes whose Dst contains dst,
// the one with the longest prefix, then the lowest metric, then the
// earliest added (RFC 1812 §5.2.4.3). It reports false if no route
// contains dst, or dst is not an IPv4 address (an IPv4-mapped IPv6 address
// is not). It allocates nothing.
//
// The answer comes from the route cache when it holds one for dst from the
// current version of the table; otherwise from the snapshot's directly
// indexed levels and the trie behind them, and is then cached (the cache
// holds "no route" answers too). CacheHits or CacheMisses counts which.
// cf. fib_table_lookup, behind the old ip_route_output cache.
//
// Context: softnet or process; lock-free.
func (t *Table) Lookup(dst netip.Addr) (Route, bool) {
	if !dst.Is4() {
		return Route{}, false
	}
	s := t.snap.Load()
	if s == nil {
		return Route{}, false
	}
	k := key4(dst)
	slot := &t.cache[cacheIndex(k)]
	e, ok := slot.load(k, s.gen)
	if ok {
		t.stats.CacheHits.Add(1)
	} else {
		t.stats.CacheMisses.Add(1)
		e = s.dir.lookup(k)
		slot.store(k, s.gen, e)
	}
	if e == nil {
		return Route{}, false
	}
	return e.Route, true
}

// Add adds r to the table. It masks r.Dst, and takes a Gateway of 0.0.0.0
// as none. It returns ErrExists if the table holds a route with the same
// Dst, Metric, Gateway and Dev; ErrNotIPv4 if Dst, Gateway or Src is set
// and not IPv4; ErrNoDevice if Dev is not positive; ErrBadMTU if MTU is
// negative. cf. fib_table_insert.
//
// Context: process.
func (t *Table) Add(r Route) error {
	r, err := r.check()
	if err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.current()
	seq := t.seq + 1
	root, err := update(s.root, key4(r.Dst.Addr()), uint8(r.Dst.Bits()), func(old []entry) ([]entry, error) {
		i := len(old)
		for j := range old {
			if sameKey(&old[j].Route, &r) {
				return nil, ErrExists
			}
			if i == len(old) && old[j].Metric > r.Metric {
				i = j
			}
		}
		rs := make([]entry, 0, len(old)+1)
		rs = append(rs, old[:i]...)
		rs = append(rs, entry{Route: r, seq: seq})
		return append(rs, old[i:]...), nil
	})
	if err != nil {
		return err
	}
	t.seq = seq
	t.publishLocked(s, root, s.n+1, r.Dst)
	return nil
}

// Delete removes one route selected by m: the best (lowest metric, then
// earliest added) of those whose Dst equals m.Dst, masked, and whose other
// fields equal those set in m — a valid address, or any other non-zero
// value; a field left zero matches anything. So
// Delete(Route{Dst: p}) removes the best route to p, as
// `ip route del p` does. It returns ErrNotFound if no route matches, and
// ErrNotIPv4 if m.Dst is not an IPv4 prefix. cf. fib_table_delete.
//
// Context: process.
func (t *Table) Delete(m Route) error {
	if !m.Dst.IsValid() || !m.Dst.Addr().Is4() {
		return ErrNotIPv4
	}
	m.Dst = m.Dst.Masked()
	if m.Gateway.IsValid() && m.Gateway.IsUnspecified() {
		m.Gateway = netip.Addr{}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.current()
	root, err := update(s.root, key4(m.Dst.Addr()), uint8(m.Dst.Bits()), func(old []entry) ([]entry, error) {
		for i := range old {
			if m.matches(&old[i].Route) {
				rs := make([]entry, 0, len(old)-1)
				rs = append(rs, old[:i]...)
				return append(rs, old[i+1:]...), nil
			}
		}
		return nil, ErrNotFound
	})
	if err != nil {
		return err
	}
	t.publishLocked(s, root, s.n-1, m.Dst)
	return nil
}

// DeleteDev removes every route through device ifindex, as when the device
// goes down, and returns how many it removed. cf. fib_sync_down_dev.
//
// Context: process.
func (t *Table) DeleteDev(ifindex int) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.current()
	root, n := filter(s.root, func(r *Route) bool { return r.Dev == ifindex })
	if n > 0 {
		t.publishLocked(s, root, s.n-n, netip.Prefix{})
	}
	return n
}

// DeletePrefixDev removes every route to prefix p (masked) through device
// ifindex, whatever its gateway or metric, as when the address that gave a
// device its connected route is removed, and returns how many it removed.
// cf. fib_del_ifaddr.
//
// Context: process.
func (t *Table) DeletePrefixDev(p netip.Prefix, ifindex int) int {
	if !p.IsValid() || !p.Addr().Is4() {
		return 0
	}
	p = p.Masked()
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.current()
	n := 0
	root, err := update(s.root, key4(p.Addr()), uint8(p.Bits()), func(old []entry) ([]entry, error) {
		var rs []entry
		for _, e := range old {
			if e.Dev != ifindex {
				rs = append(rs, e)
			}
		}
		if n = len(old) - len(rs); n == 0 {
			return nil, errUnchanged
		}
		return rs, nil
	})
	if err != nil {
		return 0
	}
	t.publishLocked(s, root, s.n-n, p)
	return n
}

// Routes returns a copy of every route, sorted by destination address, then
// prefix length (shorter first), then preference (lowest metric, then
// earliest added) — the order in which Lookup would prefer routes of equal
// prefix.
//
// Context: process.
func (t *Table) Routes() []Route {
	s := t.snap.Load()
	if s == nil {
		return nil
	}
	rs := make([]Route, 0, s.n)
	s.root.walk(func(n *node) {
		for _, e := range n.routes {
			rs = append(rs, e.Route)
		}
	})
	return rs
}

// Len returns the number of routes in the table.
//
// Context: any; lock-free.
func (t *Table) Len() int {
	if s := t.snap.Load(); s != nil {
		return s.n
	}
	return 0
}

// current returns the table's snapshot, or an empty one of generation 0.
func (t *Table) current() *snapshot {
	if s := t.snap.Load(); s != nil {
		return s
	}
	return &snapshot{}
}

// publishLocked makes root, holding n routes, the table's next version
// after s, given that only the routes of prefix p changed (or any, if p is
// invalid). Publishing a new generation invalidates the route cache.
func (t *Table) publishLocked(s *snapshot, root *node, n int, p netip.Prefix) {
	ns := &snapshot{root: root, gen: s.gen + 1, n: n, dir: s.dir}
	if p.IsValid() {
		ns.dir.refresh(root, key4(p.Addr()), uint8(p.Bits()))
	} else {
		ns.dir.rebuild(root)
	}
	t.snap.Store(ns)
}

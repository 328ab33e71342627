package fib

import (
	"cmp"
	"math/rand/v2"
	"net/netip"
	"slices"
	"sync"
	"testing"
)

// naive is the reference the table is checked against: a list of routes
// scanned in full, written from the rules in Lookup's and Delete's doc
// comments and sharing no code with the trie.
type naive struct {
	rs  []entry
	seq uint64
}

// better reports whether a is preferred to b among routes of one prefix.
func better(a, b *entry) bool {
	if a.Metric != b.Metric {
		return a.Metric < b.Metric
	}
	return a.seq < b.seq
}

func (n *naive) add(r Route) error {
	r, err := r.check()
	if err != nil {
		return err
	}
	for _, e := range n.rs {
		if e.Dst == r.Dst && e.Metric == r.Metric && e.Gateway == r.Gateway && e.Dev == r.Dev {
			return ErrExists
		}
	}
	n.seq++
	n.rs = append(n.rs, entry{Route: r, seq: n.seq})
	return nil
}

func (n *naive) lookup(a netip.Addr) (Route, bool) {
	if !a.Is4() {
		return Route{}, false
	}
	k := key4(a)
	var best *entry
	for i := range n.rs {
		e := &n.rs[i]
		m := ^uint32(0) << (32 - e.Dst.Bits()) // 0 for /0
		if k&m != key4(e.Dst.Addr()) {
			continue
		}
		if best == nil || e.Dst.Bits() > best.Dst.Bits() || e.Dst.Bits() == best.Dst.Bits() && better(e, best) {
			best = e
		}
	}
	if best == nil {
		return Route{}, false
	}
	return best.Route, true
}

func (n *naive) delete(m Route) error {
	if !m.Dst.IsValid() || !m.Dst.Addr().Is4() {
		return ErrNotIPv4
	}
	m.Dst = m.Dst.Masked()
	best := -1
	for i := range n.rs {
		e := &n.rs[i]
		if e.Dst != m.Dst ||
			m.Gateway.IsValid() && !m.Gateway.IsUnspecified() && m.Gateway != e.Gateway ||
			m.Dev != 0 && m.Dev != e.Dev ||
			m.Metric != 0 && m.Metric != e.Metric {
			continue
		}
		if best < 0 || better(e, &n.rs[best]) {
			best = i
		}
	}
	if best < 0 {
		return ErrNotFound
	}
	n.rs = slices.Delete(n.rs, best, best+1)
	return nil
}

func (n *naive) deleteDev(dev int) int {
	k := len(n.rs)
	n.rs = slices.DeleteFunc(n.rs, func(e entry) bool { return e.Dev == dev })
	return k - len(n.rs)
}

func (n *naive) deletePrefixDev(p netip.Prefix, dev int) int {
	k := len(n.rs)
	p = p.Masked()
	n.rs = slices.DeleteFunc(n.rs, func(e entry) bool { return e.Dst == p && e.Dev == dev })
	return k - len(n.rs)
}

func (n *naive) routes() []Route {
	es := slices.Clone(n.rs)
	slices.SortFunc(es, func(a, b entry) int {
		if c := a.Dst.Addr().Compare(b.Dst.Addr()); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Dst.Bits(), b.Dst.Bits()); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Metric, b.Metric); c != 0 {
			return c
		}
		return cmp.Compare(a.seq, b.seq)
	})
	var rs []Route
	for _, e := range es {
		rs = append(rs, e.Route)
	}
	return rs
}

func a4(k uint32) netip.Addr {
	return netip.AddrFrom4([4]byte{byte(k >> 24), byte(k >> 16), byte(k >> 8), byte(k)})
}

// randRoute draws a route from a small space, so that prefixes overlap,
// nest and collide, and metrics and devices tie.
func randRoute(rng *rand.Rand) Route {
	bits := 8 + rng.IntN(25) // 8..32
	if rng.IntN(20) == 0 {
		bits = rng.IntN(8)
	}
	k := 0x0a000000 | rng.Uint32()&0x0003ffff // 10.0.0.0/14
	if rng.IntN(10) == 0 {
		k = rng.Uint32()
	}
	r := Route{
		Dst:    netip.PrefixFrom(a4(k), bits), // Add masks it
		Dev:    1 + rng.IntN(4),
		Metric: uint32(rng.IntN(3)),
	}
	if rng.IntN(2) == 0 {
		r.Gateway = a4(0xc0000200 | uint32(rng.IntN(4))) // 192.0.2.0..3
	}
	return r
}

// probes returns addresses worth looking up: the edges of up to nedge of
// the routes' prefixes and their neighbours, and n random addresses in and
// out of the routes' space.
func probes(rng *rand.Rand, rs []Route, nedge, n int) []netip.Addr {
	var as []netip.Addr
	for range min(nedge, len(rs)) {
		r := rs[rng.IntN(len(rs))]
		lo := key4(r.Dst.Addr())
		hi := lo | ^mask(uint8(r.Dst.Bits()))
		as = append(as, a4(lo), a4(lo-1), a4(hi), a4(hi+1))
	}
	for range n {
		as = append(as, a4(0x0a000000|rng.Uint32()&0x0003ffff), a4(rng.Uint32()))
	}
	return as
}

// check compares tb with ref on Routes and Len, and then on a Lookup of
// every address in as.
func check(t *testing.T, tb *Table, ref *naive, as []netip.Addr) {
	t.Helper()
	if got, want := tb.Routes(), ref.routes(); !slices.Equal(got, want) {
		t.Fatalf("Routes() =\n%v\nwant\n%v", got, want)
	}
	if got, want := tb.Len(), len(ref.rs); got != want {
		t.Fatalf("Len() = %d, want %d", got, want)
	}
	if s := tb.snap.Load(); s != nil {
		checkDir(t, s)
	}
	checkLookups(t, tb, ref, as)
}

// checkDir checks that the directly indexed levels, as kept up to date
// change by change, are what a rebuild from the trie makes of them.
func checkDir(t *testing.T, s *snapshot) {
	t.Helper()
	var d dir
	d.rebuild(s.root)
	for i := range d {
		got, want := s.dir[i], d[i]
		if got.best != want.best || (got.sub == nil) != (want.sub == nil) || got.sub != nil && *got.sub != *want.sub {
			t.Fatalf("dir[%d] = %+v, rebuilt %+v", i, got, want)
		}
	}
}

// checkLookups compares tb with ref on a Lookup of every address in as,
// twice so that the second answer comes from the cache, and once more on
// each of the trie and the directly indexed levels alone.
func checkLookups(t *testing.T, tb *Table, ref *naive, as []netip.Addr) {
	t.Helper()
	for _, a := range as {
		wr, wok := ref.lookup(a)
		for range 2 {
			if r, ok := tb.Lookup(a); ok != wok || r != wr {
				t.Fatalf("Lookup(%v) = %s, want %s", a, show(r, ok), show(wr, wok))
			}
		}
		if !a.Is4() {
			continue
		}
		s := tb.snap.Load()
		if e := s.root.lookup(key4(a)); (e != nil) != wok || wok && e.Route != wr {
			t.Fatalf("trie lookup(%v) = %v, want %s", a, e, show(wr, wok))
		}
		if e := s.dir.lookup(key4(a)); (e != nil) != wok || wok && e.Route != wr {
			t.Fatalf("dir lookup(%v) = %v, want %s", a, e, show(wr, wok))
		}
	}
}

// TestAgainstNaive builds a table of thousands of random, overlapping
// routes, changes it at random, and checks every answer against the naive
// reference — after every change for a set of hot addresses, whose cached
// answers every change makes stale.
func TestAgainstNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	nroutes, nops := 3000, 3000
	if testing.Short() || raceEnabled {
		nroutes, nops = 1000, 1000
	}
	var tb Table
	ref := &naive{}
	for range nroutes {
		r := randRoute(rng)
		if err, want := tb.Add(r), ref.add(r); err != want {
			t.Fatalf("Add(%v) = %v, want %v", r, err, want)
		}
	}
	check(t, &tb, ref, probes(rng, ref.routes(), nroutes, 2000))
	hot := probes(rng, ref.routes(), 4, 4)

	for i := range nops {
		switch op := rng.IntN(10); {
		case op < 5:
			r := randRoute(rng)
			if err, want := tb.Add(r), ref.add(r); err != want {
				t.Fatalf("Add(%v) = %v, want %v", r, err, want)
			}
		case op < 9:
			// Delete an existing route, named partly, or a random one.
			m := randRoute(rng)
			if len(ref.rs) > 0 && rng.IntN(4) != 0 {
				e := ref.rs[rng.IntN(len(ref.rs))]
				m = Route{Dst: e.Dst}
				if rng.IntN(2) == 0 {
					m.Dev = e.Dev
				}
				if rng.IntN(2) == 0 {
					m.Gateway = e.Gateway
				}
				if rng.IntN(2) == 0 {
					m.Metric = e.Metric
				}
			}
			if err, want := tb.Delete(m), ref.delete(m); err != want {
				t.Fatalf("Delete(%v) = %v, want %v", m, err, want)
			}
		default:
			p, dev := randRoute(rng).Dst, 1+rng.IntN(4)
			if len(ref.rs) > 0 {
				p = ref.rs[rng.IntN(len(ref.rs))].Dst
			}
			if got, want := tb.DeletePrefixDev(p, dev), ref.deletePrefixDev(p, dev); got != want {
				t.Fatalf("DeletePrefixDev(%v, %d) = %d, want %d", p, dev, got, want)
			}
		}
		checkLookups(t, &tb, ref, hot)
		if i%1000 == 999 {
			check(t, &tb, ref, probes(rng, ref.routes(), 500, 1000))
		}
	}

	for dev := 1; dev <= 4; dev++ {
		if got, want := tb.DeleteDev(dev), ref.deleteDev(dev); got != want {
			t.Fatalf("DeleteDev(%d) = %d, want %d", dev, got, want)
		}
		check(t, &tb, ref, append(hot, probes(rng, ref.routes(), 500, 1000)...))
	}
	if s := tb.snap.Load(); tb.Len() != 0 || s.root != nil || s.dir != (dir{}) {
		t.Fatalf("table not empty after deleting every device: Len() = %d, root = %v, dir = %v", tb.Len(), s.root, s.dir)
	}
}

// TestConcurrent runs lookups while routes are added and deleted; with
// -race it checks that the read path is race-free, and it checks that every
// answer is one the table held at some moment.
func TestConcurrent(t *testing.T) {
	var tb Table
	mustAdd(t, &tb, rt("0.0.0.0/0", "192.0.2.1", 1, 0), rt("10.0.0.0/8", "", 2, 0))
	const writers, readers = 3, 4
	iters := 2000
	if testing.Short() {
		iters = 200
	}
	var wg sync.WaitGroup
	done := make(chan struct{})
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Writer w owns 10.(100+w).0.0/16 and device 10+w, so what it
			// reads back of its own is determined.
			dev := 10 + w
			for i := range iters {
				p := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(100 + w), byte(i), 0}), 24)
				dst := netip.AddrFrom4([4]byte{10, byte(100 + w), byte(i), 1})
				if err := tb.Add(Route{Dst: p, Dev: dev}); err != nil {
					t.Errorf("Add(%v) = %v", p, err)
					return
				}
				if r, ok := tb.Lookup(dst); !ok || r.Dst != p {
					t.Errorf("Lookup(%v) after Add = %s, want %v", dst, show(r, ok), p)
					return
				}
				if i%7 == 0 {
					tb.DeleteDev(dev)
				} else if err := tb.Delete(Route{Dst: p}); err != nil {
					t.Errorf("Delete(%v) = %v", p, err)
					return
				}
				if r, ok := tb.Lookup(dst); !ok || r.Dev != 2 {
					t.Errorf("Lookup(%v) after Delete = %s, want 10.0.0.0/8", dst, show(r, ok))
					return
				}
			}
		}()
	}
	var rg sync.WaitGroup
	for g := range readers {
		rg.Add(1)
		go func() {
			defer rg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 0))
			for n := 0; ; n++ {
				select {
				case <-done:
					return
				default:
				}
				var dst netip.Addr
				switch rng.IntN(3) {
				case 0:
					dst = netip.AddrFrom4([4]byte{10, byte(100 + rng.IntN(writers)), byte(rng.IntN(4)), 1})
				case 1:
					dst = netip.AddrFrom4([4]byte{10, byte(rng.IntN(100)), 1, 1})
				default:
					dst = netip.AddrFrom4([4]byte{192, 168, 1, byte(rng.IntN(256))})
				}
				r, ok := tb.Lookup(dst)
				switch {
				case !ok || !r.Dst.Contains(dst):
					t.Errorf("Lookup(%v) = %s", dst, show(r, ok))
					return
				case dst.As4()[0] != 10 && r.Dev != 1,
					dst.As4()[0] == 10 && dst.As4()[1] < 100 && r.Dev != 2,
					r.Dst.Bits() == 24 && r.Dev != 10+int(dst.As4()[1])-100:
					t.Errorf("Lookup(%v) = %s, not a route the table held", dst, r)
					return
				}
				if n%1000 == 0 {
					_ = tb.Routes()
				}
			}
		}()
	}
	wg.Wait()
	close(done)
	rg.Wait()
	if got := strs(tb.Routes()); !slices.Equal(got, []string{"default via 192.0.2.1 dev 1 metric 0", "10.0.0.0/8 dev 2 metric 0"}) {
		t.Errorf("Routes() after the writers = %q", got)
	}
	st := tb.Stats()
	t.Logf("cache: %d hits, %d misses", st.CacheHits.Load(), st.CacheMisses.Load())
}

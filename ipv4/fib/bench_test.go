package fib

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"
)

// benchTable returns a table of n routes shaped roughly like an Internet
// table — mostly /24s, then /16-/23s, a few shorter — plus a default
// route, and addresses half of which fall inside its prefixes.
func benchTable(b *testing.B, n int) (*Table, []netip.Addr) {
	rng := rand.New(rand.NewPCG(uint64(n), 7))
	tb := &Table{}
	if err := tb.Add(Route{Dst: pfx("0.0.0.0/0"), Gateway: addr("192.0.2.1"), Dev: 1}); err != nil {
		b.Fatal(err)
	}
	var dsts []netip.Addr
	for tb.Len() < n {
		var bits int
		switch x := rng.IntN(10); {
		case x < 6:
			bits = 24
		case x < 9:
			bits = 16 + rng.IntN(8)
		default:
			bits = 8 + rng.IntN(8)
		}
		k := rng.Uint32()
		r := Route{Dst: netip.PrefixFrom(a4(k), bits), Gateway: a4(0xc0000200 | k&0xff), Dev: 1 + int(k%4)}
		if tb.Add(r) == nil && len(dsts) < 1<<16 {
			dsts = append(dsts, a4(k^rng.Uint32()>>uint(bits)))
		}
	}
	for len(dsts) < 1<<17 {
		dsts = append(dsts, a4(rng.Uint32()))
	}
	rng.Shuffle(len(dsts), func(i, j int) { dsts[i], dsts[j] = dsts[j], dsts[i] })
	return tb, dsts
}

// BenchmarkLookup measures Lookup with the destinations mostly in the
// route cache ("cached": 256 of them, cycled) and mostly not ("uncached":
// 128K of them); and, on the uncached destinations without the cache, the
// directly indexed levels with the trie behind them ("nocache", what a
// cache miss costs) and the trie walk alone ("trie").
func BenchmarkLookup(b *testing.B) {
	for _, n := range []int{10, 1000, 100000} {
		tb, dsts := benchTable(b, n)
		for _, mode := range []string{"cached", "uncached", "nocache", "trie"} {
			b.Run(fmt.Sprintf("routes=%d/%s", n, mode), func(b *testing.B) {
				ds := dsts
				if mode == "cached" {
					ds = dsts[:256]
				}
				st := tb.Stats()
				h0, m0 := st.CacheHits.Load(), st.CacheMisses.Load()
				snap := tb.snap.Load()
				b.ReportAllocs()
				b.ResetTimer()
				i, found := 0, 0
				for b.Loop() {
					a := ds[i&(len(ds)-1)]
					i++
					// Each mode reads the route found, as a caller would.
					switch mode {
					case "nocache":
						if e := snap.dir.lookup(key4(a)); e != nil {
							found += e.Dev
						}
					case "trie":
						if e := snap.root.lookup(key4(a)); e != nil {
							found += e.Dev
						}
					default:
						if r, ok := tb.Lookup(a); ok {
							found += r.Dev
						}
					}
				}
				if found == 0 {
					b.Fatal("no destination found a route")
				}
				if h, m := st.CacheHits.Load()-h0, st.CacheMisses.Load()-m0; h+m > 0 {
					b.ReportMetric(100*float64(h)/float64(h+m), "%hit")
				}
			})
		}
	}
}

// BenchmarkAdd measures adding (and then deleting) one route to a table of
// 100,000.
func BenchmarkAdd(b *testing.B) {
	tb, _ := benchTable(b, 100000)
	r := Route{Dst: pfx("198.51.100.0/24"), Dev: 9}
	b.ReportAllocs()
	for b.Loop() {
		if err := tb.Add(r); err != nil {
			b.Fatal(err)
		}
		if err := tb.Delete(r); err != nil {
			b.Fatal(err)
		}
	}
}

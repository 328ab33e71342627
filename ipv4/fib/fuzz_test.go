package fib

import (
	"net/netip"
	"testing"
)

// FuzzLookup runs a program of table operations decoded from the input
// against the table and the naive reference, comparing every result. Each
// 8-byte record is
//
//	op | a0 a1 a2 a3 | bits | metric | dev
//
// where op%8 selects Add (0-2), Delete (3), DeletePrefixDev (4), DeleteDev
// (5) or Lookup (6-7) of address a0.a1.a2.a3; bits%34 is the prefix length
// (33 makes an IPv6 prefix, to be rejected); metric%4 and dev%4 keep ties
// and duplicates frequent, and op's high bit adds a gateway. After the
// program, every address named in it and its neighbours are looked up.
// The seed corpus is in testdata/fuzz/FuzzLookup.
func FuzzLookup(f *testing.F) {
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		var tb Table
		ref := &naive{}
		var seen []uint32
		for ; len(data) >= 8; data = data[8:] {
			op, k := data[0], uint32(data[1])<<24|uint32(data[2])<<16|uint32(data[3])<<8|uint32(data[4])
			seen = append(seen, k)
			p := netip.PrefixFrom(a4(k), int(data[5]%34))
			if data[5]%34 == 33 {
				p = netip.PrefixFrom(netip.AddrFrom16(a4(k).As16()), 64)
			}
			r := Route{Dst: p, Metric: uint32(data[6] % 4), Dev: int(data[7] % 4)}
			if op&0x80 != 0 {
				r.Gateway = a4(k ^ 1)
			}
			switch op % 8 {
			case 0, 1, 2:
				if err, want := tb.Add(r), ref.add(r); err != want {
					t.Fatalf("Add(%v) = %v, want %v", r, err, want)
				}
			case 3:
				if err, want := tb.Delete(r), ref.delete(r); err != want {
					t.Fatalf("Delete(%v) = %v, want %v", r, err, want)
				}
			case 4:
				want := 0
				if p.Addr().Is4() {
					want = ref.deletePrefixDev(p, r.Dev)
				}
				if got := tb.DeletePrefixDev(p, r.Dev); got != want {
					t.Fatalf("DeletePrefixDev(%v, %d) = %d, want %d", p, r.Dev, got, want)
				}
			case 5:
				if got, want := tb.DeleteDev(r.Dev), ref.deleteDev(r.Dev); got != want {
					t.Fatalf("DeleteDev(%d) = %d, want %d", r.Dev, got, want)
				}
			default:
				a := a4(k)
				r, ok := tb.Lookup(a)
				if wr, wok := ref.lookup(a); ok != wok || r != wr {
					t.Fatalf("Lookup(%v) = %s, want %s", a, show(r, ok), show(wr, wok))
				}
			}
		}
		var as []netip.Addr
		for _, k := range seen {
			as = append(as, a4(k), a4(k-1), a4(k+1), a4(^k))
		}
		if tb.snap.Load() == nil {
			for _, a := range as {
				if r, ok := tb.Lookup(a); ok {
					t.Fatalf("Lookup(%v) in an untouched table = %v", a, r)
				}
			}
			return
		}
		check(t, &tb, ref, as)
	})
}

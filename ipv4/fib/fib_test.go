package fib

import (
	"errors"
	"net/netip"
	"slices"
	"testing"
)

var (
	pfx  = netip.MustParsePrefix
	addr = netip.MustParseAddr
)

// rt builds a route from the fields tests vary most.
func rt(dst, gw string, dev int, metric uint32) Route {
	r := Route{Dst: pfx(dst), Dev: dev, Metric: metric}
	if gw != "" {
		r.Gateway = addr(gw)
	}
	return r
}

func mustAdd(t testing.TB, tb *Table, rs ...Route) {
	t.Helper()
	for _, r := range rs {
		if err := tb.Add(r); err != nil {
			t.Fatalf("Add(%v) = %v, want nil", r, err)
		}
	}
}

// show formats a Lookup result, "none" for no route.
func show(r Route, ok bool) string {
	if !ok {
		return "none"
	}
	return r.String()
}

func TestLookup(t *testing.T) {
	type probe struct{ dst, want string }
	tests := []struct {
		name   string
		routes []Route
		probes []probe
	}{
		{
			name:   "empty table",
			probes: []probe{{"10.0.0.1", "none"}, {"0.0.0.0", "none"}},
		},
		{
			name: "longest prefix wins over overlapping prefixes",
			routes: []Route{
				rt("10.0.0.0/8", "", 1, 0),
				rt("10.0.1.128/25", "", 4, 0),
				rt("10.0.0.0/16", "", 2, 0),
				rt("10.0.1.0/24", "", 3, 0),
			},
			probes: []probe{
				{"10.200.0.1", "10.0.0.0/8 dev 1 metric 0"},
				{"10.0.200.1", "10.0.0.0/16 dev 2 metric 0"},
				{"10.0.1.1", "10.0.1.0/24 dev 3 metric 0"},
				{"10.0.1.127", "10.0.1.0/24 dev 3 metric 0"},
				{"10.0.1.128", "10.0.1.128/25 dev 4 metric 0"},
				{"10.0.1.255", "10.0.1.128/25 dev 4 metric 0"},
				{"10.0.2.0", "10.0.0.0/16 dev 2 metric 0"},
				{"11.0.0.0", "none"},
				{"9.255.255.255", "none"},
			},
		},
		{
			name: "default route catches the rest",
			routes: []Route{
				rt("0.0.0.0/0", "192.168.1.1", 1, 100),
				{Dst: pfx("192.168.1.0/24"), Dev: 1, Proto: ProtoKernel, Scope: ScopeLink, Src: addr("192.168.1.10")},
			},
			probes: []probe{
				{"8.8.8.8", "default via 192.168.1.1 dev 1 metric 100"},
				{"0.0.0.0", "default via 192.168.1.1 dev 1 metric 100"},
				{"255.255.255.255", "default via 192.168.1.1 dev 1 metric 100"},
				{"192.168.1.77", "192.168.1.0/24 dev 1 proto kernel scope link src 192.168.1.10 metric 0"},
				{"192.168.2.1", "default via 192.168.1.1 dev 1 metric 100"},
			},
		},
		{
			name: "lowest metric wins a tie of prefix length",
			routes: []Route{
				rt("10.0.0.0/8", "", 1, 100),
				rt("10.0.0.0/8", "", 2, 50),
				rt("10.0.0.0/8", "", 3, 200),
			},
			probes: []probe{{"10.1.2.3", "10.0.0.0/8 dev 2 metric 50"}},
		},
		{
			name: "earliest added wins a tie of metric",
			routes: []Route{
				rt("10.0.0.0/8", "10.255.0.1", 1, 10),
				rt("10.0.0.0/8", "10.255.0.2", 1, 10),
				rt("10.0.0.0/8", "", 2, 10),
			},
			probes: []probe{{"10.1.2.3", "10.0.0.0/8 via 10.255.0.1 dev 1 metric 10"}},
		},
		{
			name: "longer prefix beats lower metric",
			routes: []Route{
				rt("10.0.0.0/8", "", 1, 0),
				rt("10.1.0.0/16", "", 2, 1000),
			},
			probes: []probe{{"10.1.0.1", "10.1.0.0/16 dev 2 metric 1000"}},
		},
		{
			name: "host routes",
			routes: []Route{
				rt("10.0.0.0/24", "", 2, 0),
				rt("10.0.0.5/32", "10.0.0.1", 3, 0),
				rt("255.255.255.255/32", "", 4, 0),
				rt("0.0.0.0/32", "", 5, 0),
			},
			probes: []probe{
				{"10.0.0.5", "10.0.0.5 via 10.0.0.1 dev 3 metric 0"},
				{"10.0.0.4", "10.0.0.0/24 dev 2 metric 0"},
				{"10.0.0.6", "10.0.0.0/24 dev 2 metric 0"},
				{"255.255.255.255", "255.255.255.255 dev 4 metric 0"},
				{"255.255.255.254", "none"},
				{"0.0.0.0", "0.0.0.0 dev 5 metric 0"},
				{"0.0.0.1", "none"},
			},
		},
		{
			name: "sibling prefixes fork without covering the gap",
			routes: []Route{
				rt("10.0.0.0/24", "", 1, 0),
				rt("10.0.1.0/24", "", 2, 0),
				rt("10.0.3.0/24", "", 3, 0),
			},
			probes: []probe{
				{"10.0.0.9", "10.0.0.0/24 dev 1 metric 0"},
				{"10.0.1.9", "10.0.1.0/24 dev 2 metric 0"},
				{"10.0.2.9", "none"},
				{"10.0.3.9", "10.0.3.0/24 dev 3 metric 0"},
			},
		},
		{
			name:   "Add masks the prefix",
			routes: []Route{rt("10.0.1.77/24", "", 1, 0)},
			probes: []probe{
				{"10.0.1.1", "10.0.1.0/24 dev 1 metric 0"},
				{"10.0.2.1", "none"},
			},
		},
		{
			name:   "gateway 0.0.0.0 means directly connected",
			routes: []Route{rt("10.0.0.0/8", "0.0.0.0", 1, 0)},
			probes: []probe{{"10.1.1.1", "10.0.0.0/8 dev 1 metric 0"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var tb Table
			mustAdd(t, &tb, tc.routes...)
			// Twice: the second round is answered by the route cache.
			for round := range 2 {
				for _, p := range tc.probes {
					if got := show(tb.Lookup(addr(p.dst))); got != p.want {
						t.Errorf("round %d: Lookup(%s) = %s, want %s", round, p.dst, got, p.want)
					}
				}
			}
		})
	}
}

func TestLookupNotIPv4(t *testing.T) {
	var tb Table
	mustAdd(t, &tb, rt("0.0.0.0/0", "10.0.0.1", 1, 0))
	for _, a := range []netip.Addr{{}, addr("::1"), addr("::ffff:10.0.0.1"), addr("2001:db8::1")} {
		if r, ok := tb.Lookup(a); ok {
			t.Errorf("Lookup(%v) = %v, true; want false", a, r)
		}
	}
}

func TestAddErrors(t *testing.T) {
	tests := []struct {
		name string
		r    Route
		want error
	}{
		{"IPv6 prefix", rt("2001:db8::/32", "", 1, 0), ErrNotIPv4},
		{"IPv4-mapped prefix", rt("::ffff:10.0.0.0/104", "", 1, 0), ErrNotIPv4},
		{"invalid prefix", Route{Dev: 1}, ErrNotIPv4},
		{"IPv6 gateway", rt("10.0.0.0/8", "fe80::1", 1, 0), ErrNotIPv4},
		{"IPv6 source", Route{Dst: pfx("10.0.0.0/8"), Dev: 1, Src: addr("::1")}, ErrNotIPv4},
		{"no device", rt("10.0.0.0/8", "", 0, 0), ErrNoDevice},
		{"negative device", rt("10.0.0.0/8", "", -1, 0), ErrNoDevice},
		{"negative MTU", Route{Dst: pfx("10.0.0.0/8"), Dev: 1, MTU: -1}, ErrBadMTU},
		{"duplicate", rt("10.0.0.0/8", "10.9.9.9", 1, 5), ErrExists},
		{"duplicate before masking", rt("10.1.2.3/8", "10.9.9.9", 1, 5), ErrExists},
		{"duplicate differing only in proto", Route{Dst: pfx("10.0.0.0/8"), Gateway: addr("10.9.9.9"), Dev: 1, Metric: 5, Proto: ProtoStatic}, ErrExists},
		{"other metric", rt("10.0.0.0/8", "10.9.9.9", 1, 6), nil},
		{"other gateway", rt("10.0.0.0/8", "10.9.9.8", 1, 5), nil},
		{"other device", rt("10.0.0.0/8", "10.9.9.9", 2, 5), nil},
		{"other prefix length", rt("10.0.0.0/9", "10.9.9.9", 1, 5), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var tb Table
			mustAdd(t, &tb, rt("10.0.0.0/8", "10.9.9.9", 1, 5))
			if err := tb.Add(tc.r); !errors.Is(err, tc.want) {
				t.Fatalf("Add(%v) = %v, want %v", tc.r, err, tc.want)
			}
			wantLen := 1
			if tc.want == nil {
				wantLen = 2
			}
			if got := tb.Len(); got != wantLen {
				t.Errorf("Len() = %d after Add, want %d", got, wantLen)
			}
		})
	}
}

func TestDelete(t *testing.T) {
	base := []Route{
		rt("10.0.0.0/8", "", 1, 0),
		rt("10.1.0.0/16", "10.0.0.1", 1, 20),
		rt("10.1.0.0/16", "10.0.0.2", 2, 10),
		rt("10.1.0.0/16", "10.0.0.3", 2, 10),
		rt("10.1.1.0/24", "", 3, 0),
	}
	tests := []struct {
		name    string
		m       Route
		wantErr error
		gone    string // the route removed, or "" for none
	}{
		{"prefix alone removes the best", Route{Dst: pfx("10.1.0.0/16")}, nil, "10.1.0.0/16 via 10.0.0.2 dev 2 metric 10"},
		{"by gateway", Route{Dst: pfx("10.1.0.0/16"), Gateway: addr("10.0.0.1")}, nil, "10.1.0.0/16 via 10.0.0.1 dev 1 metric 20"},
		{"by metric", Route{Dst: pfx("10.1.0.0/16"), Metric: 20}, nil, "10.1.0.0/16 via 10.0.0.1 dev 1 metric 20"},
		{"by device", Route{Dst: pfx("10.1.0.0/16"), Dev: 1}, nil, "10.1.0.0/16 via 10.0.0.1 dev 1 metric 20"},
		{"by gateway at tied metric", Route{Dst: pfx("10.1.0.0/16"), Gateway: addr("10.0.0.3")}, nil, "10.1.0.0/16 via 10.0.0.3 dev 2 metric 10"},
		{"unmasked prefix", Route{Dst: pfx("10.1.1.9/24")}, nil, "10.1.1.0/24 dev 3 metric 0"},
		{"the only route of a prefix", Route{Dst: pfx("10.0.0.0/8")}, nil, "10.0.0.0/8 dev 1 metric 0"},
		{"absent prefix", Route{Dst: pfx("10.2.0.0/16")}, ErrNotFound, ""},
		{"absent prefix length", Route{Dst: pfx("10.1.0.0/17")}, ErrNotFound, ""},
		{"no field matches", Route{Dst: pfx("10.1.0.0/16"), Dev: 3}, ErrNotFound, ""},
		{"proto mismatch", Route{Dst: pfx("10.1.1.0/24"), Proto: ProtoStatic}, ErrNotFound, ""},
		{"IPv6 prefix", Route{Dst: pfx("::/0")}, ErrNotIPv4, ""},
		{"invalid prefix", Route{}, ErrNotIPv4, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var tb Table
			mustAdd(t, &tb, base...)
			before := tb.Routes()
			if err := tb.Delete(tc.m); !errors.Is(err, tc.wantErr) {
				t.Fatalf("Delete(%v) = %v, want %v", tc.m, err, tc.wantErr)
			}
			var want []string
			for _, r := range before {
				if s := r.String(); s != tc.gone {
					want = append(want, s)
				}
			}
			if got := strs(tb.Routes()); !slices.Equal(got, want) {
				t.Errorf("Routes() after Delete(%v) =\n%q\nwant\n%q", tc.m, got, want)
			}
		})
	}
}

func TestDeleteFallsBack(t *testing.T) {
	var tb Table
	mustAdd(t, &tb, rt("10.0.0.0/8", "", 1, 0), rt("10.1.0.0/16", "", 2, 0), rt("10.1.1.0/24", "", 3, 0))
	steps := []struct {
		del  string
		want string
	}{
		{"", "10.1.1.0/24 dev 3 metric 0"},
		{"10.1.1.0/24", "10.1.0.0/16 dev 2 metric 0"},
		{"10.1.0.0/16", "10.0.0.0/8 dev 1 metric 0"},
		{"10.0.0.0/8", "none"},
	}
	for _, s := range steps {
		if s.del != "" {
			if err := tb.Delete(Route{Dst: pfx(s.del)}); err != nil {
				t.Fatalf("Delete(%s) = %v", s.del, err)
			}
		}
		if got := show(tb.Lookup(addr("10.1.1.1"))); got != s.want {
			t.Errorf("after deleting %q: Lookup(10.1.1.1) = %s, want %s", s.del, got, s.want)
		}
	}
	if n := tb.Len(); n != 0 {
		t.Errorf("Len() = %d after deleting everything, want 0", n)
	}
	if err := tb.Delete(Route{Dst: pfx("10.0.0.0/8")}); err != ErrNotFound {
		t.Errorf("Delete from empty table = %v, want %v", err, ErrNotFound)
	}
}

func TestDeleteDev(t *testing.T) {
	var tb Table
	mustAdd(t, &tb,
		rt("0.0.0.0/0", "192.168.1.1", 1, 0),
		rt("0.0.0.0/0", "10.0.0.1", 2, 10),
		rt("10.0.0.0/24", "", 2, 0),
		rt("10.0.0.0/16", "", 2, 0),
		rt("10.0.5.0/24", "10.0.0.9", 2, 0),
		rt("192.168.1.0/24", "", 1, 0),
		rt("172.16.0.0/12", "", 3, 0),
	)
	if got := show(tb.Lookup(addr("10.0.5.1"))); got != "10.0.5.0/24 via 10.0.0.9 dev 2 metric 0" {
		t.Fatalf("Lookup(10.0.5.1) = %s before DeleteDev", got)
	}
	if n := tb.DeleteDev(2); n != 4 {
		t.Errorf("DeleteDev(2) = %d, want 4", n)
	}
	want := []string{
		"default via 192.168.1.1 dev 1 metric 0",
		"172.16.0.0/12 dev 3 metric 0",
		"192.168.1.0/24 dev 1 metric 0",
	}
	if got := strs(tb.Routes()); !slices.Equal(got, want) {
		t.Errorf("Routes() after DeleteDev(2) =\n%q\nwant\n%q", got, want)
	}
	if got := show(tb.Lookup(addr("10.0.5.1"))); got != want[0] {
		t.Errorf("Lookup(10.0.5.1) after DeleteDev(2) = %s, want %s", got, want[0])
	}
	if n := tb.DeleteDev(2); n != 0 {
		t.Errorf("second DeleteDev(2) = %d, want 0", n)
	}
	if n := tb.DeleteDev(9); n != 0 {
		t.Errorf("DeleteDev(9) = %d, want 0", n)
	}
	if n := tb.DeleteDev(1) + tb.DeleteDev(3); n != 3 || tb.Len() != 0 || len(tb.Routes()) != 0 {
		t.Errorf("DeleteDev(1)+DeleteDev(3) = %d, Len() = %d; want 3, 0", n, tb.Len())
	}
}

func TestDeletePrefixDev(t *testing.T) {
	var tb Table
	mustAdd(t, &tb,
		rt("10.0.0.0/24", "", 1, 0),
		rt("10.0.0.0/24", "", 1, 5),
		rt("10.0.0.0/24", "10.0.0.1", 2, 0),
		rt("10.0.0.0/16", "", 1, 0),
	)
	if n := tb.DeletePrefixDev(pfx("10.0.0.9/24"), 1); n != 2 {
		t.Errorf("DeletePrefixDev(10.0.0.9/24, 1) = %d, want 2", n)
	}
	want := []string{"10.0.0.0/16 dev 1 metric 0", "10.0.0.0/24 via 10.0.0.1 dev 2 metric 0"}
	if got := strs(tb.Routes()); !slices.Equal(got, want) {
		t.Errorf("Routes() =\n%q\nwant\n%q", got, want)
	}
	for _, tc := range []struct {
		p   netip.Prefix
		dev int
	}{{pfx("10.0.0.0/24"), 1}, {pfx("10.0.0.0/25"), 2}, {pfx("::/0"), 1}, {netip.Prefix{}, 1}} {
		if n := tb.DeletePrefixDev(tc.p, tc.dev); n != 0 {
			t.Errorf("DeletePrefixDev(%v, %d) = %d, want 0", tc.p, tc.dev, n)
		}
	}
	if tb.Len() != 2 {
		t.Errorf("Len() = %d, want 2", tb.Len())
	}
}

func TestRoutesSorted(t *testing.T) {
	var tb Table
	if rs := tb.Routes(); len(rs) != 0 {
		t.Errorf("Routes() of zero Table = %v, want none", rs)
	}
	mustAdd(t, &tb,
		rt("192.168.0.0/16", "", 1, 0),
		rt("10.0.0.0/24", "", 1, 7),
		rt("10.0.0.0/8", "", 1, 0),
		rt("10.0.0.0/24", "", 2, 3),
		rt("10.0.0.0/24", "", 3, 7),
		rt("0.0.0.0/0", "10.0.0.1", 1, 0),
		rt("10.128.0.0/9", "", 1, 0),
		rt("10.0.0.1/32", "", 1, 0),
	)
	want := []string{
		"default via 10.0.0.1 dev 1 metric 0",
		"10.0.0.0/8 dev 1 metric 0",
		"10.0.0.0/24 dev 2 metric 3",
		"10.0.0.0/24 dev 1 metric 7",
		"10.0.0.0/24 dev 3 metric 7",
		"10.0.0.1 dev 1 metric 0",
		"10.128.0.0/9 dev 1 metric 0",
		"192.168.0.0/16 dev 1 metric 0",
	}
	if got := strs(tb.Routes()); !slices.Equal(got, want) {
		t.Errorf("Routes() =\n%q\nwant\n%q", got, want)
	}
	if tb.Len() != len(want) {
		t.Errorf("Len() = %d, want %d", tb.Len(), len(want))
	}
}

// TestCacheInvalidation checks that a change to the table is seen by the
// next Lookup, even for a destination whose answer is cached.
func TestCacheInvalidation(t *testing.T) {
	var tb Table
	st := tb.Stats()
	mustAdd(t, &tb, rt("10.0.0.0/8", "", 1, 0))
	dst := addr("10.0.1.1")
	lookup := func(want string, wantHit bool) {
		t.Helper()
		h, m := st.CacheHits.Load(), st.CacheMisses.Load()
		if got := show(tb.Lookup(dst)); got != want {
			t.Errorf("Lookup(%v) = %s, want %s", dst, got, want)
		}
		dh, dm := st.CacheHits.Load()-h, st.CacheMisses.Load()-m
		if wantHit && (dh != 1 || dm != 0) || !wantHit && (dh != 0 || dm != 1) {
			t.Errorf("Lookup(%v) moved CacheHits by %d and CacheMisses by %d; want a hit = %v", dst, dh, dm, wantHit)
		}
	}
	lookup("10.0.0.0/8 dev 1 metric 0", false)
	lookup("10.0.0.0/8 dev 1 metric 0", true)

	mustAdd(t, &tb, rt("10.0.1.0/24", "", 2, 0)) // more specific, after caching
	lookup("10.0.1.0/24 dev 2 metric 0", false)
	lookup("10.0.1.0/24 dev 2 metric 0", true)

	mustAdd(t, &tb, rt("10.0.1.0/24", "", 3, 0)) // a worse route still invalidates
	lookup("10.0.1.0/24 dev 2 metric 0", false)

	if err := tb.Delete(Route{Dst: pfx("10.0.1.0/24"), Dev: 2}); err != nil {
		t.Fatal(err)
	}
	lookup("10.0.1.0/24 dev 3 metric 0", false)
	tb.DeletePrefixDev(pfx("10.0.1.0/24"), 3)
	lookup("10.0.0.0/8 dev 1 metric 0", false)
	tb.DeleteDev(1)
	lookup("none", false)
	lookup("none", true) // "no route" is cached too

	mustAdd(t, &tb, rt("0.0.0.0/0", "192.0.2.1", 4, 0))
	lookup("default via 192.0.2.1 dev 4 metric 0", false)

	// Changes that change nothing keep the cache.
	tb.DeleteDev(99)
	tb.DeletePrefixDev(pfx("10.0.0.0/8"), 1)
	_ = tb.Delete(Route{Dst: pfx("10.0.0.0/8")})
	_ = tb.Add(rt("0.0.0.0/0", "192.0.2.1", 4, 0))
	lookup("default via 192.0.2.1 dev 4 metric 0", true)
}

// TestCacheCollision checks that destinations sharing a cache slot do not
// take each other's answers.
func TestCacheCollision(t *testing.T) {
	var tb Table
	mustAdd(t, &tb, rt("10.0.0.0/8", "", 1, 0), rt("10.0.0.0/24", "", 2, 0))
	a := uint32(0x0a000001) // 10.0.0.1
	b := a + 1
	for cacheIndex(b) != cacheIndex(a) || b>>8 == a>>8 {
		b++
	}
	da := netip.AddrFrom4([4]byte{byte(a >> 24), byte(a >> 16), byte(a >> 8), byte(a)})
	db := netip.AddrFrom4([4]byte{byte(b >> 24), byte(b >> 16), byte(b >> 8), byte(b)})
	for range 3 {
		if got, want := show(tb.Lookup(da)), "10.0.0.0/24 dev 2 metric 0"; got != want {
			t.Errorf("Lookup(%v) = %s, want %s", da, got, want)
		}
		if got, want := show(tb.Lookup(db)), "10.0.0.0/8 dev 1 metric 0"; got != want {
			t.Errorf("Lookup(%v) = %s, want %s", db, got, want)
		}
	}
}

func TestLookupAllocs(t *testing.T) {
	var tb Table
	mustAdd(t, &tb, rt("0.0.0.0/0", "10.0.0.1", 1, 0), rt("10.0.0.0/8", "", 1, 0), rt("10.1.0.0/16", "", 2, 0))
	hit := addr("10.1.2.3")
	if n := testing.AllocsPerRun(1000, func() { tb.Lookup(hit) }); n != 0 {
		t.Errorf("Lookup (cache hit) allocates %v times, want 0", n)
	}
	i := uint32(0)
	if n := testing.AllocsPerRun(1000, func() {
		i += 7919
		tb.Lookup(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}))
	}); n != 0 {
		t.Errorf("Lookup (cache miss) allocates %v times, want 0", n)
	}
	if n := testing.AllocsPerRun(1000, func() { tb.Lookup(addr("::1")) }); n != 0 {
		t.Errorf("Lookup (IPv6) allocates %v times, want 0", n)
	}
}

func TestFormat(t *testing.T) {
	names := func(i int) string {
		if i == 1 {
			return "eth0"
		}
		return ""
	}
	tests := []struct {
		r      Route
		want   string
		wantNm string
	}{
		{rt("10.0.1.0/24", "10.0.0.1", 2, 0), "10.0.1.0/24 via 10.0.0.1 dev 2 metric 0", ""},
		{
			Route{Dst: pfx("0.0.0.0/0"), Gateway: addr("192.168.1.1"), Dev: 1, Proto: ProtoDHCP, Metric: 100},
			"default via 192.168.1.1 dev 1 proto dhcp metric 100",
			"default via 192.168.1.1 dev eth0 proto dhcp metric 100",
		},
		{
			Route{Dst: pfx("192.168.1.0/24"), Dev: 1, Proto: ProtoKernel, Scope: ScopeLink, Src: addr("192.168.1.10")},
			"192.168.1.0/24 dev 1 proto kernel scope link src 192.168.1.10 metric 0",
			"192.168.1.0/24 dev eth0 proto kernel scope link src 192.168.1.10 metric 0",
		},
		{
			Route{Dst: pfx("10.9.9.9/32"), Gateway: addr("10.0.0.1"), Dev: 7, MTU: 1400, Proto: Proto(99), Scope: Scope(7)},
			"10.9.9.9 via 10.0.0.1 dev 7 proto 99 scope 7 metric 0 mtu 1400", "",
		},
		{Route{Dst: pfx("127.0.0.1/32"), Dev: 1, Scope: ScopeHost, Proto: ProtoKernel}, "127.0.0.1 dev 1 proto kernel scope host metric 0", "127.0.0.1 dev eth0 proto kernel scope host metric 0"},
		{Route{}, "invalid Prefix dev 0 metric 0", ""},
	}
	for _, tc := range tests {
		if got := tc.r.String(); got != tc.want {
			t.Errorf("String() = %q, want %q", got, tc.want)
		}
		wantNm := tc.wantNm
		if wantNm == "" {
			wantNm = tc.want
		}
		if got := tc.r.Format(names); got != wantNm {
			t.Errorf("Format(names) = %q, want %q", got, wantNm)
		}
	}
}

func TestEnumStrings(t *testing.T) {
	for _, tc := range []struct {
		got  fmtStringer
		want string
	}{
		{ProtoUnspec, "unspec"}, {ProtoRedirect, "redirect"}, {ProtoKernel, "kernel"}, {ProtoBoot, "boot"},
		{ProtoStatic, "static"}, {ProtoDHCP, "dhcp"}, {Proto(42), "42"},
		{ScopeUniverse, "global"}, {ScopeSite, "site"}, {ScopeLink, "link"}, {ScopeHost, "host"},
		{ScopeNowhere, "nowhere"}, {Scope(1), "1"},
	} {
		if s := tc.got.String(); s != tc.want {
			t.Errorf("%#v.String() = %q, want %q", tc.got, s, tc.want)
		}
	}
}

type fmtStringer interface{ String() string }

func strs(rs []Route) []string {
	var s []string
	for _, r := range rs {
		s = append(s, r.String())
	}
	return s
}

package ipfrag

import (
	"math/rand/v2"
	"testing"

	"ustack/clock"
	"ustack/pkt"
	"ustack/stats"
	"ustack/trace"
)

// benchFragments returns the fragments of a datagram of total bytes at
// mtu, from an unchecked pool.
func benchFragments(b *testing.B, pool *pkt.Pool, total, mtu int) (whole *pkt.Buf, frags []*pkt.Buf) {
	data := dgram{id: 1, payload: total - 20}.build(rand.New(rand.NewPCG(1, 2)))
	whole = pool.Copy(pkt.MaxHeaderLen, data)
	whole.SetNetworkHeader()
	if err := Fragment(whole.Clone(), mtu, nil, nil, func(f *pkt.Buf) error {
		frags = append(frags, f)
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	return whole, frags
}

// BenchmarkReassemble reassembles a 60,000-byte datagram from its 41
// fragments at MTU 1500, in order. Each round gives Process clones of the
// same fragments (a clone is a handle, not a copy).
func BenchmarkReassemble(b *testing.B) {
	pool := pkt.NewPool(pkt.Options{})
	clk := clock.NewManual(epoch)
	r := New(Config{Clock: clk, Stats: new(stats.IP), Tracer: trace.New(clk)})
	defer r.Close()
	whole, frags := benchFragments(b, pool, 60000, 1500)
	defer whole.Free()
	b.SetBytes(60000)
	b.ReportAllocs()
	for b.Loop() {
		var got *pkt.Buf
		for _, f := range frags {
			got = r.Process(f.Clone())
		}
		if got == nil || got.Len() != 60000 {
			b.Fatal("no datagram")
		}
		got.Free()
	}
	for _, f := range frags {
		f.Free()
	}
}

// BenchmarkFragment fragments a 60,000-byte datagram at MTU 1500.
func BenchmarkFragment(b *testing.B) {
	pool := pkt.NewPool(pkt.Options{})
	whole, frags := benchFragments(b, pool, 60000, 1500)
	for _, f := range frags {
		f.Free()
	}
	defer whole.Free()
	st := new(stats.IP)
	emit := func(f *pkt.Buf) error { f.Free(); return nil }
	b.SetBytes(60000)
	b.ReportAllocs()
	for b.Loop() {
		if err := Fragment(whole.Clone(), 1500, st, nil, emit); err != nil {
			b.Fatal(err)
		}
	}
}

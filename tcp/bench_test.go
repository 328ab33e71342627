package tcp_test

import (
	"fmt"
	"io"
	"testing"

	"ustack/netsim"
)

// BenchmarkBulk streams 64 KiB writes over a clean in-process link at
// MTU 1500 and 65,535; run with -benchmem: the allocations per op, over
// ~45 segments and their ACKs at MTU 1500, show whether the steady state
// allocates per segment. mtu1500-gso is MTU 1500 on a link that passes
// GSO super-segments whole (the same ~45 wire segments, a few packets).
func BenchmarkBulk(b *testing.B) {
	for _, mtu := range []int{1500, 65535} {
		b.Run(fmt.Sprintf("mtu%d", mtu), func(b *testing.B) { benchBulk(b, netsim.LinkOptions{MTU: mtu}) })
	}
	b.Run("mtu1500-gso", func(b *testing.B) { benchBulk(b, netsim.LinkOptions{MTU: 1500, GSO: true}) })
}

func benchBulk(b *testing.B, lo netsim.LinkOptions) {
	p := newPair(b, 1, lo)
	ln, err := p.b.Listen("tcp", ":9100")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		io.Copy(io.Discard, c)
		c.Close()
	}()
	c, err := p.a.DialContext(b.Context(), "tcp", "10.0.0.2:9100")
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 64<<10)
	for range 512 { // warm the pools and let the buffers auto-tune
		c.Write(buf)
	}
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := c.Write(buf); err != nil {
			b.Fatal(err)
		}
	}
}

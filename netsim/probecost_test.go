package netsim

// What the probes cost a bulk TCP transfer.
//
// Every layer's probes are always compiled in; a probe nobody listens to
// costs one atomic load (trace.Probe.Enabled). To measure that honestly
// against a stack without probes, build the same benchmark with the
// ustack_noprobes tag, which makes Enabled a constant false so that the
// compiler deletes every probe site's body:
//
//	go test -run '^$' -bench BulkTCPProbes/disabled -benchtime 1s -count 3 ./netsim
//	go test -run '^$' -bench BulkTCPProbes/disabled -benchtime 1s -count 3 -tags ustack_noprobes ./netsim
//
// and compare the MB/s, or better on a busy machine the cpu-ns/op (the
// process's CPU time, which other processes sway less than the wall
// clock). testdata/probecost.sh does it properly: both builds, in
// alternating order, on one core (GOMAXPROCS=1: on two cores the two
// stacks' goroutines racing each other make most of the noise), and
// reports the medians and the median paired ratio. The enabled case fires
// every probe of both stacks to one trivial listener, for the price of
// watching everything (events/op says how many).

import (
	"io"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"ustack/trace"
)

func BenchmarkBulkTCPProbes(b *testing.B) {
	b.Run("disabled", func(b *testing.B) { benchBulkTCP(b, false) })
	b.Run("enabled", func(b *testing.B) { benchBulkTCP(b, true) })
}

func benchBulkTCP(b *testing.B, enabled bool) {
	n := New(Options{Seed: 1})
	defer n.Close()
	x, y := n.Host("a"), n.Host("b")
	n.MustLink(x, "10.0.0.1/24", y, "10.0.0.2/24", LinkOptions{MTU: 1500})
	var events atomic.Int64
	if enabled {
		for _, h := range []*Host{x, y} {
			defer h.Tracer().Subscribe("*:::*", func(*trace.Event) { events.Add(1) })()
		}
	}
	ln, err := y.Listen("tcp", ":9100")
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
	c, err := x.DialContext(b.Context(), "tcp", "10.0.0.2:9100")
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 64<<10)
	for range 256 { // warm the pools and let the buffers auto-tune
		c.Write(buf)
	}
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	events.Store(0)
	cpu0 := cpuTime()
	b.ResetTimer()
	for range b.N {
		if _, err := c.Write(buf); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	// The process's CPU time per op: less swayed than the wall clock by
	// whatever else the machine runs.
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
	if enabled {
		b.ReportMetric(float64(events.Load())/float64(b.N), "events/op")
	}
}

// cpuTime returns the user and system CPU time the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

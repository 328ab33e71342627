package gvisor

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/link/ethernet"
	"gvisor.dev/gvisor/pkg/tcpip/link/pipe"
	gstack "gvisor.dev/gvisor/pkg/tcpip/stack"

	"ustack/drivers/vwire"
)

// The benchmarks set ustack beside gVisor on the same in-memory link: a
// vwire pair, checksums verified on receipt by both (no offload), and on
// the gVisor side the same Link adapter whichever stack is across. Each
// runs on four topologies, named sender-receiver (UDP) or
// client-server (TCP): ustack-ustack and gvisor-gvisor for the side by
// side, and the two mixed ones. The gVisor side pays one copy per frame
// each way in Link that ustack↔ustack does not (vwire hands ustack's Bufs
// across without copying); the comparison is of whole stacks as they
// would be embedded, not of protocol code alone.
//
// Segmentation offload likewise: the ustack-ustack wire passes TCP GSO
// super-packets whole (vwire.Config.GSO), as a link between two ustack
// stacks allows, so a 64 KiB write crosses it as one packet, not ~45 (the
// checksums are still computed and verified, over the whole). gVisor's
// side has none here: Link and pipe, as wired in these benchmarks, are
// plain Ethernet endpoints without GSO capabilities, so gVisor's TCP
// sends MTU-sized segments; and a mixed pair never sees a super-packet
// (one end declaring GSO is not enough).
//
//	go test -run '^$' -bench . -benchmem -count 5 | tee new.txt
//	benchstat new.txt

type benchTopology struct {
	name string
	make func(b *testing.B, mtu int) (a, c side) // sender/client, receiver/server; mtu 0: 1500
}

var benchTopologies = []benchTopology{
	{"ustack-ustack", func(b *testing.B, mtu int) (side, side) {
		return newUstackPair(b, wireOptions{MTU: mtu, FastBuffers: true})
	}},
	{"gvisor-gvisor", func(b *testing.B, mtu int) (side, side) { return newGVisorPair(b, wireOptions{MTU: mtu}) }},
	// gVisor's own in-memory link (link/pipe under link/ethernet), for the
	// cost of Link and the vwire hop: pipe delivers synchronously in the
	// sender's goroutine, with no queue, copy or goroutine hand-off.
	{"gvisor-gvisor-pipe", func(b *testing.B, mtu int) (side, side) { return newGVisorPipePair(b, mtu) }},
	{"ustack-gvisor", func(b *testing.B, mtu int) (side, side) {
		return newPairOpts(b, wireOptions{MTU: mtu, FastBuffers: true}).sides()
	}},
	{"gvisor-ustack", func(b *testing.B, mtu int) (side, side) {
		us, gv := newPairOpts(b, wireOptions{MTU: mtu, FastBuffers: true}).sides()
		return gv, us
	}},
}

// newGVisorPipePair is newGVisorPair over gVisor's pipe link instead of
// vwire and Link.
func newGVisorPipePair(tb testing.TB, mtu int) (side, side) {
	tb.Helper()
	if mtu == 0 {
		mtu = 1500
	}
	ma, mb := vwire.SeededMAC(4, 1), vwire.SeededMAC(4, 2)
	pa, pb := pipe.New(tcpip.LinkAddress(ma[:]), tcpip.LinkAddress(mb[:]), uint32(mtu+header.EthernetMinimumSize))
	mk := func(ep gstack.LinkEndpoint, p netip.Prefix) *Host {
		h, err := newHostOn(ethernet.New(ep), p)
		if err != nil {
			tb.Fatalf("newHostOn = %v", err)
		}
		tb.Cleanup(func() { h.Stack.Destroy() })
		return h
	}
	return gvSide{mk(pa, usPrefix)}, gvSide{mk(pb, gvPrefix)}
}

// needTCP skips b while ustack has no TCP, when either side is ustack's.
func needTCP(b *testing.B, sides ...side) {
	for _, s := range sides {
		if u, ok := s.(usSide); ok {
			requireTCP(b, u.s)
		}
	}
}

const benchPort = 9000

// reportTCPStats reports, per op, the ustack TCP counters that explain a
// slow run (retransmissions, RTO expiries, SYN retransmissions), summed
// over the ustack sides; it returns a func to call after the timed loop.
func reportTCPStats(b *testing.B, sides ...side) func() {
	type snap struct{ retrans, timeouts, syn uint64 }
	read := func() (s snap) {
		for _, sd := range sides {
			if u, ok := sd.(usSide); ok {
				st := &u.s.Stats().TCP
				s.retrans += st.RetransSegs.Load()
				s.timeouts += st.Timeouts.Load()
				s.syn += st.SynRetrans.Load()
			}
		}
		return s
	}
	any := false
	for _, sd := range sides {
		_, ok := sd.(usSide)
		any = any || ok
	}
	before := read()
	return func() {
		if !any {
			return
		}
		after := read()
		n := float64(b.N)
		b.ReportMetric(float64(after.retrans-before.retrans)/n, "us-retrans/op")
		b.ReportMetric(float64(after.timeouts-before.timeouts)/n, "us-rto/op")
		b.ReportMetric(float64(after.syn-before.syn)/n, "us-synretrans/op")
	}
}

// udpWindow is how many datagrams a UDP benchmark keeps in flight: deep
// enough to keep both stacks busy, shallow enough for every receive queue
// on the path (ustack's rx ring and socket queue, Link's queue, gVisor's
// socket buffer) to hold it, so that what is measured is delivered
// datagrams, not drops.
const udpWindow = 32

// BenchmarkUDP64 measures 64-byte datagrams/s one way, with a window of
// udpWindow in flight (the receiver's progress is read in memory, not
// sent back on the wire). ns/op is per datagram. A datagram not received
// within 100ms is counted lost (metric loss/op) and the window moves on.
func BenchmarkUDP64(b *testing.B) {
	for _, tp := range benchTopologies {
		b.Run(tp.name, func(b *testing.B) { benchUDP(b, tp, 64) })
	}
}

func benchUDP(b *testing.B, tp benchTopology, size int) {
	tx, rx := tp.make(b, 0)
	pc, err := rx.ListenUDP(benchPort)
	if err != nil {
		b.Fatalf("%s ListenUDP = %v", rx.Name(), err)
	}
	defer pc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := tx.DialUDP(ctx, netip.AddrPortFrom(rx.Addr(), benchPort))
	if err != nil {
		b.Fatalf("%s DialUDP = %v", tx.Name(), err)
	}
	defer c.Close()

	var recvd atomic.Int64
	progress := make(chan struct{}, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 2048)
		for {
			if _, _, err := pc.ReadFrom(buf); err != nil {
				return
			}
			recvd.Add(1)
			select {
			case progress <- struct{}{}:
			default:
			}
		}
	}()
	msg := make([]byte, size)
	// Warm up: resolve ARP and let the first datagram through.
	for recvd.Load() == 0 {
		c.Write(msg)
		select {
		case <-progress:
		case <-time.After(100 * time.Millisecond):
		case <-ctx.Done():
			b.Fatalf("no datagram got through")
		}
	}
	base := recvd.Load()
	lost := int64(0)
	timer := time.NewTimer(time.Hour)
	// wait blocks until fewer than limit datagrams are in flight, writing
	// off as lost those that do not arrive within 100ms of the last
	// progress.
	wait := func(sent int64, limit int64) {
		for sent-lost-(recvd.Load()-base) > limit {
			timer.Reset(100 * time.Millisecond)
			select {
			case <-progress:
			case <-timer.C:
				lost = sent - (recvd.Load() - base)
			}
		}
	}
	b.ResetTimer()
	for i := range int64(b.N) {
		wait(i, udpWindow-1)
		if _, err := c.Write(msg); err != nil {
			b.Fatalf("%s Write = %v", tx.Name(), err)
		}
	}
	wait(int64(b.N), 0)
	b.StopTimer()
	got := recvd.Load() - base
	b.ReportMetric(float64(got)/b.Elapsed().Seconds(), "dgrams/s")
	b.ReportMetric(float64(int64(b.N)-got)/float64(b.N), "loss/op")
	pc.Close()
	<-done
}

// BenchmarkUDPRTT measures a 64-byte UDP request and its echo: ns/op is
// the round trip.
func BenchmarkUDPRTT(b *testing.B) {
	for _, tp := range benchTopologies {
		b.Run(tp.name, func(b *testing.B) {
			cli, srv := tp.make(b, 0)
			pc, err := srv.ListenUDP(benchPort)
			if err != nil {
				b.Fatalf("%s ListenUDP = %v", srv.Name(), err)
			}
			defer pc.Close()
			go func() {
				buf := make([]byte, 2048)
				for {
					n, from, err := pc.ReadFrom(buf)
					if err != nil {
						return
					}
					pc.WriteTo(buf[:n], from)
				}
			}()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			c, err := cli.DialUDP(ctx, netip.AddrPortFrom(srv.Addr(), benchPort))
			if err != nil {
				b.Fatalf("%s DialUDP = %v", cli.Name(), err)
			}
			defer c.Close()
			msg, buf := make([]byte, 64), make([]byte, 2048)
			roundTrip := func() error {
				c.SetReadDeadline(time.Now().Add(time.Second))
				if _, err := c.Write(msg); err != nil {
					return err
				}
				_, err := c.Read(buf)
				return err
			}
			for roundTrip() != nil { // resolve ARP
				if ctx.Err() != nil {
					b.Fatalf("no echo")
				}
			}
			b.ResetTimer()
			for range b.N {
				if err := roundTrip(); err != nil {
					b.Fatalf("round trip: %v", err)
				}
			}
		})
	}
}

// tcpPair is a connected client and server conn for a TCP benchmark.
func tcpPair(b *testing.B, cli, srv side) (c, s net.Conn) {
	needTCP(b, cli, srv)
	ln, err := srv.ListenTCP(benchPort)
	if err != nil {
		b.Fatalf("%s ListenTCP = %v", srv.Name(), err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			close(accepted)
			return
		}
		accepted <- c
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err = cli.DialTCP(ctx, netip.AddrPortFrom(srv.Addr(), benchPort))
	if err != nil {
		b.Fatalf("%s DialTCP = %v", cli.Name(), err)
	}
	s, ok := <-accepted
	if !ok {
		b.Fatalf("%s Accept failed", srv.Name())
	}
	b.Cleanup(func() { c.Close(); s.Close() })
	return c, s
}

// BenchmarkTCPBulk measures one connection's throughput client to server
// (MB/s), in 64 KiB writes, at MTU 1500 and at MTU 65,535.
func BenchmarkTCPBulk(b *testing.B) {
	for _, mtu := range []int{1500, 65535} {
		for _, tp := range benchTopologies {
			b.Run(fmt.Sprintf("mtu%d/%s", mtu, tp.name), func(b *testing.B) {
				cli, srv := tp.make(b, mtu)
				benchBulk(b, cli, srv)
			})
		}
	}
}

func benchBulk(b *testing.B, cli, srv side) {
	c, s := tcpPair(b, cli, srv)
	const chunk = 64 << 10
	buf := make([]byte, chunk)
	var got atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		n, _ := io.Copy(io.Discard, s)
		got.Store(n)
	}()
	b.SetBytes(chunk)
	report := reportTCPStats(b, cli, srv)
	b.ResetTimer()
	for range b.N {
		if _, err := c.Write(buf); err != nil {
			b.Fatalf("Write = %v", err)
		}
	}
	c.Close() // the FIN follows the data: io.Copy ends when all is in
	select {
	case <-done:
	case <-time.After(tcpTimeout):
		b.Fatalf("receiver did not finish")
	}
	b.StopTimer()
	report()
	if want := int64(b.N) * chunk; got.Load() != want {
		b.Fatalf("received %d bytes, want %d", got.Load(), want)
	}
}

// BenchmarkTCPRTT measures a 1-byte request and 1-byte response on an
// established connection: ns/op is the round trip.
func BenchmarkTCPRTT(b *testing.B) {
	for _, tp := range benchTopologies {
		b.Run(tp.name, func(b *testing.B) {
			cli, srv := tp.make(b, 0)
			c, s := tcpPair(b, cli, srv)
			go func() {
				buf := make([]byte, 1)
				for {
					if _, err := s.Read(buf); err != nil {
						return
					}
					if _, err := s.Write(buf); err != nil {
						return
					}
				}
			}()
			buf := make([]byte, 1)
			report := reportTCPStats(b, cli, srv)
			b.ResetTimer()
			for range b.N {
				if _, err := c.Write(buf); err != nil {
					b.Fatalf("Write = %v", err)
				}
				if _, err := io.ReadFull(c, buf); err != nil {
					b.Fatalf("Read = %v", err)
				}
			}
			b.StopTimer()
			report()
		})
	}
}

// BenchmarkTCPConnRate measures whole connections: dial, a 1-byte
// response from the server, which then closes first (so TIME_WAIT stays
// on the server and client ports do not run out), EOF at the client,
// close. ns/op is one connection; conns/s is the rate. The p50/p99
// metrics are the dial-to-EOF latency.
func BenchmarkTCPConnRate(b *testing.B) {
	for _, tp := range benchTopologies {
		b.Run(tp.name, func(b *testing.B) {
			cli, srv := tp.make(b, 0)
			needTCP(b, cli, srv)
			ln, err := srv.ListenTCP(benchPort)
			if err != nil {
				b.Fatalf("%s ListenTCP = %v", srv.Name(), err)
			}
			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					c, err := ln.Accept()
					if err != nil {
						return
					}
					c.Write([]byte{1})
					c.Close()
				}
			}()
			defer func() { ln.Close(); wg.Wait() }()
			to := netip.AddrPortFrom(srv.Addr(), benchPort)
			lat := make([]time.Duration, 0, b.N)
			buf := make([]byte, 1)
			report := reportTCPStats(b, cli, srv)
			b.ResetTimer()
			for range b.N {
				t0 := time.Now()
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				c, err := cli.DialTCP(ctx, to)
				cancel()
				if err != nil {
					b.Fatalf("DialTCP = %v", err)
				}
				c.SetDeadline(time.Now().Add(10 * time.Second))
				if _, err := io.ReadFull(c, buf); err != nil {
					b.Fatalf("Read = %v", err)
				}
				if _, err := c.Read(buf); err != io.EOF {
					b.Fatalf("Read after the server's close = %v, want EOF", err)
				}
				c.Close()
				lat = append(lat, time.Since(t0))
			}
			b.StopTimer()
			report()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "conns/s")
			sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
		})
	}
}

// idleConns is how many connections BenchmarkIdleConnMemory holds open.
const idleConns = 10000

// BenchmarkIdleConnMemory reports the heap an idle established TCP
// connection holds, on ustack-ustack and gvisor-gvisor: HeapAlloc after a
// full GC with idleConns connections open between the two stacks, less
// HeapAlloc before they were dialled, over idleConns. Both endpoints of
// each connection live in this process and both count, each with its
// net.Conn wrapper: B/conn is a client socket plus a server socket;
// B/endpoint is half of it, one socket. Each connection carried 1 KiB
// each way before going idle, so that buffers that grow on first use and
// are kept are counted, then idled a second (ustack gives an idle
// connection's empty buffers back when its timer next runs, about an RTO
// after its last send). No goroutine per connection is held. netsim's
// BenchmarkIdleConnMemory is the ustack half alone, with a heap profile.
func BenchmarkIdleConnMemory(b *testing.B) {
	for _, tp := range benchTopologies[:2] { // ustack-ustack, gvisor-gvisor
		b.Run(tp.name, func(b *testing.B) {
			for range b.N {
				cli, srv := tp.make(b, 0)
				needTCP(b, cli, srv)
				ln, err := srv.ListenTCP(benchPort)
				if err != nil {
					b.Fatalf("%s ListenTCP = %v", srv.Name(), err)
				}
				cs, ss := openConns(b, cli, srv, ln, 16) // warm up ARP, pools, tables
				for i := range cs {
					cs[i].Close()
					ss[i].Close()
				}
				before := liveHeap()
				cs, ss = openConns(b, cli, srv, ln, idleConns)
				after := liveHeap()
				per := float64(int64(after)-int64(before)) / idleConns
				b.ReportMetric(per, "B/conn")
				b.ReportMetric(per/2, "B/endpoint")
				for i := range cs {
					cs[i].Close()
					ss[i].Close()
				}
				ln.Close()
			}
		})
	}
}

// openConns dials count connections from cli to ln on srv, 256 dials in
// flight at a time (a burst every receive queue on the path holds), moves
// 1 KiB each way on each, and returns the client and server conns paired
// by index.
func openConns(b *testing.B, cli, srv side, ln net.Listener, count int) (cs, ss []net.Conn) {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	to := netip.AddrPortFrom(srv.Addr(), benchPort)
	accepted := make(map[string]net.Conn, count)
	acceptErr := make(chan error, 1)
	go func() {
		for len(accepted) < count {
			c, err := ln.Accept()
			if err != nil {
				acceptErr <- err
				return
			}
			accepted[c.RemoteAddr().String()] = c
		}
		acceptErr <- nil
	}()
	cs = make([]net.Conn, count)
	errs := make(chan error, 1)
	sem := make(chan struct{}, 256)
	var wg sync.WaitGroup
	for i := range count {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			c, err := cli.DialTCP(ctx, to)
			if err != nil {
				select {
				case errs <- err:
				default:
				}
				return
			}
			cs[i] = c
		}()
	}
	wg.Wait()
	select {
	case err := <-errs:
		b.Fatalf("%s DialTCP = %v", cli.Name(), err)
	default:
	}
	select {
	case err := <-acceptErr:
		if err != nil {
			b.Fatalf("%s Accept = %v", srv.Name(), err)
		}
	case <-ctx.Done():
		b.Fatalf("%s accepted %d of %d connections", srv.Name(), len(accepted), count)
	}
	ss = make([]net.Conn, count)
	for i, c := range cs {
		if ss[i] = accepted[c.LocalAddr().String()]; ss[i] == nil {
			b.Fatalf("%s never accepted %v", srv.Name(), c.LocalAddr())
		}
	}
	for i := range cs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			msg := make([]byte, 1024)
			err := func() error {
				if _, err := cs[i].Write(msg); err != nil {
					return err
				}
				if _, err := io.ReadFull(ss[i], msg); err != nil {
					return err
				}
				if _, err := ss[i].Write(msg); err != nil {
					return err
				}
				_, err := io.ReadFull(cs[i], msg)
				return err
			}()
			if err != nil {
				select {
				case errs <- err:
				default:
				}
			}
		}()
	}
	wg.Wait()
	select {
	case err := <-errs:
		b.Fatalf("1 KiB each way: %v", err)
	default:
	}
	time.Sleep(time.Second) // idle: delayed ACKs out, RTO timers run down
	return cs, ss
}

// liveHeap is HeapAlloc after a full collection.
func liveHeap() uint64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

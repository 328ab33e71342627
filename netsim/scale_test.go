package netsim

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"testing"
	"time"
)

// The scale tests: thousands of concurrent connections between two
// stacks, all moving data at once, then a Close that must reclaim every
// one of them and every goroutine; and the memory an idle connection
// holds, as a benchmark (interop/gvisor's BenchmarkIdleConnMemory sets the
// same number beside gVisor's).

// scalePair is two hosts on one wire: the client 10.0.0.1, the server
// 10.0.0.2 listening on :80, with an accept loop collecting conns.
type scalePair struct {
	n        *Network
	cli, srv *Host
	accepted chan net.Conn
	quit     chan struct{} // closed by closeAll: the accept loop stops
	quitOnce sync.Once
	acceptWG sync.WaitGroup
}

// newScalePair builds the pair; the test's cleanup closes it if closeAll
// did not.
func newScalePair(tb testing.TB) *scalePair {
	tb.Helper()
	n := New(Options{Seed: 7})
	sp := &scalePair{n: n, cli: n.Host("client"), srv: n.Host("server"),
		accepted: make(chan net.Conn, 1024), quit: make(chan struct{})}
	tb.Cleanup(func() { sp.closeAll(tb, 10*time.Second) })
	n.MustLink(sp.cli, "10.0.0.1/24", sp.srv, "10.0.0.2/24", LinkOptions{})
	ln, err := sp.srv.Listen("tcp", "10.0.0.2:80")
	if err != nil {
		tb.Fatal(err)
	}
	sp.acceptWG.Add(1)
	go func() {
		defer sp.acceptWG.Done()
		defer close(sp.accepted)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			select {
			case sp.accepted <- c:
			case <-sp.quit:
				return
			}
		}
	}()
	return sp
}

// dial opens count connections with workers dials in flight at a time
// (a burst bounded so that the SYN and accept queues hold it), and
// returns the client conns and the server conns, paired by index.
func (sp *scalePair) dial(tb testing.TB, count, workers int) (cli, srv []net.Conn) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	cli = make([]net.Conn, count)
	errs := make(chan error, workers)
	next := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				c, err := sp.cli.DialContext(ctx, "tcp", "10.0.0.2:80")
				if err != nil {
					errs <- fmt.Errorf("dial %d: %w", i, err)
					return
				}
				cli[i] = c
			}
		}()
	}
	byAddr := make(map[string]net.Conn, count)
	collected := make(chan struct{})
	go func() {
		defer close(collected)
		for len(byAddr) < count {
			select {
			case c, ok := <-sp.accepted:
				if !ok {
					return
				}
				byAddr[c.RemoteAddr().String()] = c
			case <-ctx.Done():
				return
			}
		}
	}()
	var dialErr error
feed:
	for i := range count {
		select {
		case next <- i:
		case dialErr = <-errs:
			break feed
		}
	}
	close(next)
	wg.Wait()
	if dialErr == nil {
		select {
		case dialErr = <-errs:
		default:
		}
	}
	if dialErr != nil {
		cancel()
		<-collected
		tb.Fatal(dialErr)
	}
	<-collected
	if len(byAddr) != count {
		st := &sp.srv.Stats().TCP
		tb.Fatalf("accepted %d connections, want %d (server: PassiveOpens %d, ListenOverflows %d, ListenDrops %d, cookies sent %d recv %d failed %d, CurrEstab %d)",
			len(byAddr), count, st.PassiveOpens.Load(), st.ListenOverflows.Load(), st.ListenDrops.Load(),
			st.SyncookiesSent.Load(), st.SyncookiesRecv.Load(), st.SyncookiesFailed.Load(), st.CurrEstab.Load())
	}
	srv = make([]net.Conn, count)
	for i, c := range cli {
		s := byAddr[c.LocalAddr().String()]
		if s == nil {
			tb.Fatalf("client conn %v was never accepted", c.LocalAddr())
		}
		srv[i] = s
	}
	return cli, srv
}

// closeAll closes the network, bounded by limit, and stops the accept
// loop; it reports how long Network.Close took.
func (sp *scalePair) closeAll(tb testing.TB, limit time.Duration) time.Duration {
	tb.Helper()
	sp.quitOnce.Do(func() { close(sp.quit) })
	start := time.Now()
	done := make(chan struct{})
	go func() {
		sp.n.Close()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(limit):
		dumpGoroutines(tb)
		tb.Fatalf("Network.Close did not return within %v", limit)
	}
	took := time.Since(start)
	sp.acceptWG.Wait()
	return took
}

// checkNoGoroutines fails tb if more goroutines run than before, after a
// short settle, and dumps those of ustack.
func checkNoGoroutines(tb testing.TB, before int) {
	tb.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		dumpGoroutines(tb)
		tb.Fatalf("%d goroutines after Close, %d before: leaked", n, before)
	}
}

// dumpGoroutines logs the stacks of the goroutines that run ustack code.
func dumpGoroutines(tb testing.TB) {
	var sb strings.Builder
	pprof.Lookup("goroutine").WriteTo(&sb, 2)
	for _, g := range strings.Split(sb.String(), "\n\n") {
		if strings.Contains(g, "ustack/") && !strings.Contains(g, "dumpGoroutines") {
			tb.Logf("%s\n", g)
		}
	}
}

// TestScaleConcurrentConns opens 10,000 connections at once, has every
// one carry 4 KiB each way at the same time — the client writes first,
// the server echoes, the client checks — then closes the network with all
// of them established and a Read blocked on every server conn: Close must
// return promptly, every blocked Read must fail with net.ErrClosed, and
// no goroutine may be left. With -short, or under the race detector
// (which allows at most 8,128 live goroutines; this test runs two per
// connection), it opens 1,000.
//
// The burst of 10,000 SYNs overflows the 4,096-frame receive rings
// (netdev.DefaultRxRing) on the way; SYN and data retransmissions finish
// the job, so the run takes one to a few seconds of RTOs. The drops are
// logged.
func TestScaleConcurrentConns(t *testing.T) {
	count := 10000
	if raceEnabled || testing.Short() {
		count = 1000
	}
	before := runtime.NumGoroutine()
	start := time.Now()
	n := New(Options{Seed: 7})
	cli, srv := n.Host("client"), n.Host("server")
	n.MustLink(cli, "10.0.0.1/24", srv, "10.0.0.2/24", LinkOptions{})
	ln, err := srv.Listen("tcp", "10.0.0.2:80")
	if err != nil {
		t.Fatal(err)
	}

	// The server echoes 4 KiB on each conn, then waits in Read until the
	// network closes; the accept loop ends then too.
	const size = 4 << 10
	srvErrs := make(chan error, count+1)
	go func() {
		for {
			s, err := ln.Accept()
			if err != nil {
				srvErrs <- fmt.Errorf("accept: %w", err)
				return
			}
			go func() {
				buf := make([]byte, size)
				if _, err := io.ReadFull(s, buf); err != nil {
					srvErrs <- fmt.Errorf("server read: %w", err)
					return
				}
				if _, err := s.Write(buf); err != nil {
					srvErrs <- fmt.Errorf("server write: %w", err)
					return
				}
				_, err := s.Read(buf[:1])
				srvErrs <- fmt.Errorf("server read after the echo: %w", err)
			}()
		}
	}()

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	conns := make([]net.Conn, count)
	var wg sync.WaitGroup
	errs := make(chan error, count)
	for i := range count {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := cli.DialContext(ctx, "tcp", "10.0.0.2:80")
			if err != nil {
				errs <- fmt.Errorf("conn %d: dial: %w", i, err)
				return
			}
			conns[i] = c
			r := rand.New(rand.NewPCG(uint64(i), 1))
			msg, got := make([]byte, size), make([]byte, size)
			for j := range msg {
				msg[j] = byte(r.Uint32())
			}
			c.SetDeadline(time.Now().Add(60 * time.Second))
			if _, err := c.Write(msg); err != nil {
				errs <- fmt.Errorf("conn %d: write: %w", i, err)
				return
			}
			if _, err := io.ReadFull(c, got); err != nil {
				errs <- fmt.Errorf("conn %d: read: %w", i, err)
				return
			}
			if !bytes.Equal(got, msg) {
				errs <- fmt.Errorf("conn %d: echo differs from what was sent", i)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	t.Logf("%d connections opened and 4 KiB echoed on each in %v", count, time.Since(start))
	for _, h := range []*Host{cli, srv} {
		if got := h.Stats().TCP.CurrEstab.Load(); got != int64(count) {
			t.Errorf("%s: CurrEstab = %d, want %d", h.Name, got, count)
		}
	}
	cs, ss := &cli.Stats().TCP, &srv.Stats().TCP
	t.Logf("client: SynRetrans %d, RetransSegs %d, Timeouts %d, rx ring drops %d; server: ListenOverflows %d, SyncookiesSent %d, rx ring drops %d",
		cs.SynRetrans.Load(), cs.RetransSegs.Load(), cs.Timeouts.Load(), cli.Devices().ByName("eth0").Stats.RxDropped.Load(),
		ss.ListenOverflows.Load(), ss.SyncookiesSent.Load(), srv.Devices().ByName("eth0").Stats.RxDropped.Load())

	closeStart := time.Now()
	closed := make(chan struct{})
	go func() {
		n.Close()
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		dumpGoroutines(t)
		t.Fatal("Network.Close did not return within 5s")
	}
	t.Logf("Network.Close with %d established connections took %v", count, time.Since(closeStart))
	for range count + 1 {
		select {
		case err := <-srvErrs:
			if !errors.Is(err, net.ErrClosed) {
				t.Fatalf("%v, want net.ErrClosed", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("a server Read or Accept blocked across Close did not return")
		}
	}
	for i, c := range conns {
		if _, err := c.Read(make([]byte, 1)); !errors.Is(err, net.ErrClosed) {
			t.Fatalf("conn %d: Read after Close = %v, want net.ErrClosed", i, err)
		}
	}
	for _, h := range []*Host{cli, srv} {
		if live := h.Pool().Live(); live != 0 {
			t.Errorf("%s: %d packet buffers still held after Close", h.Name, live)
		}
		if n := h.Stats().TCP.CurrEstab.Load(); n != 0 {
			t.Errorf("%s: CurrEstab = %d after Close, want 0", h.Name, n)
		}
	}
	checkNoGoroutines(t, before)
}

var idleProfile = flag.String("idleprofile", "", "BenchmarkIdleConnMemory writes a heap profile of the idle connections to `file`\n"+
	"(go test -run '^$' -bench IdleConnMemory -memprofilerate 1 -idleprofile heap.out; go tool pprof -sample_index inuse_space -top heap.out)")

// writeHeapProfile writes the live heap's profile to file.
func writeHeapProfile(tb testing.TB, file string) {
	f, err := os.Create(file)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		tb.Fatal(err)
	}
}

// BenchmarkIdleConnMemory reports the heap an idle established connection
// holds: HeapAlloc (after GC) with 10,000 connections open between two
// stacks in this process, less HeapAlloc before they were dialled, over
// 10,000. Both endpoints of each connection count (client and server,
// each with its gonet wrapper), so B/conn is two sockets; B/endpoint is
// half of it. Each connection carried 1 KiB each way before going idle,
// so buffers that grow on first use and stay are counted. No goroutine
// per connection is held (they would add about 8 KiB each). The
// connections idle for a second first, as an idle connection gives its
// empty buffers back when its timer next runs, an RTO or so after its
// last send. See -idleprofile for what remains.
func BenchmarkIdleConnMemory(b *testing.B) {
	const count = 10000
	for range b.N {
		sp := newScalePair(b)
		cli, srv := sp.dial(b, 16, 16) // warm up ARP, pools, maps
		for i := range cli {
			cli[i].Close()
			srv[i].Close()
		}
		before := heapAlloc()
		cli, srv = sp.dial(b, count, 256)
		pingPong(b, cli, srv, 1024)
		time.Sleep(time.Second) // idle: delayed ACKs out, RTO timers run down
		after := heapAlloc()
		if *idleProfile != "" {
			writeHeapProfile(b, *idleProfile)
		}
		per := float64(int64(after)-int64(before)) / count
		b.ReportMetric(per, "B/conn")
		b.ReportMetric(per/2, "B/endpoint")
		runtime.KeepAlive(cli)
		runtime.KeepAlive(srv)
		sp.closeAll(b, 10*time.Second)
	}
}

// pingPong moves size bytes each way on every pair, 256 pairs at a time.
func pingPong(tb testing.TB, cli, srv []net.Conn, size int) {
	tb.Helper()
	sem := make(chan struct{}, 256)
	var wg sync.WaitGroup
	errs := make(chan error, 1)
	for i := range cli {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			msg := make([]byte, size)
			err := func() error {
				if _, err := cli[i].Write(msg); err != nil {
					return err
				}
				if _, err := io.ReadFull(srv[i], msg); err != nil {
					return err
				}
				if _, err := srv[i].Write(msg); err != nil {
					return err
				}
				_, err := io.ReadFull(cli[i], msg)
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
		tb.Fatal(err)
	default:
	}
}

// heapAlloc is the live heap after a full collection.
func heapAlloc() uint64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

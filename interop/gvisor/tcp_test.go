package gvisor

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"testing"
	"time"

	"ustack/drivers/fault"
)

// The TCP tests run each body on four topologies: the two mixed ones are
// the interop tests proper; gVisor↔gVisor is the control that proves the
// test body itself right (it runs even while ustack has no TCP), and
// ustack↔ustack shows whether a failure is ustack's alone. Tests needing
// ustack TCP skip, through requireTCP, only while ustack has none.

const tcpPort = 8080

// tcpTimeout bounds every TCP test's I/O, so that a stalled connection
// fails the test with a message instead of hanging it.
const tcpTimeout = 60 * time.Second

type topology struct {
	name string
	// make returns the server and client sides.
	make func(t *testing.T, o wireOptions) (srv, cli side)
}

var tcpTopologies = []topology{
	{"ustack-server/gvisor-client", func(t *testing.T, o wireOptions) (side, side) {
		p := newPairOpts(t, o)
		requireTCP(t, p.us)
		us, gv := p.sides()
		return us, gv
	}},
	{"gvisor-server/ustack-client", func(t *testing.T, o wireOptions) (side, side) {
		p := newPairOpts(t, o)
		requireTCP(t, p.us)
		us, gv := p.sides()
		return gv, us
	}},
	{"gvisor-server/gvisor-client", func(t *testing.T, o wireOptions) (side, side) {
		a, b := newGVisorPair(t, o)
		return b, a
	}},
	{"ustack-server/ustack-client", func(t *testing.T, o wireOptions) (side, side) {
		a, b := newUstackPair(t, o)
		requireTCP(t, a.(usSide).s)
		return b, a
	}},
}

// forEachTopology runs body on every topology, as subtests.
func forEachTopology(t *testing.T, o wireOptions, body func(t *testing.T, srv, cli side)) {
	for _, tp := range tcpTopologies {
		t.Run(tp.name, func(t *testing.T) {
			srv, cli := tp.make(t, o)
			body(t, srv, cli)
		})
	}
}

// serve accepts connections on ln until it is closed, running handle on
// each in its own goroutine; the returned wait closes ln and waits for
// every handler.
func serve(t *testing.T, ln net.Listener, handle func(c net.Conn)) (stop func()) {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.SetDeadline(time.Now().Add(tcpTimeout))
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				handle(c)
			}()
		}
	}()
	return func() {
		ln.Close()
		wg.Wait()
	}
}

func listen(t *testing.T, s side) net.Listener {
	t.Helper()
	ln, err := s.ListenTCP(tcpPort)
	if err != nil {
		t.Fatalf("%s ListenTCP(%d) = %v", s.Name(), tcpPort, err)
	}
	return ln
}

func dial(t *testing.T, s side, to netip.AddrPort) net.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := s.DialTCP(ctx, to)
	if err != nil {
		t.Fatalf("%s DialTCP(%v) = %v", s.Name(), to, err)
	}
	c.SetDeadline(time.Now().Add(tcpTimeout))
	return c
}

// TestTCPEcho: connect, exchange a few messages, check both ends' idea of
// the addresses, close from the client.
func TestTCPEcho(t *testing.T) {
	forEachTopology(t, wireOptions{}, func(t *testing.T, srv, cli side) {
		ln := listen(t, srv)
		srvAddr := netip.AddrPortFrom(srv.Addr(), tcpPort)
		accepted := make(chan [2]string, 1)
		stop := serve(t, ln, func(c net.Conn) {
			accepted <- [2]string{c.LocalAddr().String(), c.RemoteAddr().String()}
			io.Copy(c, c)
		})
		defer stop()
		c := dial(t, cli, srvAddr)
		defer c.Close()
		if got := c.RemoteAddr().String(); got != srvAddr.String() {
			t.Errorf("client RemoteAddr = %s, want %s", got, srvAddr)
		}
		for i, msg := range []string{"hello", "from " + cli.Name(), string(bytes.Repeat([]byte("x"), 3000))} {
			if _, err := c.Write([]byte(msg)); err != nil {
				t.Fatalf("message %d: client Write = %v", i, err)
			}
			got := make([]byte, len(msg))
			if _, err := io.ReadFull(c, got); err != nil {
				t.Fatalf("message %d: client ReadFull = %v", i, err)
			}
			if string(got) != msg {
				t.Errorf("message %d: echoed %q, want %q", i, got, msg)
			}
		}
		select {
		case a := <-accepted:
			if a[0] != srvAddr.String() || a[1] != c.LocalAddr().String() {
				t.Errorf("server conn local, remote = %s, %s; want %s, %s", a[0], a[1], srvAddr, c.LocalAddr())
			}
		case <-time.After(tcpTimeout):
			t.Errorf("server never accepted")
		}
	})
}

// TestTCPRefused: a SYN to a port nobody listens on draws a RST.
func TestTCPRefused(t *testing.T) {
	forEachTopology(t, wireOptions{}, func(t *testing.T, srv, cli side) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c, err := cli.DialTCP(ctx, netip.AddrPortFrom(srv.Addr(), 9))
		if err == nil {
			c.Close()
			t.Fatalf("%s DialTCP to a closed %s port succeeded", cli.Name(), srv.Name())
		}
		if ctx.Err() != nil {
			t.Fatalf("%s DialTCP to a closed %s port = %v after the 10s context expired, want refused at once", cli.Name(), srv.Name(), err)
		}
		if _, ok := cli.(usSide); ok && !errors.Is(err, syscall.ECONNREFUSED) {
			t.Errorf("ustack DialTCP to a closed port = %v, want ECONNREFUSED", err)
		}
	})
}

// stream is a repeatable byte stream for bulk transfers.
func stream(seed uint64) *rand.ChaCha8 {
	var s [32]byte
	s[0], s[1] = byte(seed), byte(seed>>8)
	return rand.NewChaCha8(s)
}

// sendBulk writes n bytes of the seeded stream to c in writes of varying
// sizes, then closes c, and returns the SHA-256 of what it sent.
func sendBulk(c net.Conn, n int, seed uint64) ([32]byte, error) {
	h := sha256.New()
	src := stream(seed)
	sizes := rand.New(rand.NewPCG(seed, 1))
	buf := make([]byte, 64<<10)
	for left := n; left > 0; {
		m := min(left, 1+sizes.IntN(len(buf)))
		src.Read(buf[:m])
		h.Write(buf[:m])
		if _, err := c.Write(buf[:m]); err != nil {
			c.Close()
			return [32]byte{}, fmt.Errorf("Write after %d of %d bytes: %w", n-left, n, err)
		}
		left -= m
	}
	return [32]byte(h.Sum(nil)), c.Close()
}

// recvBulk reads c to EOF and returns the byte count and SHA-256.
func recvBulk(c net.Conn) (int64, [32]byte, error) {
	h := sha256.New()
	n, err := io.Copy(h, c)
	return n, [32]byte(h.Sum(nil)), err
}

// bulkSize is what each bulk transfer moves.
func bulkSize() int {
	if testing.Short() {
		return 1 << 20
	}
	return 16 << 20
}

// tcpBulk moves n bytes one way, client to server or server to client,
// and checks count and SHA-256. It logs the rate, and ustack's
// retransmission counters, for a reader chasing a slow run.
func tcpBulk(t *testing.T, srv, cli side, n int, serverSends bool) {
	start := time.Now()
	defer func() {
		el := time.Since(start)
		msg := fmt.Sprintf("%d bytes in %v (%.1f MB/s)", n, el.Round(time.Millisecond), float64(n)/el.Seconds()/1e6)
		for _, sd := range []side{srv, cli} {
			if u, ok := sd.(usSide); ok {
				st := &u.s.Stats().TCP
				msg += fmt.Sprintf("; ustack %v: RetransSegs %d, FastRetrans %d, Timeouts %d",
					u.addr, st.RetransSegs.Load(), st.FastRetrans.Load(), st.Timeouts.Load())
			}
		}
		t.Log(msg)
	}()
	ln := listen(t, srv)
	type result struct {
		n    int64
		sum  [32]byte
		err  error
		sent bool
	}
	res := make(chan result, 2)
	stop := serve(t, ln, func(c net.Conn) {
		if serverSends {
			sum, err := sendBulk(c, n, 7)
			res <- result{int64(n), sum, err, true}
		} else {
			m, sum, err := recvBulk(c)
			res <- result{m, sum, err, false}
		}
	})
	defer stop()
	c := dial(t, cli, netip.AddrPortFrom(srv.Addr(), tcpPort))
	var mine result
	if serverSends {
		m, sum, err := recvBulk(c)
		c.Close()
		mine = result{m, sum, err, false}
	} else {
		sum, err := sendBulk(c, n, 7)
		mine = result{int64(n), sum, err, true}
	}
	var theirs result
	select {
	case theirs = <-res:
	case <-time.After(tcpTimeout):
		t.Fatalf("server handler did not finish")
	}
	sent, got := mine, theirs
	if theirs.sent {
		sent, got = theirs, mine
	}
	if sent.err != nil || got.err != nil {
		t.Fatalf("sender error %v, receiver error %v", sent.err, got.err)
	}
	if got.n != int64(n) || got.sum != sent.sum {
		t.Errorf("received %d bytes, SHA-256 %x; sent %d bytes, SHA-256 %x", got.n, got.sum[:8], n, sent.sum[:8])
	}
}

// TestTCPBulk moves data each way and checks it arrived whole.
func TestTCPBulk(t *testing.T) {
	for _, dir := range []struct {
		name        string
		serverSends bool
	}{{"client-to-server", false}, {"server-to-client", true}} {
		t.Run(dir.name, func(t *testing.T) {
			forEachTopology(t, wireOptions{}, func(t *testing.T, srv, cli side) {
				tcpBulk(t, srv, cli, bulkSize(), dir.serverSends)
			})
		})
	}
}

// TestTCPBulkImpaired moves data each way over a wire that loses,
// duplicates and reorders frames, so that retransmission, duplicate and
// out-of-order handling on each side meet the other's.
func TestTCPBulkImpaired(t *testing.T) {
	o := wireOptions{Seed: 42, Impair: fault.Impair{Loss: 0.01, Duplicate: 0.005, Reorder: 0.01}}
	for _, dir := range []struct {
		name        string
		serverSends bool
	}{{"client-to-server", false}, {"server-to-client", true}} {
		t.Run(dir.name, func(t *testing.T) {
			forEachTopology(t, o, func(t *testing.T, srv, cli side) {
				tcpBulk(t, srv, cli, bulkSize()/4, dir.serverSends)
			})
		})
	}
}

// TestTCPBulkDuplex: both ends send and receive at once on one
// connection; each checks the other's bytes as they arrive.
func TestTCPBulkDuplex(t *testing.T) {
	forEachTopology(t, wireOptions{}, func(t *testing.T, srv, cli side) {
		n := bulkSize() / 4
		ln := listen(t, srv)
		// Each end writes the seeded stream from a goroutine and reads
		// exactly n bytes of the other's.
		duplex := func(c net.Conn, sendSeed, recvSeed uint64) error {
			errc := make(chan error, 1)
			go func() {
				src := stream(sendSeed)
				buf := make([]byte, 32<<10)
				for left := n; left > 0; left -= len(buf) {
					m := min(left, len(buf))
					src.Read(buf[:m])
					if _, err := c.Write(buf[:m]); err != nil {
						errc <- err
						return
					}
				}
				errc <- nil
			}()
			want := stream(recvSeed)
			got, exp := make([]byte, 32<<10), make([]byte, 32<<10)
			for left := n; left > 0; {
				m := min(left, len(got))
				if _, err := io.ReadFull(c, got[:m]); err != nil {
					return fmt.Errorf("read after %d of %d bytes: %w", n-left, n, err)
				}
				want.Read(exp[:m])
				if !bytes.Equal(got[:m], exp[:m]) {
					return fmt.Errorf("data differs in bytes [%d, %d)", n-left, n-left+m)
				}
				left -= m
			}
			return <-errc
		}
		srvErr := make(chan error, 1)
		stop := serve(t, ln, func(c net.Conn) { srvErr <- duplex(c, 2, 1) })
		defer stop()
		c := dial(t, cli, netip.AddrPortFrom(srv.Addr(), tcpPort))
		defer c.Close()
		if err := duplex(c, 1, 2); err != nil {
			t.Errorf("client (%s): %v", cli.Name(), err)
		}
		select {
		case err := <-srvErr:
			if err != nil {
				t.Errorf("server (%s): %v", srv.Name(), err)
			}
		case <-time.After(tcpTimeout):
			t.Errorf("server handler did not finish")
		}
	})
}

// TestTCPHalfClose: the client sends a request and shuts down its write
// side; the server reads to EOF, answers with the SHA-256 of what it read
// and closes. Needs CloseWrite on the client's conn (net.TCPConn has it).
func TestTCPHalfClose(t *testing.T) {
	forEachTopology(t, wireOptions{}, func(t *testing.T, srv, cli side) {
		ln := listen(t, srv)
		stop := serve(t, ln, func(c net.Conn) {
			_, sum, err := recvBulk(c)
			if err == nil {
				c.Write(sum[:])
			}
		})
		defer stop()
		c := dial(t, cli, netip.AddrPortFrom(srv.Addr(), tcpPort))
		defer c.Close()
		cw, ok := c.(interface{ CloseWrite() error })
		if !ok {
			t.Fatalf("%s TCP conn %T has no CloseWrite", cli.Name(), c)
		}
		req := bytes.Repeat([]byte("request "), 10000)
		if _, err := c.Write(req); err != nil {
			t.Fatalf("Write = %v", err)
		}
		if err := cw.CloseWrite(); err != nil {
			t.Fatalf("CloseWrite = %v", err)
		}
		got, err := io.ReadAll(c)
		if want := sha256.Sum256(req); err != nil || !bytes.Equal(got, want[:]) {
			t.Errorf("answer after CloseWrite = %x, %v; want %x, nil", got, err, want)
		}
	})
}

// TestTCPManyShortConns opens, uses and closes many connections, some at
// once, as a web client does: handshakes, FIN exchanges, TIME_WAIT and
// port reuse on each side meet the other's.
func TestTCPManyShortConns(t *testing.T) {
	forEachTopology(t, wireOptions{}, func(t *testing.T, srv, cli side) {
		conns, workers := 400, 8
		if testing.Short() {
			conns = 80
		}
		ln := listen(t, srv)
		stop := serve(t, ln, func(c net.Conn) {
			req := make([]byte, 32)
			if _, err := io.ReadFull(c, req); err != nil {
				return
			}
			for i := range req {
				req[i] ^= 0xff
			}
			c.Write(req)
			io.Copy(io.Discard, c) // until the client's FIN
		})
		defer stop()
		to := netip.AddrPortFrom(srv.Addr(), tcpPort)
		errs := make(chan error, conns)
		var wg sync.WaitGroup
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := w; i < conns; i += workers {
					errs <- shortConn(cli, to, i)
				}
			}()
		}
		wg.Wait()
		close(errs)
		failed := 0
		for err := range errs {
			if err != nil {
				if failed < 5 {
					t.Error(err)
				}
				failed++
			}
		}
		if failed > 0 {
			t.Errorf("%d of %d short connections failed", failed, conns)
		}
	})
}

func shortConn(cli side, to netip.AddrPort, i int) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := cli.DialTCP(ctx, to)
	if err != nil {
		return fmt.Errorf("conn %d: dial: %w", i, err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(tcpTimeout))
	req := make([]byte, 32)
	for j := range req {
		req[j] = byte(i + j)
	}
	if _, err := c.Write(req); err != nil {
		return fmt.Errorf("conn %d: write: %w", i, err)
	}
	rsp := make([]byte, 32)
	if _, err := io.ReadFull(c, rsp); err != nil {
		return fmt.Errorf("conn %d: read: %w", i, err)
	}
	for j := range rsp {
		if rsp[j] != req[j]^0xff {
			return fmt.Errorf("conn %d: response %x, want the request %x inverted", i, rsp, req)
		}
	}
	return nil
}

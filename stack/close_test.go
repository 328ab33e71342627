package stack

import (
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"runtime"
	"runtime/pprof"
	"strings"
	"testing"
	"time"

	"ustack/drivers/vwire"
	"ustack/gonet"
	"ustack/tcp"
	"ustack/wire"
)

// twoStacks cables stacks a (10.0.0.1) and b (10.0.0.2) with a vwire.
// 10.0.0.3 is a silent peer: a's neighbour entry sends its frames to a
// MAC no one has. The caller closes both.
func twoStacks(t *testing.T) (a, b *Stack) {
	t.Helper()
	ea, eb := vwire.NewPair(vwire.Config{Name: "a", MAC: vwire.SeededMAC(9, 1)}, vwire.Config{Name: "b", MAC: vwire.SeededMAC(9, 2)})
	mk := func(end *vwire.End, addr string, seed uint64) *Stack {
		s := New(Options{CheckedBuffers: true, Seed: seed})
		if _, err := s.AddNIC("eth0", end); err != nil {
			t.Fatal(err)
		}
		if err := s.AddAddress("eth0", netip.MustParsePrefix(addr)); err != nil {
			t.Fatal(err)
		}
		return s
	}
	a, b = mk(ea, "10.0.0.1/24", 1), mk(eb, "10.0.0.2/24", 2)
	dev, _ := a.Device("eth0")
	if err := a.Neigh().SetStatic(dev, netip.MustParseAddr("10.0.0.3"), wire.MAC{2, 0, 0, 0, 0, 0x99}); err != nil {
		t.Fatal(err)
	}
	return a, b
}

// waitState waits until c's connection is in state want.
func waitState(t *testing.T, c net.Conn, want tcp.State) {
	t.Helper()
	ep := c.(*gonet.TCPConn).Endpoint()
	deadline := time.Now().Add(5 * time.Second)
	for ep.State() != want {
		if time.Now().After(deadline) {
			t.Fatalf("%v: state %v, want %v", c.LocalAddr(), ep.State(), want)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestCloseWithConnectionsInEveryState closes a stack holding a listener
// with an Accept blocked, established connections with unread data, with
// a Read blocked and with a Write blocked on a closed window, a Dial in
// SYN_SENT to a silent peer, a connection in TIME_WAIT and one in
// CLOSE_WAIT. Close must return promptly; every blocked call must fail
// with an error matching net.ErrClosed, and so must later calls on the
// conns; no buffer, connection or goroutine may be left.
func TestCloseWithConnectionsInEveryState(t *testing.T) {
	before := runtime.NumGoroutine()
	a, b := twoStacks(t)
	defer b.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	ln, err := a.Listen("tcp", "10.0.0.1:80")
	if err != nil {
		t.Fatal(err)
	}
	// accept dials from b and returns a's end and b's end.
	accept := func() (net.Conn, net.Conn) {
		t.Helper()
		bc, err := b.DialContext(ctx, "tcp", "10.0.0.1:80")
		if err != nil {
			t.Fatal(err)
		}
		ac, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		return ac, bc
	}
	unread, bUnread := accept()
	if _, err := bUnread.Write([]byte("never read")); err != nil {
		t.Fatal(err)
	}
	reader, _ := accept()
	writer, bWriter := accept()
	bWriter.(*gonet.TCPConn).SetReadBuffer(4096) // a small window, never opened
	timeWait, bTimeWait := accept()
	closeWait, bCloseWait := accept()

	// TIME_WAIT: a closes first; CLOSE_WAIT: b does.
	timeWait.Close()
	if _, err := io.ReadAll(bTimeWait); err != nil {
		t.Fatal(err)
	}
	bTimeWait.Close()
	bCloseWait.Close()
	waitState(t, timeWait, tcp.TimeWait)
	waitState(t, closeWait, tcp.CloseWait)
	deadline := time.Now().Add(5 * time.Second)
	for a.Stats().TCP.CurrEstab.Load() != 4 || unreadBytes(unread) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("a: CurrEstab %d, unread %d bytes; want 4 and some", a.Stats().TCP.CurrEstab.Load(), unreadBytes(unread))
		}
		time.Sleep(time.Millisecond)
	}

	// The blocked calls, each reporting what it returned.
	type result struct {
		what string
		err  error
	}
	results := make(chan result, 4)
	go func() {
		_, err := ln.Accept()
		results <- result{"Accept", err}
	}()
	go func() {
		_, err := reader.Read(make([]byte, 10))
		results <- result{"Read", err}
	}()
	go func() {
		_, err := writer.Write(make([]byte, 16<<20))
		results <- result{"Write", err}
	}()
	go func() {
		c, err := a.DialContext(ctx, "tcp", "10.0.0.3:80")
		if c != nil {
			c.Close()
		}
		results <- result{"Dial to a silent peer", err}
	}()
	deadline = time.Now().Add(5 * time.Second)
	for a.Stats().TCP.ActiveOpens.Load() != 1 || writer.(*gonet.TCPConn).Endpoint().Info().Unsent == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the Dial did not start, or the Write did not fill the window")
		}
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond) // let every call block

	start := time.Now()
	closed := make(chan error, 1)
	go func() { closed <- a.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Fatalf("Close = %v", err)
		}
	case <-time.After(5 * time.Second):
		dumpGoroutines(t)
		t.Fatal("Close did not return within 5s")
	}
	t.Logf("Close took %v", time.Since(start))
	for range 4 {
		select {
		case r := <-results:
			if !errors.Is(r.err, net.ErrClosed) {
				t.Errorf("blocked %s = %v, want net.ErrClosed", r.what, r.err)
			}
		case <-time.After(5 * time.Second):
			dumpGoroutines(t)
			t.Fatal("a call blocked across Close did not return")
		}
	}
	for _, c := range []net.Conn{unread, reader, writer, timeWait, closeWait} {
		name := c.LocalAddr().String()
		if st := c.(*gonet.TCPConn).Endpoint().State(); st != tcp.Closed {
			t.Errorf("%s: state %v after Close, want CLOSED", name, st)
		}
		if _, err := c.Read(make([]byte, 1)); !errors.Is(err, net.ErrClosed) {
			t.Errorf("%s: Read after Close = %v, want net.ErrClosed", name, err)
		}
		if _, err := c.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
			t.Errorf("%s: Write after Close = %v, want net.ErrClosed", name, err)
		}
	}
	if _, err := ln.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Accept after Close = %v, want net.ErrClosed", err)
	}
	if _, err := a.Listen("tcp", "10.0.0.1:81"); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Listen after Close = %v, want net.ErrClosed", err)
	}
	if _, err := a.DialContext(ctx, "tcp", "10.0.0.2:80"); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Dial after Close = %v, want net.ErrClosed", err)
	}
	if n := a.Stats().TCP.CurrEstab.Load(); n != 0 {
		t.Errorf("CurrEstab = %d after Close, want 0", n)
	}
	b.Close() // b's queues hold frames from a's pool (vwire does not copy)
	for _, s := range []*Stack{a, b} {
		if n := s.Pool().Live(); n != 0 {
			t.Errorf("%d packet buffers held after Close", n)
		}
	}
	checkNoGoroutines(t, before)
}

func unreadBytes(c net.Conn) int { return c.(*gonet.TCPConn).Endpoint().Info().RcvQueued }

// checkNoGoroutines fails t if more goroutines run than before, after a
// short settle, and dumps those running ustack code.
func checkNoGoroutines(t *testing.T, before int) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		dumpGoroutines(t)
		t.Fatalf("%d goroutines after Close, %d before: leaked", n, before)
	}
}

// dumpGoroutines logs the stacks of the goroutines running ustack code.
func dumpGoroutines(t *testing.T) {
	var sb strings.Builder
	pprof.Lookup("goroutine").WriteTo(&sb, 2)
	for _, g := range strings.Split(sb.String(), "\n\n") {
		if strings.Contains(g, "ustack/") && !strings.Contains(g, "dumpGoroutines") {
			t.Log(g)
		}
	}
}

// TestCloseWakesEveryBlockedCall: several goroutines blocked on one
// socket — Accepts on a listener, Reads and Writes on a connection — all
// return net.ErrClosed when the socket is closed, not only the first.
func TestCloseWakesEveryBlockedCall(t *testing.T) {
	before := runtime.NumGoroutine()
	a, b := twoStacks(t)
	defer b.Close()
	defer a.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ln, err := a.Listen("tcp", "10.0.0.1:80")
	if err != nil {
		t.Fatal(err)
	}
	bc, err := b.DialContext(ctx, "tcp", "10.0.0.1:80")
	if err != nil {
		t.Fatal(err)
	}
	bc.(*gonet.TCPConn).SetReadBuffer(4096) // a small window, never opened
	ac, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	const n = 3
	errs := make(chan error, 3*n)
	for range n {
		go func() { _, err := ln.Accept(); errs <- err }()
		go func() { _, err := ac.Read(make([]byte, 1)); errs <- err }()
		go func() { _, err := ac.Write(make([]byte, 8<<20)); errs <- err }()
	}
	time.Sleep(50 * time.Millisecond) // let every call block
	ln.Close()
	ac.Close()
	for range 3 * n {
		select {
		case err := <-errs:
			if !errors.Is(err, net.ErrClosed) {
				t.Errorf("blocked call after Close = %v, want net.ErrClosed", err)
			}
		case <-time.After(5 * time.Second):
			dumpGoroutines(t)
			t.Fatal("a call blocked on a closed socket did not return")
		}
	}
	bc.Close()
	a.Close()
	b.Close()
	checkNoGoroutines(t, before)
}

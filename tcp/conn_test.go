package tcp_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"ustack/drivers/fault"
	"ustack/gonet"
	"ustack/netsim"
	"ustack/stack"
	"ustack/tcp"
)

func dial(t *testing.T, p *pair, addr string) net.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := p.a.DialContext(ctx, "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// connPair returns a connected client (on a) and server (on b).
func connPair(t *testing.T, p *pair) (client, server net.Conn) {
	t.Helper()
	ln, err := p.b.Listen("tcp", "10.0.0.2:7000")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	ch := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			ch <- nil
			return
		}
		ch <- c
	}()
	client = dial(t, p, "10.0.0.2:7000")
	server = <-ch
	if server == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { client.Close(); server.Close() })
	return client, server
}

func TestConnectionRefused(t *testing.T) {
	p := newPair(t, 1, netsim.LinkOptions{})
	_, err := p.a.DialContext(context.Background(), "tcp", "10.0.0.2:81")
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("dial: %v, want ECONNREFUSED", err)
	}
	if want := "dial tcp 10.0.0.2:81: connect: connection refused"; err.Error() != want {
		t.Errorf("error prints %q, want %q", err, want)
	}
}

func TestAddressInUse(t *testing.T) {
	p := newPair(t, 1, netsim.LinkOptions{})
	ln, err := p.b.Listen("tcp", ":7000")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if ln.Addr().(*net.TCPAddr).Port != 7000 {
		t.Errorf("Addr = %v", ln.Addr())
	}
	_, err = p.b.Listen("tcp", ":7000")
	if !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("second Listen: %v, want EADDRINUSE", err)
	}
	if want := "listen tcp 0.0.0.0:7000: bind: address already in use"; err.Error() != want {
		t.Errorf("error prints %q, want %q", err, want)
	}
}

func TestDeadlines(t *testing.T) {
	p := newPair(t, 1, netsim.LinkOptions{})
	c, s := connPair(t, p)
	// A deadline in the past fails at once.
	c.SetReadDeadline(time.Now().Add(-time.Second))
	_, err := c.Read(make([]byte, 1))
	var ne net.Error
	if !errors.Is(err, os.ErrDeadlineExceeded) || !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("Read with a past deadline: %v", err)
	}
	// A pending Read is cut by a deadline set while it waits.
	c.SetReadDeadline(time.Time{})
	done := make(chan error, 1)
	go func() { _, err := c.Read(make([]byte, 1)); done <- err }()
	time.Sleep(20 * time.Millisecond)
	c.SetReadDeadline(time.Now().Add(30 * time.Millisecond))
	select {
	case err := <-done:
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("pending Read: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("pending Read not cut by the deadline")
	}
	// Moving the deadline away makes the conn usable again.
	c.SetReadDeadline(time.Time{})
	s.Write([]byte("x"))
	if _, err := io.ReadFull(c, make([]byte, 1)); err != nil {
		t.Fatalf("Read after clearing the deadline: %v", err)
	}
	// A Write blocked on a full window is cut by the write deadline.
	s.(*gonet.TCPConn).SetReadBuffer(4096)
	c.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
	n, err := c.Write(make([]byte, 8<<20))
	if !errors.Is(err, os.ErrDeadlineExceeded) || n == 0 || n >= 8<<20 {
		t.Fatalf("Write into a stalled peer: n=%d err=%v", n, err)
	}
}

func TestCloseWriteHalfClose(t *testing.T) {
	p := newPair(t, 1, netsim.LinkOptions{})
	c, s := connPair(t, p)
	c.Write([]byte("request"))
	c.(*gonet.TCPConn).CloseWrite()
	got, err := io.ReadAll(s)
	if err != nil || string(got) != "request" {
		t.Fatalf("server read %q, %v", got, err)
	}
	// The server can still answer on its half.
	s.Write([]byte("response"))
	s.Close()
	got, err = io.ReadAll(c)
	if err != nil || string(got) != "response" {
		t.Fatalf("client read %q, %v", got, err)
	}
	if _, err := c.Write([]byte("x")); !errors.Is(err, syscall.EPIPE) {
		t.Errorf("Write after CloseWrite: %v, want EPIPE", err)
	}
}

func TestResetByPeer(t *testing.T) {
	p := newPair(t, 1, netsim.LinkOptions{})
	c, s := connPair(t, p)
	s.(*gonet.TCPConn).SetLinger(0)
	s.Close() // RST
	_, err := c.Read(make([]byte, 1))
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("Read: %v, want ECONNRESET", err)
	}
	if !strings.Contains(err.Error(), "read tcp 10.0.0.1:") || !strings.HasSuffix(err.Error(), "->10.0.0.2:7000: read: connection reset by peer") {
		t.Errorf("error prints %q", err)
	}
	if _, err := c.Read(make([]byte, 1)); !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("second Read: %v", err)
	}
	c.Close()
	if _, err := c.Read(make([]byte, 1)); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Read after Close: %v, want net.ErrClosed", err)
	}
}

func TestListenerCloseUnblocksAccept(t *testing.T) {
	p := newPair(t, 1, netsim.LinkOptions{})
	ln, err := p.b.Listen("tcp", ":7001")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := ln.Accept(); done <- err }()
	time.Sleep(10 * time.Millisecond)
	ln.Close()
	select {
	case err := <-done:
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("Accept after Close: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Accept not unblocked by Close")
	}
}

func TestDialCancel(t *testing.T) {
	p := newPair(t, 1, netsim.LinkOptions{AtoB: &fault.Impair{Loss: 1}})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := p.a.DialContext(ctx, "tcp", "10.0.0.2:80")
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 2*time.Second {
		t.Fatalf("dial with a 100ms context: %v after %v", err, time.Since(start))
	}
	d := stack.Dialer{Stack: p.a.Stack, Timeout: 50 * time.Millisecond}
	if _, err := d.DialContext(context.Background(), "tcp", "10.0.0.2:80"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Dialer.Timeout: %v", err)
	}
}

// TestPeerVanishes cuts the wire under an open connection: keepalive
// probes go unanswered and the connection fails with ETIMEDOUT.
func TestPeerVanishes(t *testing.T) {
	p := newPair(t, 1, netsim.LinkOptions{})
	c, _ := connPair(t, p)
	tc := c.(*gonet.TCPConn)
	tc.Endpoint().SetKeepAliveCount(2)
	tc.SetKeepAlivePeriod(50 * time.Millisecond)
	tc.SetKeepAlive(true)
	p.b.Close() // the peer's host disappears
	start := time.Now()
	_, err := c.Read(make([]byte, 1))
	if !errors.Is(err, syscall.ETIMEDOUT) {
		t.Fatalf("Read: %v, want ETIMEDOUT", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v", d)
	}
}

func TestHTTP(t *testing.T) {
	p := newPair(t, 1, netsim.LinkOptions{})
	ln, err := p.b.Listen("tcp", ":80")
	if err != nil {
		t.Fatal(err)
	}
	body := strings.Repeat("ustack ", 50000)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, body)
	})}
	go srv.Serve(ln)
	defer srv.Close()
	tr := &http.Transport{DialContext: p.a.DialContext}
	defer tr.CloseIdleConnections()
	cl := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	for i := 0; i < 3; i++ {
		resp, err := cl.Get("http://10.0.0.2/")
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || string(got) != body {
			t.Fatalf("GET: %d bytes, %v", len(got), err)
		}
	}
}

func TestTLS(t *testing.T) {
	p := newPair(t, 1, netsim.LinkOptions{})
	cert := selfSigned(t)
	ln, err := p.b.Listen("tcp", ":443")
	if err != nil {
		t.Fatal(err)
	}
	tln := tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}})
	defer tln.Close()
	go func() {
		c, err := tln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		io.Copy(c, c)
	}()
	raw := dial(t, p, "10.0.0.2:443")
	pool := x509.NewCertPool()
	pool.AddCert(cert.Leaf)
	c := tls.Client(raw, &tls.Config{RootCAs: pool, ServerName: "ustack.test"})
	defer c.Close()
	msg := strings.Repeat("secret ", 10000)
	go c.Write([]byte(msg))
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(c, got); err != nil || string(got) != msg {
		t.Fatalf("TLS echo: %v", err)
	}
}

func selfSigned(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ustack.test"},
		DNSNames: []string{"ustack.test"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
}

// TestStackCloseReclaims closes the stacks under open connections and
// blocked calls: every call returns, and no goroutine is left behind.
func TestStackCloseReclaims(t *testing.T) {
	before := runtime.NumGoroutine()
	func() {
		n := netsim.New(netsim.Options{Seed: 9})
		a, b := n.Host("a"), n.Host("b")
		n.MustLink(a, "10.0.0.1/24", b, "10.0.0.2/24", netsim.LinkOptions{})
		ln, err := b.Listen("tcp", ":7000")
		if err != nil {
			t.Fatal(err)
		}
		accepted := make(chan net.Conn, 2)
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				accepted <- c
			}
		}()
		c1, err := a.DialContext(context.Background(), "tcp", "10.0.0.2:7000")
		if err != nil {
			t.Fatal(err)
		}
		c2, err := a.DialContext(context.Background(), "tcp", "10.0.0.2:7000")
		if err != nil {
			t.Fatal(err)
		}
		s1 := <-accepted
		<-accepted
		c2.Close() // c2 goes through FIN_WAIT to TIME_WAIT on a
		s1.Write([]byte("unread"))
		readErr := make(chan error, 1)
		go func() { _, err := io.ReadAll(c1); readErr <- err }() // blocked in Read
		time.Sleep(20 * time.Millisecond)
		n.Close()
		select {
		case err := <-readErr:
			if !errors.Is(err, net.ErrClosed) {
				t.Errorf("blocked Read after stack Close: %v, want net.ErrClosed", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("blocked Read not released by stack Close")
		}
		for _, h := range []*netsim.Host{a, b} {
			if live := h.Pool().Live(); live != 0 {
				t.Errorf("%s: %d buffers held after Close", h.Name, live)
			}
		}
	}()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<16)
		t.Errorf("%d goroutines after Close, %d before:\n%s", n, before, buf[:runtime.Stack(buf, true)])
	}
}

// TestResetConnHeldByUserFreedOnStackClose: a connection reset while its
// unread data waits for the user is out of the demux table, yet closing
// the stack must still free that data.
func TestResetConnHeldByUserFreedOnStackClose(t *testing.T) {
	n := netsim.New(netsim.Options{Seed: 3})
	a, b := n.Host("a"), n.Host("b")
	n.MustLink(a, "10.0.0.1/24", b, "10.0.0.2/24", netsim.LinkOptions{})
	ln, err := b.Listen("tcp", ":7000")
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan net.Conn, 1)
	go func() { c, _ := ln.Accept(); ch <- c }()
	c, err := a.DialContext(context.Background(), "tcp", "10.0.0.2:7000")
	if err != nil {
		t.Fatal(err)
	}
	s := <-ch
	if s == nil {
		t.Fatal("accept failed")
	}
	s.Write([]byte("never read"))
	ep := c.(*gonet.TCPConn).Endpoint()
	waitFor(t, func() bool { return ep.Info().RcvQueued > 0 })
	s.(*gonet.TCPConn).SetLinger(0)
	s.Close() // RST reaches c, which the user still holds
	waitFor(t, func() bool { return ep.Info().State == tcp.Closed })
	if a.Pool().Live()+b.Pool().Live() == 0 {
		t.Fatal("reset dropped the unread data: the test no longer covers the case")
	}
	n.Close()
	for _, h := range []*netsim.Host{a, b} {
		if live := h.Pool().Live(); live != 0 {
			t.Errorf("%s: %d buffers held after stack Close", h.Name, live)
		}
	}
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Error("Read after stack Close succeeded")
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 5s")
		}
		time.Sleep(time.Millisecond)
	}
}

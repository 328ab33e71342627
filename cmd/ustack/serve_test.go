package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"ustack/netsim"
	"ustack/stats"
)

// servicesOnNet starts --serve LIST on host a (10.0.0.1) of a two-host
// network and returns b (10.0.0.2) to reach them from. Cleanup stops the
// services and the network.
func servicesOnNet(t *testing.T, list string) (*netsim.Host, *serviceSet) {
	t.Helper()
	n := netsim.New(netsim.Options{Seed: 1})
	a, b := n.Host("a"), n.Host("b")
	n.MustLink(a, "10.0.0.1/24", b, "10.0.0.2/24", netsim.LinkOptions{})
	var l serveList
	if err := l.Set(list); err != nil {
		t.Fatalf("serveList.Set(%q) = %v", list, err)
	}
	svcs := &serviceSet{}
	t.Cleanup(func() {
		svcs.stop()
		n.Close()
	})
	if err := svcs.start(a.Stack, l); err != nil {
		t.Fatalf("starting %s: %v", list, err)
	}
	return b, svcs
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// counter returns a service's counter by name.
func counter(svcs *serviceSet, name, proto, counter string) int64 {
	svcs.mu.Lock()
	defer svcs.mu.Unlock()
	for _, r := range svcs.all {
		if r.spec.svc.name == name && r.spec.svc.proto == proto {
			var v int64
			stats.Walk(&r.stats, func(n string, x int64) {
				if n == counter {
					v = x
				}
			})
			return v
		}
	}
	return -1
}

func TestEchoTCP(t *testing.T) {
	b, svcs := servicesOnNet(t, "echo")
	ctx := testCtx(t)
	c, err := b.DialContext(ctx, "tcp", "10.0.0.1:7")
	if err != nil {
		t.Fatalf("dial echo/tcp: %v", err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	msg := make([]byte, 200_000)
	for i := range msg {
		msg[i] = byte(rand.IntN(256))
	}
	errc := make(chan error, 1)
	go func() {
		_, err := c.Write(msg)
		if err == nil {
			err = c.(interface{ CloseWrite() error }).CloseWrite()
		}
		errc <- err
	}()
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("reading echo: %v", err)
	}
	if err := <-errc; err != nil {
		t.Fatalf("writing to echo: %v", err)
	}
	if !bytes.Equal(got, msg) {
		t.Errorf("echo/tcp returned %d bytes, want the %d sent", len(got), len(msg))
	}
	if v := counter(svcs, "echo", "tcp", "InBytes"); v != int64(len(msg)) {
		t.Errorf("echo/tcp InBytes = %d, want %d", v, len(msg))
	}

	// echo/udp still answers on the same port.
	pc, err := b.DialContext(ctx, "udp", "10.0.0.1:7")
	if err != nil {
		t.Fatalf("dial echo/udp: %v", err)
	}
	defer pc.Close()
	pc.SetDeadline(time.Now().Add(10 * time.Second))
	pc.Write([]byte("hello"))
	buf := make([]byte, 100)
	if n, err := pc.Read(buf); err != nil || string(buf[:n]) != "hello" {
		t.Errorf("echo/udp = %q, %v; want hello", buf[:n], err)
	}
}

func TestDiscardTCP(t *testing.T) {
	b, svcs := servicesOnNet(t, "discard/tcp")
	c, err := b.DialContext(testCtx(t), "tcp", "10.0.0.1:9")
	if err != nil {
		t.Fatalf("dial discard: %v", err)
	}
	c.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := c.Write(make([]byte, 100_000)); err != nil {
		t.Fatalf("write: %v", err)
	}
	c.(interface{ CloseWrite() error }).CloseWrite()
	if n, err := io.Copy(io.Discard, c); n != 0 || err != nil {
		t.Errorf("discard sent %d bytes (%v), want 0 and EOF", n, err)
	}
	c.Close()
	// The handler counts after the read that returns the data; the FIN
	// read above comes after it.
	if v := counter(svcs, "discard", "tcp", "InBytes"); v != 100_000 {
		t.Errorf("discard InBytes = %d, want 100000", v)
	}
	if v := counter(svcs, "discard", "tcp", "Connections"); v != 1 {
		t.Errorf("discard Connections = %d, want 1", v)
	}
}

// rfc864First is the first line of RFC 864's example.
const rfc864First = "!\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefgh\r\n"

func TestChargenTCP(t *testing.T) {
	b, svcs := servicesOnNet(t, "chargen")
	ctx := testCtx(t)
	c, err := b.DialContext(ctx, "tcp", "10.0.0.1:19")
	if err != nil {
		t.Fatalf("dial chargen: %v", err)
	}
	c.SetDeadline(time.Now().Add(20 * time.Second))
	buf := make([]byte, 200*chargenLineLen)
	if _, err := io.ReadFull(c, buf); err != nil {
		t.Fatalf("reading chargen: %v", err)
	}
	if got := string(buf[:chargenLineLen]); got != rfc864First {
		t.Errorf("chargen line 1 = %q, want %q", got, rfc864First)
	}
	if got, want := string(buf[chargenLineLen:2*chargenLineLen]), rfc864First[1:72]+"i\r\n"; got != want {
		t.Errorf("chargen line 2 = %q, want %q", got, want)
	}
	// Line 96 starts the pattern again.
	if got := string(buf[95*chargenLineLen : 96*chargenLineLen]); got != rfc864First {
		t.Errorf("chargen line 96 = %q, want line 1", got)
	}
	c.Close()

	pc, err := b.DialContext(ctx, "udp", "10.0.0.1:19")
	if err != nil {
		t.Fatalf("dial chargen/udp: %v", err)
	}
	defer pc.Close()
	pc.SetDeadline(time.Now().Add(10 * time.Second))
	pc.Write([]byte("x"))
	n, err := pc.Read(buf)
	if err != nil || n > 512 || !strings.HasPrefix(string(buf[:n]), rfc864First) {
		t.Errorf("chargen/udp = %d bytes %q, %v; want at most 512 starting with line 1", n, buf[:min(n, 80)], err)
	}
	if v := counter(svcs, "chargen", "tcp", "Connections"); v != 1 {
		t.Errorf("chargen Connections = %d, want 1", v)
	}
}

func httpClient(b *netsim.Host) *http.Client {
	return &http.Client{Transport: &http.Transport{DialContext: b.DialContext}, Timeout: 30 * time.Second}
}

func TestHTTPService(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "hello.txt"), []byte("hello from a file\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	b, svcs := servicesOnNet(t, "http::"+dir)
	hc := httpClient(b)
	defer hc.CloseIdleConnections()

	get := func(path string) (int, []byte) {
		t.Helper()
		resp, err := hc.Get("http://10.0.0.1" + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("GET %s: reading body: %v", path, err)
		}
		return resp.StatusCode, body
	}

	t.Run("status", func(t *testing.T) {
		code, body := get("/")
		if code != 200 || !strings.Contains(string(body), "10.0.0.1/24") || !strings.Contains(string(body), "PassiveOpens=") {
			t.Errorf("GET / = %d\n%s\nwant 200 with the address and TCP counters", code, body)
		}
	})

	t.Run("bytes", func(t *testing.T) {
		code, body := get("/bytes?n=100000")
		if code != 200 || len(body) != 100000 {
			t.Fatalf("GET /bytes?n=100000 = %d, %d bytes", code, len(body))
		}
		for i, c := range body {
			if c != byte(i%251) {
				t.Fatalf("GET /bytes: byte %d = %d, want %d", i, c, i%251)
			}
		}
		for _, bad := range []string{"", "x", "-1", "1099511627777"} {
			if code, _ := get("/bytes?n=" + bad); code != 400 {
				t.Errorf("GET /bytes?n=%s = %d, want 400", bad, code)
			}
		}
	})

	t.Run("sink", func(t *testing.T) {
		body := make([]byte, 1<<20)
		for i := range body {
			body[i] = byte(rand.IntN(256))
		}
		resp, err := hc.Post("http://10.0.0.1/sink", "application/octet-stream", bytes.NewReader(body))
		if err != nil {
			t.Fatalf("POST /sink: %v", err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		sum := sha256.Sum256(body)
		want := fmt.Sprintf("bytes=%d sha256=%s\n", len(body), hex.EncodeToString(sum[:]))
		if resp.StatusCode != 200 || string(got) != want {
			t.Errorf("POST /sink = %d %q, want %q", resp.StatusCode, got, want)
		}
	})

	t.Run("files", func(t *testing.T) {
		if code, body := get("/hello.txt"); code != 200 || string(body) != "hello from a file\n" {
			t.Errorf("GET /hello.txt = %d %q", code, body)
		}
		if code, _ := get("/nope.txt"); code != 404 {
			t.Errorf("GET /nope.txt = %d, want 404", code)
		}
	})

	if v := counter(svcs, "http", "tcp", "Requests"); v < 8 {
		t.Errorf("http Requests = %d, want at least 8", v)
	}
}

// TestServicesStop checks that stop ends services with connections
// still open: a chargen writer, an http response in flight, an idle echo.
func TestServicesStop(t *testing.T) {
	b, svcs := servicesOnNet(t, "echo/tcp,chargen/tcp,http")
	ctx := testCtx(t)
	var conns []net.Conn
	for _, addr := range []string{"10.0.0.1:7", "10.0.0.1:19"} {
		c, err := b.DialContext(ctx, "tcp", addr)
		if err != nil {
			t.Fatalf("dial %s: %v", addr, err)
		}
		defer c.Close()
		conns = append(conns, c)
	}
	hc := httpClient(b)
	resp, err := hc.Get("http://10.0.0.1/bytes?n=1000000000")
	if err != nil {
		t.Fatalf("GET /bytes: %v", err)
	}
	defer resp.Body.Close()
	io.ReadFull(resp.Body, make([]byte, 1000))
	for range 100 { // until chargen and echo are accepted
		if counter(svcs, "echo", "tcp", "Connections") == 1 && counter(svcs, "chargen", "tcp", "Connections") == 1 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}

	stopped := make(chan struct{})
	go func() { svcs.stop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		t.Fatal("services still stopping after 10s")
	}
	if _, err := io.Copy(io.Discard, resp.Body); err == nil {
		t.Errorf("/bytes body ended cleanly after stop, want an error")
	}
	if _, err := b.DialContext(ctx, "tcp", "10.0.0.1:7"); err == nil {
		t.Errorf("dial echo after stop succeeded")
	}
	// No goroutine of a service is left: stop waited for the handlers,
	// and net/http's per-connection goroutines end once their conns
	// are closed.
	var left string
	for range 100 {
		buf := make([]byte, 1<<20)
		left = ""
		for g := range strings.SplitSeq(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
			for _, f := range []string{"ustack.(*runningService)", "ustack.echoTCP(", "ustack.chargenTCP(", "ustack.(*httpService)", "net/http.(*conn).serve("} {
				if strings.Contains(g, f) {
					left += g + "\n\n"
					break
				}
			}
		}
		if left == "" {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Errorf("service goroutines left after stop:\n%s", left)
}

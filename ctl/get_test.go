package ctl_test

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"ustack/ctl"
	"ustack/stack"
)

// pattern is byte i of a /bytes body: i % 251, as `ustack up --serve
// http` sends it.
var pattern = func() []byte {
	b := make([]byte, 251*64)
	for i := range b {
		b[i] = byte(i % 251)
	}
	return b
}()

// patternSum returns the SHA-256 of the first n bytes of the pattern.
func patternSum(n int64) [32]byte {
	h := sha256.New()
	for n > 0 {
		p := pattern[:min(int64(len(pattern)), n)]
		h.Write(p)
		n -= int64(len(p))
	}
	return [32]byte(h.Sum(nil))
}

// httpOnB is an HTTP server on stack b, port 80:
//
//	/bytes?n=N  N bytes of the pattern, with Content-Length
//	/forever    the pattern until a write fails, which ends on gone
//	/stall      the header, then nothing until the client leaves
//	other       404
type httpOnB struct {
	written atomic.Int64  // body bytes written by /bytes and /forever
	gone    chan error    // /forever's failed write, when it fails
	started chan struct{} // closed when /forever has started
}

func newHTTPOnB(t *testing.T, n *testNet) *httpOnB {
	t.Helper()
	h := &httpOnB{gone: make(chan error, 1), started: make(chan struct{})}
	l, err := n.b.Listen("tcp", ":80")
	if err != nil {
		t.Fatalf("Listen(:80) on b: %v", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /bytes", func(w http.ResponseWriter, r *http.Request) {
		size, _ := strconv.ParseInt(r.URL.Query().Get("n"), 10, 64)
		w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
		for size > 0 {
			k, err := w.Write(pattern[:min(int64(len(pattern)), size)])
			h.written.Add(int64(k))
			if err != nil {
				return
			}
			size -= int64(k)
		}
	})
	mux.HandleFunc("GET /forever", func(w http.ResponseWriter, r *http.Request) {
		close(h.started)
		for {
			k, err := w.Write(pattern)
			h.written.Add(int64(k))
			if err != nil {
				h.gone <- err
				return
			}
		}
	})
	mux.HandleFunc("GET /stall", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1000")
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	srv := &http.Server{Handler: mux}
	done := make(chan struct{})
	go func() { defer close(done); srv.Serve(l) }()
	t.Cleanup(func() { srv.Close(); <-done })
	return h
}

// hashWriter hashes and counts what is written to it.
type hashWriter struct {
	h hash.Hash
	n int64
}

func (w *hashWriter) Write(p []byte) (int, error) {
	w.n += int64(len(p))
	return w.h.Write(p)
}

// getServerGoroutines returns the stacks of running get handlers.
func getServerGoroutines() []string {
	var out []string
	for _, g := range serverGoroutines() {
		if strings.Contains(g, "ustack/ctl.(*Server).get") {
			out = append(out, g)
		}
	}
	return out
}

// waitTCPState waits until the control server's stack has want
// connections in state.
func waitTCPState(t *testing.T, c *ctl.Client, state string, want int64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		st, err := c.Status(testContext(t), "tcp")
		if err != nil {
			t.Fatalf("Status(tcp): %v", err)
		}
		got, ok := st.TCPState(state)
		if ok && got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("TCP %s = %d (found %v), want %d; all states %v", state, got, ok, want, st.TCPStates)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A body far larger than any buffer on the way arrives whole and in
// order.
func TestGetLargeBody(t *testing.T) {
	n := newTestNet(t)
	newHTTPOnB(t, n)
	c := n.dial(t)
	const size = 32 << 20
	var hdr ctl.GetHeader
	w := &hashWriter{h: sha256.New()}
	res, err := c.Get(testContext(t), ctl.GetArgs{URL: fmt.Sprintf("http://%v/bytes?n=%d", addrB, size)}, func(h ctl.GetHeader) error {
		hdr = h
		return nil
	}, w)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if hdr.StatusCode != 200 || hdr.Status != "200 OK" || !hdr.OK() || hdr.Length != size || hdr.Proto != "HTTP/1.1" {
		t.Errorf("header = %+v, want 200 OK, HTTP/1.1, length %d", hdr, size)
	}
	if hdr.Remote != netip.AddrPortFrom(addrB, 80) || hdr.Local.Addr() != addrA {
		t.Errorf("header ends = %v -> %v, want %v -> %v:80", hdr.Local, hdr.Remote, addrA, addrB)
	}
	if got := hdr.Header.Get("Content-Length"); got != strconv.Itoa(size) {
		t.Errorf("Content-Length header = %q, want %d", got, size)
	}
	if res.Bytes != size || w.n != size || res.Time <= 0 {
		t.Errorf("result %+v, %d bytes written; want %d bytes and a time", res, w.n, size)
	}
	if got, want := [32]byte(w.h.Sum(nil)), patternSum(size); got != want {
		t.Errorf("body SHA-256 = %x, want %x", got, want)
	}
	t.Logf("%d bytes in %v (%.1f MB/s)", res.Bytes, res.Time, float64(res.Bytes)/res.Time.D().Seconds()/1e6)
	// The connection is closed, from a's side first (not kept alive).
	waitTCPState(t, c, "ESTABLISHED", 0)
}

// A client that reads nothing holds the transfer back: the server keeps
// one chunk, the rest waits in the peer's socket buffers, and nothing
// is lost when the client reads again.
func TestGetBackpressure(t *testing.T) {
	n := newTestNet(t)
	h := newHTTPOnB(t, n)
	nc, err := net.Dial("unix", n.path)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	const size = 64 << 20
	fmt.Fprintf(nc, `{"id":1,"method":"get","args":{"url":"http://%v/bytes?n=%d"}}`+"\n", addrB, size)
	// Wait for the written count to settle with nothing read.
	var last int64 = -1
	for i := 0; i < 100; i++ {
		time.Sleep(20 * time.Millisecond)
		if w := h.written.Load(); w == last && w > 0 {
			break
		} else {
			last = w
		}
	}
	if w := h.written.Load(); w == 0 || w > 8<<20 {
		t.Fatalf("server wrote %d bytes to a client reading nothing, want some but at most 8 MiB of %d", w, size)
	}
	t.Logf("with the client not reading, the server wrote %d bytes", h.written.Load())
	sc := bufio.NewScanner(nc)
	sc.Buffer(make([]byte, 0, 1<<20), ctl.MaxLine)
	nc.SetReadDeadline(time.Now().Add(20 * time.Second))
	var got int64
	for sc.Scan() {
		var r ctl.Response
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("answer %.100s: %v", sc.Bytes(), err)
		}
		if r.Done {
			if r.Error != nil {
				t.Fatalf("get failed: %v", r.Error)
			}
			break
		}
		if r.Event == "body" {
			var b []byte
			if err := json.Unmarshal(r.Data, &b); err != nil {
				t.Fatal(err)
			}
			if len(b) > ctl.GetChunk {
				t.Fatalf("body event of %d bytes, want at most %d", len(b), ctl.GetChunk)
			}
			got += int64(len(b))
		}
	}
	if got != size {
		t.Errorf("body events carried %d bytes, want %d (scan: %v)", got, size, sc.Err())
	}
}

// Cancelling mid-body, by the context or by going away, ends the
// handler and closes the TCP connection: the server on b sees its writes
// fail.
func TestGetCancel(t *testing.T) {
	for _, tc := range []struct {
		name string
		// disconnect: once 1 MiB has arrived the client closes its
		// connection, rather than cancel its context.
		disconnect bool
	}{
		{name: "context", disconnect: false},
		{name: "disconnect", disconnect: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := newTestNet(t)
			h := newHTTPOnB(t, n)
			c := n.dial(t)
			ctx, cancel := context.WithCancel(testContext(t))
			defer cancel()
			var got int64
			w := writerFunc(func(p []byte) (int, error) {
				if got += int64(len(p)); got >= 1<<20 {
					if tc.disconnect {
						c.Close()
					} else {
						cancel()
					}
				}
				return len(p), nil
			})
			_, err := c.Get(ctx, ctl.GetArgs{URL: fmt.Sprintf("http://%v/forever", addrB)}, nil, w)
			if !tc.disconnect && !errors.Is(err, context.Canceled) {
				t.Errorf("Get after cancel = %v, want context.Canceled", err)
			}
			if tc.disconnect && err == nil {
				t.Errorf("Get after Close = nil, want an error")
			}
			select {
			case werr := <-h.gone:
				t.Logf("server's write failed as it should: %v", werr)
			case <-time.After(10 * time.Second):
				t.Fatalf("server on b still writing 10s after the client stopped (%d bytes)", h.written.Load())
			}
			waitGoroutines(t, "after the get was cancelled", getServerGoroutines)
			c2 := n.dial(t)
			waitTCPState(t, c2, "ESTABLISHED", 0)
			if a := n.a.Stats().TCP.CurrEstab.Load(); a != 0 {
				t.Errorf("a's CurrEstab = %d after the cancel, want 0", a)
			}
		})
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// An error from the writer cancels the request and is returned.
func TestGetWriterError(t *testing.T) {
	n := newTestNet(t)
	h := newHTTPOnB(t, n)
	c := n.dial(t)
	full := errors.New("disk full")
	_, err := c.Get(testContext(t), ctl.GetArgs{URL: fmt.Sprintf("http://%v/forever", addrB)}, nil, writerFunc(func([]byte) (int, error) {
		return 0, full
	}))
	if !errors.Is(err, full) {
		t.Errorf("Get with a failing writer = %v, want %v", err, full)
	}
	select {
	case <-h.gone:
	case <-time.After(10 * time.Second):
		t.Fatalf("server on b still writing 10s after the writer failed")
	}
	// The client is still usable.
	if _, err := c.Status(testContext(t), "routes"); err != nil {
		t.Errorf("Status after a failed Get: %v", err)
	}
}

func TestGetErrors(t *testing.T) {
	n := newTestNet(t)
	newHTTPOnB(t, n)
	c := n.dial(t)
	for _, tc := range []struct {
		name, url string
		timeout   time.Duration
		code      string        // want this error code, or
		errno     syscall.Errno // this errno, or
		status    int           // success with this status
	}{
		{name: "host name", url: "http://example.com/", code: ctl.CodeBadArgs},
		{name: "https", url: "https://10.0.0.2/", code: ctl.CodeBadArgs},
		{name: "ipv6", url: "http://[::1]/", code: ctl.CodeBadArgs},
		{name: "bad port", url: "http://10.0.0.2:99999/", code: ctl.CodeBadArgs},
		{name: "refused", url: "http://10.0.0.2:81/", errno: syscall.ECONNREFUSED},
		{name: "no route", url: "http://192.0.2.1/", errno: syscall.ENETUNREACH},
		{name: "not found", url: "http://10.0.0.2/nosuch", status: 404},
		{name: "stalled body", url: "http://10.0.0.2/stall", timeout: 200 * time.Millisecond, code: ctl.CodeTimeout},
	} {
		var hdr ctl.GetHeader
		_, err := c.Get(testContext(t), ctl.GetArgs{URL: tc.url, Timeout: ctl.Duration(tc.timeout)}, func(h ctl.GetHeader) error {
			hdr = h
			return nil
		}, io.Discard)
		var ce *ctl.Error
		switch {
		case tc.code != "":
			if !errors.As(err, &ce) || ce.Code != tc.code {
				t.Errorf("%s: Get(%s) = %v, want code %s", tc.name, tc.url, err, tc.code)
			}
		case tc.errno != 0:
			if !errors.Is(err, tc.errno) {
				t.Errorf("%s: Get(%s) = %v, want %v", tc.name, tc.url, err, tc.errno)
			}
		default:
			if err != nil || hdr.StatusCode != tc.status || hdr.OK() {
				t.Errorf("%s: Get(%s) = %v, status %d; want success with status %d", tc.name, tc.url, err, hdr.StatusCode, tc.status)
			}
		}
	}
}

func TestParseGetURL(t *testing.T) {
	for _, tc := range []struct {
		in, want string // want "" for an error
		hostName bool   // the error matches ErrHostName
	}{
		{in: "http://10.0.0.1/x?y=1", want: "http://10.0.0.1/x?y=1"},
		{in: "http://10.0.0.1", want: "http://10.0.0.1/"},
		{in: "10.0.0.1:8080/f", want: "http://10.0.0.1:8080/f"},
		{in: "HTTP://10.0.0.1/", want: "http://10.0.0.1/"},
		{in: "http://[::ffff:10.0.0.1]/", want: "http://[::ffff:10.0.0.1]/"},
		{in: "http://example.com/", hostName: true},
		{in: "localhost:80", hostName: true},
		{in: "https://10.0.0.1/"},
		{in: "ftp://10.0.0.1/"},
		{in: "http:///path"},
		{in: "http://[::1]/"},
		{in: "http://10.0.0.1:0/"},
		{in: "http://10.0.0.1:65536/"},
		{in: "http://10.0.0.1:x/"},
		{in: "http://%zz/"},
	} {
		u, err := ctl.ParseGetURL(tc.in)
		switch {
		case tc.want != "":
			if err != nil || u.String() != tc.want {
				t.Errorf("ParseGetURL(%q) = %v, %v; want %s", tc.in, u, err, tc.want)
			}
		case err == nil:
			t.Errorf("ParseGetURL(%q) = %v, want an error", tc.in, u)
		case errors.Is(err, ctl.ErrHostName) != tc.hostName:
			t.Errorf("ParseGetURL(%q) = %v; matches ErrHostName: %v, want %v", tc.in, err, !tc.hostName, tc.hostName)
		}
	}
}

// The "tcp" section counts connections per state: a listener, the
// connection it accepted, and TIME_WAIT after the active close.
func TestStatusTCPStates(t *testing.T) {
	n := newTestNet(t)
	c := n.dial(t)
	l, err := n.a.Listen("tcp", ":9000")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	waitTCPState(t, c, "LISTEN", 1)
	conn, err := n.b.DialContext(testContext(t), "tcp", "10.0.0.1:9000")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	srv, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	waitTCPState(t, c, "ESTABLISHED", 1)
	srv.Close() // a closes first: FIN_WAIT_1, FIN_WAIT_2, then TIME_WAIT once b closes
	waitTCPState(t, c, "FIN_WAIT_2", 1)
	conn.Close()
	waitTCPState(t, c, "TIME_WAIT", 1)
	waitTCPState(t, c, "ESTABLISHED", 0)
	l.Close()
	waitTCPState(t, c, "LISTEN", 0)
	st, err := c.Status(testContext(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(st.TCPStates) != 10 {
		t.Errorf("Status() TCP states = %v, want all 10 states listed", st.TCPStates)
	}
	if only, err := c.Status(testContext(t), "routes"); err != nil || only.TCPStates != nil {
		t.Errorf("Status(routes) TCP states = %v, %v; want none", only.TCPStates, err)
	}
}

// A program can fetch over a running stack: here the stack serves
// itself on its loopback.
func ExampleClient_Get() {
	st := stack.New(stack.Options{})
	defer st.Close()
	l, _ := st.Listen("tcp", "127.0.0.1:80")
	hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "hello from ustack")
	})}
	go hs.Serve(l)
	defer hs.Close()

	dir, _ := os.MkdirTemp("", "ctl-example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "ustack.sock")
	cl, _ := ctl.Listen(path)
	srv := ctl.NewServer(st)
	go srv.Serve(cl)
	defer srv.Close()

	c, err := ctl.Dial(path)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	res, err := c.Get(context.Background(), ctl.GetArgs{URL: "http://127.0.0.1/"}, func(h ctl.GetHeader) error {
		fmt.Println(h.Status)
		return nil
	}, os.Stdout)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.Bytes, "bytes")
	// Output:
	// 200 OK
	// hello from ustack
	// 18 bytes
}

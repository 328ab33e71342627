//go:build linux

package tcp_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"ustack/drivers/tap"
	"ustack/internal/testenv"
	"ustack/stack"
)

// Interop with the Linux kernel's TCP over a TAP: the kernel side lives in
// a namespace (cf. ustack/interop for the pattern). Skipped without
// privileges unless testenv requires them.

func kernelLink(t *testing.T) (*stack.Stack, string, netip.Addr, netip.Addr) {
	t.Helper()
	ns := testenv.NewNetns(t)
	s := stack.New(stack.Options{CheckedBuffers: true})
	t.Cleanup(func() {
		s.Close()
		if n := s.Pool().Live(); n != 0 {
			t.Errorf("%d packet buffers held after Close", n)
		}
	})
	p := testenv.Subnet(t)
	ours := netip.PrefixFrom(p.Addr().Next(), p.Bits())
	kern := netip.PrefixFrom(ours.Addr().Next(), p.Bits())
	name := testenv.UniqueName(t, "ut")
	td, err := tap.Open(name, tap.Options{Create: true, SetUp: true, MTU: 1500})
	if err != nil {
		t.Fatalf("tap.Open: %v", err)
	}
	if _, err := s.AddNIC(name, td); err != nil {
		td.Close()
		t.Fatal(err)
	}
	if err := s.AddAddress(name, ours); err != nil {
		t.Fatal(err)
	}
	testenv.Run(t, "ip", "link", "set", "dev", name, "netns", ns)
	testenv.NetnsRun(t, ns, "ip", "addr", "add", kern.String(), "dev", name)
	testenv.NetnsRun(t, ns, "ip", "link", "set", "dev", name, "up")
	return s, ns, ours.Addr(), kern.Addr()
}

// A kernel client (python3 urllib) fetches from a ustack HTTP server.
func TestLinuxClientUstackServer(t *testing.T) {
	testenv.RequireCommand(t, "python3")
	s, ns, ours, _ := kernelLink(t)
	ln, err := s.Listen("tcp", ":8080")
	if err != nil {
		t.Fatal(err)
	}
	body := strings.Repeat("0123456789abcdef", 1<<16) // 1 MiB
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, body) })}
	go srv.Serve(ln)
	defer srv.Close()
	script := `import urllib.request, hashlib, sys
d = urllib.request.urlopen(sys.argv[1], timeout=20).read()
print(len(d), hashlib.sha256(d).hexdigest())`
	out := testenv.NetnsRun(t, ns, "python3", "-c", script, fmt.Sprintf("http://%v:8080/", ours))
	want := fmt.Sprintf("%d %x", len(body), sha256.Sum256([]byte(body)))
	if strings.TrimSpace(out) != want {
		t.Fatalf("kernel client got %q, want %q", out, want)
	}
}

// A ustack client fetches from a kernel HTTP server (python3), and sends
// it a body, both directions over the kernel's TCP.
func TestUstackClientLinuxServer(t *testing.T) {
	testenv.RequireCommand(t, "python3")
	s, ns, _, kern := kernelLink(t)
	script := `import http.server, hashlib, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        d = b"x" * (1 << 20)
        self.send_response(200); self.send_header("Content-Length", str(len(d))); self.end_headers(); self.wfile.write(d)
    def do_POST(self):
        d = self.rfile.read(int(self.headers["Content-Length"]))
        r = hashlib.sha256(d).hexdigest().encode()
        self.send_response(200); self.send_header("Content-Length", str(len(r))); self.end_headers(); self.wfile.write(r)
    def log_message(self, *a): pass
http.server.HTTPServer((sys.argv[1], 8000), H).serve_forever()`
	cmd := testenv.NetnsStart(t, ns, "python3", "-c", script, kern.String())
	defer cmd.Process.Kill()
	tr := &http.Transport{DialContext: s.DialContext}
	defer tr.CloseIdleConnections()
	cl := &http.Client{Transport: tr, Timeout: 20 * time.Second}
	url := fmt.Sprintf("http://%v:8000/", kern)
	var resp *http.Response
	var err error
	for i := 0; i < 50; i++ { // wait for the server to come up
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
		resp, err = cl.Do(req)
		if err == nil {
			b, rerr := io.ReadAll(resp.Body)
			resp.Body.Close()
			cancel()
			if rerr != nil || len(b) != 1<<20 {
				t.Fatalf("GET: %d bytes, %v", len(b), rerr)
			}
			break
		}
		cancel()
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	up := strings.Repeat("ustack->linux ", 100000)
	resp, err = cl.Post(url, "application/octet-stream", strings.NewReader(up))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if want := fmt.Sprintf("%x", sha256.Sum256([]byte(up))); string(b) != want {
		t.Fatalf("server saw sha %s, want %s", b, want)
	}
}

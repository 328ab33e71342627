package ctl_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"ustack/ctl"
	"ustack/drivers/vwire"
	"ustack/stack"
)

// testNet is two stacks on a virtual wire: a (10.0.0.1/24) runs the
// control server, b (10.0.0.2/24) runs a UDP echo service on port 7.
type testNet struct {
	a, b   *stack.Stack
	srv    *ctl.Server
	path   string
	served chan error
}

var (
	addrA = netip.MustParseAddr("10.0.0.1")
	addrB = netip.MustParseAddr("10.0.0.2")
)

func newTestNet(t *testing.T) *testNet {
	t.Helper()
	n := &testNet{a: stack.New(stack.Options{}), b: stack.New(stack.Options{}), served: make(chan error, 1)}
	t.Cleanup(func() { n.b.Close(); n.a.Close() })
	endA, endB := vwire.NewPair(vwire.Config{}, vwire.Config{})
	for _, x := range []struct {
		st  *stack.Stack
		end *vwire.End
		p   string
	}{{n.a, endA, "10.0.0.1/24"}, {n.b, endB, "10.0.0.2/24"}} {
		if _, err := x.st.AddNIC("eth0", x.end); err != nil {
			t.Fatalf("AddNIC: %v", err)
		}
		if err := x.st.AddAddress("eth0", netip.MustParsePrefix(x.p)); err != nil {
			t.Fatalf("AddAddress(%s): %v", x.p, err)
		}
	}
	echo, err := n.b.ListenPacket("udp", ":7")
	if err != nil {
		t.Fatalf("ListenPacket(:7): %v", err)
	}
	echoDone := make(chan struct{})
	go func() {
		defer close(echoDone)
		buf := make([]byte, 65536)
		for {
			k, from, err := echo.ReadFrom(buf)
			if err != nil {
				return
			}
			echo.WriteTo(buf[:k], from)
		}
	}()
	t.Cleanup(func() { echo.Close(); <-echoDone })

	n.path = filepath.Join(t.TempDir(), "ustack.sock")
	l, err := ctl.Listen(n.path)
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	n.srv = ctl.NewServer(n.a)
	go func() { n.served <- n.srv.Serve(l) }()
	t.Cleanup(func() { n.shutdown(t) })
	return n
}

// shutdown closes the server and checks that Serve returned nil.
func (n *testNet) shutdown(t *testing.T) {
	t.Helper()
	if n.srv == nil {
		return
	}
	n.srv.Close()
	select {
	case err := <-n.served:
		if err != nil {
			t.Errorf("Serve = %v, want nil after Close", err)
		}
	case <-time.After(5 * time.Second):
		t.Errorf("Serve did not return after Close")
	}
	n.srv = nil
}

func (n *testNet) dial(t *testing.T) *ctl.Client {
	t.Helper()
	c, err := ctl.Dial(n.path)
	if err != nil {
		t.Fatalf("Dial(%s): %v", n.path, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestPing(t *testing.T) {
	n := newTestNet(t)
	c := n.dial(t)
	var replies []ctl.PingReply
	sum, err := c.Ping(testContext(t), ctl.PingArgs{Addr: addrB, Count: 3, Interval: ctl.Duration(10 * time.Millisecond)}, func(r ctl.PingReply) {
		replies = append(replies, r)
	})
	if err != nil {
		t.Fatalf("Ping: %v", err)
	}
	if sum.Sent != 3 || sum.Received != 3 || sum.Addr != addrB {
		t.Errorf("Ping summary = %+v, want 3 sent, 3 received from %v", sum, addrB)
	}
	if sum.Min <= 0 || sum.Min > sum.Avg || sum.Avg > sum.Max {
		t.Errorf("Ping rtt min/avg/max = %v/%v/%v, want 0 < min <= avg <= max", sum.Min, sum.Avg, sum.Max)
	}
	if len(replies) != 3 {
		t.Fatalf("Ping delivered %d replies, want 3: %v", len(replies), replies)
	}
	for i, r := range replies {
		if r.From != addrB || r.Seq != i+1 || r.Bytes != 64 || r.TTL != 64 || r.IsError() {
			t.Errorf("reply %d = %+v, want 64 bytes from %v seq %d ttl 64", i, r, addrB, i+1)
		}
		if s := r.String(); !strings.HasPrefix(s, "64 bytes from 10.0.0.2: icmp_seq=") || !strings.HasSuffix(s, " ms") {
			t.Errorf("reply %d String() = %q, want iputils' form", i, s)
		}
	}
	if s := sum.String(); !strings.Contains(s, "3 packets transmitted, 3 received, 0% packet loss") || !strings.Contains(s, "rtt min/avg/max/mdev = ") {
		t.Errorf("summary String() = %q, want iputils' statistics", s)
	}
}

func TestPingNoRoute(t *testing.T) {
	n := newTestNet(t)
	c := n.dial(t)
	_, err := c.Ping(testContext(t), ctl.PingArgs{Addr: netip.MustParseAddr("192.0.2.1"), Count: 1}, nil)
	if !errors.Is(err, syscall.ENETUNREACH) {
		t.Errorf("Ping(no route) = %v, want an error matching ENETUNREACH", err)
	}
}

func TestUDPEcho(t *testing.T) {
	n := newTestNet(t)
	c := n.dial(t)
	var got []ctl.Datagram
	res, err := c.UDP(testContext(t), ctl.UDPArgs{Addr: netip.AddrPortFrom(addrB, 7), Data: [][]byte{[]byte("hello")}, Count: 1}, func(d ctl.Datagram) {
		got = append(got, d)
	})
	if err != nil {
		t.Fatalf("UDP: %v", err)
	}
	if len(got) != 1 || string(got[0].Data) != "hello" || got[0].From != netip.AddrPortFrom(addrB, 7) {
		t.Fatalf("UDP datagrams = %+v, want one \"hello\" from %v:7", got, addrB)
	}
	if res.Sent != 1 || res.Received != 1 || res.Local.Addr() != addrA || res.Local.Port() == 0 {
		t.Errorf("UDP result = %+v, want 1 sent, 1 received, local %v:<ephemeral>", res, addrA)
	}
}

func TestUDPPortUnreachable(t *testing.T) {
	n := newTestNet(t)
	c := n.dial(t)
	_, err := c.UDP(testContext(t), ctl.UDPArgs{Addr: netip.AddrPortFrom(addrB, 9), Data: [][]byte{[]byte("x")}}, nil)
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("UDP to a closed port = %v, want an error matching ECONNREFUSED", err)
	}
}

func TestUDPListen(t *testing.T) {
	n := newTestNet(t)
	c := n.dial(t)
	type result struct {
		res ctl.UDPResult
		got []ctl.Datagram
		err error
	}
	done := make(chan result, 1)
	go func() {
		var r result
		r.res, r.err = c.UDP(testContext(t), ctl.UDPArgs{Listen: true, Local: netip.AddrPortFrom(netip.Addr{}, 9000), Count: 1}, func(d ctl.Datagram) {
			r.got = append(r.got, d)
		})
		done <- r
	}()
	conn, err := n.b.DialContext(context.Background(), "udp", "10.0.0.1:9000")
	if err != nil {
		t.Fatalf("Dial from b: %v", err)
	}
	defer conn.Close()
	// Send until the listener, which starts asynchronously, has one.
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		conn.Write([]byte("to a"))
		select {
		case r := <-done:
			if r.err != nil {
				t.Fatalf("UDP listen: %v", r.err)
			}
			if len(r.got) != 1 || string(r.got[0].Data) != "to a" || r.got[0].From.Addr() != addrB {
				t.Fatalf("UDP listen got %+v, want one \"to a\" from %v", r.got, addrB)
			}
			if r.res.Received != 1 || r.res.Local.Port() != 9000 {
				t.Errorf("UDP listen result = %+v, want 1 received on port 9000", r.res)
			}
			return
		case <-tick.C:
		case <-time.After(10 * time.Second):
			t.Fatal("UDP listen received nothing in 10s")
		}
	}
}

func TestUDPListenAddrInUse(t *testing.T) {
	n := newTestNet(t)
	pc, err := n.a.ListenPacket("udp", ":5353")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	c := n.dial(t)
	_, err = c.UDP(testContext(t), ctl.UDPArgs{Listen: true, Local: netip.MustParseAddrPort("0.0.0.0:5353")}, nil)
	if !errors.Is(err, syscall.EADDRINUSE) {
		t.Errorf("UDP listen on a bound port = %v, want an error matching EADDRINUSE", err)
	}
	var ce *ctl.Error
	if !errors.As(err, &ce) || ce.Code != "EADDRINUSE" {
		t.Errorf("UDP listen on a bound port = %#v, want *ctl.Error with code EADDRINUSE", err)
	}
}

// Cancelling the caller's context ends a ping that would run forever,
// with the statistics so far, and leaves the client usable.
func TestPingCancel(t *testing.T) {
	n := newTestNet(t)
	c := n.dial(t)
	ctx, cancel := context.WithCancel(testContext(t))
	defer cancel()
	got := 0
	sum, err := c.Ping(ctx, ctl.PingArgs{Addr: addrB, Count: -1, Interval: ctl.Duration(5 * time.Millisecond)}, func(ctl.PingReply) {
		if got++; got == 3 {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Ping after cancel = %v, want context.Canceled", err)
	}
	if sum.Received < 3 || sum.Sent < sum.Received {
		t.Errorf("Ping summary after cancel = %+v, want >= 3 received", sum)
	}
	if _, err := c.Status(testContext(t), "routes"); err != nil {
		t.Errorf("Status after a cancelled Ping: %v", err)
	}
}

// serverGoroutines returns the stacks of goroutines running the server's
// code.
func serverGoroutines() []string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var out []string
	for g := range strings.SplitSeq(string(buf), "\n\n") {
		if strings.Contains(g, "ustack/ctl.(*Server)") || strings.Contains(g, "ustack/ctl.(*conn)") {
			out = append(out, g)
		}
	}
	return out
}

// waitGoroutines waits until fn reports none of the goroutines it
// matches, and fails the test with their stacks otherwise.
func waitGoroutines(t *testing.T, what string, fn func() []string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		gs := fn()
		if len(gs) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d goroutines left:\n%s", what, len(gs), strings.Join(gs, "\n\n"))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A client that goes away mid-request cancels it: the endless ping's
// handler returns.
func TestDisconnectCancelsPing(t *testing.T) {
	n := newTestNet(t)
	nc, err := net.Dial("unix", n.path)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	req := `{"id":7,"method":"ping","args":{"addr":"10.0.0.2","count":-1,"interval":"5ms"}}` + "\n"
	if _, err := nc.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(nc)
	if !sc.Scan() {
		t.Fatalf("no answer to a ping request: %v", sc.Err())
	}
	var r ctl.Response
	if err := json.Unmarshal(sc.Bytes(), &r); err != nil || r.ID != 7 || r.Event != "reply" {
		t.Fatalf("first answer %s (%v), want a reply event for id 7", sc.Bytes(), err)
	}
	nc.Close()
	waitGoroutines(t, "after the client disconnected", func() []string {
		var out []string
		for _, g := range serverGoroutines() {
			if strings.Contains(g, "ustack/ctl.(*Server).ping") || strings.Contains(g, "ustack/ctl.(*conn).serve") {
				out = append(out, g)
			}
		}
		return out
	})
	sent := n.a.Stats().ICMP.OutEchos.Load()
	time.Sleep(50 * time.Millisecond)
	if now := n.a.Stats().ICMP.OutEchos.Load(); now != sent {
		t.Errorf("echo requests still sent after the client left: %d, then %d", sent, now)
	}
}

// Cancel by message: the wire form of what Client does on ctx.Done.
func TestCancelMessage(t *testing.T) {
	n := newTestNet(t)
	nc, err := net.Dial("unix", n.path)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.Write([]byte(`{"id":1,"method":"udp","args":{"listen":true,"local":"0.0.0.0:4000"}}` + "\n"))
	nc.Write([]byte(`{"id":2,"method":"status","args":{"sections":["routes"]}}` + "\n"))
	sc := bufio.NewScanner(nc)
	read := func() ctl.Response {
		t.Helper()
		nc.SetReadDeadline(time.Now().Add(10 * time.Second))
		if !sc.Scan() {
			t.Fatalf("no answer: %v", sc.Err())
		}
		var r ctl.Response
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("answer %s: %v", sc.Bytes(), err)
		}
		return r
	}
	if r := read(); r.ID != 2 || !r.Done || r.Error != nil {
		t.Fatalf("answer %+v, want status (id 2) done while udp (id 1) listens", r)
	}
	nc.Write([]byte(`{"id":1,"method":"cancel"}` + "\n"))
	r := read()
	if r.ID != 1 || !r.Done || r.Error != nil {
		t.Fatalf("answer after cancel %+v, want id 1 done with a result", r)
	}
	var res ctl.UDPResult
	if err := json.Unmarshal(r.Result, &res); err != nil || res.Local.Port() != 4000 {
		t.Errorf("udp result %s (%v), want local port 4000", r.Result, err)
	}
}

func TestProtocolErrors(t *testing.T) {
	n := newTestNet(t)
	nc, err := net.Dial("unix", n.path)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	sc := bufio.NewScanner(nc)
	for _, tc := range []struct {
		name, line, code string
	}{
		{"not JSON", `ping 10.0.0.2`, ctl.CodeBadRequest},
		{"unknown method", `{"id":1,"method":"nosuch"}`, ctl.CodeUnknownMethod},
		{"bad args", `{"id":2,"method":"ping","args":{"addr":"not an address"}}`, ctl.CodeBadArgs},
		{"missing addr", `{"id":3,"method":"ping","args":{}}`, ctl.CodeBadArgs},
		{"bad section", `{"id":4,"method":"status","args":{"sections":["nosuch"]}}`, ctl.CodeBadArgs},
		{"listen without port", `{"id":5,"method":"udp","args":{"listen":true}}`, ctl.CodeBadArgs},
	} {
		nc.Write([]byte(tc.line + "\n"))
		nc.SetReadDeadline(time.Now().Add(10 * time.Second))
		if !sc.Scan() {
			t.Fatalf("%s: no answer: %v", tc.name, sc.Err())
		}
		var r ctl.Response
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("%s: answer %s: %v", tc.name, sc.Bytes(), err)
		}
		if !r.Done || r.Error == nil || r.Error.Code != tc.code {
			t.Errorf("%s: answer %s, want done with error code %s", tc.name, sc.Bytes(), tc.code)
		}
	}
}

func TestStatus(t *testing.T) {
	n := newTestNet(t)
	c := n.dial(t)
	if _, err := c.Ping(testContext(t), ctl.PingArgs{Addr: addrB, Count: 1}, nil); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	st, err := c.Status(testContext(t))
	if err != nil {
		t.Fatalf("Status: %v", err)
	}
	var eth *ctl.Interface
	for i := range st.Interfaces {
		if st.Interfaces[i].Name == "eth0" {
			eth = &st.Interfaces[i]
		}
	}
	if eth == nil || len(eth.Addrs) != 1 || eth.Addrs[0] != netip.MustParsePrefix("10.0.0.1/24") || eth.MAC == "" || eth.MTU != 1500 {
		t.Fatalf("Status interfaces = %+v, want eth0 with 10.0.0.1/24, a MAC and MTU 1500", st.Interfaces)
	}
	found := false
	for _, r := range st.Routes {
		if r.Dst == netip.MustParsePrefix("10.0.0.0/24") && r.Dev == "eth0" && strings.Contains(r.Text, "dev eth0") {
			found = true
		}
	}
	if !found {
		t.Errorf("Status routes = %+v, want 10.0.0.0/24 dev eth0", st.Routes)
	}
	found = false
	for _, e := range st.Neighbors {
		found = found || (e.Addr == addrB && e.Dev == "eth0" && e.MAC != "")
	}
	if !found {
		t.Errorf("Status neighbours = %+v, want %v on eth0 after a ping", st.Neighbors, addrB)
	}
	g, ok := st.Group("ICMP")
	if v, _ := g.Get("OutEchos"); !ok || v != 1 {
		t.Errorf("Status ICMP OutEchos = %d (group found: %v), want 1", v, ok)
	}
	only, err := c.Status(testContext(t), "routes")
	if err != nil || len(only.Routes) == 0 || only.Interfaces != nil || only.Counters != nil {
		t.Errorf("Status(routes) = %+v, %v; want routes only", only, err)
	}
}

// Close ends every request, answering with "shutdown", and leaves no
// goroutine of the server behind.
func TestShutdownLeavesNoGoroutines(t *testing.T) {
	n := newTestNet(t)
	var wg sync.WaitGroup
	errs := make(chan error, 3)
	started := make(chan struct{}, 2)
	c1, c2 := n.dial(t), n.dial(t)
	n.dial(t) // idle
	wg.Add(2)
	go func() {
		defer wg.Done()
		var once sync.Once
		_, err := c1.Ping(context.Background(), ctl.PingArgs{Addr: addrB, Count: -1, Interval: ctl.Duration(10 * time.Millisecond)}, func(ctl.PingReply) {
			once.Do(func() { started <- struct{}{} })
		})
		errs <- err
	}()
	go func() {
		defer wg.Done()
		// A listen has no event to show it started; a status call on
		// the same connection cannot overlap it, so wait on the
		// server's goroutines instead.
		started <- struct{}{}
		_, err := c2.UDP(context.Background(), ctl.UDPArgs{Listen: true, Local: netip.MustParseAddrPort("0.0.0.0:4001")}, nil)
		errs <- err
	}()
	<-started
	<-started
	waitGoroutines(t, "waiting for the udp listener", func() []string {
		for _, g := range serverGoroutines() {
			if strings.Contains(g, "ustack/ctl.(*Server).udp") {
				return nil
			}
		}
		return []string{"(no udp handler yet)"}
	})
	n.shutdown(t)
	wg.Wait()
	close(errs)
	for err := range errs {
		if !errors.Is(err, ctl.ErrShutdown) {
			t.Errorf("call in flight at Close = %v, want ErrShutdown", err)
		}
	}
	// A goroutine has called wg.Done, which Close waits for, just before
	// it returns: allow it the moment to do so.
	waitGoroutines(t, "after Close", serverGoroutines)
	if _, err := os.Stat(n.path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket %s after Close: %v, want it removed", n.path, err)
	}
	if _, err := ctl.Dial(n.path); !errors.Is(err, ctl.ErrNoStack) {
		t.Errorf("Dial after Close = %v, want ErrNoStack", err)
	}
}

func TestListen(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "s.sock")

	// A socket file left by a dead server is replaced.
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	l.SetUnlinkOnClose(false)
	l.Close()
	l2, err := ctl.Listen(path)
	if err != nil {
		t.Fatalf("Listen over a stale socket: %v", err)
	}
	defer l2.Close()
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("socket mode = %v (%v), want 0600", fi.Mode().Perm(), err)
	}

	// A live one is not.
	if _, err := ctl.Listen(path); !errors.Is(err, ctl.ErrRunning) {
		t.Errorf("Listen over a live socket = %v, want ErrRunning", err)
	}

	// Nor is a file that is not a socket.
	plain := filepath.Join(dir, "plain")
	os.WriteFile(plain, nil, 0o600)
	if _, err := ctl.Listen(plain); err == nil {
		t.Errorf("Listen over a regular file succeeded")
	}
}

func TestDialNoStack(t *testing.T) {
	path := filepath.Join(t.TempDir(), "none.sock")
	_, err := ctl.Dial(path)
	if !errors.Is(err, ctl.ErrNoStack) || !strings.Contains(err.Error(), path) {
		t.Errorf("Dial(%s) = %v, want ErrNoStack naming the path", path, err)
	}
}

func TestDefaultPath(t *testing.T) {
	for _, tc := range []struct {
		name, env, xdg string
		want           func() string
	}{
		{"USTACK_CTL", "/x/y.sock", "/run/user/1", func() string { return "/x/y.sock" }},
		{"XDG_RUNTIME_DIR", "", "/run/user/1", func() string { return "/run/user/1/ustack.sock" }},
		{"neither", "", "", func() string {
			if os.Geteuid() == 0 {
				return "/run/ustack.sock"
			}
			return "/tmp/ustack-" + strconv.Itoa(os.Geteuid()) + ".sock"
		}},
	} {
		t.Setenv(ctl.EnvPath, tc.env)
		t.Setenv("XDG_RUNTIME_DIR", tc.xdg)
		if got := ctl.DefaultPath(); got != tc.want() {
			t.Errorf("%s: DefaultPath() = %q, want %q", tc.name, got, tc.want())
		}
	}
}

func TestDurationJSON(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{`"1.5s"`, 1500 * time.Millisecond, true},
		{`"200ms"`, 200 * time.Millisecond, true},
		{`0.25`, 250 * time.Millisecond, true},
		{`"0.5"`, 500 * time.Millisecond, true},
		{`"soon"`, 0, false},
		{`"-1s"`, 0, false},
		{`true`, 0, false},
	} {
		var d ctl.Duration
		err := json.Unmarshal([]byte(tc.in), &d)
		if (err == nil) != tc.ok || (tc.ok && d.D() != tc.want) {
			t.Errorf("Unmarshal(%s) = %v, %v; want %v, ok %v", tc.in, d.D(), err, tc.want, tc.ok)
		}
	}
	b, _ := json.Marshal(ctl.Duration(1500 * time.Millisecond))
	if string(b) != `"1.5s"` {
		t.Errorf("Marshal(1.5s) = %s, want \"1.5s\"", b)
	}
}

// A method added with Handle streams events and returns a result through
// Client.Call; a handler that panics answers with an error and the
// server goes on.
func TestHandle(t *testing.T) {
	n := newTestNet(t)
	n.srv.Handle("count", func(ctx context.Context, raw json.RawMessage, s *ctl.Stream) (any, error) {
		var a struct{ N int }
		if err := ctl.DecodeArgs(raw, &a); err != nil {
			return nil, err
		}
		for i := 1; i <= a.N; i++ {
			s.Send("tick", i)
		}
		return map[string]int{"total": a.N}, nil
	})
	n.srv.Handle("boom", func(context.Context, json.RawMessage, *ctl.Stream) (any, error) {
		panic("deliberate")
	})
	c := n.dial(t)
	var ticks []string
	var res struct{ Total int }
	err := c.Call(testContext(t), "count", map[string]int{"N": 3}, func(ev string, data json.RawMessage) error {
		ticks = append(ticks, ev+"="+string(data))
		return nil
	}, &res)
	if err != nil || strings.Join(ticks, " ") != "tick=1 tick=2 tick=3" || res.Total != 3 {
		t.Errorf("Call(count) = %v, events %q, result %+v; want 3 ticks and total 3", err, ticks, res)
	}
	err = c.Call(testContext(t), "boom", nil, nil, nil)
	var ce *ctl.Error
	if !errors.As(err, &ce) || ce.Code != ctl.CodeError || !strings.Contains(ce.Message, "deliberate") {
		t.Errorf("Call(boom) = %#v, want *ctl.Error code %q naming the panic", err, ctl.CodeError)
	}
	if _, err := c.Status(testContext(t), "routes"); err != nil {
		t.Errorf("Status after a handler panicked: %v", err)
	}
	err = c.Call(testContext(t), "nosuch", nil, nil, nil)
	if !errors.As(err, &ce) || ce.Code != ctl.CodeUnknownMethod {
		t.Errorf("Call(nosuch) = %v, want code %q", err, ctl.CodeUnknownMethod)
	}
}

//go:build linux

package interop

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"ustack/internal/testenv"
	"ustack/stack"
)

// The kernel's end of the UDP tests is a python3 program using the
// kernel's sockets, run in the namespace.

// pyEchoServer echoes datagrams on ADDR PORT, at most COUNT of them.
const pyEchoServer = `
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
for _ in range(int(sys.argv[3])):
    data, peer = s.recvfrom(65535)
    s.sendto(data, peer)
`

// pyClient connects a UDP socket to ADDR PORT and, for each further
// argument ("line", or a size in bytes), sends a datagram and waits up to
// TIMEOUT seconds for it to come back unchanged. It exits 3 on
// ECONNREFUSED, 4 on a timeout, 5 on a different echo. An argument
// "nocsum" sets SO_NO_CHECK: the datagrams that follow go out with a zero
// checksum ("no checksum", RFC 768).
const pyClient = `
import socket, sys, time
host, port, timeout = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(timeout)
s.connect((host, port))
for arg in sys.argv[4:]:
    if arg == "nocsum":
        s.setsockopt(socket.SOL_SOCKET, 11, 1)  # SO_NO_CHECK
        print("SO_NO_CHECK set")
        continue
    if arg == "line":
        msg = b"hello from linux\n"
    else:
        msg = bytes((i * 31 + 7) % 256 for i in range(int(arg)))
    start = time.monotonic()
    s.send(msg)
    try:
        got = s.recv(65535)
    except ConnectionRefusedError as e:
        print("sent %d bytes: %r after %.3fs" % (len(msg), e, time.monotonic() - start))
        sys.exit(3)
    except socket.timeout:
        print("sent %d bytes: no answer within %gs" % (len(msg), timeout))
        sys.exit(4)
    print("sent %d bytes, got %d back after %.3fs, %s" % (len(msg), len(got), time.monotonic() - start, "equal" if got == msg else "DIFFERENT"))
    if got != msg:
        sys.exit(5)
`

// pattern is the payload pyClient sends for a size.
func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte((i*31 + 7) % 256)
	}
	return b
}

// serveEcho runs a UDP echo server on ustack port until the test ends.
func serveEcho(t *testing.T, s *stack.Stack, port int) {
	t.Helper()
	pc, err := s.ListenPacket("udp", ":"+strconv.Itoa(port))
	if err != nil {
		t.Fatalf("ListenPacket(udp, :%d) = %v", port, err)
	}
	done := make(chan struct{})
	t.Cleanup(func() {
		pc.Close()
		<-done
	})
	go func() {
		defer close(done)
		buf := make([]byte, 65536)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return // closed
			}
			if _, err := pc.WriteTo(buf[:n], from); err != nil {
				return
			}
		}
	}()
}

// runClient runs pyClient in ns against addr:port and returns its output
// and exit code.
func runClient(t *testing.T, ns, addr string, port int, msgs ...string) (string, int) {
	t.Helper()
	args := append([]string{"-c", pyClient, addr, strconv.Itoa(port), "5"}, msgs...)
	out, err := testenv.NetnsOutput(t, ns, "python3", args...)
	t.Logf("ip netns exec %s python3 client %s %d %s:\n%s", ns, addr, port, strings.Join(msgs, " "), out)
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return out, ee.ExitCode()
	}
	if err != nil {
		t.Fatalf("python3 client: %v", err)
	}
	return out, 0
}

// TestUDPWithLinux exchanges UDP datagrams with the kernel's sockets:
// ustack as client and as server, with one 3,000-byte datagram each way
// (fragmented by each side, reassembled by the other), and ICMP port
// unreachable both ways, which each side must map to ECONNREFUSED.
func TestUDPWithLinux(t *testing.T) {
	t.Parallel()
	testenv.RequirePrivileged(t)
	testenv.RequireCommand(t, "python3")
	testenv.RequireCommand(t, "ss")
	s, l := newHost(t)
	const echoPort = 7
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	t.Run("ustack client, Linux server", func(t *testing.T) {
		testenv.NetnsStart(t, l.ns, "python3", "-c", pyEchoServer, l.kernel.Addr().String(), strconv.Itoa(echoPort), "100")
		waitUDPBound(t, l.ns, echoPort)
		c, err := s.DialContext(ctx, "udp", fmt.Sprintf("%v:%d", l.kernel.Addr(), echoPort))
		if err != nil {
			t.Fatalf("DialContext = %v", err)
		}
		defer c.Close()
		buf := make([]byte, 65536)
		for _, msg := range [][]byte{[]byte("hello from ustack\n"), pattern(3000)} {
			before := snapshot(s)
			if _, err := c.Write(msg); err != nil {
				t.Fatalf("Write(%d bytes) = %v", len(msg), err)
			}
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			n, err := c.Read(buf)
			if err != nil {
				t.Fatalf("Read after writing %d bytes = %v", len(msg), err)
			}
			if !bytes.Equal(buf[:n], msg) {
				t.Fatalf("echo of %d bytes: got %d bytes that differ", len(msg), n)
			}
			t.Logf("ustack sent %d bytes to %v, got them back", len(msg), c.RemoteAddr())
			want := map[string]int64{"UDP.OutDatagrams": 1, "UDP.InDatagrams": 1}
			if len(msg) > 1472 {
				// 3,008 bytes of UDP: 3 fragments each way.
				want["IP.FragOKs"], want["IP.FragCreates"] = 1, 3
				want["IP.ReasmOKs"], want["IP.ReasmReqds"] = 1, 3
			}
			checkMoved(t, fmt.Sprintf("echo of %d bytes", len(msg)), s, before, with(clean, want), nil)
		}
	})

	t.Run("Linux client, ustack server", func(t *testing.T) {
		serveEcho(t, s, echoPort)
		before := snapshot(s)
		out, code := runClient(t, l.ns, l.ours.Addr().String(), echoPort, "line", "3000")
		if code != 0 || strings.Count(out, "equal") != 2 {
			t.Fatalf("python3 client exited %d; want both datagrams echoed unchanged", code)
		}
		checkMoved(t, "echo server", s, before, with(clean, map[string]int64{
			"UDP.InDatagrams": 2, "UDP.OutDatagrams": 2, "UDP.NoPorts": 0,
			"IP.ReasmOKs": 1, "IP.ReasmReqds": 3, "IP.FragOKs": 1, "IP.FragCreates": 3,
		}), nil)
	})

	t.Run("Linux client without checksums, ustack server", func(t *testing.T) {
		serveEcho(t, s, echoPort)
		before := snapshot(s)
		out, code := runClient(t, l.ns, l.ours.Addr().String(), echoPort, "nocsum", "line", "3000")
		if code != 0 || strings.Count(out, "equal") != 2 {
			t.Fatalf("python3 client exited %d; want both datagrams echoed unchanged", code)
		}
		checkMoved(t, "echo server, zero checksums", s, before, with(clean, map[string]int64{
			"UDP.InDatagrams": 2, "UDP.OutDatagrams": 2,
		}), nil)
	})

	t.Run("Linux client, closed ustack port", func(t *testing.T) {
		const closed = 9
		before := snapshot(s)
		out, code := runClient(t, l.ns, l.ours.Addr().String(), closed, "line")
		if code != 3 || !strings.Contains(out, "Connection refused") {
			t.Errorf("python3 client to closed port %d exited %d; want 3 (ConnectionRefusedError)", closed, code)
		}
		checkMoved(t, "closed port", s, before, with(clean, map[string]int64{
			"UDP.NoPorts": 1, "ICMP.OutDestUnreachs": 1, "ICMP.OutMsgs": 1,
		}), nil)
	})

	t.Run("ustack client, closed Linux port", func(t *testing.T) {
		const closed = 9
		before := snapshot(s)
		c, err := s.DialContext(ctx, "udp", fmt.Sprintf("%v:%d", l.kernel.Addr(), closed))
		if err != nil {
			t.Fatalf("DialContext = %v", err)
		}
		defer c.Close()
		if _, err := c.Write([]byte("anyone there?")); err != nil {
			t.Fatalf("Write = %v", err)
		}
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, err = c.Read(make([]byte, 100))
		t.Logf("Read from closed port %v: %v", c.RemoteAddr(), err)
		if !errors.Is(err, syscall.ECONNREFUSED) {
			t.Errorf("Read after writing to closed port %d = %v, want ECONNREFUSED", closed, err)
		}
		var oe *net.OpError
		if !errors.As(err, &oe) {
			t.Errorf("Read error %v (%T) is not a *net.OpError", err, err)
		}
		checkMoved(t, "closed Linux port", s, before, with(clean, map[string]int64{
			"ICMP.InDestUnreachs": 1,
		}), nil)
	})
}

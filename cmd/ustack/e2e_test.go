package main

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"ustack/ctl"
	"ustack/internal/testenv"
)

// upProcess is a `ustack up` the test started.
type upProcess struct {
	cmd      *exec.Cmd
	out, err testenv.SyncBuffer
	done     chan struct{} // closed when it has exited
	waitErr  error
}

// startUp starts `ustack up` with args; in t.Cleanup it is killed (by
// pid) if still running.
func startUp(t *testing.T, args ...string) *upProcess {
	t.Helper()
	p := &upProcess{cmd: exec.Command(ustackBin(t), append([]string{"up"}, args...)...), done: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.err
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("starting ustack up: %v", err)
	}
	go func() { p.waitErr = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("ustack up %s (%v)\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), p.waitErr, p.out.String(), p.err.String())
		}
	})
	return p
}

// waitReady waits until the stack answers on its control socket.
func (p *upProcess) waitReady(t *testing.T, ctlPath string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		select {
		case <-p.done:
			t.Fatalf("ustack up exited early (%v): %s", p.waitErr, p.err.String())
		default:
		}
		if c, err := ctl.Dial(ctlPath); err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_, err = c.Status(ctx, "interfaces")
			cancel()
			c.Close()
			if err == nil {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("ustack up not answering on %s after 15s", ctlPath)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestUpEndToEnd runs `ustack up` on a TAP device whose kernel side lives
// in a namespace of its own, and talks to it from both sides.
func TestUpEndToEnd(t *testing.T) {
	testenv.RequirePrivileged(t)
	testenv.RequireCommand(t, "ping")
	sock := testenv.RequireCommand(t, "socat")
	ns := testenv.NewNetns(t)
	dev := testenv.UniqueName(t, "ust")
	subnet := testenv.Subnet(t)
	peer := subnet.Addr().Next()                         // 10.A.B.1, the kernel side
	ours := peer.Next()                                  // 10.A.B.2, ustack
	peerCIDR := netip.PrefixFrom(peer, 24).String()      // in the namespace
	ourCIDR := netip.PrefixFrom(ours, 24).String()       // on ustack
	ctlPath := filepath.Join(t.TempDir(), "ustack.sock") // short enough for sun_path

	up := startUp(t, "--if", dev+"="+ourCIDR, "--serve", "echo:7,http:8080", "--ctl", ctlPath)
	up.waitReady(t, ctlPath)
	if out := up.out.String(); !strings.Contains(out, dev) || !strings.Contains(out, ourCIDR) || !strings.Contains(out, "echo udp/7") || !strings.Contains(out, "echo tcp/7") || !strings.Contains(out, "http tcp/8080") || !strings.Contains(out, ctlPath) {
		t.Errorf("startup summary lacks the device, address, service or socket:\n%s", out)
	}

	// The descriptor keeps working after the kernel side moves; moving
	// takes the interface down, so bring it up again there.
	testenv.Run(t, "ip", "link", "set", dev, "netns", ns)
	testenv.NetnsRun(t, ns, "ip", "addr", "add", peerCIDR, "dev", dev)
	testenv.NetnsRun(t, ns, "ip", "link", "set", dev, "up")

	t.Run("kernel pings ustack", func(t *testing.T) {
		testenv.NetnsRun(t, ns, "ping", "-c", "3", "-i", "0.2", "-W", "2", ours.String())
	})

	t.Run("ustack pings kernel", func(t *testing.T) {
		r := ustack(t, "ping", "--ctl", ctlPath, "-c", "3", "-i", "0.2", peer.String())
		if r.code != 0 || !strings.Contains(r.stdout, "3 packets transmitted, 3 received, 0% packet loss") ||
			!strings.Contains(r.stdout, "bytes from "+peer.String()+": icmp_seq=1 ttl=64 time=") {
			t.Errorf("ustack ping: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
		}
	})

	t.Run("kernel reaches echo service", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, "ip", "netns", "exec", ns, sock, "-t", "2", "-T", "3", "-", "UDP:"+ours.String()+":7")
		cmd.Stdin = strings.NewReader("hello ustack\n")
		r := run(t, cmd)
		if r.code != 0 || r.stdout != "hello ustack\n" {
			t.Errorf("socat to echo: exit %d, stdout %q, want the datagram back; stderr %q", r.code, r.stdout, r.stderr)
		}
	})

	t.Run("kernel reaches tcp echo service", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, "ip", "netns", "exec", ns, sock, "-t", "5", "-T", "10", "-", "TCP:"+ours.String()+":7")
		cmd.Stdin = strings.NewReader("hello ustack tcp\n")
		r := run(t, cmd)
		if r.code != 0 || r.stdout != "hello ustack tcp\n" {
			t.Errorf("socat to tcp echo: exit %d, stdout %q, want the line back; stderr %q", r.code, r.stdout, r.stderr)
		}
	})

	t.Run("kernel fetches from http service", func(t *testing.T) {
		py, err := exec.LookPath("python3")
		if err != nil {
			t.Skip("python3 not installed")
		}
		const n = 1000000
		script := `import hashlib, sys, urllib.request
b = urllib.request.urlopen(sys.argv[1], timeout=20).read()
print(len(b), hashlib.sha256(b).hexdigest())`
		out := testenv.NetnsRun(t, ns, py, "-c", script, fmt.Sprintf("http://%v:8080/bytes?n=%d", ours, n))
		want := make([]byte, n)
		for i := range want {
			want[i] = byte(i % 251)
		}
		sum := sha256.Sum256(want)
		if got, w := strings.TrimSpace(out), fmt.Sprintf("%d %x", n, sum); got != w {
			t.Errorf("python3 GET /bytes?n=%d: %q, want %q", n, got, w)
		}
	})

	t.Run("ustack udp reaches kernel", func(t *testing.T) {
		// A kernel-side UDP echo in the namespace, stopped by the
		// cleanup of NetnsStart.
		testenv.NetnsStart(t, ns, sock, "UDP4-RECVFROM:5007,fork", "EXEC:cat")
		var r result
		for range 20 { // until socat listens
			if r = ustack(t, "udp", "--ctl", ctlPath, "-w", "0.5", peer.String()+":5007", "from", "ustack"); r.code == 0 {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if r.code != 0 || r.stdout != "from ustack\n" {
			t.Errorf("ustack udp: exit %d, stdout %q, stderr %q; want the datagram echoed", r.code, r.stdout, r.stderr)
		}
	})

	t.Run("second up on the same socket", func(t *testing.T) {
		r := ustack(t, "up", "--if", dev+"x="+ourCIDR, "--ctl", ctlPath)
		if r.code != 1 {
			t.Errorf("second up: exit %d, want 1", r.code)
		}
		checkOneLine(t, "second up", r, "a stack is already running at "+ctlPath)
	})

	t.Run("udp listen on a served port", func(t *testing.T) {
		r := ustack(t, "udp", "--ctl", ctlPath, "-l", "7", "-d", "1")
		if r.code != 1 {
			t.Errorf("udp -l 7: exit %d, want 1", r.code)
		}
		checkOneLine(t, "udp -l 7", r, "address already in use")
	})

	// SIGTERM: a clean exit, soon, with the socket gone.
	if err := up.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
	select {
	case <-up.done:
	case <-time.After(5 * time.Second):
		t.Fatalf("ustack up still running 5s after SIGTERM")
	}
	if up.waitErr != nil {
		t.Errorf("ustack up after SIGTERM: %v, want exit 0; stderr:\n%s", up.waitErr, up.err.String())
	}
	if _, err := os.Stat(ctlPath); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("control socket after exit: %v, want it removed", err)
	}
	if s := up.err.String(); strings.Contains(s, "panic") || strings.Contains(s, "goroutine ") {
		t.Errorf("ustack up stderr has a panic:\n%s", s)
	}
	// The interface was made by ustack, so it went with the process.
	if out, err := testenv.NetnsOutput(t, ns, "ip", "link", "show", dev); err == nil {
		t.Errorf("%s still exists after ustack exited:\n%s", dev, out)
	}
}

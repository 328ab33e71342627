package testenv

import (
	"fmt"
	"net"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeTB records what a helper does to its test: Fatalf and Skipf end the
// calling goroutine, as in testing, so the helper must run in its own.
type fakeTB struct {
	testing.TB
	mu       sync.Mutex
	fatal    string
	skip     string
	cleanups []func()
}

func (f *fakeTB) Helper() {}

func (f *fakeTB) Fatalf(format string, args ...any) {
	f.mu.Lock()
	f.fatal = fmt.Sprintf(format, args...)
	f.mu.Unlock()
	runtime.Goexit()
}

func (f *fakeTB) Skipf(format string, args ...any) {
	f.mu.Lock()
	f.skip = fmt.Sprintf(format, args...)
	f.mu.Unlock()
	runtime.Goexit()
}

func (f *fakeTB) Cleanup(fn func()) { f.cleanups = append(f.cleanups, fn) }

// call runs fn with a fakeTB in a goroutine of its own and returns it.
func call(t *testing.T, fn func(tb testing.TB)) *fakeTB {
	f := &fakeTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(f)
	}()
	<-done
	return f
}

func TestRequireCommandSkipsOrFails(t *testing.T) {
	const missing = "ustack-no-such-program"
	t.Setenv(EnvRequirePrivileged, "")
	f := call(t, func(tb testing.TB) { RequireCommand(tb, missing) })
	if f.skip == "" || f.fatal != "" || !strings.Contains(f.skip, missing) {
		t.Errorf("RequireCommand(%q): skip %q, fatal %q; want a skip naming it", missing, f.skip, f.fatal)
	}
	t.Setenv(EnvRequirePrivileged, "1")
	f = call(t, func(tb testing.TB) { RequireCommand(tb, missing) })
	if f.fatal == "" || f.skip != "" || !strings.Contains(f.fatal, EnvRequirePrivileged) {
		t.Errorf("RequireCommand(%q) under %s=1: skip %q, fatal %q; want a failure", missing, EnvRequirePrivileged, f.skip, f.fatal)
	}
	if p := RequireCommand(t, "sh"); p == "" {
		t.Errorf(`RequireCommand("sh") = ""`)
	}
}

func TestRunFailsWithOutput(t *testing.T) {
	f := call(t, func(tb testing.TB) { Run(tb, "sh", "-c", "echo oops-output; exit 3") })
	if !strings.Contains(f.fatal, "oops-output") || !strings.Contains(f.fatal, "exit status 3") {
		t.Errorf("Run(failing command): fatal %q, want the output and exit status", f.fatal)
	}
	if out := Run(t, "sh", "-c", "echo hello"); out != "hello\n" {
		t.Errorf("Run(echo hello) = %q", out)
	}
}

func TestUniqueName(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		n := UniqueName(t, "ustk")
		if len(n) > 15 || !strings.HasPrefix(n, "ustk") {
			t.Fatalf("UniqueName(ustk) = %q, want <= 15 bytes with the prefix", n)
		}
		if seen[n] {
			t.Fatalf("UniqueName(ustk) = %q twice", n)
		}
		seen[n] = true
	}
	f := call(t, func(tb testing.TB) { UniqueName(tb, "averylongprefix") })
	if f.fatal == "" {
		t.Errorf("UniqueName(averylongprefix) did not fail")
	}
}

func TestSubnet(t *testing.T) {
	a, b := Subnet(t), Subnet(t)
	for _, p := range []string{a.String(), b.String()} {
		if !strings.HasPrefix(p, "10.") || !strings.HasSuffix(p, ".0/24") {
			t.Errorf("Subnet() = %s, want 10.x.y.0/24", p)
		}
	}
	if a == b {
		t.Errorf("Subnet() = %v twice in a row", a)
	}
}

// TestNetns makes a namespace in a subtest and checks that it has its own
// loopback, runs commands, holds a background process, and that the
// subtest's Cleanup removed both.
func TestNetns(t *testing.T) {
	RequirePrivileged(t)
	var ns string
	var pid int
	t.Run("inside", func(t *testing.T) {
		ns = NewNetns(t)
		if !strings.HasPrefix(ns, "ust-"+strconv.Itoa(os.Getpid())+"-") {
			t.Errorf("NewNetns() = %q, want ust-<pid>-<rand>", ns)
		}
		if out := NetnsRun(t, ns, "ip", "link", "show", "lo"); !strings.Contains(out, "UP") {
			t.Errorf("lo in %s not up: %s", ns, out)
		}
		var names []string
		InNetns(t, ns, func() {
			ifs, err := net.Interfaces()
			if err != nil {
				panic(err)
			}
			for _, i := range ifs {
				names = append(names, i.Name)
			}
		})
		if len(names) != 1 || names[0] != "lo" {
			t.Errorf("interfaces in %s = %v, want [lo]", ns, names)
		}
		cmd := NetnsStart(t, ns, "sleep", "600")
		pid = cmd.Process.Pid
		// `ip netns exec` enters the namespace after it starts: poll.
		for i := 0; ; i++ {
			out := Run(t, "ip", "netns", "pids", ns)
			if slices.Contains(strings.Fields(out), strconv.Itoa(pid)) {
				break
			}
			if i == 100 {
				t.Fatalf("ip netns pids %s = %q, want %d", ns, out, pid)
			}
			time.Sleep(20 * time.Millisecond)
		}
		if _, err := NetnsOutput(t, ns, "false"); err == nil {
			t.Errorf("NetnsOutput(false) = nil error")
		}
	})
	if _, err := os.Stat("/run/netns/" + ns); !os.IsNotExist(err) {
		t.Errorf("namespace %s survived its test: %v", ns, err)
	}
	if _, err := os.Stat("/proc/" + strconv.Itoa(pid)); !os.IsNotExist(err) {
		t.Errorf("process %d survived its test: %v", pid, err)
	}
}

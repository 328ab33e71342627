// Package testenv helps tests that need a real kernel: root, /dev/net/tun,
// network namespaces and outside programs (ip, ping, socat, tshark).
//
// Such tests skip, with a message saying what is missing, on an ordinary
// machine. With USTACK_REQUIRE_PRIVILEGED=1 in the environment (CI running
// as root) a missing requirement fails the test instead, so that a
// misconfigured runner cannot silently pass by skipping everything.
//
// Every resource a helper makes (namespace, background process) is removed
// in t.Cleanup, also when the test fails. Cleanups run last-in first-out,
// so a test that makes a namespace first and then puts devices and
// processes in it has them gone before the namespace is deleted.
package testenv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// EnvRequirePrivileged is the environment variable that turns skips into
// failures when set to "1".
const EnvRequirePrivileged = "USTACK_REQUIRE_PRIVILEGED"

// CommandTimeout bounds each command Run, NetnsRun and NetnsOutput start.
const CommandTimeout = 30 * time.Second

// IFNAMSIZ-1: the longest Linux interface name.
const maxIfName = 15

// Required reports whether USTACK_REQUIRE_PRIVILEGED=1, that is, whether a
// missing requirement fails the test rather than skipping it.
func Required() bool { return os.Getenv(EnvRequirePrivileged) == "1" }

// skipOrFail skips the test with the reason, or fails it under
// USTACK_REQUIRE_PRIVILEGED=1.
func skipOrFail(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if Required() {
		t.Fatalf("testenv: %s (and %s=1 forbids skipping)", msg, EnvRequirePrivileged)
	}
	t.Skipf("testenv: skipping: %s (run as root; set %s=1 to make this a failure)", msg, EnvRequirePrivileged)
}

// RequirePrivileged skips the test unless it runs as root on a machine
// with /dev/net/tun and the ip command; under USTACK_REQUIRE_PRIVILEGED=1
// it fails instead of skipping.
func RequirePrivileged(t testing.TB) {
	t.Helper()
	if uid := os.Geteuid(); uid != 0 {
		skipOrFail(t, "needs root, running as uid %d", uid)
	}
	if _, err := os.Stat("/dev/net/tun"); err != nil {
		skipOrFail(t, "needs /dev/net/tun: %v", err)
	}
	RequireCommand(t, "ip")
}

// RequireCommand skips the test unless the program name is on $PATH, and
// returns its path; under USTACK_REQUIRE_PRIVILEGED=1 it fails instead of
// skipping.
func RequireCommand(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		skipOrFail(t, "needs the %s command: %v", name, err)
	}
	return p
}

var (
	seqOnce sync.Once
	seq     atomic.Uint32 // per-process sequence, random start
)

// next returns a number unique within this process (until it wraps).
func next() uint32 {
	seqOnce.Do(func() { seq.Store(rand.Uint32()) })
	return seq.Add(1)
}

// UniqueName returns a Linux interface name that starts with prefix and is
// unique to this process and call: prefix, the pid and a sequence number
// in base 36. It fails the test if prefix leaves no room for them within
// the 15 bytes Linux allows (IFNAMSIZ).
func UniqueName(t testing.TB, prefix string) string {
	t.Helper()
	pid := strconv.FormatInt(int64(os.Getpid()%(36*36*36*36)), 36)
	n := strconv.FormatInt(int64(next()%(36*36*36*36)), 36)
	name := prefix + pid + n
	if len(name) > maxIfName {
		t.Fatalf("testenv: UniqueName(%q) = %q is longer than %d bytes; use a shorter prefix", prefix, name, maxIfName)
	}
	return name
}

// Subnet returns an IPv4 /24 inside 10.0.0.0/8 derived from the pid and a
// per-process sequence, so that tests running in parallel (in this process
// or others) are unlikely to pick the same one. Use it only inside
// namespaces the test made, so that traffic never reaches the host.
func Subnet(t testing.TB) netip.Prefix {
	t.Helper()
	v := uint32(os.Getpid())*2654435761 + next()
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(v >> 8), byte(v), 0}), 24)
}

// NewNetns creates a network namespace named ust-<pid>-<random>, brings up
// its loopback interface and returns its name. The namespace is deleted in
// t.Cleanup, also when the test fails. It calls RequirePrivileged first.
func NewNetns(t testing.TB) string {
	t.Helper()
	RequirePrivileged(t)
	name := fmt.Sprintf("ust-%d-%08x", os.Getpid(), rand.Uint32())
	Run(t, "ip", "netns", "add", name)
	t.Cleanup(func() {
		if out, err := output("", "ip", "netns", "del", name); err != nil {
			t.Errorf("testenv: deleting namespace %s: %v\n%s", name, err, out)
		}
	})
	NetnsRun(t, name, "ip", "link", "set", "lo", "up")
	return name
}

// command builds a command that runs name in namespace ns (through
// `ip netns exec`, which execs it, so the process is the program itself),
// or in the current namespace when ns is "".
func command(ctx context.Context, ns, name string, args ...string) *exec.Cmd {
	if ns != "" {
		args = append([]string{"netns", "exec", ns, name}, args...)
		name = "ip"
	}
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.WaitDelay = time.Second
	return cmd
}

// output runs the command in ns with CommandTimeout and returns its
// combined output.
func output(ns, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), CommandTimeout)
	defer cancel()
	out, err := command(ctx, ns, name, args...).CombinedOutput()
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		err = fmt.Errorf("timed out after %v: %w", CommandTimeout, err)
	}
	return string(out), err
}

func quote(ns, name string, args []string) string {
	s := strings.Join(append([]string{name}, args...), " ")
	if ns != "" {
		s = "ip netns exec " + ns + " " + s
	}
	return s
}

// Run runs a command in the current namespace with CommandTimeout and
// returns its combined output; if it fails, the test fails with the
// output.
func Run(t testing.TB, name string, args ...string) string {
	t.Helper()
	return NetnsRun(t, "", name, args...)
}

// NetnsRun is Run inside namespace ns ("" for the current one).
func NetnsRun(t testing.TB, ns, name string, args ...string) string {
	t.Helper()
	out, err := output(ns, name, args...)
	if err != nil {
		t.Fatalf("testenv: %s: %v\n%s", quote(ns, name, args), err, out)
	}
	return out
}

// NetnsOutput runs a command inside namespace ns ("" for the current one)
// with CommandTimeout and returns its combined output and error without
// failing the test: for commands expected to fail, such as a ping that
// must go unanswered.
func NetnsOutput(t testing.TB, ns, name string, args ...string) (string, error) {
	t.Helper()
	return output(ns, name, args...)
}

// SyncBuffer is a bytes.Buffer safe for a process's writes and the
// test's reads.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// NetnsStart starts a background command inside namespace ns ("" for the
// current one) and returns it. Its combined output is collected and logged
// if the test fails. In t.Cleanup the process is killed by its pid and
// waited for. Do not call Wait on the returned command; watch it through
// its side effects.
func NetnsStart(t testing.TB, ns, name string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := command(context.Background(), ns, name, args...)
	var out SyncBuffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("testenv: starting %s: %v", quote(ns, name, args), err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		err := cmd.Wait()
		if t.Failed() {
			t.Logf("testenv: %s (%v) output:\n%s", quote(ns, name, args), err, out.String())
		}
	})
	return cmd
}

//go:build linux

package interop

import (
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"ustack/drivers/tap"
	"ustack/internal/testenv"
	"ustack/netdev"
	"ustack/stack"
	"ustack/stats"
)

// newNetns makes a namespace for the kernel side of a link, with IPv6
// off so that the kernel sends nothing ustack does not speak (router
// solicitations, DAD): the counters then move only for the test's own
// traffic, and the pcap holds only that.
func newNetns(t *testing.T) string {
	t.Helper()
	ns := testenv.NewNetns(t)
	for _, f := range []string{"all", "default"} {
		p := "/proc/sys/net/ipv6/conf/" + f + "/disable_ipv6"
		if out, err := testenv.NetnsOutput(t, ns, "sh", "-c", "test ! -e "+p+" || echo 1 > "+p); err != nil {
			t.Logf("disabling IPv6 in %s: %v\n%s", ns, err, out)
		}
	}
	return ns
}

// newStack makes a ustack stack that is closed in Cleanup, which then
// checks that every packet buffer came back to the pool. Make the
// namespaces first: Cleanup runs last-in first-out, so the stack (and the
// TAPs it holds) is gone before they are deleted.
func newStack(t *testing.T, forwarding bool) *stack.Stack {
	t.Helper()
	s := stack.New(stack.Options{Forwarding: forwarding, CheckedBuffers: true})
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("stack Close = %v", err)
		}
		if n := s.Pool().Live(); n != 0 {
			t.Errorf("%d packet buffers still held after stack Close (leak)", n)
		}
	})
	return s
}

// link is one TAP between a ustack stack and a kernel namespace. The
// interface has the same name on both sides: ustack's NIC and the kernel
// netdev.
type link struct {
	name   string
	ns     string         // the namespace holding the kernel side
	dev    *netdev.Device // ustack's side
	ours   netip.Prefix   // ustack's address on the link
	kernel netip.Prefix   // the kernel side's address
}

// attach opens a TAP with a unique name, gives it to s as a NIC with
// address ours, moves the kernel side into ns and gives it address
// kernel, up. The stack owns the TAP: in Cleanup the stack is closed, and
// the interface must then be gone.
func attach(t *testing.T, s *stack.Stack, ns string, ours, kernel netip.Prefix) *link {
	t.Helper()
	return attachWrapped(t, s, ns, ours, kernel, nil)
}

// attachWrapped is attach with the TAP driver wrapped by wrap (if not
// nil) before the stack gets it, e.g. in a fault.Driver.
func attachWrapped(t *testing.T, s *stack.Stack, ns string, ours, kernel netip.Prefix, wrap func(netdev.Driver) netdev.Driver) *link {
	t.Helper()
	name := testenv.UniqueName(t, "ui")
	// MTU and up state are set here, in our namespace: the ioctls cannot
	// find the interface once it has moved.
	td, err := tap.Open(name, tap.Options{Create: true, SetUp: true, MTU: 1500})
	if err != nil {
		t.Fatalf("tap.Open(%q) = %v", name, err)
	}
	var d netdev.Driver = td
	if wrap != nil {
		d = wrap(d)
	}
	dev, err := s.AddNIC(name, d)
	if err != nil {
		d.Close()
		t.Fatalf("AddNIC(%q) = %v", name, err)
	}
	t.Cleanup(func() {
		// Closing the stack closes the TAP, which removes the interface
		// the TAP made, wherever it lives now.
		if err := s.Close(); err != nil {
			t.Errorf("stack Close = %v", err)
		}
		// The kernel unregisters the interface asynchronously once the
		// last fd is gone (netdev_run_todo); on a loaded machine that
		// takes a moment, so allow a few seconds.
		deadline := time.Now().Add(5 * time.Second)
		for {
			out, err := testenv.NetnsOutput(t, ns, "ip", "link", "show", "dev", name)
			if err != nil {
				break
			}
			if time.Now().After(deadline) {
				t.Errorf("interface %s still in namespace %s 5s after the stack closed:\n%s", name, ns, out)
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
	if err := s.AddAddress(name, ours); err != nil {
		t.Fatalf("AddAddress(%q, %v) = %v", name, ours, err)
	}
	testenv.Run(t, "ip", "link", "set", "dev", name, "netns", ns)
	testenv.NetnsRun(t, ns, "ip", "addr", "add", kernel.String(), "dev", name)
	// The move took the link down: bring it up in its new home.
	testenv.NetnsRun(t, ns, "ip", "link", "set", "dev", name, "up")
	return &link{name: name, ns: ns, dev: dev, ours: ours, kernel: kernel}
}

// subnetPair returns .1 and .2 of a fresh /24 (from testenv.Subnet) for
// the two ends of a link.
func subnetPair(t *testing.T) (dot1, dot2 netip.Prefix) {
	t.Helper()
	p := testenv.Subnet(t)
	a := p.Addr().Next()
	return netip.PrefixFrom(a, p.Bits()), netip.PrefixFrom(a.Next(), p.Bits())
}

// capture records what the kernel side of ifname in ns sends and
// receives. If the test fails, the pcap is kept, its path logged, and a
// decode (tshark, if installed) logged with it; if it passes, the pcap is
// removed. Without tcpdump it logs that and does nothing.
func capture(t *testing.T, ns, ifname string) {
	t.Helper()
	if _, err := exec.LookPath("tcpdump"); err != nil {
		t.Logf("no tcpdump (%v): no pcap on failure", err)
		return
	}
	dir, err := os.MkdirTemp("", "ustack-interop-")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, ifname+".pcap")
	// Registered before NetnsStart, so it runs after tcpdump is killed.
	t.Cleanup(func() {
		if !t.Failed() {
			os.RemoveAll(dir)
			return
		}
		t.Logf("pcap of %s (kernel side, namespace %s) kept at %s", ifname, ns, path)
		if _, err := exec.LookPath("tshark"); err == nil {
			out, _ := testenv.NetnsOutput(t, "", "tshark", "-n", "-r", path)
			t.Logf("tshark -n -r %s:\n%s", path, truncateLines(out, 200))
		}
	})
	// -U --immediate-mode: every packet is in the file as soon as it is
	// seen, so that killing tcpdump loses nothing. -Z root: write the file
	// without dropping privileges.
	testenv.NetnsStart(t, ns, "tcpdump", "-Z", "root", "-U", "--immediate-mode", "-n", "-s", "0", "-i", ifname, "-w", path)
	// The file header is written once the capture is active.
	deadline := time.Now().Add(5 * time.Second)
	for {
		if fi, err := os.Stat(path); err == nil && fi.Size() >= 24 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("tcpdump in %s on %s did not start within 5s", ns, ifname)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func truncateLines(s string, n int) string {
	lines := strings.SplitAfter(s, "\n")
	if len(lines) <= n {
		return s
	}
	return strings.Join(lines[:n], "") + fmt.Sprintf("... (%d more lines)\n", len(lines)-n)
}

// counters is a flattened snapshot of a stack's MIBs, keyed "IP.ReasmOKs".
type counters map[string]int64

func snapshot(s *stack.Stack) counters {
	st := s.Stats()
	c := counters{}
	for prefix, mib := range map[string]any{"Ether": &st.Ether, "ARP": &st.ARP, "IP": &st.IP, "ICMP": &st.ICMP, "UDP": &st.UDP} {
		stats.Walk(mib, func(name string, v int64) { c[prefix+"."+name] = v })
	}
	return c
}

// moved returns the counters that changed since before, as differences.
func (c counters) moved(before counters) counters {
	d := counters{}
	for k, v := range c {
		if v != before[k] {
			d[k] = v - before[k]
		}
	}
	return d
}

func (c counters) String() string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, " %s%+d", k, c[k])
	}
	return b.String()
}

// checkMoved checks how s's counters moved since before: by exactly the
// amounts in exact, by at least those in atLeast. On a mismatch it logs
// every counter that moved.
func checkMoved(t *testing.T, what string, s *stack.Stack, before counters, exact, atLeast map[string]int64) {
	t.Helper()
	d := snapshot(s).moved(before)
	ok := true
	for k, want := range exact {
		if got := d[k]; got != want {
			t.Errorf("%s: %s moved by %d, want %d", what, k, got, want)
			ok = false
		}
	}
	for k, want := range atLeast {
		if got := d[k]; got < want {
			t.Errorf("%s: %s moved by %d, want at least %d", what, k, got, want)
			ok = false
		}
	}
	if !ok {
		t.Logf("%s: counters that moved:%v", what, d)
	}
}

var (
	pingSummary = regexp.MustCompile(`(\d+) packets transmitted, (\d+) received`)
	pingTTL     = regexp.MustCompile(`icmp_seq=\d+ ttl=(\d+)`)
)

// kernelPing runs ping in ns with args, logs its output, and fails the
// test unless every one of count requests was answered, each reply with
// TTL ttl.
func kernelPing(t *testing.T, ns string, count, ttl int, args ...string) string {
	t.Helper()
	args = append([]string{"-n", "-c", strconv.Itoa(count), "-i", "0.2", "-W", "2"}, args...)
	out, err := testenv.NetnsOutput(t, ns, "ping", args...)
	t.Logf("ip netns exec %s ping %s:\n%s", ns, strings.Join(args, " "), out)
	if err != nil {
		t.Errorf("ping %s: %v", strings.Join(args, " "), err)
	}
	m := pingSummary.FindStringSubmatch(out)
	if m == nil || m[1] != strconv.Itoa(count) || m[2] != strconv.Itoa(count) {
		t.Fatalf("ping %s: want %d transmitted, %d received", strings.Join(args, " "), count, count)
	}
	ttls := pingTTL.FindAllStringSubmatch(out, -1)
	if len(ttls) != count {
		t.Errorf("ping: %d replies with a TTL, want %d", len(ttls), count)
	}
	for _, m := range ttls {
		if m[1] != strconv.Itoa(ttl) {
			t.Errorf("ping: reply with ttl=%s, want %d", m[1], ttl)
		}
	}
	return out
}

// waitUDPBound waits until a UDP socket is bound to port in ns (a server
// the test started), polling ss for at most 5 seconds.
func waitUDPBound(t *testing.T, ns string, port int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		out, err := testenv.NetnsOutput(t, ns, "ss", "-Hnua", "sport", "=", ":"+strconv.Itoa(port))
		if err == nil && strings.TrimSpace(out) != "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no UDP socket on port %d in %s after 5s (ss: %v %s)", port, ns, err, out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

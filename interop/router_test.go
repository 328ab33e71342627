//go:build linux

package interop

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"ustack/internal/testenv"
	"ustack/stack"
)

// routerTopo is ustack routing between two namespaces:
//
//	namespace A            ustack (forwarding)            namespace B
//	10.a.b.2 ── tapA ── 10.a.b.1     10.c.d.1 ── tapB ── 10.c.d.2
//
// Each namespace has its default route through ustack.
type routerTopo struct {
	s    *stack.Stack
	a, b *link
}

func newRouterTopo(t *testing.T) *routerTopo {
	t.Helper()
	nsA, nsB := newNetns(t), newNetns(t)
	s := newStack(t, true)
	routerA, hostA := subnetPair(t)
	routerB, hostB := subnetPair(t)
	a := attach(t, s, nsA, routerA, hostA)
	b := attach(t, s, nsB, routerB, hostB)
	testenv.NetnsRun(t, nsA, "ip", "route", "add", "default", "via", routerA.Addr().String())
	testenv.NetnsRun(t, nsB, "ip", "route", "add", "default", "via", routerB.Addr().String())
	capture(t, nsA, a.name)
	capture(t, nsB, b.name)
	return &routerTopo{s: s, a: a, b: b}
}

// hopRE matches line "hop" of a tracepath ("1:  ADDR") or traceroute
// ("1  ADDR") listing that names addr.
func hopRE(hop int, addr string) *regexp.Regexp {
	return regexp.MustCompile(fmt.Sprintf(`(?m)^\s*%d:?\s+%s\s`, hop, regexp.QuoteMeta(addr)))
}

// TestRouterBetweenNamespaces makes ustack the router between two
// namespaces and sends the kernel's traffic through it: pings (one hop:
// TTL 63), tracepath and traceroute (ustack's time exceeded, quoting UDP
// and ICMP probes, must make sense to Linux), and pings of 8,000 bytes
// whose fragments ustack forwards one by one.
func TestRouterBetweenNamespaces(t *testing.T) {
	t.Parallel()
	testenv.RequirePrivileged(t)
	testenv.RequireCommand(t, "ping")
	tp := newRouterTopo(t)
	s, nsA := tp.s, tp.a.ns
	router, dst := tp.a.ours.Addr().String(), tp.b.kernel.Addr().String()

	t.Run("ping", func(t *testing.T) {
		before := snapshot(s)
		kernelPing(t, nsA, 3, 63, dst)
		checkMoved(t, "ping through the router", s, before, with(clean, map[string]int64{
			"IP.ForwDatagrams": 6, // 3 requests, 3 replies
			"IP.InDelivers":    0,
			"IP.ReasmReqds":    0,
		}), nil)
	})

	t.Run("IP options", func(t *testing.T) {
		// Record route and timestamp options make a 60-byte header; the
		// router records itself in them (RFC 1812 §5.2.4) with the
		// address of the interface each packet leaves by: B's side on
		// the way out, A's side on the way back.
		before := snapshot(s)
		towardB, towardA := tp.b.ours.Addr().String(), tp.a.ours.Addr().String()
		for _, opt := range [][]string{{"-R"}, {"-T", "tsandaddr"}} {
			out := kernelPing(t, nsA, 1, 63, append(opt, dst)...)
			if !strings.Contains(out, dst) || !(strings.Contains(out, "RR:") || strings.Contains(out, "TS:")) {
				t.Errorf("ping %s: no options in the reply", strings.Join(opt, " "))
			}
			// RR has nine slots: both router hops fit. The timestamp
			// option has four (address and time each): A, the router
			// out, B twice fill it, and the hops back only count as
			// overflow ("Unrecorded hops: 2").
			want := []string{towardB, towardA}
			if opt[0] == "-T" {
				want = []string{towardB, "Unrecorded hops: 2"}
			}
			for _, w := range want {
				if !strings.Contains(out, w) {
					t.Errorf("ping %s: %q missing (the router is %s out, %s back):\n%s", strings.Join(opt, " "), w, towardB, towardA, out)
				}
			}
		}
		checkMoved(t, "ping -R, -T through the router", s, before, with(clean, map[string]int64{
			"IP.ForwDatagrams": 4,
		}), nil)
	})

	t.Run("tracepath", func(t *testing.T) {
		testenv.RequireCommand(t, "tracepath")
		before := snapshot(s)
		out, err := testenv.NetnsOutput(t, nsA, "tracepath", "-n", "-m", "5", dst)
		t.Logf("ip netns exec %s tracepath -n -m 5 %s:\n%s", nsA, dst, out)
		if err != nil {
			t.Errorf("tracepath: %v", err)
		}
		if !hopRE(1, router).MatchString(out) {
			t.Errorf("tracepath: no hop 1 at the router %s", router)
		}
		if !hopRE(2, dst).MatchString(out) || !strings.Contains(out, "reached") {
			t.Errorf("tracepath: did not reach %s at hop 2", dst)
		}
		checkMoved(t, "tracepath", s, before, ttlExpiries(clean), map[string]int64{
			"ICMP.OutTimeExcds": 1, "IP.ForwDatagrams": 2,
		})
		checkExpiriesCounted(t, s, before)
	})

	for _, tc := range []struct{ name, flag string }{{"traceroute UDP", "-U"}, {"traceroute ICMP", "-I"}} {
		t.Run(tc.name, func(t *testing.T) {
			testenv.RequireCommand(t, "traceroute")
			before := snapshot(s)
			args := []string{tc.flag, "-n", "-q", "1", "-w", "1", "-m", "5", dst}
			out, err := testenv.NetnsOutput(t, nsA, "traceroute", args...)
			t.Logf("ip netns exec %s traceroute %s:\n%s", nsA, strings.Join(args, " "), out)
			if err != nil {
				t.Errorf("traceroute: %v", err)
			}
			if !hopRE(1, router).MatchString(out) {
				t.Errorf("traceroute: no hop 1 at the router %s", router)
			}
			if !hopRE(2, dst).MatchString(out) {
				t.Errorf("traceroute: did not reach %s at hop 2", dst)
			}
			checkMoved(t, "traceroute", s, before, ttlExpiries(clean), map[string]int64{
				"ICMP.OutTimeExcds": 1, "IP.ForwDatagrams": 2,
			})
			checkExpiriesCounted(t, s, before)
		})
	}

	t.Run("fragmented ping", func(t *testing.T) {
		before := snapshot(s)
		// Namespace A sends each 8,028-byte request in 6 fragments; a
		// router forwards fragments as they come (it does not
		// reassemble), and B's 6-fragment replies the same way back.
		kernelPing(t, nsA, 3, 63, "-s", "8000", "-M", "dont", dst)
		// At least 36 forwarded: a late probe of the traceroute before
		// may still cross on a loaded machine. Exact where it matters:
		// the router neither reassembles nor fragments.
		checkMoved(t, "ping -s 8000 through the router", s, before, with(clean, map[string]int64{
			"IP.ReasmReqds": 0,
			"IP.FragOKs":    0,
		}), map[string]int64{"IP.ForwDatagrams": 36})
	})
}

// ttlExpiries returns m without IP.InHdrErrors: a router counts each
// datagram whose TTL runs out there as a header error (as Linux's
// ip_forward does), so tracing moves it.
func ttlExpiries(m map[string]int64) map[string]int64 {
	out := with(m, nil)
	delete(out, "IP.InHdrErrors")
	return out
}

// checkExpiriesCounted checks that since before, s's only header errors
// were the TTL expiries it answered with time exceeded.
func checkExpiriesCounted(t *testing.T, s *stack.Stack, before counters) {
	t.Helper()
	d := snapshot(s).moved(before)
	if d["IP.InHdrErrors"] != d["ICMP.OutTimeExcds"] {
		t.Errorf("IP.InHdrErrors moved by %d, ICMP.OutTimeExcds by %d: want them equal (TTL expiries only)", d["IP.InHdrErrors"], d["ICMP.OutTimeExcds"])
	}
}

var fragNeeded = regexp.MustCompile(`From (\S+) icmp_seq=\d+ Frag needed and DF set \(mtu = (\d+)\)`)

// TestPathMTU lowers the MTU of ustack's side of tapB to 1,280 and sends
// 1,428-byte datagrams from namespace A to B: without DF ustack fragments
// them; with DF it answers with fragmentation needed and the next-hop
// MTU, which Linux prints, caches as the path MTU, and which tracepath
// discovers.
func TestPathMTU(t *testing.T) {
	t.Parallel()
	testenv.RequirePrivileged(t)
	testenv.RequireCommand(t, "ping")
	tp := newRouterTopo(t)
	s, nsA := tp.s, tp.a.ns
	router, dst := tp.a.ours.Addr().String(), tp.b.kernel.Addr().String()
	const mtu = 1280
	if err := s.Devices().SetMTU(tp.b.dev, mtu); err != nil {
		t.Fatalf("SetMTU(%v, %d) = %v", tp.b.dev, mtu, err)
	}

	t.Run("router fragments", func(t *testing.T) {
		before := snapshot(s)
		kernelPing(t, nsA, 2, 63, "-s", "1400", "-M", "dont", dst)
		checkMoved(t, "ping -s 1400 -M dont", s, before, with(clean, map[string]int64{
			"IP.ForwDatagrams": 4,
			"IP.FragOKs":       2, "IP.FragCreates": 4, // each request in two
			"IP.FragFails": 0,
		}), nil)
	})

	t.Run("frag needed", func(t *testing.T) {
		before := snapshot(s)
		args := []string{"-n", "-c", "1", "-W", "2", "-M", "do", "-s", "1400", dst}
		out, err := testenv.NetnsOutput(t, nsA, "ping", args...)
		t.Logf("ip netns exec %s ping %s (%v):\n%s", nsA, strings.Join(args, " "), err, out)
		m := fragNeeded.FindStringSubmatch(out)
		if m == nil || m[1] != router || m[2] != fmt.Sprint(mtu) {
			t.Errorf("ping -M do -s 1400: want \"From %s icmp_seq=1 Frag needed and DF set (mtu = %d)\"", router, mtu)
		}
		checkMoved(t, "ping -M do -s 1400", s, before, with(clean, map[string]int64{
			"IP.FragFails": 1, "ICMP.OutDestUnreachs": 1, "IP.ForwDatagrams": 0,
		}), nil)
		// The kernel took the MTU: its route to B now carries it.
		out = testenv.NetnsRun(t, nsA, "ip", "route", "get", dst)
		t.Logf("ip netns exec %s ip route get %s:\n%s", nsA, dst, out)
		if !strings.Contains(out, fmt.Sprintf("mtu %d", mtu)) {
			t.Errorf("ip route get %s: no cached mtu %d", dst, mtu)
		}
	})

	t.Run("tracepath", func(t *testing.T) {
		testenv.RequireCommand(t, "tracepath")
		// Forget the cached path MTU, so that tracepath must learn it
		// from ustack again.
		testenv.NetnsRun(t, nsA, "ip", "route", "flush", "cache")
		if out := testenv.NetnsRun(t, nsA, "ip", "route", "get", dst); strings.Contains(out, "mtu") {
			t.Fatalf("path MTU still cached after flush: %s", out)
		}
		before := snapshot(s)
		out, err := testenv.NetnsOutput(t, nsA, "tracepath", "-n", "-m", "5", dst)
		t.Logf("ip netns exec %s tracepath -n -m 5 %s:\n%s", nsA, dst, out)
		if err != nil {
			t.Errorf("tracepath: %v", err)
		}
		// The probe with TTL 2 passes the router's TTL check and is too
		// big for tapB: tracepath lists the router at hop 2 with the MTU.
		if !regexp.MustCompile(fmt.Sprintf(`(?m)^\s*\d+:\s+%s\s.*pmtu %d`, regexp.QuoteMeta(router), mtu)).MatchString(out) {
			t.Errorf("tracepath: want a hop at %s reporting pmtu %d", router, mtu)
		}
		if !strings.Contains(out, fmt.Sprintf("Resume: pmtu %d", mtu)) {
			t.Errorf("tracepath: want \"Resume: pmtu %d\"", mtu)
		}
		checkMoved(t, "tracepath", s, before, ttlExpiries(clean), map[string]int64{"IP.FragFails": 1, "ICMP.OutDestUnreachs": 1})
		checkExpiriesCounted(t, s, before)
	})
}

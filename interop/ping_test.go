//go:build linux

package interop

import (
	"context"
	"testing"
	"time"

	"ustack/drivers/fault"
	"ustack/internal/testenv"
	"ustack/ipv4"
	"ustack/netdev"
	"ustack/stack"
)

// newHost makes a ustack host on one TAP whose kernel side is in a
// namespace of its own: the kernel is 10.x.y.1/24, ustack 10.x.y.2/24.
// The kernel side is captured (kept on failure).
func newHost(t *testing.T) (*stack.Stack, *link) {
	t.Helper()
	ns := newNetns(t)
	s := newStack(t, false)
	kernel, ours := subnetPair(t)
	l := attach(t, s, ns, ours, kernel)
	capture(t, ns, l.name)
	return s, l
}

// Counters that must not move in any exchange with a well-behaved peer.
var clean = map[string]int64{
	"IP.InHdrErrors": 0, "IP.InCsumErrors": 0, "IP.InTruncatedPkts": 0, "IP.ReasmFails": 0,
	"ICMP.InErrors": 0, "ICMP.InCsumErrors": 0, "UDP.InErrors": 0, "UDP.InCsumErrors": 0,
}

func with(m map[string]int64, more map[string]int64) map[string]int64 {
	out := make(map[string]int64, len(m)+len(more))
	for k, v := range m {
		out[k] = v
	}
	for k, v := range more {
		out[k] = v
	}
	return out
}

// TestLinuxPingsUstack pings ustack with the kernel's ping(8): small
// echoes, then 8,000-byte ones that the kernel fragments and ustack
// reassembles, answering with a reply that ustack fragments and the
// kernel reassembles.
func TestLinuxPingsUstack(t *testing.T) {
	t.Parallel()
	testenv.RequirePrivileged(t)
	testenv.RequireCommand(t, "ping")
	s, l := newHost(t)
	dst := l.ours.Addr().String()

	t.Run("small", func(t *testing.T) {
		before := snapshot(s)
		kernelPing(t, l.ns, 3, 64, dst)
		checkMoved(t, "ping "+dst, s, before, with(clean, map[string]int64{
			"ICMP.InEchos": 3, "ICMP.OutEchoReps": 3,
			"IP.ReasmReqds": 0, "IP.FragOKs": 0,
		}), nil)
	})
	t.Run("IP options", func(t *testing.T) {
		// Requests with a 40-byte options area (record route, timestamp):
		// ustack must parse past it. (It answers without the options,
		// which RFC 1122 §3.2.2.6 allows: reflecting them is a SHOULD.)
		before := snapshot(s)
		kernelPing(t, l.ns, 1, 64, "-R", dst)
		kernelPing(t, l.ns, 1, 64, "-T", "tsonly", dst)
		checkMoved(t, "ping -R, -T "+dst, s, before, with(clean, map[string]int64{
			"ICMP.InEchos": 2, "ICMP.OutEchoReps": 2,
		}), nil)
	})
	t.Run("fragmented", func(t *testing.T) {
		before := snapshot(s)
		// 8,008 bytes of ICMP in 1,480-byte pieces: 6 fragments each way.
		kernelPing(t, l.ns, 3, 64, "-s", "8000", dst)
		checkMoved(t, "ping -s 8000 "+dst, s, before, with(clean, map[string]int64{
			"ICMP.InEchos": 3, "ICMP.OutEchoReps": 3,
			"IP.ReasmReqds": 18, "IP.ReasmOKs": 3,
			"IP.FragOKs": 3, "IP.FragCreates": 18,
		}), nil)
	})
}

// TestUstackPingsLinux pings the kernel with ustack's Ping: the kernel's
// replies come with its TTL, 64, and the 8,000-byte ones are fragmented
// both ways.
func TestUstackPingsLinux(t *testing.T) {
	t.Parallel()
	testenv.RequirePrivileged(t)
	s, l := newHost(t)
	dst := l.kernel.Addr()

	for _, tc := range []struct {
		name string
		size int
		// Fragments per datagram, each way: 0 if it fits the MTU.
		frags int64
	}{
		{"small", 56, 0},
		{"fragmented", 8000, 6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			before := snapshot(s)
			var replies []ipv4.EchoReply
			o := ipv4.PingOptions{Count: 3, Size: tc.size, Interval: 100 * time.Millisecond, Timeout: 5 * time.Second}
			sum, err := s.Ping(ctx, dst, o, func(r ipv4.EchoReply) {
				t.Logf("%v", r)
				replies = append(replies, r)
			})
			t.Logf("ustack ping %v -s %d: %v", dst, tc.size, sum)
			if err != nil {
				t.Fatalf("Ping(%v, %+v) = %v", dst, o, err)
			}
			if sum.Sent != 3 || sum.Received != 3 || sum.Errors != 0 {
				t.Errorf("Ping(%v, %+v) = %v, want 3 sent, 3 received, no errors", dst, o, sum)
			}
			for _, r := range replies {
				if r.Err != nil || r.From != dst || r.TTL != 64 || r.Len != tc.size {
					t.Errorf("reply %v: want from %v, ttl 64, %d bytes", r, dst, tc.size)
				}
			}
			want := map[string]int64{"ICMP.OutEchos": 3, "ICMP.InEchoReps": 3}
			if tc.frags > 0 {
				want["IP.FragOKs"], want["IP.FragCreates"] = 3, 3*tc.frags
				want["IP.ReasmOKs"], want["IP.ReasmReqds"] = 3, 3*tc.frags
			} else {
				want["IP.FragOKs"], want["IP.ReasmReqds"] = 0, 0
			}
			checkMoved(t, "Ping", s, before, with(clean, want), nil)
		})
	}
}

// TestLinuxPingsUstackOverImpairedLink is the fragmented ping of
// TestLinuxPingsUstack through a fault.Driver around the TAP: the
// kernel's fragments reach ustack reordered and some twice, and ustack's
// reach the kernel reordered. Nothing is lost, so every ping must be
// answered: ustack's reassembly copes with real kernel fragments out of
// order and duplicated, and the kernel with ustack's out of order. A
// duplicate of a datagram's last fragment arriving after it completed
// starts a reassembly that never finishes: the stack's Close must free it
// (newStack checks).
func TestLinuxPingsUstackOverImpairedLink(t *testing.T) {
	t.Parallel()
	testenv.RequirePrivileged(t)
	testenv.RequireCommand(t, "ping")
	ns := newNetns(t)
	s := newStack(t, false)
	kernel, ours := subnetPair(t)
	var fd *fault.Driver
	l := attachWrapped(t, s, ns, ours, kernel, func(d netdev.Driver) netdev.Driver {
		fd = fault.Wrap(d, fault.Config{
			Seed: 1,
			Rx:   fault.Impair{Reorder: 0.3, ReorderGap: 2, Duplicate: 0.2},
			Tx:   fault.Impair{Reorder: 0.3, ReorderGap: 2},
		})
		return fd
	})
	capture(t, ns, l.name)

	before := snapshot(s)
	kernelPing(t, ns, 5, 64, "-s", "8000", l.ours.Addr().String())
	st := fd.Stats()
	t.Logf("impairments: %+v", st)
	checkMoved(t, "ping -s 8000 over an impaired link", s, before, with(clean, map[string]int64{
		"ICMP.InEchos": 5, "ICMP.OutEchoReps": 5,
		"IP.ReasmOKs": 5, "IP.FragOKs": 5, "IP.FragCreates": 30,
	}), map[string]int64{"IP.ReasmReqds": 30})
}

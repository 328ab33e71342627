package tcp_test

import (
	"testing"
	"time"

	"ustack/netsim"
)

// TestGSOTransfer moves data both ways at once over a GSO link, for
// sizes around the segment and super-segment sizes, checks every byte by
// hash and the close handshake, and that OutSegs counts wire segments
// while far fewer frames crossed the wire.
func TestGSOTransfer(t *testing.T) {
	for _, tc := range []struct {
		name string
		mtu  int
		size int
	}{
		{"one byte", 1500, 1},
		{"under one segment", 1500, 1000},
		{"a few segments and a tail", 1500, 3*1448 + 100},
		{"a super-segment and a tail", 1500, 65160 + 1},
		{"bulk", 1500, 4 << 20},
		{"bulk, MTU 9000", 9000, 4 << 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPair(t, 1, netsim.LinkOptions{MTU: tc.mtu, GSO: true})
			exchange(t, p, tc.size, 30*time.Second)
			// At least one wire segment per MSS of payload; no segment
			// carries more than MTU−40 bytes.
			minSegs := uint64((tc.size + tc.mtu - 41) / (tc.mtu - 40))
			for _, h := range []struct {
				host   *netsim.Host
				frames uint64
			}{{p.a, p.link.EndA.Stats.TxFrames.Load()}, {p.b, p.link.EndB.Stats.TxFrames.Load()}} {
				st := h.host.Stats()
				out := st.TCP.OutSegs.Load()
				if out < minSegs {
					t.Errorf("%s: OutSegs = %d for %d bytes, want ≥ %d (wire segments)", h.host.Name, out, tc.size, minSegs)
				}
				if tc.size >= 1<<20 && h.frames*2 > out {
					t.Errorf("%s: %d frames on the wire for %d segments: GSO unused?", h.host.Name, h.frames, out)
				}
				if n := st.Ether.OutGSOPackets.Load(); n != 0 {
					t.Errorf("%s: %d packets segmented in software on a GSO link", h.host.Name, n)
				}
			}
			if t.Failed() {
				logCounters(t, p)
			}
		})
	}
}

package tcp

import (
	"testing"

	"ustack/seqnum"
)

// TestCwndGrowsOnlyWhenUsed: ACKs grow the congestion window only while
// the sender fills it (RFC 7661; cf. tcp_is_cwnd_limited). Held to four
// segments in flight by the receiver's window, a sender in slow start
// with a ten-segment window keeps it however many ACKs come; given a
// large window, the same ACKs grow it.
func TestCwndGrowsOnlyWhenUsed(t *testing.T) {
	for _, c := range []struct {
		name  string
		wnd   uint16 // the peer's window, bytes (no scaling here)
		grows bool
	}{
		{"receiver-limited", 4 * 1460, false},
		{"cwnd-limited", 65535, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, nil)
			cn := h.established()
			ep := cn.ep
			mss := ep.smss()
			// The peer opens its window to c.wnd.
			h.inject(seg{seq: cn.peerNxt, ack: cn.ourNxt, flags: fACK, wnd: c.wnd})
			cwnd0 := ep.cc.Cwnd()
			if _, err := ep.Write(make([]byte, 40*mss)); err != nil {
				t.Fatal(err)
			}
			// Acknowledge what is in flight, segment by segment, for a
			// few rounds.
			for range 6 {
				out := h.sent()
				if len(out) == 0 {
					break
				}
				for _, s := range out {
					end := s.seq + seqnum.Value(len(s.data))
					h.inject(seg{seq: cn.peerNxt, ack: end, flags: fACK, wnd: c.wnd})
				}
			}
			if grew := ep.cc.Cwnd() > cwnd0; grew != c.grows {
				t.Errorf("cwnd %d -> %d (window %d bytes): grew = %v, want %v", cwnd0, ep.cc.Cwnd(), c.wnd, grew, c.grows)
			}
		})
	}
}

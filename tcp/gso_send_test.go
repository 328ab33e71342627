package tcp

import (
	"testing"
	"time"
)

// gsoHarness is a harness whose route allows GSO super-packets of up to
// 65,535 bytes, with one established connection (MSS 1460, no options).
func gsoHarness(t *testing.T) (*harness, *conn) {
	h := newHarness(t, nil)
	h.ip.gso = 0xffff
	return h, h.established()
}

// TestGSOSendDecision: what one transmission carries when the route
// allows GSO. Each case writes, optionally closes, and lists the lengths
// of what goes out before any ACK, with the GSO size each carried.
func TestGSOSendDecision(t *testing.T) {
	const mss = 1460
	type out struct {
		n   int
		gso uint16
	}
	for _, tc := range []struct {
		name    string
		write   int
		nodelay bool
		close   bool
		wnd     uint16 // the peer's window (0: 65535)
		opens   bool   // the window is zero until after the write and close
		want    []out
		psh     bool // the last carries PSH
		fin     bool // the last carries FIN
	}{
		// The initial window (10 segments) in one super-segment.
		{name: "cwnd-limited", write: 100000, want: []out{{10 * mss, mss}}},
		// Whole segments go at once; the short tail waits for the ACK
		// (Nagle), as it would behind the same segments sent one by one.
		{name: "Nagle holds the tail", write: 3*mss + 100, want: []out{{3 * mss, mss}}},
		{name: "no delay: the tail goes with them", write: 3*mss + 100, nodelay: true, want: []out{{3*mss + 100, mss}}, psh: true},
		// Closed before the window opened: the FIN is queued when the
		// data goes, so the tail goes with it.
		{name: "FIN: the tail goes with it", write: 3*mss + 100, close: true, opens: true, want: []out{{3*mss + 100, mss}}, psh: true, fin: true},
		// Closed after: the tail waited (Nagle), then goes with the FIN.
		{name: "FIN after", write: 3*mss + 100, close: true, want: []out{{3 * mss, mss}, {100, 0}}, psh: true, fin: true},
		{name: "exact segments", write: 4 * mss, want: []out{{4 * mss, mss}}, psh: true},
		// Window-limited: whole segments only; the rest is a small
		// segment sender SWS avoidance holds (window 5000: 620 bytes
		// left, less than half the largest window).
		{name: "window-limited", write: 20000, wnd: 5000, want: []out{{3 * mss, mss}}},
		// One segment or less is no GSO packet.
		{name: "one segment", write: mss, want: []out{{mss, 0}}, psh: true},
		{name: "less", write: 100, want: []out{{100, 0}}, psh: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, c := gsoHarness(t)
			c.ep.quickAcks = 0
			if tc.wnd != 0 || tc.opens {
				h.inject(seg{seq: c.peerNxt, ack: c.ourNxt, flags: fACK, wnd: tc.wnd, zeroWnd: tc.opens})
				h.sent()
			}
			c.ep.SetNoDelay(tc.nodelay)
			before := h.st.OutSegs.Load()
			if _, err := c.ep.Write(make([]byte, tc.write)); err != nil {
				t.Fatal(err)
			}
			if tc.close {
				c.ep.CloseWrite()
			}
			if tc.opens {
				h.expectNone()
				h.inject(seg{seq: c.peerNxt, ack: c.ourNxt, flags: fACK})
			}
			sent := h.sent()
			if len(sent) != len(tc.want) {
				t.Fatalf("sent %v, want %d transmissions", describe(sent), len(tc.want))
			}
			wire := 0
			for i, w := range tc.want {
				s := sent[i]
				if len(s.data) != w.n || s.gso != w.gso {
					t.Errorf("transmission %d: %d bytes, GSO size %d; want %d, %d", i, len(s.data), s.gso, w.n, w.gso)
				}
				if i == 0 && s.seq != c.ourNxt {
					t.Errorf("transmission %d: seq %d, want %d", i, s.seq, c.ourNxt)
				}
				wire += (len(s.data) + mss - 1) / mss
			}
			last := sent[len(sent)-1]
			if got := last.flags&fPSH != 0; got != tc.psh {
				t.Errorf("PSH = %v, want %v", got, tc.psh)
			}
			if got := last.flags&fFIN != 0; got != tc.fin {
				t.Errorf("FIN = %v, want %v", got, tc.fin)
			}
			// OutSegs counts wire segments (tcp_skb_pcount), not
			// super-segments.
			if got := h.st.OutSegs.Load() - before; got != uint64(wire) {
				t.Errorf("OutSegs grew by %d, want %d wire segments", got, wire)
			}
		})
	}
}

// TestGSOSlowStart: the ACK of a super-segment (one ACK for many
// segments, as a GSO receiver sends) still doubles cwnd per round trip.
func TestGSOSlowStart(t *testing.T) {
	h, c := gsoHarness(t)
	c.ep.Write(make([]byte, 200000))
	first := h.sent()
	if len(first) != 1 || len(first[0].data) != 14600 {
		t.Fatalf("sent %v, want one 14,600-byte super-segment", describe(first))
	}
	c.ourNxt += 14600
	h.ack(c)
	if cw := c.ep.cc.Cwnd(); cw != 2*14600 {
		t.Errorf("cwnd after the ACK of the initial window = %d, want %d", cw, 2*14600)
	}
	next := h.sent()
	if len(next) != 1 || len(next[0].data) != 2*14600 || next[0].gso != 1460 {
		t.Fatalf("then sent %v, want one 29,200-byte super-segment", describe(next))
	}
}

// TestGSORetransmitCounts: after an RTO, go-back-N resends what cwnd
// allows, GSO too; RetransSegs counts its wire segments.
func TestGSORetransmitCounts(t *testing.T) {
	h, c := gsoHarness(t)
	c.ep.SetNoDelay(true)
	c.ep.Write(make([]byte, 10*1460))
	h.sent()
	h.clk.Advance(200 * time.Millisecond)
	r := h.expect(fACK)
	if r.seq != c.ourNxt || len(r.data) != 1460 || r.gso != 0 {
		t.Fatalf("RTO resent seq %d, %d bytes, GSO %d; want %d, one segment", r.seq, len(r.data), r.gso, c.ourNxt)
	}
	if got := h.st.RetransSegs.Load(); got != 1 {
		t.Fatalf("RetransSegs = %d, want 1", got)
	}
	// The ACK of it opens cwnd to two segments: the next two go as one.
	c.ourNxt += 1460
	h.ack(c)
	r = h.expect(fACK)
	if r.seq != c.ourNxt || len(r.data) != 2*1460 || r.gso != 1460 {
		t.Fatalf("then resent seq %d, %d bytes, GSO %d; want %d, 2920, 1460", r.seq, len(r.data), r.gso, c.ourNxt)
	}
	if got := h.st.RetransSegs.Load(); got != 3 {
		t.Errorf("RetransSegs = %d, want 3 (wire segments)", got)
	}
}

// TestGSOReceive: a super-segment received whole counts as segments of
// its GSO size: the peer's MSS estimate, the quick-ACK budget and the
// every-second-segment ACK rule see those, not ~64 KiB.
func TestGSOReceive(t *testing.T) {
	h, c := gsoHarness(t)
	quick := c.ep.quickAcks
	h.inject(seg{seq: c.peerNxt, ack: c.ourNxt, flags: fACK, data: make([]byte, 10*1460), gso: 1460})
	if a := h.expect(fACK); a.ack != c.peerNxt+14600 {
		t.Fatalf("ACK %d, want %d at once", a.ack, c.peerNxt+14600)
	}
	c.peerNxt += 14600
	if c.ep.rcvMSS != 1460 {
		t.Errorf("rcvMSS = %d, want the GSO size 1460", c.ep.rcvMSS)
	}
	if got := c.ep.quickAcks; got != quick-10 {
		t.Errorf("quickAcks = %d, want %d (ten segments)", got, quick-10)
	}
	// Out of quick-ACK mode, two segments' worth is still ACKed at once
	// and one is delayed: the estimate is a segment, not the super-segment.
	c.ep.quickAcks = 0
	h.inject(seg{seq: c.peerNxt, ack: c.ourNxt, flags: fACK, data: make([]byte, 1460)})
	h.expectNone()
	h.inject(seg{seq: c.peerNxt + 1460, ack: c.ourNxt, flags: fACK, data: make([]byte, 1460)})
	if a := h.expect(fACK); a.ack != c.peerNxt+2920 {
		t.Fatalf("ACK %d, want %d", a.ack, c.peerNxt+2920)
	}
}

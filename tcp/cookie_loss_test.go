package tcp

import (
	"bytes"
	"io"
	"net/netip"
	"testing"

	"ustack/seqnum"
	"ustack/wire"
)

// The handshakes a SYN flood leaves half done: SYN cookies meeting
// losses and retransmissions. A connection the peer holds ESTABLISHED
// must never draw a RST here (netsim's TestScaleConcurrentConns found
// both cases below in a burst of 10,000 connects).

// noRST fails t if any of out is a RST.
func noRST(t *testing.T, out []capSeg) {
	t.Helper()
	for _, c := range out {
		if c.flags&wire.TCPFlagRST != 0 {
			t.Fatalf("sent a RST (seq %d ack %d): the peer's connection is reset", uint32(c.seq), uint32(c.ack))
		}
	}
}

// acceptFrom accepts from l until the connection from the peer's port.
func acceptFrom(t *testing.T, l *Endpoint, port uint16) *Endpoint {
	t.Helper()
	for range 4 {
		c, err := l.Accept()
		if err != nil {
			t.Fatal(err)
		}
		if c.remote.Port() == port {
			return c
		}
	}
	t.Fatalf("no connection from port %d accepted", port)
	return nil
}

// TestSyncookieSupersedesRequest: a SYN answered with a cookie while the
// SYN queue was full is retransmitted once the queue has room, and makes
// a request (SYN_RCVD) with an ISS of its own; the peer, meanwhile, took
// the cookie SYN-ACK and is ESTABLISHED on it. Its segments acknowledge
// the cookie, not the request's SYN-ACK: the cookie's connection replaces
// the request — whichever of the peer's segments comes first — where the
// request used to reset them as an unacceptable ACK.
func TestSyncookieSupersedesRequest(t *testing.T) {
	cases := []struct {
		name  string
		first seg // the peer's first segment to arrive (seq, ack filled in)
		lost  []byte
	}{
		{"the handshake ACK", seg{flags: fACK}, nil},
		{"the first data segment", seg{flags: fACK | fPSH, data: []byte("first")}, nil},
		{"a later data segment, the ACK and first lost", seg{flags: fACK | fPSH, data: []byte("second")}, []byte("first")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, nil)
			l := h.p.NewEndpoint()
			l.Bind(netip.AddrPortFrom(netip.IPv4Unspecified(), 80))
			l.Listen(2)
			// Two SYNs fill the SYN queue; a third gets a cookie.
			h.inject(seg{sport: 6000, seq: peerISS, flags: fSYN})
			sa := h.expect(fSYN | fACK)
			h.inject(seg{sport: 6001, seq: peerISS, flags: fSYN})
			h.expect(fSYN | fACK)
			h.inject(seg{sport: 7000, seq: peerISS, flags: fSYN})
			cookie := h.expect(fSYN | fACK)
			if h.st.SyncookiesSent.Load() != 1 {
				t.Fatalf("SyncookiesSent = %d, want 1", h.st.SyncookiesSent.Load())
			}
			// One handshake completes: the SYN queue has room again, and
			// the peer's retransmitted SYN makes a request.
			h.inject(seg{sport: 6000, seq: peerISS + 1, ack: sa.seq + 1, flags: fACK})
			h.expectNone()
			h.inject(seg{sport: 7000, seq: peerISS, flags: fSYN})
			req := h.expect(fSYN | fACK)
			if req.seq == cookie.seq {
				t.Fatalf("the request's ISS %d is the cookie's: the case does not arise", uint32(req.seq))
			}
			// The peer, ESTABLISHED on the cookie, sends.
			s := tc.first
			s.sport, s.seq, s.ack = 7000, peerISS+1+seqnum.Value(len(tc.lost)), cookie.seq+1
			h.inject(s)
			out := h.sent()
			noRST(t, out)
			c := acceptFrom(t, l, 7000)
			if c.State() != Established || c.snd.ISS != cookie.seq || c.rcv.IRS != peerISS {
				t.Fatalf("state %v ISS %d IRS %d, want ESTABLISHED on the cookie %d, IRS %d",
					c.State(), uint32(c.snd.ISS), uint32(c.rcv.IRS), uint32(cookie.seq), uint32(peerISS))
			}
			if h.st.SyncookiesRecv.Load() != 1 || h.st.OutRsts.Load() != 0 {
				t.Fatalf("SyncookiesRecv %d, OutRsts %d: want 1, 0", h.st.SyncookiesRecv.Load(), h.st.OutRsts.Load())
			}
			want := append(append([]byte(nil), tc.lost...), tc.first.data...)
			if len(tc.lost) > 0 {
				// Held out of order: a duplicate ACK asks for the rest.
				if len(out) != 1 || out[0].ack != peerISS+1 {
					t.Fatalf("sent %v, want one duplicate ACK for %d", describe(out), uint32(peerISS+1))
				}
				h.inject(seg{sport: 7000, seq: peerISS + 1, ack: cookie.seq + 1, flags: fACK, data: tc.lost})
				noRST(t, h.sent())
			}
			if len(want) > 0 {
				got := make([]byte, len(want))
				if _, err := io.ReadFull(c, got); err != nil || !bytes.Equal(got, want) {
					t.Fatalf("Read %q, %v; want %q", got, err, want)
				}
			}
			// The request is gone, its timer with it: no SYN-ACK follows.
			h.clk.Advance(10 * maxRTO)
			for _, o := range h.sent() {
				if o.dst.Port() == 7000 && o.flags&wire.TCPFlagSYN != 0 {
					t.Fatalf("the superseded request still retransmits its SYN-ACK: %v", describe([]capSeg{o}))
				}
			}
		})
	}
}

// TestSyncookieLaterSegmentFirst: the peer's ACK completing a cookie
// handshake and its first data segment are lost; its second data segment
// reaches the listener first. Its SEG.SEQ-1 is not the ISN the cookie was
// made from, so the cookie cannot be checked: the segment is dropped
// (SyncookiesFailed), not reset, and the peer's retransmission of the
// first makes the connection. A cookie two periods old still draws a RST.
func TestSyncookieLaterSegmentFirst(t *testing.T) {
	h := newHarness(t, nil)
	l := cookieListener(t, h)
	h.inject(seg{sport: 7000, seq: peerISS, flags: fSYN})
	cookie := h.expect(fSYN | fACK)
	first, second := []byte("first segment "), []byte("second segment")
	later := seg{sport: 7000, seq: peerISS + 1 + seqnum.Value(len(first)), ack: cookie.seq + 1, flags: fACK | fPSH, data: second}
	h.inject(later)
	noRST(t, h.sent())
	if h.st.SyncookiesFailed.Load() != 1 || h.st.SyncookiesRecv.Load() != 0 {
		t.Fatalf("SyncookiesFailed %d, SyncookiesRecv %d: want 1, 0", h.st.SyncookiesFailed.Load(), h.st.SyncookiesRecv.Load())
	}
	// The peer's RTO resends from SND.UNA: the first segment proves the
	// cookie; then the second again.
	h.inject(seg{sport: 7000, seq: peerISS + 1, ack: cookie.seq + 1, flags: fACK, data: first})
	c := acceptFrom(t, l, 7000)
	h.inject(later)
	noRST(t, h.sent())
	want := append(append([]byte(nil), first...), second...)
	got := make([]byte, len(want))
	if _, err := io.ReadFull(c, got); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("Read %q, %v; want %q", got, err, want)
	}

	// A cookie from two periods ago is not a cookie any more: RST.
	h.inject(seg{sport: 7001, seq: peerISS, flags: fSYN})
	old := h.expect(fSYN | fACK)
	h.clk.Advance(2 * cookiePeriod)
	h.sent()
	h.inject(seg{sport: 7001, seq: peerISS + 1 + 100, ack: old.seq + 1, flags: fACK, data: second})
	h.expect(fRST)
}

package tcp

import (
	"net/netip"
	"testing"
	"time"
)

// TestSocketsListener: a listener's entry counts its SYN queue and its
// accept queue, and its children appear in their own states.
func TestSocketsListener(t *testing.T) {
	h := newHarness(t, nil)
	l := listenOn(t, h, 80)
	h.inject(seg{sport: 6000, seq: peerISS, flags: fSYN}) // stays in SYN_RCVD
	h.expect(fSYN | fACK)
	h.inject(seg{sport: 6001, seq: peerISS, flags: fSYN}) // completes, not accepted
	sa := h.expect(fSYN | fACK)
	h.inject(seg{sport: 6001, seq: peerISS + 1, ack: sa.seq + 1, flags: fACK})

	socks := h.p.Sockets()
	if len(socks) != 3 {
		t.Fatalf("Sockets() = %d entries %+v, want the listener and two children", len(socks), socks)
	}
	ls := socks[0] // 0.0.0.0:80 sorts first
	if ls.State != Listen || ls.Local != netip.MustParseAddrPort("0.0.0.0:80") || ls.Remote.IsValid() ||
		ls.Backlog != 4 || ls.SynQueue != 1 || ls.AcceptQueue != 1 {
		t.Errorf("listener = %+v, want LISTEN on 0.0.0.0:80, backlog 4, one in each queue", ls)
	}
	for i, want := range []struct {
		port  uint16
		state State
	}{{6000, SynRcvd}, {6001, Established}} {
		s := socks[1+i]
		if s.Remote != netip.AddrPortFrom(hPeer, want.port) || s.State != want.state || s.Local != netip.AddrPortFrom(hLocal, 80) {
			t.Errorf("child %d = %v %v -> %v, want %v from port %d", i, s.State, s.Local, s.Remote, want.state, want.port)
		}
	}
	if got := l.SocketInfo(); got.AcceptQueue != 1 {
		t.Errorf("Endpoint.SocketInfo().AcceptQueue = %d, want 1", got.AcceptQueue)
	}
}

// TestSocketsRetransmissions: the table follows an RTO episode: the
// consecutive count and backoff go up and back to zero when the data is
// acknowledged, the total stays.
func TestSocketsRetransmissions(t *testing.T) {
	h := newHarness(t, nil)
	c := h.established()
	c.ep.SetNoDelay(true)
	c.ep.Write([]byte("xyz"))
	h.expect(fACK | fPSH)
	s := c.ep.SocketInfo()
	if s.InFlight != 3 || s.TotalRetrans != 0 || s.SndWScale != -1 || s.Timestamps || s.SACK {
		t.Errorf("before loss: %+v, want 3 bytes in flight, no retransmission, no options", s)
	}
	h.clk.Advance(200 * time.Millisecond)
	h.expect(fACK | fPSH)
	h.clk.Advance(400 * time.Millisecond)
	h.expect(fACK | fPSH)
	s = c.ep.SocketInfo()
	if s.Retransmits != 2 || s.Backoff != 2 || s.TotalRetrans != 2 || s.RTO != 800*time.Millisecond {
		t.Errorf("after two RTOs: retransmits %d backoff %d total %d rto %v; want 2, 2, 2, 800ms", s.Retransmits, s.Backoff, s.TotalRetrans, s.RTO)
	}
	c.ourNxt += 3
	h.ack(c)
	s = c.ep.SocketInfo()
	if s.Retransmits != 0 || s.Backoff != 0 || s.TotalRetrans != 2 || s.InFlight != 0 {
		t.Errorf("after the ACK: retransmits %d backoff %d total %d in flight %d; want 0, 0, 2, 0", s.Retransmits, s.Backoff, s.TotalRetrans, s.InFlight)
	}
	if got := h.p.Sockets(); len(got) != 1 || got[0].TotalRetrans != 2 || got[0].LastRecv != 0 {
		t.Errorf("Sockets() = %+v, want the one connection, 2 retransmissions, a segment just received", got)
	}
}

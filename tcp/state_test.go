package tcp

import (
	"errors"
	"io"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"ustack/seqnum"
	"ustack/wire"
)

const (
	fSYN = wire.TCPFlagSYN
	fACK = wire.TCPFlagACK
	fFIN = wire.TCPFlagFIN
	fRST = wire.TCPFlagRST
	fPSH = wire.TCPFlagPSH
)

func TestActiveOpen(t *testing.T) {
	h := newHarness(t, nil)
	c := h.established()
	if got := h.st.ActiveOpens.Load(); got != 1 {
		t.Errorf("ActiveOpens = %d, want 1", got)
	}
	if got := h.st.CurrEstab.Load(); got != 1 {
		t.Errorf("CurrEstab = %d, want 1", got)
	}
	_ = c
}

func listenOn(t *testing.T, h *harness, port uint16) *Endpoint {
	t.Helper()
	l := h.p.NewEndpoint()
	if err := l.Bind(netip.AddrPortFrom(netip.IPv4Unspecified(), port)); err != nil {
		t.Fatal(err)
	}
	if err := l.Listen(4); err != nil {
		t.Fatal(err)
	}
	return l
}

// passive completes a handshake at a listener on port 80 and accepts.
func (h *harness) passive(l *Endpoint, sport uint16) *conn {
	h.t.Helper()
	h.inject(seg{sport: sport, seq: peerISS, flags: fSYN})
	sa := h.expect(fSYN | fACK)
	if sa.ack != peerISS+1 {
		h.t.Fatalf("SYN-ACK ack = %d, want %d", sa.ack, peerISS+1)
	}
	h.inject(seg{sport: sport, seq: peerISS + 1, ack: sa.seq + 1, flags: fACK})
	h.expectNone()
	ep, err := l.Accept()
	if err != nil {
		h.t.Fatal(err)
	}
	h.state(ep, Established)
	return &conn{ep: ep, iss: sa.seq, ourNxt: sa.seq + 1, peerNxt: peerISS + 1, sport: sport, dport: 80}
}

func TestPassiveOpen(t *testing.T) {
	h := newHarness(t, nil)
	l := listenOn(t, h, 80)
	c := h.passive(l, 5000)
	if got := h.st.PassiveOpens.Load(); got != 1 {
		t.Errorf("PassiveOpens = %d, want 1", got)
	}
	if c.ep.RemoteAddr() != netip.AddrPortFrom(hPeer, 5000) {
		t.Errorf("RemoteAddr = %v", c.ep.RemoteAddr())
	}
	// A retransmitted SYN in SYN_RCVD draws the SYN-ACK again.
	h.inject(seg{sport: 5001, seq: peerISS, flags: fSYN})
	sa := h.expect(fSYN | fACK)
	h.inject(seg{sport: 5001, seq: peerISS, flags: fSYN})
	sa2 := h.expect(fSYN | fACK)
	if sa.seq != sa2.seq {
		t.Errorf("retransmitted SYN-ACK seq %d, first %d", sa2.seq, sa.seq)
	}
}

func TestSimultaneousOpen(t *testing.T) {
	h := newHarness(t, nil)
	c := h.active()
	// RFC 9293 Figure 8: both SYNs cross.
	h.inject(seg{seq: peerISS, flags: fSYN})
	sa := h.expect(fSYN | fACK)
	if sa.seq != c.iss || sa.ack != peerISS+1 {
		t.Fatalf("SYN-ACK seq %d ack %d, want %d %d", sa.seq, sa.ack, c.iss, peerISS+1)
	}
	h.state(c.ep, SynRcvd)
	h.inject(seg{seq: peerISS, ack: c.iss + 1, flags: fSYN | fACK})
	h.state(c.ep, Established)
}

func TestDataAndDelayedAck(t *testing.T) {
	h := newHarness(t, nil)
	c := h.established()
	// Quick-ACK mode: the first data segments are ACKed at once.
	h.inject(seg{seq: c.peerNxt, ack: c.ourNxt, flags: fACK | fPSH, data: []byte("hi")})
	if a := h.expect(fACK); a.ack != c.peerNxt+2 {
		t.Fatalf("quick ACK ack %d, want %d", a.ack, c.peerNxt+2)
	}
	c.peerNxt += 2
	c.ep.Read(make([]byte, 2))
	c.ep.quickAcks = 0
	h.inject(seg{seq: c.peerNxt, ack: c.ourNxt, flags: fACK | fPSH, data: []byte("hello")})
	h.expectNone() // delayed
	h.clk.Advance(40 * time.Millisecond)
	a := h.expect(fACK)
	if a.ack != c.peerNxt+5 {
		t.Fatalf("delayed ACK ack %d, want %d", a.ack, c.peerNxt+5)
	}
	if h.st.DelayedACKs.Load() != 1 {
		t.Errorf("DelayedACKs = %d", h.st.DelayedACKs.Load())
	}
	c.peerNxt += 5
	buf := make([]byte, 10)
	n, err := c.ep.Read(buf)
	if err != nil || string(buf[:n]) != "hello" {
		t.Fatalf("Read = %q, %v", buf[:n], err)
	}
	// Two full-sized segments: ACK at once.
	full := make([]byte, 1460)
	h.inject(seg{seq: c.peerNxt, ack: c.ourNxt, flags: fACK, data: full})
	h.expectNone()
	h.inject(seg{seq: c.peerNxt + 1460, ack: c.ourNxt, flags: fACK, data: full})
	a = h.expect(fACK)
	if a.ack != c.peerNxt+2920 {
		t.Fatalf("ACK %d, want %d", a.ack, c.peerNxt+2920)
	}
	// Our data goes out, and its ACK clears the retransmission timer.
	c.ep.SetNoDelay(true)
	if _, err := c.ep.Write([]byte("world")); err != nil {
		t.Fatal(err)
	}
	d := h.expect(fACK | fPSH)
	if d.seq != c.ourNxt || string(d.data) != "world" {
		t.Fatalf("data seg seq %d %q", d.seq, d.data)
	}
	c.ourNxt += 5
	c.peerNxt += 2920
	h.ack(c)
	h.clk.Advance(5 * time.Second)
	h.expectNone()
}

func TestOutOfOrderAndOldDuplicate(t *testing.T) {
	h := newHarness(t, nil)
	c := h.established()
	h.inject(seg{seq: c.peerNxt + 3, ack: c.ourNxt, flags: fACK, data: []byte("def")})
	a := h.expect(fACK) // immediate duplicate ACK
	if a.ack != c.peerNxt {
		t.Fatalf("dup ACK %d, want %d", a.ack, c.peerNxt)
	}
	// Overlapping retransmission covering the hole and part of the queue.
	h.inject(seg{seq: c.peerNxt, ack: c.ourNxt, flags: fACK, data: []byte("abcd")})
	a = h.expect(fACK) // filled a hole: ACK at once
	if a.ack != c.peerNxt+6 {
		t.Fatalf("ACK %d, want %d", a.ack, c.peerNxt+6)
	}
	buf := make([]byte, 10)
	n, _ := c.ep.Read(buf)
	if string(buf[:n]) != "abcdef" {
		t.Fatalf("Read = %q, want abcdef", buf[:n])
	}
	c.peerNxt += 6
	// An old duplicate: ACKed, counted, not delivered.
	h.inject(seg{seq: c.peerNxt - 6, ack: c.ourNxt, flags: fACK, data: []byte("abc")})
	if a := h.expect(fACK); a.ack != c.peerNxt {
		t.Fatalf("ACK %d, want %d", a.ack, c.peerNxt)
	}
	if h.st.InDuplicates.Load() != 1 || h.st.OFOQueue.Load() != 1 {
		t.Errorf("InDuplicates %d OFOQueue %d, want 1 1", h.st.InDuplicates.Load(), h.st.OFOQueue.Load())
	}
}

func TestPeerCloseFirst(t *testing.T) {
	h := newHarness(t, nil)
	c := h.established()
	h.inject(seg{seq: c.peerNxt, ack: c.ourNxt, flags: fFIN | fACK})
	if a := h.expect(fACK); a.ack != c.peerNxt+1 {
		t.Fatalf("ACK of FIN %d, want %d", a.ack, c.peerNxt+1)
	}
	c.peerNxt++
	h.state(c.ep, CloseWait)
	if _, err := c.ep.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("Read after FIN: %v, want EOF", err)
	}
	// Half-close: data still flows our way to the peer.
	c.ep.SetNoDelay(true)
	if _, err := c.ep.Write([]byte("late")); err != nil {
		t.Fatal(err)
	}
	h.expect(fACK | fPSH)
	c.ourNxt += 4
	h.ack(c)
	if err := c.ep.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	fin := h.expect(fFIN | fACK)
	if fin.seq != c.ourNxt {
		t.Fatalf("FIN seq %d, want %d", fin.seq, c.ourNxt)
	}
	c.ourNxt++
	h.state(c.ep, LastAck)
	h.ack(c)
	h.state(c.ep, Closed)
	if h.st.CurrEstab.Load() != 0 {
		t.Errorf("CurrEstab = %d", h.st.CurrEstab.Load())
	}
}

func TestActiveCloseTimeWait(t *testing.T) {
	h := newHarness(t, nil)
	c := h.established()
	c.ep.CloseWrite()
	h.expect(fFIN | fACK)
	c.ourNxt++
	h.state(c.ep, FinWait1)
	h.ack(c)
	h.state(c.ep, FinWait2)
	h.inject(seg{seq: c.peerNxt, ack: c.ourNxt, flags: fFIN | fACK})
	h.expect(fACK)
	c.peerNxt++
	h.state(c.ep, TimeWait)
	// The peer retransmits its FIN (our ACK was lost): ACK again, and
	// the 2*MSL wait restarts.
	h.clk.Advance(1500 * time.Millisecond)
	h.inject(seg{seq: c.peerNxt - 1, ack: c.ourNxt, flags: fFIN | fACK})
	if a := h.expect(fACK); a.ack != c.peerNxt {
		t.Fatalf("ACK %d, want %d", a.ack, c.peerNxt)
	}
	h.clk.Advance(1500 * time.Millisecond)
	h.state(c.ep, TimeWait)
	h.clk.Advance(600 * time.Millisecond)
	h.state(c.ep, Closed)
	if h.st.TimeWaitExpired.Load() != 1 {
		t.Errorf("TimeWaitExpired = %d", h.st.TimeWaitExpired.Load())
	}
}

func TestSimultaneousClose(t *testing.T) {
	h := newHarness(t, nil)
	c := h.established()
	c.ep.CloseWrite()
	h.expect(fFIN | fACK)
	// The peer's FIN crosses ours: it does not acknowledge our FIN.
	h.inject(seg{seq: c.peerNxt, ack: c.ourNxt, flags: fFIN | fACK})
	h.expect(fACK)
	c.peerNxt++
	c.ourNxt++
	h.state(c.ep, Closing)
	h.ack(c)
	h.state(c.ep, TimeWait)
}

func TestFinWait1FinAck(t *testing.T) {
	h := newHarness(t, nil)
	c := h.established()
	c.ep.CloseWrite()
	h.expect(fFIN | fACK)
	c.ourNxt++
	// FIN and the ACK of ours in one segment: straight to TIME_WAIT.
	h.inject(seg{seq: c.peerNxt, ack: c.ourNxt, flags: fFIN | fACK})
	h.expect(fACK)
	h.state(c.ep, TimeWait)
}

func TestResets(t *testing.T) {
	type setup func(h *harness) *conn
	toState := map[State]setup{
		Established: func(h *harness) *conn { return h.established() },
		FinWait1: func(h *harness) *conn {
			c := h.established()
			c.ep.CloseWrite()
			h.sent()
			return c
		},
		FinWait2: func(h *harness) *conn {
			c := h.established()
			c.ep.CloseWrite()
			h.sent()
			c.ourNxt++
			h.ack(c)
			return c
		},
		CloseWait: func(h *harness) *conn {
			c := h.established()
			h.inject(seg{seq: c.peerNxt, ack: c.ourNxt, flags: fFIN | fACK})
			h.sent()
			c.peerNxt++
			return c
		},
		Closing: func(h *harness) *conn {
			c := h.established()
			c.ep.CloseWrite()
			h.inject(seg{seq: c.peerNxt, ack: c.ourNxt, flags: fFIN | fACK})
			h.sent()
			c.peerNxt++
			c.ourNxt++
			return c
		},
		LastAck: func(h *harness) *conn {
			c := h.established()
			h.inject(seg{seq: c.peerNxt, ack: c.ourNxt, flags: fFIN | fACK})
			c.peerNxt++
			c.ep.CloseWrite()
			h.sent()
			c.ourNxt++
			return c
		},
		TimeWait: func(h *harness) *conn {
			c := h.established()
			c.ep.CloseWrite()
			c.ourNxt++
			h.ack(c)
			h.inject(seg{seq: c.peerNxt, ack: c.ourNxt, flags: fFIN | fACK})
			h.sent()
			c.peerNxt++
			return c
		},
	}
	for st, mk := range toState {
		t.Run(st.String()+"/exact", func(t *testing.T) {
			h := newHarness(t, nil)
			c := mk(h)
			h.state(c.ep, st)
			h.inject(seg{seq: c.peerNxt, flags: fRST})
			h.expectNone()
			h.state(c.ep, Closed)
			if st == Established || st == CloseWait {
				if h.st.EstabResets.Load() != 1 {
					t.Errorf("EstabResets = %d", h.st.EstabResets.Load())
				}
				if _, err := c.ep.Read(make([]byte, 1)); !errors.Is(err, syscall.ECONNRESET) && st == Established {
					t.Errorf("Read after RST: %v, want ECONNRESET", err)
				}
			}
		})
		if st == TimeWait {
			continue
		}
		t.Run(st.String()+"/in-window", func(t *testing.T) {
			h := newHarness(t, nil)
			c := mk(h)
			h.inject(seg{seq: c.peerNxt + 100, flags: fRST})
			if a := h.expect(fACK); a.ack != c.peerNxt { // challenge ACK (RFC 5961 §3.2)
				t.Fatalf("challenge ACK ack %d, want %d", a.ack, c.peerNxt)
			}
			h.state(c.ep, st)
			if h.st.ChallengeACKs.Load() != 1 {
				t.Errorf("ChallengeACKs = %d", h.st.ChallengeACKs.Load())
			}
			// Out of the window: silently dropped.
			h.inject(seg{seq: c.peerNxt + 1<<20, flags: fRST})
			h.expectNone()
			h.state(c.ep, st)
			// SYN in a synchronized state: challenge ACK (RFC 5961 §4).
			h.inject(seg{seq: c.peerNxt + 7, flags: fSYN})
			h.expect(fACK)
			h.state(c.ep, st)
		})
	}
}

func TestRefusedAndNoSocket(t *testing.T) {
	h := newHarness(t, nil)
	c := h.active()
	h.inject(seg{seq: 0, ack: c.ourNxt, flags: fRST | fACK})
	h.state(c.ep, Closed)
	if c.ep.err != syscall.ECONNREFUSED {
		t.Fatalf("err = %v, want ECONNREFUSED", c.ep.err)
	}
	// A SYN to a port nobody listens on: <SEQ=0><ACK=SEG.SEQ+1><RST,ACK>.
	h.inject(seg{dport: 81, seq: 77, flags: fSYN})
	r := h.expect(fRST | fACK)
	if r.seq != 0 || r.ack != 78 {
		t.Fatalf("RST seq %d ack %d, want 0 78", r.seq, r.ack)
	}
	// An ACK to no socket: <SEQ=SEG.ACK><RST>.
	h.inject(seg{dport: 81, seq: 77, ack: 12345, flags: fACK})
	if r := h.expect(fRST); r.seq != 12345 {
		t.Fatalf("RST seq %d, want 12345", r.seq)
	}
	// A RST to no socket: nothing.
	h.inject(seg{dport: 81, seq: 77, flags: fRST})
	h.expectNone()
	if h.st.OutRsts.Load() != 2 || h.st.AttemptFails.Load() != 1 {
		t.Errorf("OutRsts %d AttemptFails %d, want 2 1", h.st.OutRsts.Load(), h.st.AttemptFails.Load())
	}
}

func TestSynSentBadAck(t *testing.T) {
	h := newHarness(t, nil)
	c := h.active()
	h.inject(seg{seq: peerISS, ack: c.iss + 100, flags: fSYN | fACK})
	if r := h.expect(fRST); r.seq != c.iss+100 {
		t.Fatalf("RST seq %d", r.seq)
	}
	h.state(c.ep, SynSent)
}

func TestTimeWaitReuse(t *testing.T) {
	for _, tc := range []struct {
		name  string
		delta int32
		reuse bool
	}{{"higher ISN", 100000, true}, {"lower ISN", -100000, false}} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, nil)
			l := listenOn(t, h, 80)
			c := h.passive(l, 5000)
			// Passive side closes first so it holds TIME_WAIT.
			c.ep.CloseWrite()
			h.expect(fFIN | fACK)
			c.ourNxt++
			h.inject(seg{seq: c.peerNxt, ack: c.ourNxt, flags: fFIN | fACK})
			h.expect(fACK)
			c.peerNxt++
			h.state(c.ep, TimeWait)
			h.inject(seg{seq: c.peerNxt.Add(0) + seqnumOf(tc.delta), flags: fSYN})
			out := h.sent()
			if len(out) != 1 {
				t.Fatalf("sent %v", describe(out))
			}
			if tc.reuse {
				if out[0].flags != fSYN|fACK {
					t.Fatalf("sent %v, want SYN-ACK from the listener", describe(out))
				}
				h.state(c.ep, Closed)
				if h.st.TimeWaitReuse.Load() != 1 {
					t.Errorf("TimeWaitReuse = %d", h.st.TimeWaitReuse.Load())
				}
			} else {
				if out[0].flags != fACK {
					t.Fatalf("sent %v, want an ACK", describe(out))
				}
				h.state(c.ep, TimeWait)
			}
		})
	}
}

func TestRetransmitAndTimeout(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Retries = 3 })
	c := h.established()
	c.ep.SetNoDelay(true)
	c.ep.Write([]byte("x"))
	h.expect(fACK | fPSH)
	// The handshake measured an RTT of ~0 on the manual clock: RTO is
	// the 200ms minimum, doubling on each expiry.
	for i, d := range []time.Duration{200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond} {
		h.clk.Advance(d)
		r := h.expect(fACK | fPSH)
		if r.seq != c.ourNxt {
			t.Fatalf("retransmission %d seq %d, want %d", i, r.seq, c.ourNxt)
		}
	}
	h.clk.Advance(1600 * time.Millisecond)
	h.state(c.ep, Closed)
	if c.ep.err != syscall.ETIMEDOUT {
		t.Fatalf("err = %v, want ETIMEDOUT", c.ep.err)
	}
	if h.st.Timeouts.Load() != 3 || h.st.RetransSegs.Load() != 3 || h.st.AbortOnTimeout.Load() != 1 {
		t.Errorf("Timeouts %d RetransSegs %d AbortOnTimeout %d", h.st.Timeouts.Load(), h.st.RetransSegs.Load(), h.st.AbortOnTimeout.Load())
	}
}

func TestSynRetransmit(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.SynRetries = 2 })
	c := h.active()
	h.clk.Advance(time.Second)
	h.expect(fSYN)
	h.clk.Advance(2 * time.Second)
	h.expect(fSYN)
	h.clk.Advance(4 * time.Second)
	h.state(c.ep, Closed)
	if c.ep.err != syscall.ETIMEDOUT || h.st.SynRetrans.Load() != 2 {
		t.Fatalf("err %v SynRetrans %d", c.ep.err, h.st.SynRetrans.Load())
	}
}

func TestZeroWindowPersist(t *testing.T) {
	h := newHarness(t, nil)
	c := h.established()
	c.ep.SetNoDelay(true)
	// The peer closes its window.
	h.inject(seg{seq: c.peerNxt, ack: c.ourNxt, flags: fACK, zeroWnd: true})
	c.ep.Write([]byte("abc"))
	h.expectNone()
	h.clk.Advance(200 * time.Millisecond)
	probe := h.expect(fACK)
	if probe.seq != c.ourNxt-1 || len(probe.data) != 0 {
		t.Fatalf("window probe seq %d len %d, want %d 0", probe.seq, len(probe.data), c.ourNxt-1)
	}
	h.clk.Advance(400 * time.Millisecond)
	h.expect(fACK) // backed off
	if h.st.ZeroWindowProbes.Load() != 2 {
		t.Errorf("ZeroWindowProbes = %d", h.st.ZeroWindowProbes.Load())
	}
	// The window opens: the data goes.
	h.inject(seg{seq: c.peerNxt, ack: c.ourNxt, flags: fACK})
	if d := h.expect(fACK | fPSH); string(d.data) != "abc" {
		t.Fatalf("data %q", d.data)
	}
}

func TestFastRetransmit(t *testing.T) {
	h := newHarness(t, nil)
	c := h.established()
	c.ep.SetNoDelay(true)
	data := make([]byte, 5*1460)
	c.ep.Write(data)
	out := h.sent()
	if len(out) != 5 {
		t.Fatalf("sent %d segments, want 5 (initial window)", len(out))
	}
	for i := 0; i < 3; i++ {
		h.inject(seg{seq: c.peerNxt, ack: c.ourNxt, flags: fACK})
	}
	var rex *capSeg
	for _, s := range h.sent() {
		if s.seq == c.ourNxt {
			s := s
			rex = &s
		}
	}
	if rex == nil || h.st.FastRetrans.Load() != 1 {
		t.Fatalf("no fast retransmission of seq %d after 3 dup ACKs (FastRetrans %d)", c.ourNxt, h.st.FastRetrans.Load())
	}
	// A full ACK ends recovery.
	c.ourNxt += seqnumOf(int32(len(data)))
	h.ack(c)
	if c.ep.inRecovery {
		t.Error("still in recovery after a full ACK")
	}
}

func seqnumOf(d int32) seqnum.Value { return seqnum.Value(uint32(d)) }

// A peer whose segments are a little shorter than our MSS estimate (a
// smaller MSS, options) still gets an ACK for every second segment: the
// rule counts bytes, as Linux's __tcp_ack_snd_check does. Counting only
// segments at least as long as the estimate left such a peer waiting for
// the delayed-ACK timer on every pair (found against gVisor's netstack).
func TestAckEverySecondShortSegment(t *testing.T) {
	h := newHarness(t, nil)
	c := h.established()
	c.ep.quickAcks = 0
	short := make([]byte, 1400)
	h.inject(seg{seq: c.peerNxt, ack: c.ourNxt, flags: fACK, data: short})
	h.expectNone()
	h.inject(seg{seq: c.peerNxt + 1400, ack: c.ourNxt, flags: fACK, data: short})
	if a := h.expect(fACK); a.ack != c.peerNxt+2800 {
		t.Fatalf("ACK %d, want %d at once after two 1400-byte segments", a.ack, c.peerNxt+2800)
	}
}

// A new SYN in TIME_WAIT whose timestamp equals TS.Recent (the port was
// reused within one tick of the peer's timestamp clock) is accepted when
// its sequence is beyond the old connection's, as Linux does; requiring a
// strictly newer timestamp stalled rapid reconnects for a second each.
func TestTimeWaitReuseSameTimestamp(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.NoTimestamps = false })
	l := listenOn(t, h, 80)
	ts := func(v uint32) *wire.TCPOptions { return &wire.TCPOptions{HasTimestamps: true, TSVal: v} }
	h.inject(seg{sport: 5000, seq: peerISS, flags: fSYN, opts: &wire.TCPOptions{HasTimestamps: true, TSVal: 100, HasMSS: true, MSS: 1460}})
	sa := h.expect(fSYN | fACK)
	h.inject(seg{sport: 5000, seq: peerISS + 1, ack: sa.seq + 1, flags: fACK, opts: ts(100)})
	ep, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	if !ep.tsOK {
		t.Fatal("timestamps not negotiated")
	}
	ep.CloseWrite()
	h.expect(fFIN | fACK)
	h.inject(seg{sport: 5000, seq: peerISS + 1, ack: sa.seq + 2, flags: fFIN | fACK, opts: ts(100)})
	h.expect(fACK)
	h.state(ep, TimeWait)
	h.inject(seg{sport: 5000, seq: peerISS + 100000, flags: fSYN, opts: ts(100)})
	out := h.sent()
	if len(out) != 1 || out[0].flags != fSYN|fACK {
		t.Fatalf("sent %v, want a SYN-ACK: same timestamp, higher ISN reuses TIME_WAIT", describe(out))
	}
}

package tcp

import (
	"bytes"
	"net/netip"
	"testing"

	"ustack/wire"
)

// cookieListener returns a listener on port 80 with backlog 2 whose SYN
// queue two unanswered SYNs have filled: the next SYN gets a cookie.
func cookieListener(t *testing.T, h *harness) *Endpoint {
	t.Helper()
	l := h.p.NewEndpoint()
	if err := l.Bind(netip.AddrPortFrom(netip.IPv4Unspecified(), 80)); err != nil {
		t.Fatal(err)
	}
	if err := l.Listen(2); err != nil {
		t.Fatal(err)
	}
	for port := uint16(6000); port < 6002; port++ {
		h.inject(seg{sport: port, seq: peerISS, flags: fSYN})
	}
	h.sent()
	return l
}

func allOptions(c *Config) { c.NoTimestamps, c.NoSACK, c.NoWindowScale = false, false, false }

// TestSyncookieOptions: during a SYN flood, a SYN with timestamps gets a
// cookie SYN-ACK offering timestamps, window scaling and SACK as the SYN
// did, its TSval carrying the peer's shift and SACK-permitted in the low
// six bits (as Linux's cookie_init_timestamp); the ACK echoing it builds
// a connection with them. Without timestamps only the MSS survives.
func TestSyncookieOptions(t *testing.T) {
	cases := []struct {
		name               string
		syn                wire.TCPOptions
		offerWS, offerSACK bool
		offerTS            bool
		bits               uint32 // TSval & 63 of the SYN-ACK
		ws                 bool
		shift              uint8
		sack, ts           bool
	}{
		{"timestamps, window scale and SACK", wire.TCPOptions{HasTimestamps: true, TSVal: 100, HasWindowScale: true, WindowScale: 7, SACKPermitted: true},
			true, true, true, 0x17, true, 7, true, true},
		{"timestamps and SACK", wire.TCPOptions{HasTimestamps: true, TSVal: 100, SACKPermitted: true},
			false, true, true, 0x1f, false, 0, true, true},
		{"timestamps and window scale 0", wire.TCPOptions{HasTimestamps: true, TSVal: 100, HasWindowScale: true},
			true, false, true, 0x00, true, 0, false, true},
		{"timestamps and window scale 14", wire.TCPOptions{HasTimestamps: true, TSVal: 100, HasWindowScale: true, WindowScale: 14},
			true, false, true, 0x0e, true, 14, false, true},
		{"window scale beyond 14 is capped", wire.TCPOptions{HasTimestamps: true, TSVal: 100, HasWindowScale: true, WindowScale: 15},
			true, false, true, 0x0e, true, 14, false, true},
		{"timestamps only", wire.TCPOptions{HasTimestamps: true, TSVal: 100},
			false, false, true, 0x0f, false, 0, false, true},
		{"no timestamps: only the MSS", wire.TCPOptions{HasWindowScale: true, WindowScale: 7, SACKPermitted: true},
			false, false, false, 0, false, 0, false, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, allOptions)
			l := cookieListener(t, h)
			o := c.syn
			o.MSS, o.HasMSS = 1460, true
			h.inject(seg{sport: 7000, seq: peerISS, flags: fSYN, opts: &o})
			sa := h.expect(fSYN | fACK)
			if h.st.SyncookiesSent.Load() != 1 {
				t.Fatalf("SyncookiesSent = %d, want 1", h.st.SyncookiesSent.Load())
			}
			so := sa.opts
			if so.HasWindowScale != c.offerWS || so.SACKPermitted != c.offerSACK || so.HasTimestamps != c.offerTS || !so.HasMSS {
				t.Fatalf("cookie SYN-ACK options %+v: want WS %v SACK %v TS %v", so, c.offerWS, c.offerSACK, c.offerTS)
			}
			if c.offerTS {
				if bits := so.TSVal & 63; bits != c.bits {
					t.Errorf("SYN-ACK TSval %#x: low bits %#x, want %#x", so.TSVal, bits, c.bits)
				}
				if d := int32(h.p.tsNow() - so.TSVal); d < 0 || d >= 64 {
					t.Errorf("SYN-ACK TSval %d is %d ticks from the clock %d: want within the 64 before it", so.TSVal, d, h.p.tsNow())
				}
				if so.TSEcr != c.syn.TSVal {
					t.Errorf("SYN-ACK TSecr %d, want the SYN's TSval %d", so.TSEcr, c.syn.TSVal)
				}
			}
			ack := &wire.TCPOptions{}
			if c.offerTS {
				ack.HasTimestamps, ack.TSVal, ack.TSEcr = true, 101, so.TSVal
			}
			h.inject(seg{sport: 7000, seq: peerISS + 1, ack: sa.seq + 1, flags: fACK, opts: ack})
			ep, err := l.Accept()
			if err != nil {
				t.Fatal(err)
			}
			if h.st.SyncookiesRecv.Load() != 1 {
				t.Fatalf("SyncookiesRecv = %d, want 1", h.st.SyncookiesRecv.Load())
			}
			if ep.wsOK != c.ws || ep.snd.Shift != c.shift || ep.sackOK != c.sack || ep.tsOK != c.ts {
				t.Fatalf("connection: WS %v shift %d SACK %v TS %v; want %v %d %v %v", ep.wsOK, ep.snd.Shift, ep.sackOK, ep.tsOK, c.ws, c.shift, c.sack, c.ts)
			}
			if c.ws && ep.rcv.Shift != so.WindowScale {
				t.Errorf("our shift %d, SYN-ACK offered %d", ep.rcv.Shift, so.WindowScale)
			}
			if !c.ws && ep.rcv.Shift != 0 {
				t.Errorf("our shift %d without window scaling", ep.rcv.Shift)
			}
			if c.ts && ep.tsRecent != 101 {
				t.Errorf("TS.Recent %d, want 101", ep.tsRecent)
			}
		})
	}
}

// TestSyncookieConnectionMovesData: a cookie connection made during a
// SYN flood uses what it negotiated — the peer's scaled window, our
// scaled window, timestamps on every segment, and SACK in loss recovery.
func TestSyncookieConnectionMovesData(t *testing.T) {
	h := newHarness(t, allOptions)
	l := cookieListener(t, h)
	h.inject(seg{sport: 7000, seq: peerISS, flags: fSYN, opts: &wire.TCPOptions{MSS: 1460, HasMSS: true,
		HasTimestamps: true, TSVal: 100, HasWindowScale: true, WindowScale: 7, SACKPermitted: true}})
	sa := h.expect(fSYN | fACK)
	ts := func(v uint32) *wire.TCPOptions {
		return &wire.TCPOptions{HasTimestamps: true, TSVal: v, TSEcr: sa.opts.TSVal}
	}
	// The ACK advertises 1000<<7 bytes.
	h.inject(seg{sport: 7000, seq: peerISS + 1, ack: sa.seq + 1, flags: fACK, wnd: 1000, opts: ts(101)})
	ep, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	if ep.snd.WND != 1000<<7 {
		t.Fatalf("send window %d, want %d (1000 scaled by 7)", ep.snd.WND, 1000<<7)
	}
	// Data from the peer is delivered and ACKed with timestamps and a
	// scaled window.
	h.inject(seg{sport: 7000, seq: peerISS + 1, ack: sa.seq + 1, flags: fACK | fPSH, wnd: 1000, opts: ts(102), data: []byte("hello")})
	buf := make([]byte, 16)
	if n, _ := ep.Read(buf); string(buf[:n]) != "hello" {
		t.Fatalf("Read %q, want hello", buf[:n])
	}
	acks := h.sent()
	if len(acks) == 0 {
		t.Fatal("no ACK for the data")
	}
	for _, a := range acks {
		if !a.opts.HasTimestamps || a.opts.TSEcr != 102 {
			t.Errorf("ACK options %+v: want timestamps echoing 102", a.opts)
		}
		if want := ep.rcv.WND >> ep.rcv.Shift; uint32(a.wnd) != want {
			t.Errorf("ACK window field %d, want %d (scaled by %d)", a.wnd, want, ep.rcv.Shift)
		}
	}
	// Our data fills the initial window, which the unscaled 1000 bytes
	// would not allow.
	ep.SetNoDelay(true)
	data := bytes.Repeat([]byte("0123456789"), 2000)
	if _, err := ep.Write(data); err != nil {
		t.Fatal(err)
	}
	out := h.sent()
	if len(out) != 10 {
		t.Fatalf("sent %d segments, want the initial window of 10", len(out))
	}
	first := out[0].seq
	smss := len(out[0].data)
	if smss != 1460-12 {
		t.Fatalf("segment of %d bytes, want %d (MSS less timestamps)", smss, 1460-12)
	}
	// Segment 0 lost: SACK for 1-3 starts recovery and resends it.
	at := func(i int) uint32 { return uint32(first) + uint32(i*smss) }
	o := ts(103)
	o.SACKBlocks[0], o.NumSACKBlocks = wire.SACKBlock{Left: at(1), Right: at(4)}, 1
	h.inject(seg{sport: 7000, seq: peerISS + 6, ack: first, flags: fACK, wnd: 1000, opts: o})
	var rex bool
	for _, s := range h.sent() {
		rex = rex || s.seq == first && len(s.data) == smss
	}
	if !rex || h.st.SACKRecovery.Load() != 1 {
		t.Fatalf("no SACK recovery on the cookie connection (retransmitted %v, SACKRecovery %d)", rex, h.st.SACKRecovery.Load())
	}
	// The rest is acknowledged; the connection is whole.
	h.inject(seg{sport: 7000, seq: peerISS + 6, ack: first.Add(10 * 1448), flags: fACK, wnd: 1000, opts: ts(104)})
	if ep.inRecovery || ep.State() != Established {
		t.Fatalf("after the full ACK: inRecovery %v, state %v", ep.inRecovery, ep.State())
	}
}

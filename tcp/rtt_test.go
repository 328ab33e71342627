package tcp

import (
	"net/netip"
	"testing"
	"time"

	"ustack/wire"
)

// TestRTTFinerThanTimestamps: on a link whose round trip is well under
// the timestamp clock's millisecond tick, SRTT still comes out right,
// from the timed SYN-ACK and the timed data segments, to the
// microsecond; echoed timestamps of zero or one tick are no sample
// (they would say the round trip is nothing). A round trip of many ticks
// is sampled from the timestamps too, on every ACK.
func TestRTTFinerThanTimestamps(t *testing.T) {
	h := newHarness(t, allOptions)
	l := h.p.NewEndpoint()
	if err := l.Bind(netip.AddrPortFrom(netip.IPv4Unspecified(), 80)); err != nil {
		t.Fatal(err)
	}
	if err := l.Listen(8); err != nil {
		t.Fatal(err)
	}
	const rtt = 300 * time.Microsecond
	h.inject(seg{seq: peerISS, flags: fSYN, opts: &wire.TCPOptions{MSS: 1460, HasMSS: true, HasTimestamps: true, TSVal: 1}})
	sa := h.expect(fSYN | fACK)
	if !sa.opts.HasTimestamps {
		t.Fatal("SYN-ACK without timestamps")
	}
	h.clk.Advance(rtt)
	h.inject(seg{seq: peerISS + 1, ack: sa.seq + 1, flags: fACK, opts: &wire.TCPOptions{HasTimestamps: true, TSVal: 2, TSEcr: sa.opts.TSVal}})
	ep, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	if !ep.tsOK {
		t.Fatal("timestamps not negotiated")
	}
	if got := ep.Info().SRTT; got != rtt {
		t.Fatalf("SRTT after the handshake = %v, want the SYN-ACK's round trip %v", got, rtt)
	}

	// Data, one segment a round trip: each ACK echoes a TSval of the same
	// tick, or the one before.
	next, peerTS := sa.seq+1, uint32(3)
	send := func(d time.Duration) {
		t.Helper()
		if _, err := ep.Write(make([]byte, 100)); err != nil {
			t.Fatal(err)
		}
		s := h.expect(fPSH | fACK)
		h.clk.Advance(d)
		next += 100
		h.inject(seg{seq: peerISS + 1, ack: next, flags: fACK, opts: &wire.TCPOptions{HasTimestamps: true, TSVal: peerTS, TSEcr: s.opts.TSVal}})
		peerTS++
	}
	for range 20 {
		send(rtt)
	}
	if got := ep.Info().SRTT; got != rtt {
		t.Errorf("SRTT after 20 round trips of %v = %v, want %v", rtt, got, rtt)
	}

	// A long round trip: the timestamps measure it on every ACK.
	const long = 40 * time.Millisecond
	for range 40 {
		send(long)
	}
	if got := ep.Info().SRTT; got < long*9/10 || got > long*11/10 {
		t.Errorf("SRTT after 40 round trips of %v = %v, want within 10%%", long, got)
	}
}

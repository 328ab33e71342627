package tcp

import (
	"testing"
	"time"

	"ustack/wire"
)

// TestTailLossProbe: a flight whose ACK is lost draws, after the probe
// timeout rather than the RTO, a resend of its last segment; how the
// probe is acknowledged decides whether the window is cut.
func TestTailLossProbe(t *testing.T) {
	cases := []struct {
		name    string
		dsack   bool // the peer had the data: the probe comes back D-SACKed
		wantRec uint64
	}{
		{"ACK lost: probe D-SACKed, window kept", true, 0},
		{"last segment lost: probe repairs it, window cut", false, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h, cn := sackConn(t, func(cf *Config) { cf.NoTailLossProbe = false })
			ep := cn.ep
			base := cn.ourNxt
			// One round trip first, for an SRTT.
			ep.Write(make([]byte, rsmss))
			h.sent()
			h.clk.Advance(time.Millisecond)
			h.inject(seg{seq: cn.peerNxt, ack: base + rsmss, flags: fACK})
			if ep.rtt.srtt == 0 {
				t.Fatal("no RTT sample")
			}
			base += rsmss
			ep.Write(make([]byte, 4*rsmss))
			if out := h.sent(); len(out) != 4 {
				t.Fatalf("sent %d segments, want 4", len(out))
			}
			if !ep.sb.ptoArmed {
				t.Fatal("timer not set for a probe")
			}
			pto, rto := rtoDue(h, ep), ep.rtoDuration()
			if pto != tlpMinPTO || pto >= rto {
				t.Fatalf("PTO %v (RTO %v), want %v", pto, rto, tlpMinPTO)
			}
			// No ACK comes back: the probe goes at the PTO.
			h.clk.Advance(pto)
			probe := h.expect(fACK)
			if probe.seq != base+3*rsmss || len(probe.data) != rsmss {
				t.Fatalf("probe seq %d len %d, want the last segment %d len %d", probe.seq, len(probe.data), base+3*rsmss, rsmss)
			}
			if ep.sb.ptoArmed || !ep.sb.tlpOut || rtoDue(h, ep) != ep.rtoDuration() {
				t.Fatalf("after the probe: ptoArmed %v tlpOut %v timer %v, want an RTO of %v", ep.sb.ptoArmed, ep.sb.tlpOut, rtoDue(h, ep), ep.rtoDuration())
			}
			cwnd := ep.cc.Cwnd()
			o := &wire.TCPOptions{}
			if c.dsack {
				o.SACKBlocks[0] = wire.SACKBlock{Left: uint32(base + 3*rsmss), Right: uint32(base + 4*rsmss)}
				o.NumSACKBlocks = 1
			}
			h.inject(seg{seq: cn.peerNxt, ack: base + 4*rsmss, flags: fACK, opts: o})
			if ep.sb.tlpOut {
				t.Fatal("probe episode still open after its ACK")
			}
			if got := h.st.TLPRecovery.Load(); got != c.wantRec {
				t.Errorf("TLPRecovery = %d, want %d", got, c.wantRec)
			}
			if cut := ep.cc.Cwnd() < cwnd; cut != (c.wantRec == 1) {
				t.Errorf("cwnd %d -> %d: cut = %v, want %v", cwnd, ep.cc.Cwnd(), cut, c.wantRec == 1)
			}
			if h.st.TLPProbes.Load() != 1 || h.st.Timeouts.Load() != 0 {
				t.Errorf("TLPProbes %d Timeouts %d, want 1 0", h.st.TLPProbes.Load(), h.st.Timeouts.Load())
			}
		})
	}
}

// TestTailLossProbeThenRTO: when the probe draws nothing either, the RTO
// follows, backed off from the probe, and no second probe is sent.
func TestTailLossProbeThenRTO(t *testing.T) {
	h, cn := sackConn(t, func(cf *Config) { cf.NoTailLossProbe = false })
	ep := cn.ep
	ep.Write(make([]byte, rsmss))
	h.sent()
	h.clk.Advance(time.Millisecond)
	h.inject(seg{seq: cn.peerNxt, ack: cn.ourNxt + rsmss, flags: fACK})
	ep.Write(make([]byte, 2*rsmss))
	h.sent()
	h.clk.Advance(rtoDue(h, ep))
	h.expect(fACK) // the probe
	h.clk.Advance(rtoDue(h, ep))
	rto := h.expect(fACK)
	if rto.seq != cn.ourNxt+rsmss {
		t.Fatalf("after the probe, the RTO resent seq %d, want SND.UNA %d", rto.seq, cn.ourNxt+rsmss)
	}
	if h.st.TLPProbes.Load() != 1 || h.st.Timeouts.Load() != 1 || ep.sb.ptoArmed {
		t.Fatalf("TLPProbes %d Timeouts %d ptoArmed %v, want 1 1 false", h.st.TLPProbes.Load(), h.st.Timeouts.Load(), ep.sb.ptoArmed)
	}
}

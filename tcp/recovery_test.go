package tcp

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"ustack/seqnum"
	"ustack/stats"
	"ustack/wire"
)

// sackConn returns an established connection that negotiated SACK (no
// timestamps: SMSS = MSS = 1460), with NewReno, whose windows are easy to
// follow (IW 10 segments; ssthresh = FlightSize/2), Nagle off, and no
// tail loss probe unless mod turns it back on.
func sackConn(t *testing.T, mod func(*Config)) (*harness, *conn) {
	t.Helper()
	h := newHarness(t, func(c *Config) {
		// The timer here is the RTO: tlp_test.go tests the probe.
		c.NoSACK, c.Congestion, c.NoTailLossProbe = false, "newreno", true
		if mod != nil {
			mod(c)
		}
	})
	c := h.active()
	h.inject(seg{seq: peerISS, ack: c.ourNxt, flags: fSYN | fACK,
		opts: &wire.TCPOptions{MSS: 1460, HasMSS: true, SACKPermitted: true}})
	h.expect(fACK)
	c.peerNxt = peerISS + 1
	h.state(c.ep, Established)
	if !c.ep.sackOK {
		t.Fatal("SACK not negotiated")
	}
	c.ep.SetNoDelay(true)
	return h, c
}

const rsmss = 1460

// rstep is one event of a recovery scenario: an ACK from the peer (in
// segments of rsmss from the first data byte), or the retransmission
// timer firing; then what we must have sent and where we must be.
type rstep struct {
	ack     int      // cumulative ACK, in segments
	sack    [][2]int // SACK blocks [from, to), in segments
	dsack   *[2]int  // a D-SACK block, sent first
	wnd     uint16   // advertised window (0: 65535)
	rto     bool     // no ACK: advance the clock to the retransmission timer
	advance time.Duration

	retx  []int // segments retransmitted, in order
	new   int   // new segments sent (-1: not checked)
	rec   bool  // in fast recovery afterwards
	pipe  int   // pipe afterwards, in segments (-1: not checked)
	cwnd  int   // cwnd afterwards, in segments (0: not checked)
	dupAk int   // DupAcks afterwards (-1: not checked)
}

// runSteps plays steps against c, whose first data byte is base.
func runSteps(t *testing.T, h *harness, c *conn, base seqnum.Value, steps []rstep) {
	t.Helper()
	at := func(i int) seqnum.Value { return base.Add(seqnum.Size(i * rsmss)) }
	for i, st := range steps {
		ep := c.ep
		sentMax := ep.snd.MAX
		switch {
		case st.rto:
			h.clk.Advance(rtoDue(h, ep))
		case st.advance > 0:
			h.clk.Advance(st.advance)
		default:
			o := &wire.TCPOptions{}
			if st.dsack != nil {
				o.SACKBlocks[o.NumSACKBlocks] = wire.SACKBlock{Left: uint32(at(st.dsack[0])), Right: uint32(at(st.dsack[1]))}
				o.NumSACKBlocks++
			}
			for _, b := range st.sack {
				o.SACKBlocks[o.NumSACKBlocks] = wire.SACKBlock{Left: uint32(at(b[0])), Right: uint32(at(b[1]))}
				o.NumSACKBlocks++
			}
			h.inject(seg{seq: c.peerNxt, ack: at(st.ack), flags: fACK, wnd: st.wnd, opts: o})
		}
		var retx []int
		nw := 0
		for _, s := range h.sent() {
			if len(s.data) == 0 && s.flags&wire.TCPFlagFIN == 0 {
				continue
			}
			if s.seq.LessThan(sentMax) {
				retx = append(retx, int(s.seq.Sub(base))/rsmss)
			} else {
				nw++
			}
		}
		if !slices.Equal(retx, st.retx) || (st.new >= 0 && nw != st.new) {
			t.Fatalf("step %d %+v: retransmitted %v and %d new segments, want %v and %d", i, st, retx, nw, st.retx, st.new)
		}
		if ep.inRecovery != st.rec {
			t.Fatalf("step %d: inRecovery = %v, want %v", i, ep.inRecovery, st.rec)
		}
		ep.setPipeLocked()
		if st.pipe >= 0 && ep.sb.Pipe != st.pipe*rsmss {
			t.Fatalf("step %d: pipe = %d (%.2f segments), want %d segments", i, ep.sb.Pipe, float64(ep.sb.Pipe)/rsmss, st.pipe)
		}
		if st.cwnd > 0 && ep.cc.Cwnd() != st.cwnd*rsmss {
			t.Fatalf("step %d: cwnd = %d (%.2f segments), want %d segments", i, ep.cc.Cwnd(), float64(ep.cc.Cwnd())/rsmss, st.cwnd)
		}
		if st.dupAk >= 0 && ep.dupAcks != st.dupAk {
			t.Fatalf("step %d: DupAcks = %d, want %d", i, ep.dupAcks, st.dupAk)
		}
	}
}

// TestSACKRecovery feeds ACK sequences with SACK blocks into a connection
// and checks what RFC 6675 makes it send, and when: limited transmit by
// pipe, entry on the third duplicate ACK or on IsLost, NextSeg's rules in
// order, the exit at RecoveryPoint, timeouts and reneging.
func TestSACKRecovery(t *testing.T) {
	// x marks an unchecked pipe or DupAcks.
	const x = -1
	cases := []struct {
		name     string
		segments int // written before the first step (IW: 10 go at once)
		steps    []rstep
		counters map[string]uint64
	}{{
		// Segment 0 lost. Limited transmit lets one new segment out per
		// SACKed one (cwnd − pipe); the third duplicate ACK retransmits
		// 0 and halves the window (12 in flight: cwnd 6); each further
		// SACKed segment lowers pipe and, once below cwnd, new data
		// goes (rule 2); the ACK of RecoveryPoint ends recovery.
		name: "three duplicate ACKs", segments: 30,
		steps: []rstep{
			{ack: 0, sack: [][2]int{{1, 2}}, new: 1, pipe: 10, dupAk: 1},
			{ack: 0, sack: [][2]int{{1, 3}}, new: 1, pipe: 10, dupAk: 2},
			{ack: 0, sack: [][2]int{{1, 4}}, retx: []int{0}, rec: true, pipe: 9, cwnd: 6, dupAk: x},
			{ack: 0, sack: [][2]int{{1, 5}}, rec: true, pipe: 8, dupAk: x},
			{ack: 0, sack: [][2]int{{1, 6}}, rec: true, pipe: 7, dupAk: x},
			{ack: 0, sack: [][2]int{{1, 7}}, rec: true, pipe: 6, dupAk: x},
			{ack: 0, sack: [][2]int{{1, 8}}, new: 1, rec: true, pipe: 6, dupAk: x},
			{ack: 0, sack: [][2]int{{1, 9}}, new: 1, rec: true, pipe: 6, dupAk: x},
			// The retransmission arrives: a cumulative ACK of all
			// but the two sent in recovery, beyond RecoveryPoint (12).
			{ack: 12, new: 4, rec: false, pipe: 6, cwnd: 6, dupAk: 0},
		},
		counters: map[string]uint64{"SACKRecovery": 1, "FastRetrans": 1, "RetransSegs": 1, "SACKLossDetect": 0, "RenoRecovery": 0},
	}, {
		// One ACK SACKs three segments at once (ACKs lost, or a
		// stretch ACK): one duplicate ACK, but IsLost(HighACK+1) is
		// true, so recovery starts (RFC 6675 §5 step 2).
		name: "IsLost without three duplicate ACKs", segments: 10,
		steps: []rstep{
			{ack: 0, sack: [][2]int{{1, 4}}, retx: []int{0}, rec: true, pipe: 7, cwnd: 5, dupAk: 1},
		},
		counters: map[string]uint64{"SACKRecovery": 1, "SACKLossDetect": 1},
	}, {
		// Each ACK carries a window update as well as new SACK
		// information: not duplicates by RFC 5681's definition, but
		// by RFC 6675's.
		name: "window updates", segments: 10,
		steps: []rstep{
			{ack: 0, sack: [][2]int{{1, 2}}, wnd: 60000, pipe: 9, dupAk: 1},
			{ack: 0, sack: [][2]int{{1, 3}}, wnd: 50000, pipe: 8, dupAk: 2},
			{ack: 0, sack: [][2]int{{1, 4}}, wnd: 40000, retx: []int{0}, rec: true, pipe: 7, dupAk: 3},
		},
		counters: map[string]uint64{"SACKRecovery": 1, "SACKLossDetect": 0},
	}, {
		// An ACK repeating known SACK information is no duplicate.
		name: "repeated SACK is not a duplicate", segments: 10,
		steps: []rstep{
			{ack: 0, sack: [][2]int{{1, 2}}, pipe: 9, dupAk: 1},
			{ack: 0, sack: [][2]int{{1, 2}}, pipe: 9, dupAk: 1},
			{ack: 0, sack: [][2]int{{1, 2}}, pipe: 9, dupAk: 1},
			{ack: 0, sack: [][2]int{{1, 2}}, pipe: 9, dupAk: 1},
		},
		counters: map[string]uint64{"SACKRecovery": 0, "RetransSegs": 0},
	}, {
		// Segments 0 and 4 lost. Hole 4 becomes lost (three segments
		// SACKed above it) when pipe leaves room for exactly one
		// segment: rule 1 resends it before any new data (rule 2);
		// the next room goes to new data.
		name: "rule 1 before rule 2", segments: 30,
		steps: []rstep{
			{ack: 0, sack: [][2]int{{1, 2}}, new: 1, pipe: 10, dupAk: x},
			{ack: 0, sack: [][2]int{{1, 3}}, new: 1, pipe: 10, dupAk: x},
			{ack: 0, sack: [][2]int{{1, 4}}, retx: []int{0}, rec: true, pipe: 9, cwnd: 6, dupAk: x},
			{ack: 0, sack: [][2]int{{5, 6}, {1, 4}}, rec: true, pipe: 8, dupAk: x},
			{ack: 0, sack: [][2]int{{5, 7}, {1, 4}}, rec: true, pipe: 7, dupAk: x},
			{ack: 0, sack: [][2]int{{5, 8}, {1, 4}}, retx: []int{4}, rec: true, pipe: 6, dupAk: x},
			{ack: 0, sack: [][2]int{{5, 9}, {1, 4}}, new: 1, rec: true, pipe: 6, dupAk: x},
		},
		counters: map[string]uint64{"SACKRecovery": 1, "FastRetrans": 2},
	}, {
		// Nothing more to send (the application wrote 10 segments):
		// rule 3 resends a hole that is not yet lost (8: one segment
		// SACKed above it) rather than leave the window unused.
		name: "rule 3 when no new data", segments: 10,
		steps: []rstep{
			{ack: 0, sack: [][2]int{{1, 2}}, pipe: 9, dupAk: x},
			{ack: 0, sack: [][2]int{{1, 3}}, pipe: 8, dupAk: x},
			{ack: 0, sack: [][2]int{{1, 4}}, retx: []int{0}, rec: true, pipe: 7, cwnd: 5, dupAk: x},
			{ack: 0, sack: [][2]int{{1, 5}}, rec: true, pipe: 6, dupAk: x},
			{ack: 0, sack: [][2]int{{1, 6}}, rec: true, pipe: 5, dupAk: x},
			{ack: 0, sack: [][2]int{{1, 7}}, rec: true, pipe: 4, dupAk: x},
			{ack: 0, sack: [][2]int{{1, 8}}, rec: true, pipe: 3, dupAk: x},
			{ack: 0, sack: [][2]int{{9, 10}, {1, 8}}, retx: []int{8}, rec: true, pipe: 3, dupAk: x},
		},
		counters: map[string]uint64{"FastRetrans": 2, "SACKRescue": 0},
	}, {
		// Segments 0 and 9 (the last) lost: nothing above 9 to SACK,
		// so it is never "lost". Once the partial ACK passes
		// RescueRxt, rule 4 resends the highest unSACKed segment.
		name: "rule 4 rescue", segments: 10,
		steps: []rstep{
			{ack: 0, sack: [][2]int{{1, 2}}, pipe: 9, dupAk: x},
			{ack: 0, sack: [][2]int{{1, 3}}, pipe: 8, dupAk: x},
			{ack: 0, sack: [][2]int{{1, 4}}, retx: []int{0}, rec: true, pipe: 7, cwnd: 5, dupAk: x},
			{ack: 0, sack: [][2]int{{1, 9}}, rec: true, pipe: 2, dupAk: x},
			{ack: 9, retx: []int{9}, rec: true, pipe: 1, dupAk: x},
			{ack: 9, rec: true, pipe: 1, dupAk: x}, // one rescue per recovery
			{ack: 10, rec: false, pipe: 0, cwnd: 5, dupAk: x},
		},
		counters: map[string]uint64{"SACKRescue": 1, "FastRetrans": 2},
	}, {
		// A timeout keeps the SACKed 2-3 and marks every other
		// segment below RecoveryPoint lost: they are resent in order,
		// SACKed ones skipped, as the slow-start window allows.
		name: "timeout marks unSACKed lost", segments: 10,
		steps: []rstep{
			{ack: 0, sack: [][2]int{{2, 3}}, pipe: 9, dupAk: 1},
			{ack: 0, sack: [][2]int{{2, 4}}, pipe: 8, dupAk: 2},
			{rto: true, retx: []int{0}, pipe: 1, cwnd: 1, dupAk: 0},
			{ack: 1, sack: [][2]int{{2, 4}}, retx: []int{1, 4}, pipe: 2, cwnd: 2, dupAk: x},
			{ack: 4, retx: []int{5, 6}, pipe: 3, cwnd: 3, dupAk: x},
			{ack: 6, retx: []int{7, 8, 9}, pipe: 4, cwnd: 4, dupAk: x},
		},
		counters: map[string]uint64{"Timeouts": 1, "SlowStartRetrans": 7, "SACKRecovery": 0, "RetransSegs": 8},
	}, {
		// The cumulative ACK stops inside data the peer SACKed: it
		// reneged (RFC 2018 §8). The scoreboard is cleared and the
		// timer brought forward, to resend from SND.UNA.
		name: "reneging", segments: 10,
		steps: []rstep{
			{ack: 0, sack: [][2]int{{2, 3}}, pipe: 9, dupAk: x},
			{ack: 0, sack: [][2]int{{2, 4}}, pipe: 8, dupAk: x},
			{ack: 3, pipe: 7, dupAk: 0},
			{advance: 10 * time.Millisecond, retx: []int{3}, pipe: 1, cwnd: 1, dupAk: x},
		},
		counters: map[string]uint64{"SACKReneging": 1, "Timeouts": 1},
	}, {
		// Segment 0 lost, and its retransmission too. Recovery resends
		// 0 when 12 segments were out; new data follows as SACKs come
		// in. Once SACKs cover DupThresh segments sent after that
		// retransmission (12, 13, 14) and SND.UNA is still 0, it was
		// lost: 0 goes again at once, not after an RTO.
		name: "lost retransmission", segments: 40,
		steps: []rstep{
			{ack: 0, sack: [][2]int{{1, 2}}, new: 1, pipe: 10, dupAk: x},
			{ack: 0, sack: [][2]int{{1, 3}}, new: 1, pipe: 10, dupAk: x},
			{ack: 0, sack: [][2]int{{1, 4}}, retx: []int{0}, rec: true, pipe: 9, cwnd: 6, dupAk: x},
			{ack: 0, sack: [][2]int{{1, 5}}, rec: true, pipe: 8, dupAk: x},
			{ack: 0, sack: [][2]int{{1, 6}}, rec: true, pipe: 7, dupAk: x},
			{ack: 0, sack: [][2]int{{1, 7}}, rec: true, pipe: 6, dupAk: x},
			{ack: 0, sack: [][2]int{{1, 8}}, new: 1, rec: true, pipe: 6, dupAk: x},
			{ack: 0, sack: [][2]int{{1, 9}}, new: 1, rec: true, pipe: 6, dupAk: x},
			{ack: 0, sack: [][2]int{{1, 12}}, new: x, rec: true, pipe: x, dupAk: x},
			{ack: 0, sack: [][2]int{{1, 14}}, new: x, rec: true, pipe: x, dupAk: x},
			{ack: 0, sack: [][2]int{{1, 15}}, retx: []int{0}, new: x, rec: true, pipe: x, dupAk: x},
			{ack: 0, sack: [][2]int{{1, 16}}, new: x, rec: true, pipe: x, dupAk: x},
		},
		counters: map[string]uint64{"LostRetransmit": 1, "Timeouts": 0, "RetransSegs": 2},
	}, {
		// D-SACK blocks are counted and not taken as SACK information:
		// no duplicate ACK, nothing added to the scoreboard.
		name: "D-SACK", segments: 10,
		steps: []rstep{
			{ack: 0, sack: [][2]int{{2, 4}}, pipe: 8, dupAk: 1},
			{ack: 0, dsack: &[2]int{3, 4}, sack: [][2]int{{2, 4}}, pipe: 8, dupAk: 1},
			{ack: 1, dsack: &[2]int{0, 1}, sack: [][2]int{{2, 4}}, pipe: 7, dupAk: 0},
			{ack: 1, dsack: &[2]int{-50, -49}, sack: [][2]int{{2, 4}}, pipe: 7, dupAk: 0}, // too old
			{ack: 1, sack: [][2]int{{20, 21}, {2, 4}}, pipe: 7, dupAk: 0},                 // never sent: not a D-SACK, invalid
		},
		counters: map[string]uint64{"DSACKOfoRecv": 1, "DSACKRecv": 1, "DSACKIgnored": 1, "SACKDiscard": 1, "SACKRecovery": 0, "SpuriousRetrans": 0},
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h, cn := sackConn(t, nil)
			base := cn.ourNxt
			cn.ep.Write(make([]byte, c.segments*rsmss))
			if out := h.sent(); len(out) != min(c.segments, 10) {
				t.Fatalf("sent %d segments, want %d (initial window)", len(out), min(c.segments, 10))
			}
			runSteps(t, h, cn, base, c.steps)
			checkCounters(t, h, c.counters)
		})
	}
}

// rtoDue is how long until ep's retransmission timer fires.
func rtoDue(h *harness, ep *Endpoint) time.Duration { return ep.rto.at - h.clk.Now().Sub(h.p.epoch) }

func checkCounters(t *testing.T, h *harness, want map[string]uint64) {
	t.Helper()
	got := stats.Snapshot(h.st)
	for k, v := range want {
		g, ok := got[k]
		if !ok {
			t.Fatalf("unknown counter %s", k)
		}
		if uint64(g) != v {
			t.Errorf("%s = %d, want %d", k, g, v)
		}
	}
}

// TestDSACKUndo: when D-SACKs report every retransmission of a recovery
// as a duplicate, the window reduction is undone (RFC 3708 §3); when one
// retransmission was needed, it is not.
func TestDSACKUndo(t *testing.T) {
	const x = -1
	enter := []rstep{
		{ack: 0, sack: [][2]int{{1, 2}}, new: 1, pipe: x, dupAk: x},
		{ack: 0, sack: [][2]int{{1, 3}}, new: 1, pipe: x, dupAk: x},
		{ack: 0, sack: [][2]int{{1, 4}}, retx: []int{0}, rec: true, pipe: x, cwnd: 6, dupAk: x},
	}
	cases := []struct {
		name     string
		steps    []rstep
		cwnd     int // segments, after
		counters map[string]uint64
	}{{
		// Segment 0 was only delayed: its original arrives, the peer
		// ACKs everything, then the retransmission draws a D-SACK.
		name: "all retransmissions duplicates: undo",
		steps: []rstep{
			{ack: 12, new: 6, pipe: x, cwnd: 6, dupAk: x},
			{ack: 12, dsack: &[2]int{0, 1}, new: 4, pipe: x, cwnd: 10, dupAk: x},
		},
		cwnd:     10,
		counters: map[string]uint64{"DSACKRecv": 1, "SpuriousRetrans": 1, "DSACKUndo": 1},
	}, {
		// The D-SACK arrives while still in recovery: recovery ends.
		name: "undo during recovery",
		steps: []rstep{
			{ack: 4, rec: true, pipe: 8, dupAk: x},
			{ack: 4, dsack: &[2]int{0, 1}, rec: false, new: 2, pipe: x, cwnd: 10, dupAk: x},
		},
		cwnd:     10,
		counters: map[string]uint64{"DSACKRecv": 1, "SpuriousRetrans": 1, "DSACKUndo": 1, "DSACKIgnored": 0},
	}, {
		// Two retransmissions, only one reported duplicate: segment 4
		// was really lost, the reduction stands.
		name: "one retransmission needed: no undo",
		steps: []rstep{
			{ack: 0, sack: [][2]int{{5, 6}, {1, 4}}, rec: true, pipe: x, dupAk: x},
			{ack: 0, sack: [][2]int{{5, 7}, {1, 4}}, rec: true, pipe: x, dupAk: x},
			{ack: 0, sack: [][2]int{{5, 8}, {1, 4}}, retx: []int{4}, rec: true, pipe: x, dupAk: x},
			{ack: 12, dsack: &[2]int{0, 1}, new: 6, pipe: x, cwnd: 6, dupAk: x},
		},
		cwnd:     6,
		counters: map[string]uint64{"DSACKRecv": 1, "SpuriousRetrans": 1, "DSACKUndo": 0},
	}, {
		// A D-SACK of data we never retransmitted (the network
		// duplicated it) says nothing about our retransmissions.
		name: "duplicate of an original: no undo",
		steps: []rstep{
			{ack: 12, new: 6, pipe: x, cwnd: 6, dupAk: x},
			{ack: 12, dsack: &[2]int{5, 6}, pipe: x, cwnd: 6, dupAk: x},
		},
		cwnd:     6,
		counters: map[string]uint64{"DSACKRecv": 1, "SpuriousRetrans": 0, "DSACKUndo": 0},
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h, cn := sackConn(t, nil)
			base := cn.ourNxt
			cn.ep.Write(make([]byte, 40*rsmss))
			h.sent()
			runSteps(t, h, cn, base, append(slices.Clone(enter), c.steps...))
			if got := cn.ep.cc.Cwnd(); got != c.cwnd*rsmss {
				t.Errorf("cwnd = %d, want %d", got, c.cwnd*rsmss)
			}
			checkCounters(t, h, c.counters)
		})
	}
}

// TestRenoRecoveryWithoutSACK: without SACK, NewReno as before, counted
// as such.
func TestRenoRecoveryWithoutSACK(t *testing.T) {
	h := newHarness(t, nil)
	c := h.established()
	c.ep.SetNoDelay(true)
	c.ep.Write(make([]byte, 10*rsmss))
	h.sent()
	for range 3 {
		h.ack(&conn{peerNxt: c.peerNxt, ourNxt: c.ourNxt})
	}
	if out := h.sent(); len(out) != 1 || out[0].seq != c.ourNxt {
		t.Fatalf("sent %v, want the fast retransmission of %d", describe(out), c.ourNxt)
	}
	checkCounters(t, h, map[string]uint64{"RenoRecovery": 1, "SACKRecovery": 0, "FastRetrans": 1})
}

// TestSACKScoreboardFuzzish drives random ACKs with random SACK blocks
// (valid, invalid, D-SACK) into a connection and checks the scoreboard's
// invariants after each: sorted, disjoint, within (SND.UNA, SND.MAX],
// its byte count right, and pipe within [0, 2·FlightSize].
func TestSACKScoreboardFuzzish(t *testing.T) {
	h, c := sackConn(t, nil)
	base := c.ourNxt
	c.ep.Write(make([]byte, 150*rsmss)) // within the 256 KiB send buffer: Write does not block
	h.sent()
	r := uint64(1)
	rnd := func(n int) int { r = r*6364136223846793005 + 1442695040888963407; return int(r>>33) % n }
	una := 0
	for i := 0; i < 3000; i++ {
		ep := c.ep
		sent := int(ep.snd.MAX.Sub(base)) / rsmss
		if rnd(10) == 0 && una < sent {
			una += rnd(min(sent-una, 4)) + 1
		}
		o := &wire.TCPOptions{}
		for k := rnd(5); k > 0; k-- {
			l := una + rnd(sent-una+3) - 2
			o.SACKBlocks[o.NumSACKBlocks] = wire.SACKBlock{Left: uint32(base.Add(seqnum.Size(l * rsmss))), Right: uint32(base.Add(seqnum.Size((l + rnd(4)) * rsmss)))}
			o.NumSACKBlocks++
		}
		if rnd(50) == 0 {
			h.clk.Advance(rtoDue(h, ep))
		} else {
			h.inject(seg{seq: c.peerNxt, ack: base.Add(seqnum.Size(una * rsmss)), flags: fACK, opts: o})
		}
		h.sent()
		if ep.State() != Established {
			t.Fatalf("step %d: state %v", i, ep.State())
		}
		var sum seqnum.Size
		for j, x := range ep.sb.r {
			if !x.start.LessThan(x.end) || !ep.snd.UNA.LessThan(x.start) || ep.snd.MAX.LessThan(x.end) ||
				j > 0 && !ep.sb.r[j-1].end.LessThan(x.start) {
				t.Fatalf("step %d: scoreboard %v broken (SND.UNA %d SND.MAX %d)", i, ep.sb.r, ep.snd.UNA, ep.snd.MAX)
			}
			sum += x.len()
		}
		if sum != ep.sb.bytes {
			t.Fatalf("step %d: SACKed bytes %d, ranges hold %d", i, ep.sb.bytes, sum)
		}
		ep.setPipeLocked()
		if ep.sb.Pipe < 0 || ep.sb.Pipe > 2*ep.inFlight() {
			t.Fatalf("step %d: pipe %d with %d in flight", i, ep.sb.Pipe, ep.inFlight())
		}
		if ep.snd.UNA == ep.snd.MAX && ep.unsentLocked() == 0 {
			break
		}
		una = int(ep.snd.UNA.Sub(base)) / rsmss
	}
	t.Log(fmt.Sprintf("recoveries %d, timeouts %d, retransmissions %d, discarded blocks %d, D-SACKs %d",
		h.st.SACKRecovery.Load(), h.st.Timeouts.Load(), h.st.RetransSegs.Load(), h.st.SACKDiscard.Load(), h.st.DSACKRecv.Load()+h.st.DSACKOfoRecv.Load()))
}

// TestPureACKAtRightEdge: a peer that has filled our receive window
// sends its pure ACKs with SEG.SEQ = RCV.NXT + RCV.WND. RFC 9293's
// acceptability test refuses them; Linux (tcp_sequence) and BSD accept
// them. Refusing them deadlocked two ends whose windows were both full
// and each holding a hole: every ACK and every retransmission (an old
// duplicate) of each was dropped by the other, RTO after RTO (seen in
// TestTransferImpaired/rate).
func TestPureACKAtRightEdge(t *testing.T) {
	h, c := sackConn(t, nil)
	c.ep.Write([]byte("data"))
	d := h.expect(fACK | fPSH)
	// The peer's data fills our window beyond a one-byte hole.
	right := c.ep.rcv.right
	for seq := c.peerNxt + 1; seq.LessThan(right); {
		n := min(int(right.Sub(seq)), 1460)
		h.inject(seg{seq: seq, ack: d.seq, flags: fACK, data: make([]byte, n)})
		seq = seq.Add(seqnum.Size(n))
	}
	h.sent()
	if c.ep.rcv.right != right || c.ep.rcv.NXT != c.peerNxt {
		t.Fatalf("window edge moved: right %d NXT %d, want %d %d", c.ep.rcv.right, c.ep.rcv.NXT, right, c.peerNxt)
	}
	// Its pure ACK of our data, at the right edge, is processed.
	h.inject(seg{seq: right, ack: d.seq + 4, flags: fACK})
	if c.ep.snd.UNA != d.seq+4 {
		t.Fatalf("SND.UNA = %d after an ACK at the right edge, want %d", c.ep.snd.UNA, d.seq+4)
	}
	// One beyond it is not.
	c.ep.Write([]byte("more"))
	d = h.expect(fACK | fPSH)
	h.inject(seg{seq: right + 1, ack: d.seq + 4, flags: fACK})
	if c.ep.snd.UNA != d.seq {
		t.Fatalf("SND.UNA = %d after an ACK beyond the right edge, want %d", c.ep.snd.UNA, d.seq)
	}
}

// TestDSACKUndoAfterTimeout: a timeout whose retransmissions all prove
// duplicates (the ACKs were only delayed) is undone too, restoring the
// window from before it (RFC 3708 §3 with RFC 4015's response).
func TestDSACKUndoAfterTimeout(t *testing.T) {
	const x = -1
	h, c := sackConn(t, nil)
	base := c.ourNxt
	c.ep.Write(make([]byte, 10*rsmss))
	h.sent()
	runSteps(t, h, c, base, []rstep{
		{rto: true, retx: []int{0}, pipe: 1, cwnd: 1, dupAk: x}, // all lost, one resent
		{ack: 10, pipe: 0, cwnd: 2, dupAk: x},
		{ack: 10, dsack: &[2]int{0, 1}, pipe: 0, cwnd: 10, dupAk: x},
	})
	checkCounters(t, h, map[string]uint64{"Timeouts": 1, "DSACKRecv": 1, "SpuriousRetrans": 1, "DSACKUndo": 1})
}

package tcp

// ACK processing and loss recovery.
//
// Read before editing: RFC 9293 §3.10.7.4 step five (SND.UNA, the send
// window update with SND.WL1/WL2), RFC 5961 §5 (ACK validation), RFC
// 5681 §3.2 (duplicate ACKs, fast retransmit), RFC 6582 (NewReno:
// recover, partial and full ACKs), RFC 6298 §5 (timer on ACK), RFC 7323
// §4 (RTTM). Linux: tcp_ack, tcp_clean_rtx_queue, tcp_fastretrans_alert,
// tcp_ack_update_window.

import (
	"time"

	"ustack/seqnum"
	"ustack/wire"
)

const (
	dupThresh    = 3  // RFC 5681 §3.2
	quickAckSegs = 16 // TCP_MAX_QUICKACKS
)

// initCCLocked creates and starts congestion control once the MSS is known.
func (ep *Endpoint) initCCLocked() {
	if ep.cc == nil {
		ep.cc, _ = newCongestion(ep.p.cfg.Congestion)
	}
	ep.cc.Init(ep.smss(), ep.p.clk.Now())
	ep.recover = ep.snd.ISS
}

// rttSampleLocked takes an RTT sample from an ACK of new data: from the
// echoed timestamp (RFC 7323 §4), else from the one timed segment when
// it was not retransmitted (Karn).
func (ep *Endpoint) rttSampleLocked(s *segment) {
	now := ep.p.clk.Now()
	if ep.tsOK && s.opts.HasTimestamps && s.opts.TSEcr != 0 {
		d := time.Duration(ep.p.tsNow()-s.opts.TSEcr) * time.Millisecond
		if d >= 0 && d < maxRTO {
			ep.rtt.sample(d)
		}
		return
	}
	if ep.rttTiming && ep.rttSeq.LessThanEq(s.ack) {
		ep.rttTiming = false
		ep.rtt.sample(now.Sub(ep.rttStart))
	}
}

// ackLocked is step five for the synchronized states. It reports whether
// processing of the segment continues.
func (ep *Endpoint) ackLocked(s *segment) bool {
	p := ep.p
	if ep.snd.MAX.LessThan(s.ack) {
		p.dropSeg(s, &p.stats.InDropped, "ACK of data never sent")
		ep.sendAckLocked()
		return false
	}
	if s.ack.LessThan(ep.snd.UNA - seqnum.Value(ep.maxSndWnd)) {
		// RFC 5961 §5.2: far below SND.UNA: a blind injection.
		p.dropSeg(s, &p.stats.InDropped, "ACK too old (RFC 5961)")
		ep.challengeAckLocked()
		return false
	}
	wnd := uint32(s.wnd) << ep.snd.Shift
	if ep.sackOK && s.opts.NumSACKBlocks > 0 {
		ep.sb.add(s.opts.SACK(), seqnum.Max(ep.snd.UNA, s.ack), ep.snd.MAX)
	}
	switch {
	case ep.snd.UNA.LessThan(s.ack):
		ep.newAckLocked(s)
	case s.ack == ep.snd.UNA && s.plen == 0 && !s.has(wire.TCPFlagSYN|wire.TCPFlagFIN) &&
		wnd == ep.snd.WND && ep.snd.UNA != ep.snd.MAX:
		ep.dupAckLocked()
	}
	// The send window (§3.10.7.4: SND.WL1, SND.WL2 keep old segments
	// from updating it).
	if ep.snd.UNA.LessThanEq(s.ack) &&
		(ep.snd.WL1.LessThan(s.seq) || ep.snd.WL1 == s.seq && ep.snd.WL2.LessThanEq(s.ack)) {
		opened := wnd > ep.snd.WND
		ep.snd.WND, ep.snd.WL1, ep.snd.WL2 = wnd, s.seq, s.ack
		if wnd > ep.maxSndWnd {
			ep.maxSndWnd = wnd
		}
		if opened && ep.snd.NXT == ep.snd.UNA {
			ep.stopTimer(&ep.persist)
			ep.persistBackoff = 0
		}
	}
	return true
}

// newAckLocked handles an ACK that advances SND.UNA (cf.
// tcp_clean_rtx_queue): the ring frees the bytes by moving its head, the
// RTT is sampled, the congestion window grows or recovery advances.
func (ep *Endpoint) newAckLocked(s *segment) {
	acked := int(s.ack.Sub(ep.snd.UNA))
	if d := int(s.ack.Sub(ep.ringSeq)); d > 0 {
		d = min(d, ep.sndq.len())
		ep.sndq.consume(d)
		ep.ringSeq = ep.ringSeq.Add(seqnum.Size(d))
	}
	ep.snd.UNA = s.ack
	ep.sb.ack(s.ack)
	if ep.snd.NXT.LessThan(ep.snd.UNA) {
		ep.snd.NXT = ep.snd.UNA // an RTO rewound SND.NXT; the peer had more
	}
	ep.rttSampleLocked(s)
	ep.backoff, ep.retries = 0, 0
	now := ep.p.clk.Now()
	if ep.inRecovery {
		if ep.recover.LessThanEq(s.ack) {
			// Full ACK: recovery ends (RFC 6582 §3.2 step 3).
			ep.inRecovery, ep.inflate, ep.dupAcks = false, 0, 0
			ep.cc.OnRecoveryEnd(now)
			ep.fireCwnd("recovery end")
		} else {
			// Partial ACK: resend the next hole, deflate by what was
			// acknowledged, add back one SMSS (RFC 6582 §3.2 step 4).
			if ep.sb.highRxt.LessThanEq(ep.snd.UNA) || !ep.retransmitHoleLocked() {
				ep.p.stats.FastRetrans.Inc()
				n := ep.retransmitAtLocked(ep.snd.UNA)
				ep.sb.highRxt = seqnum.Max(ep.sb.highRxt, ep.snd.UNA.Add(seqnum.Size(n)))
			}
			ep.inflate = max(ep.inflate-acked+ep.smss(), 0)
			ep.armRTOLocked()
		}
	} else {
		ep.dupAcks, ep.inflate = 0, 0
		ep.cc.OnAck(acked, ep.rtt.srtt, ep.inFlight(), now)
		if pr := ep.p.probes.cwnd; pr.Enabled() {
			ep.fireCwnd("ack")
		}
	}
	if ep.snd.UNA == ep.snd.MAX {
		ep.stopTimer(&ep.rto)
	} else if !ep.inRecovery || ep.recover.LessThanEq(s.ack) {
		ep.armRTOLocked() // RFC 6298 §5.3: restart for the new head
	}
	if ep.sndAuto {
		// Keep room for two windows of data (cf. tcp_sndbuf_expand).
		if want := min(2*max(ep.cwndLocked(), int(ep.snd.WND)), maxAutoBuf); want > ep.sndq.limit {
			ep.sndq.limit = want
		}
	}
	if ep.sndq.free() > 0 {
		signal(ep.wrCh)
	}
}

// dupAckLocked counts a duplicate ACK; the third starts fast retransmit
// and NewReno recovery, later ones inflate the window (RFC 5681 §3.2,
// RFC 6582 §3.2).
func (ep *Endpoint) dupAckLocked() {
	ep.dupAcks++
	now := ep.p.clk.Now()
	if ep.inRecovery {
		// With SACK, each duplicate ACK resends the next hole (packet
		// conservation); without holes, NewReno inflation lets new data out.
		if !ep.retransmitHoleLocked() {
			ep.inflate += ep.smss()
		}
		return // afterInputLocked sends what the inflated window allows
	}
	if ep.dupAcks < dupThresh {
		// Limited transmit (RFC 3042): each of the first two duplicate
		// ACKs lets one new segment out, cwnd unchanged.
		ep.inflate = ep.dupAcks * ep.smss()
		return
	}
	if ep.dupAcks > dupThresh {
		return
	}
	if !ep.recover.LessThan(ep.snd.UNA) {
		ep.inflate = 0
		return // RFC 6582 §3.2 step 2: still covering an earlier loss
	}
	ep.recover = ep.snd.MAX
	ep.cc.OnCongestion(ep.inFlight(), now)
	ep.inRecovery = true
	ep.inflate = dupThresh * ep.smss()
	ep.rttTiming = false
	ep.p.stats.FastRetrans.Inc()
	ep.fireCwnd("fast retransmit")
	n := ep.retransmitAtLocked(ep.snd.UNA)
	ep.sb.highRxt = ep.snd.UNA.Add(seqnum.Size(n))
	ep.armRTOLocked()
}

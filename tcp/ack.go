package tcp

// ACK processing and, without SACK, loss recovery (with SACK: RFC 6675,
// in recovery.go).
//
// Read before editing: RFC 9293 §3.10.7.4 step five (SND.UNA, the send
// window update with SND.WL1/WL2), RFC 5961 §5 (ACK validation), RFC
// 5681 §3.2 (duplicate ACKs, fast retransmit), RFC 3042 (limited
// transmit), RFC 6582 (NewReno: recover, partial and full ACKs), RFC
// 6298 §5 (timer on ACK), RFC 7323 §4 (RTTM). Linux: tcp_ack,
// tcp_clean_rtx_queue, tcp_fastretrans_alert, tcp_ack_update_window.

import (
	"time"

	"ustack/seqnum"
	"ustack/wire"
)

const (
	dupThresh    = 3  // RFC 5681 §3.2, RFC 6675 §2 DupThresh
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

// rttSampleLocked takes an RTT sample from an ACK of new data. The timed
// segment (one per round trip, never a retransmitted one: Karn), measured
// on the stack's clock to the microsecond, comes first, as Linux prefers
// the send times it keeps per segment (cf. tcp_clean_rtx_queue's
// seq_rtt_us). Otherwise the echoed timestamp (RFC 7323 §4) gives one,
// but its clock ticks in milliseconds: a sample of under two ticks says
// only that the round trip is shorter than about two milliseconds, and
// would drag SRTT on a fast link to nothing, so it is left to the timed
// segment (Linux's timestamp samples are likewise only a fallback,
// tcp_rtt_tsopt_us).
func (ep *Endpoint) rttSampleLocked(s *segment) {
	if ep.rttTiming && ep.rttSeq.LessThanEq(s.ack) {
		ep.rttTiming = false
		ep.rtt.sample(ep.nowLocked().Sub(ep.rttStart))
		return
	}
	if ep.tsOK && s.opts.HasTimestamps && s.opts.TSEcr != 0 {
		ticks := ep.p.tsNow() - s.opts.TSEcr
		if d := time.Duration(ticks) * time.Millisecond; ticks >= 2 && d < maxRTO {
			ep.rtt.sample(d)
		}
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
	if ep.sackOK {
		ep.sackAckLocked(s, wnd)
		return true
	}
	switch {
	case ep.snd.UNA.LessThan(s.ack):
		ep.newAckLocked(s)
	case s.ack == ep.snd.UNA && s.plen == 0 && !s.has(wire.TCPFlagSYN|wire.TCPFlagFIN) &&
		wnd == ep.snd.WND && ep.snd.UNA != ep.snd.MAX:
		ep.dupAckLocked()
	}
	ep.updateWindowLocked(s, wnd)
	return true
}

// updateWindowLocked takes the send window from s (§3.10.7.4: SND.WL1,
// SND.WL2 keep old segments from updating it).
func (ep *Endpoint) updateWindowLocked(s *segment, wnd uint32) {
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
	if ep.snd.NXT.LessThan(ep.snd.UNA) {
		ep.snd.NXT = ep.snd.UNA // an RTO rewound SND.NXT; the peer had more
	}
	ep.rttSampleLocked(s)
	ep.backoff, ep.retries = 0, 0
	now := ep.nowLocked()
	// RFC 6298 §5.3: restart the timer for the new head (before the
	// SACK part, which may bring it forward after reneging).
	if ep.snd.UNA == ep.snd.MAX {
		ep.stopTimer(&ep.rto)
	} else {
		ep.armRTOLocked()
	}
	switch {
	case ep.sackOK:
		ep.sackNewAckLocked(acked, now)
	case ep.inRecovery && ep.recover.LessThanEq(s.ack):
		// Full ACK: recovery ends (RFC 6582 §3.2 step 3).
		ep.inRecovery, ep.inflate, ep.dupAcks = false, 0, 0
		ep.cc.OnRecoveryEnd(now)
		ep.fireCwnd("recovery end")
	case ep.inRecovery:
		// Partial ACK: resend the first unacknowledged segment, deflate
		// by what was acknowledged, add back one SMSS (RFC 6582 §3.2
		// step 4).
		ep.p.stats.FastRetrans.Inc()
		ep.retransmitAtLocked(ep.snd.UNA)
		ep.inflate = max(ep.inflate-acked+ep.smss(), 0)
	default:
		ep.dupAcks, ep.inflate = 0, 0
		ep.onAckLocked(acked, now)
		if pr := ep.p.probes.cwnd; pr.Enabled() {
			ep.fireCwnd("ack")
		}
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

// dupAckLocked counts a duplicate ACK of a connection without SACK; the
// third starts fast retransmit and NewReno recovery, later ones inflate
// the window (RFC 5681 §3.2, RFC 6582 §3.2).
func (ep *Endpoint) dupAckLocked() {
	ep.dupAcks++
	now := ep.nowLocked()
	if ep.inRecovery {
		ep.inflate += ep.smss()
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
	if ep.snd.UNA.LessThan(ep.recover) {
		// RFC 6582 §3.2 step 2: the ACK does not cover more than
		// recover (the highest octet sent when the last recovery or
		// timeout began, here one past it): still the same loss.
		ep.inflate = 0
		return
	}
	ep.recover = ep.snd.MAX
	ep.cc.OnCongestion(ep.inFlight(), now)
	ep.inRecovery = true
	ep.inflate = dupThresh * ep.smss()
	ep.rttTiming = false
	ep.p.stats.RenoRecovery.Inc()
	ep.p.stats.FastRetrans.Inc()
	ep.fireCwnd("fast retransmit")
	ep.retransmitAtLocked(ep.snd.UNA)
	ep.armRTOLocked()
}

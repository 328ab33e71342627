package tcp

// Tail loss probe (RFC 8985 §7). When the last segments of a flight, or
// the ACKs for them, are lost, no duplicate ACK comes back to start fast
// recovery, and the sender would sit out a whole RTO — 200 ms at least,
// against a round trip that may be a hundred microseconds. Instead the
// retransmission timer is first set for a probe timeout (PTO) of about
// two round trips; when it fires, the last segment goes again. Its ACK,
// with SACK, either shows a hole (and recovery starts at once) or
// acknowledges everything; a D-SACK for the probe says nothing was lost,
// otherwise the probe repaired a loss and the window is reduced as fast
// recovery would have (§7.4). This ustack has no RACK: the probe stands
// alone, which is enough for the common tail losses — a lost last ACK
// of a cwnd-limited flight, a lost last segment of a response.
//
// Read before editing: RFC 8985 §7 (scheduling, sending, detecting
// losses repaired by the probe). Linux: tcp_schedule_loss_probe,
// tcp_send_loss_probe, tcp_process_tlp_ack.

import (
	"time"

	"ustack/seqnum"
)

const (
	// tlpMinPTO floors the probe timeout, as Linux's TCP_TIMEOUT_MIN
	// does in jiffies: a round trip of microseconds must not make the
	// probe race the peer's ACK coalescing.
	tlpMinPTO = 10 * time.Millisecond
	// wcDelAckT is RFC 8985's WCDelAckT: the worst-case delayed-ACK
	// timer, added when one segment is in flight.
	wcDelAckT = 200 * time.Millisecond
)

// ptoLocked returns the probe timeout to set instead of the RTO, if a
// probe may be scheduled now (RFC 8985 §7.2): with SACK, a round-trip
// estimate, data in flight, outside recovery, no probe out already, and
// the PTO shorter than the RTO.
func (ep *Endpoint) ptoLocked() (time.Duration, bool) {
	sb := &ep.sb
	if !ep.sackOK || ep.p.cfg.NoTailLossProbe || ep.inRecovery || sb.rtoLoss || sb.tlpOut || ep.backoff > 0 || ep.rtt.srtt == 0 {
		return 0, false
	}
	switch ep.state {
	case Established, CloseWait, FinWait1, Closing, LastAck:
	default:
		return 0, false
	}
	if ep.snd.UNA == ep.snd.MAX {
		return 0, false
	}
	pto := 2 * ep.rtt.srtt
	if ep.inFlight() <= ep.smss() {
		pto += wcDelAckT // the peer may hold its ACK of a lone segment
	}
	pto = max(pto, tlpMinPTO)
	if pto >= ep.rtoDuration() {
		return 0, false
	}
	return pto, true
}

// probeLocked sends the loss probe when the PTO fires (RFC 8985 §7.3):
// the last segment sent, again — new data would also do, but the peer's
// window or cwnd often has no room for it at a tail — then sets the
// RTO proper. Context: timer.
func (ep *Endpoint) probeLocked() {
	sb := &ep.sb
	end := ep.snd.MAX
	if ep.finQueued && ep.finSeqLocked().LessThan(ep.snd.MAX) {
		end = ep.finSeqLocked() // the FIN rides on the last data segment
	}
	seq := end
	if flight := int(end.Sub(ep.snd.UNA)); flight > 0 {
		seq = end - seqnum.Value(min(ep.mss-ep.dataOptLenLocked(), flight))
	}
	if ep.retransmitAtLocked(seq) == 0 {
		ep.armRTOLocked()
		return
	}
	ep.p.stats.TLPProbes.Inc()
	if ep.rttTiming && !ep.rttSeq.LessThan(seq) {
		ep.rttTiming = false // Karn: the timed segment was sent twice
	}
	sb.tlpOut, sb.tlpDSACK, sb.tlpHigh = true, false, ep.snd.MAX
	ep.armRTOLocked() // a real RTO now: tlpOut rules out another PTO
}

// tlpAckLocked ends the probe episode once SND.UNA reaches tlpHigh
// (RFC 8985 §7.4): unless a D-SACK reported the probe as a duplicate,
// it repaired a loss no one else saw, and congestion control hears of
// it as of a fast recovery that is already over. Context: softnet.
func (ep *Endpoint) tlpAckLocked() {
	sb := &ep.sb
	if !sb.tlpOut || ep.snd.UNA.LessThan(sb.tlpHigh) {
		return
	}
	sb.tlpOut = false
	if sb.tlpDSACK || ep.inRecovery || sb.rtoLoss {
		return
	}
	now := ep.nowLocked()
	ep.p.stats.TLPRecovery.Inc()
	ep.cc.OnCongestion(ep.inFlight(), now)
	ep.cc.OnRecoveryEnd(now)
	ep.fireCwnd("tail loss repaired")
}

// tlpDSACKLocked notes a D-SACK block [l, r) that covers the probe's
// end. Context: softnet.
func (ep *Endpoint) tlpDSACKLocked(r seqnum.Value) {
	sb := &ep.sb
	if sb.tlpOut && sb.tlpHigh.Sub(r) <= 1 && r.LessThanEq(sb.tlpHigh) {
		sb.tlpDSACK = true
	}
}

package tcp

// SACK-based loss recovery (RFC 6675), used whenever SACK was negotiated,
// and the sender's use of D-SACK (RFC 2883) to undo a window reduction
// that proves spurious (RFC 3708). Without SACK, ack.go runs NewReno.
//
// Read before editing: RFC 6675 (§2 the definitions and the duplicate
// acknowledgment with SACK, §4 the scoreboard routines, §5 the algorithm
// step by step, §5.1 retransmission timeouts), RFC 5681 §3.2 and RFC
// 3042 (limited transmit), RFC 6298 §5 (the timer), RFC 2018 §8
// (reneging), RFC 2883 §5-6 (D-SACK at the sender), RFC 3708 §3
// (spurious retransmissions from D-SACK) and RFC 9438 §4.9 (restoring the
// window). Linux: tcp_fastretrans_alert, tcp_time_to_recover,
// tcp_enter_recovery, tcp_xmit_retransmit_queue, tcp_enter_loss,
// tcp_check_sack_reneging, tcp_check_dsack, tcp_try_undo_dsack.
//
// How sending is governed. RFC 6675 sends while cwnd − pipe ≥ SMSS;
// output.go sends new data while SND.NXT < SND.UNA + cwnd + inflate. With
// SACK the connection keeps inflate = FlightSize − pipe after every ACK
// and every retransmission, so output.go's test becomes cwnd − pipe: the
// same one, whoever calls it (new data from the ACK path, a Write, the
// persist timer). New data adds equally to FlightSize and pipe, so the
// difference needs no refresh when output.go sends. Retransmissions are
// sent here, by NextSeg, before new data (its rule 1 before rule 2).
//
// Episodes. Fast recovery (inRecovery) runs from RFC 6675 §5 step 4 until
// SND.UNA reaches RecoveryPoint (Endpoint.recover). After a timeout
// (sb.rtoLoss) everything unSACKed below RecoveryPoint is lost and is
// resent by NextSeg rule 1 under the slow-start window, SACKed data
// skipped, until SND.UNA reaches it. Each episode remembers its
// retransmissions and the congestion state before it reduced the window
// (undoState): when D-SACKs show every retransmission was a duplicate,
// the reduction is taken back.

import (
	"slices"
	"time"

	"ustack/seqnum"
	"ustack/tcp/cc"
	"ustack/wire"
)

// maxUndoRanges bounds the retransmitted ranges an undo episode tracks;
// beyond it the episode gives up on undo.
const maxUndoRanges = 32

// undoState is a spurious-retransmission undo episode (cf. Linux's
// undo_marker, undo_retrans, prior_cwnd, prior_ssthresh).
type undoState struct {
	active   bool
	saved    any        // cc.Undoer state before the reduction
	rtx      []seqRange // retransmitted and not yet D-SACKed, sorted, merged
	retrans  bool       // the episode retransmitted something
	overflow bool       // too many ranges to track: no undo
}

// addRtx records a retransmission of [l, r).
func (u *undoState) addRtx(l, r seqnum.Value) {
	if !u.active || u.overflow {
		return
	}
	u.retrans = true
	i := 0
	for i < len(u.rtx) && u.rtx[i].end.LessThan(l) {
		i++
	}
	j := i
	for j < len(u.rtx) && u.rtx[j].start.LessThanEq(r) {
		l, r = seqnum.Min(l, u.rtx[j].start), seqnum.Max(r, u.rtx[j].end)
		j++
	}
	if i == j && len(u.rtx) >= maxUndoRanges {
		u.overflow = true
		return
	}
	u.rtx = slices.Replace(u.rtx, i, j, seqRange{start: l, end: r})
}

// removeRtx takes the D-SACKed [l, r) off the retransmitted ranges and
// reports whether it covered any of them.
func (u *undoState) removeRtx(l, r seqnum.Value) bool {
	if !u.active || u.overflow {
		return false
	}
	hit := false
	out := u.rtx[:0:0]
	for _, x := range u.rtx {
		if x.end.LessThanEq(l) || r.LessThanEq(x.start) {
			out = append(out, x)
			continue
		}
		hit = true
		if x.start.LessThan(l) {
			out = append(out, seqRange{start: x.start, end: l})
		}
		if r.LessThan(x.end) {
			out = append(out, seqRange{start: r, end: x.end})
		}
	}
	u.rtx = out
	return hit
}

// undoBeginLocked opens an undo episode, saving the congestion state
// before a reduction. Called before cc.OnCongestion or cc.OnTimeout.
func (ep *Endpoint) undoBeginLocked() {
	u := &ep.sb.undo
	*u = undoState{rtx: u.rtx[:0]}
	if un, ok := ep.cc.(cc.Undoer); ok {
		u.active, u.saved = true, un.SaveUndo()
	}
}

// sackAckLocked is step five of RFC 9293 §3.10.7.4 for a connection with
// SACK: RFC 6675 §5 for each arriving ACK (cf. tcp_ack with
// tcp_sacktag_write_queue and tcp_fastretrans_alert). Context: softnet.
func (ep *Endpoint) sackAckLocked(s *segment, wnd uint32) {
	p := ep.p
	var blocks []wire.SACKBlock
	if s.opts.NumSACKBlocks > 0 {
		blocks = s.opts.SACK()
	}
	if isDSACK(blocks, s.ack) {
		ep.dsackLocked(blocks[0], s.ack)
		blocks = blocks[1:] // not new SACK information (RFC 2883 §6)
	}
	advanced := ep.snd.UNA.LessThan(s.ack)
	if advanced {
		ep.newAckLocked(s)
		ep.tlpAckLocked()
	}
	// Update() (RFC 6675 §4, §5), against the new SND.UNA.
	newly, invalid := ep.sb.update(blocks, ep.snd.UNA, ep.snd.MAX, ep.smss())
	if invalid > 0 {
		p.stats.SACKDiscard.Add(uint64(invalid))
	}
	ep.updateWindowLocked(s, wnd)
	ep.lostRetransmitLocked()

	// RFC 6675 §5: a cumulative ACK resets DupAcks; an ACK that SACKs
	// new data is a duplicate acknowledgment (§2), window update or not,
	// cumulative or not.
	if newly > 0 && !ep.inRecovery {
		ep.dupAcks++
	}
	if !ep.inRecovery && !ep.sb.rtoLoss && ep.snd.UNA != ep.snd.MAX && ep.recover.LessThanEq(ep.snd.UNA) {
		// Step 1: DupAcks ≥ DupThresh; step 2: IsLost(HighACK+1), so
		// that SACKed data alone starts recovery, whatever the count
		// of duplicate ACKs.
		if ep.dupAcks >= dupThresh || ep.isLostLocked(ep.snd.UNA) {
			if ep.dupAcks < dupThresh {
				p.stats.SACKLossDetect.Inc()
			}
			ep.enterSACKRecoveryLocked()
			return
		}
	}
	// Step 3 (limited transmit, governed by pipe) outside recovery;
	// steps (B) and (C) in it.
	ep.sackSendLocked()
	ep.tryUndoLocked()
}

// isLostLocked is RFC 6675's IsLost(seq).
func (ep *Endpoint) isLostLocked(seq seqnum.Value) bool {
	if _, ok := ep.sb.sacked(seq); ok {
		return false
	}
	end, ok := ep.lostEndLocked()
	return ok && seq.LessThan(end)
}

// lostEndLocked returns the boundary below which every unSACKed
// sequence number is lost: IsLost's, or after a timeout RecoveryPoint.
func (ep *Endpoint) lostEndLocked() (seqnum.Value, bool) {
	sb := &ep.sb
	end, ok := sb.lostEnd, sb.hasLost
	if sb.rtoLoss && (!ok || end.LessThan(ep.recover)) {
		end, ok = ep.recover, true
	}
	if ok && ep.snd.MAX.LessThan(end) {
		end = ep.snd.MAX
	}
	return end, ok
}

// setPipeLocked is RFC 6675's SetPipe(): over [HighACK, HighData), the
// unSACKed bytes not lost, plus the unSACKed bytes at or below HighRxt
// (retransmitted). O(B) in the scoreboard's ranges.
func (ep *Endpoint) setPipeLocked() {
	sb := &ep.sb
	una, high := ep.snd.UNA, ep.snd.MAX
	clamp := func(v seqnum.Value) seqnum.Value { return seqnum.Min(seqnum.Max(v, una), high) }
	pipe := sb.unsacked(una, high)
	if end, ok := ep.lostEndLocked(); ok {
		pipe -= sb.unsacked(una, clamp(end))
	}
	pipe += sb.unsacked(una, clamp(sb.HighRxt))
	sb.Pipe = pipe
}

// syncInflateLocked makes output.go's window test cwnd − pipe (see the
// file comment), never letting cwnd + inflate go below zero.
func (ep *Endpoint) syncInflateLocked() {
	ep.inflate = max(ep.inFlight()-ep.sb.Pipe, -ep.cc.Cwnd())
}

// enterSACKRecoveryLocked is RFC 6675 §5 step 4: fast retransmit and
// loss recovery (cf. tcp_enter_recovery).
func (ep *Endpoint) enterSACKRecoveryLocked() {
	p := ep.p
	sb := &ep.sb
	now := ep.nowLocked()
	ep.recover = ep.snd.MAX // (4.1) RecoveryPoint = HighData
	ep.undoBeginLocked()
	ep.cc.OnCongestion(ep.inFlight(), now) // (4.2) ssthresh = cwnd = FlightSize/2, or as the algorithm sets it
	ep.inRecovery = true
	ep.rttTiming = false
	p.stats.SACKRecovery.Inc()
	p.stats.FastRetrans.Inc()
	ep.fireCwnd("fast retransmit")
	// (4.3) Retransmit the first segment; HighRxt and RescueRxt end there.
	n := ep.retransmitSACKLocked(ep.snd.UNA)
	sb.HighRxt = ep.snd.UNA.Add(seqnum.Size(n))
	sb.RescueRxt = sb.HighRxt
	ep.armRTOLocked()
	// (4.4) SetPipe, (4.5) on to step (C) for any room left.
	ep.sackSendLocked()
}

// sackSendLocked is RFC 6675 §5 steps (B.2) and (C): SetPipe, then, in
// recovery or after a timeout, NextSeg and send while cwnd − pipe ≥
// SMSS. Outside them, HighRxt stays at HighACK (step 3.1) and pipe only
// sets the window for new data (limited transmit, step 3.3).
func (ep *Endpoint) sackSendLocked() {
	sb := &ep.sb
	if !ep.inRecovery && !sb.rtoLoss && sb.HighRxt.LessThan(ep.snd.UNA) {
		sb.HighRxt = ep.snd.UNA
	}
	ep.setPipeLocked()
	if ep.inRecovery || sb.rtoLoss {
		smss := ep.smss()
		for ep.cc.Cwnd()-sb.Pipe >= smss && ep.nextSegLocked() {
		}
	}
	ep.syncInflateLocked()
}

// nextSegLocked is RFC 6675's NextSeg() with the transmission of step
// (C.1)–(C.4): it sends one segment (rule 2: what output.go sends of new
// data) and reports whether it did.
func (ep *Endpoint) nextSegLocked() bool {
	p := ep.p
	sb := &ep.sb
	from := seqnum.Max(ep.snd.UNA, sb.HighRxt)
	// Rule 1: the first unSACKed sequence number above HighRxt that is
	// below SACKed data and lost.
	if end, ok := ep.lostEndLocked(); ok {
		if seq, ok := sb.nextUnsacked(from, end); ok {
			n := ep.retransmitSACKLocked(seq)
			if n == 0 {
				return false
			}
			if ep.inRecovery {
				p.stats.FastRetrans.Inc()
			} else {
				p.stats.SlowStartRetrans.Inc()
			}
			sb.HighRxt = seq.Add(seqnum.Size(n)) // (C.2)
			sb.Pipe += n                         // (C.4)
			return true
		}
	}
	// Rule 2: new data, as much as cwnd − pipe, the peer's window,
	// Nagle and sender SWS avoidance allow.
	if ep.unsentLocked() > 0 || ep.finUnsentLocked() {
		nxt := ep.snd.NXT
		ep.syncInflateLocked()
		ep.outputLocked(false)
		if sent := int(ep.snd.NXT.Sub(nxt)); sent > 0 {
			sb.Pipe += sent
			return true
		}
	}
	if !ep.inRecovery {
		return false // after a timeout only lost data and new data go
	}
	// Rule 3: an unSACKed hole above HighRxt, below SACKed data, not
	// yet lost.
	if high, ok := sb.highestSacked(); ok {
		if seq, ok := sb.nextUnsacked(from, high); ok {
			n := ep.retransmitSACKLocked(seq)
			if n == 0 {
				return false
			}
			p.stats.FastRetrans.Inc()
			sb.HighRxt = seq.Add(seqnum.Size(n))
			sb.Pipe += n
			return true
		}
	}
	// Rule 4: one rescue retransmission per recovery, of a segment
	// holding the highest unSACKed sequence number; HighRxt unchanged.
	if sb.RescueRxt.LessThan(ep.snd.UNA) {
		if seq, ok := ep.rescueSeqLocked(); ok {
			n := ep.retransmitSACKLocked(seq)
			if n == 0 {
				return false
			}
			p.stats.SACKRescue.Inc()
			p.stats.FastRetrans.Inc()
			sb.RescueRxt = ep.recover
			sb.Pipe += n
			return true
		}
	}
	return false
}

// rescueSeqLocked returns where the rule-4 segment starts: up to one
// segment below the highest unSACKed sequence number outstanding, not
// below SND.UNA or into SACKed data.
func (ep *Endpoint) rescueSeqLocked() (seqnum.Value, bool) {
	sb := &ep.sb
	top := ep.snd.MAX // one past the highest unSACKed octet
	if high, ok := sb.highestSacked(); ok && high == top {
		top = sb.r[len(sb.r)-1].start
	}
	if top.LessThanEq(ep.snd.UNA) {
		return 0, false
	}
	low := ep.snd.UNA
	if i := len(sb.r) - 1; i >= 0 && sb.r[i].end.LessThanEq(top) {
		low = seqnum.Max(low, sb.r[i].end)
	} else if i >= 1 {
		low = seqnum.Max(low, sb.r[i-1].end)
	}
	lim := seqnum.Size(max(ep.mss-ep.dataOptLenLocked(), 1))
	seq := low
	if lim < top.Sub(low) {
		seq = top - seqnum.Value(lim)
	}
	return seq, true
}

// retransmitSACKLocked resends one segment at seq (stopping short of
// SACKed data) and records it in the undo episode.
func (ep *Endpoint) retransmitSACKLocked(seq seqnum.Value) int {
	n := ep.retransmitAtLocked(seq)
	if n > 0 {
		ep.sb.undo.addRtx(seq, seq.Add(seqnum.Size(n)))
		if seq == ep.snd.UNA {
			ep.sb.headRxt, ep.sb.headRxtMax = true, ep.snd.MAX
		}
	}
	return n
}

// lostRetransmitLocked detects that the retransmission of the segment at
// SND.UNA was itself lost, which RFC 6675 alone leaves to the
// retransmission timer, with its backoff: when the peer SACKs data sent
// DupThresh segments after that retransmission while SND.UNA stays put,
// the retransmission would have arrived first, reordering aside, so it
// is sent again at once (cf. tcp_mark_lost_retrans, and RACK's rule of
// RFC 8985 §6.2 applied to the head). Context: softnet.
func (ep *Endpoint) lostRetransmitLocked() {
	sb := &ep.sb
	if !sb.headRxt || !(ep.inRecovery || sb.rtoLoss) {
		return
	}
	high, ok := sb.highestSacked()
	if !ok || high.LessThan(sb.headRxtMax.Add(seqnum.Size(dupThresh*ep.smss()))) {
		return
	}
	sb.headRxt = false
	if n := ep.retransmitSACKLocked(ep.snd.UNA); n > 0 {
		p := ep.p
		p.stats.LostRetransmit.Inc()
		p.stats.FastRetrans.Inc()
		if end := ep.snd.UNA.Add(seqnum.Size(n)); sb.HighRxt.LessThan(end) {
			sb.HighRxt = end
		}
		ep.armRTOLocked()
	}
}

// sackNewAckLocked is the SACK part of an ACK that advanced SND.UNA
// (called from newAckLocked): the scoreboard forgets what was
// acknowledged, reneging is detected, and recovery ends at RecoveryPoint
// (RFC 6675 §5 step A; the scoreboard above is kept).
func (ep *Endpoint) sackNewAckLocked(acked int, now time.Time) {
	p := ep.p
	sb := &ep.sb
	ep.dupAcks = 0
	// A new head: if it was retransmitted in this episode, watch that
	// retransmission from now on (HighData now is at or above what it
	// was then, so the watch errs late, never early).
	sb.headRxt = (ep.inRecovery || sb.rtoLoss) && ep.snd.UNA.LessThan(sb.HighRxt)
	sb.headRxtMax = ep.snd.MAX
	if sb.ack(ep.snd.UNA, ep.smss()) {
		// The peer discarded data it had SACKed (RFC 2018 §8): forget
		// every SACK, and let the timer resend from SND.UNA soon
		// rather than wait a whole RTO (cf. tcp_check_sack_reneging).
		p.stats.SACKReneging.Inc()
		sb.clear()
		ep.sb.ptoArmed = false
		ep.armTimer(&ep.rto, max(ep.rtt.srtt/16, 10*time.Millisecond), (*Endpoint).onRTO)
	}
	switch {
	case ep.inRecovery && ep.recover.LessThanEq(ep.snd.UNA):
		ep.inRecovery = false
		ep.cc.OnRecoveryEnd(now)
		ep.fireCwnd("recovery end")
	case ep.inRecovery:
		// A partial ACK: (B) and (C) follow in sackAckLocked.
	default:
		if sb.rtoLoss && ep.recover.LessThanEq(ep.snd.UNA) {
			sb.rtoLoss = false
		}
		ep.onAckLocked(acked, now)
		if pr := ep.p.probes.cwnd; pr.Enabled() {
			ep.fireCwnd("ack")
		}
	}
}

// sackTimeoutLocked is the retransmission timeout of a connection with
// SACK (RFC 6675 §5.1, RFC 6298 §5.4–5.6; cf. tcp_enter_loss): recovery
// ends, RecoveryPoint becomes HighData, the SACKed ranges are kept and
// every unSACKed byte below RecoveryPoint is marked lost, to be resent by
// NextSeg rule 1 in order as the slow-start window allows. Called by
// onRTO after the retry limit check.
func (ep *Endpoint) sackTimeoutLocked() {
	sb := &ep.sb
	if !ep.inRecovery && !sb.rtoLoss {
		ep.undoBeginLocked() // a new episode; a timeout within one extends it
	}
	ep.cc.OnTimeout(ep.inFlight(), ep.nowLocked())
	ep.fireCwnd("rto")
	ep.inRecovery, ep.dupAcks = false, 0
	ep.recover = ep.snd.MAX
	ep.rttTiming = false // Karn: no sample from retransmitted data
	ep.backoff++
	if len(sb.r) > 0 && sb.r[0].start.LessThanEq(ep.snd.UNA) {
		ep.p.stats.SACKReneging.Inc() // head SACKed: cannot hold (see sb.ack)
		sb.clear()
	}
	sb.rtoLoss = true
	sb.tlpOut = false // the timeout took over from any probe
	sb.HighRxt, sb.RescueRxt = ep.snd.UNA, ep.snd.UNA
	ep.snd.NXT = ep.snd.MAX // nothing is rewound: NextSeg resends the lost data
	ep.setPipeLocked()
	// One segment goes whatever the window (RFC 6298 §5.4).
	if seq, ok := ep.sb.nextUnsacked(ep.snd.UNA, ep.recover); ok {
		if n := ep.retransmitSACKLocked(seq); n > 0 {
			sb.HighRxt = seq.Add(seqnum.Size(n))
		}
	}
	ep.sackSendLocked()
	ep.armRTOLocked()
}

// dsackLocked accounts for a D-SACK block b (RFC 2883): counted, checked
// against the retransmissions of the undo episode (RFC 3708 §3), never
// taken as new SACK information. Context: softnet.
func (ep *Endpoint) dsackLocked(b wire.SACKBlock, ack seqnum.Value) {
	st := ep.p.stats
	l, r := seqnum.Value(b.Left), seqnum.Value(b.Right)
	if !l.LessThan(r) || ep.snd.MAX.LessThan(r) || l.LessThan(ep.snd.UNA-seqnum.Value(ep.maxSndWnd)) {
		st.DSACKIgnored.Inc() // reversed, never sent, or too old
		return
	}
	if l.LessThan(ack) {
		st.DSACKRecv.Inc()
	} else {
		st.DSACKOfoRecv.Inc()
	}
	ep.tlpDSACKLocked(r)
	if ep.sb.undo.removeRtx(l, r) {
		st.SpuriousRetrans.Inc()
	}
}

// tryUndoLocked takes back the episode's window reduction once D-SACKs
// have reported every one of its retransmissions as a duplicate: the
// loss was not real (RFC 3708 §3, RFC 9438 §4.9; cf. tcp_try_undo_dsack).
// The restored state applies only if its window is the larger.
func (ep *Endpoint) tryUndoLocked() {
	u := &ep.sb.undo
	if !u.active || !u.retrans || u.overflow || len(u.rtx) > 0 {
		return
	}
	un, ok := ep.cc.(cc.Undoer)
	saved := u.saved
	*u = undoState{rtx: u.rtx[:0]}
	if !ok || !un.Restorable(saved) {
		return
	}
	un.Undo(saved)
	ep.cc.SetMSS(ep.smss())
	ep.inRecovery, ep.dupAcks = false, 0
	ep.sb.rtoLoss = false
	ep.p.stats.DSACKUndo.Inc()
	ep.fireCwnd("undo")
	ep.setPipeLocked()
	ep.syncInflateLocked()
}

package tcp

// Segment arrival, one handler per state.
//
// Read before editing: RFC 9293 §3.10.7 ("SEGMENT ARRIVES": §3.10.7.2
// LISTEN is in listen.go, §3.10.7.3 SYN-SENT, §3.10.7.4 the other
// states, step by step: sequence number, RST, security, SYN, ACK, URG,
// text, FIN), RFC 5961 (§3 RST, §4 SYN, §5 ACK validation, §7 rate
// limit), RFC 7323 §5 (PAWS), RFC 5681 §4.2 (ACK generation), RFC 1337.
// Linux: tcp_rcv_state_process, tcp_rcv_synsent_state_process,
// tcp_validate_incoming, tcp_data_queue, tcp_fin,
// tcp_timewait_state_process.

import (
	"syscall"
	"time"

	"ustack/pkt"
	"ustack/seqnum"
	"ustack/trace"
	"ustack/wire"
)

// segmentArrivesLocked dispatches s to the handler of the current state.
// It reports true when s must be looked up again (a SYN that ended a
// TIME_WAIT and now goes to the listener). Context: softnet.
func (ep *Endpoint) segmentArrivesLocked(s *segment) (again bool) {
	ep.lastRcv = ep.stampLocked()
	defer ep.unstampLocked()
	switch ep.state {
	case Listen:
		ep.listenInput(s)
	case SynSent:
		ep.synSentInput(s)
	case SynRcvd:
		ep.synRcvdInput(s)
	case Established:
		ep.establishedInput(s)
	case FinWait1:
		ep.finWait1Input(s)
	case FinWait2:
		ep.finWait2Input(s)
	case CloseWait:
		ep.closeWaitInput(s)
	case Closing:
		ep.closingInput(s)
	case LastAck:
		ep.lastAckInput(s)
	case TimeWait:
		return ep.timeWaitInput(s)
	default: // CLOSED: a stale lookup; answer as if no socket
		ep.p.noSocket(s)
	}
	return false
}

// synSentInput is RFC 9293 §3.10.7.3 (cf. tcp_rcv_synsent_state_process).
func (ep *Endpoint) synSentInput(s *segment) {
	p := ep.p
	ackOK := false
	if s.has(wire.TCPFlagACK) {
		if s.ack.LessThanEq(ep.snd.ISS) || ep.snd.MAX.LessThan(s.ack) {
			p.dropSeg(s, &p.stats.InDropped, "SYN_SENT: unacceptable ACK")
			p.resetFor(s)
			return
		}
		ackOK = true
	}
	if s.has(wire.TCPFlagRST) {
		if ackOK {
			p.stats.AttemptFails.Inc()
			ep.failLocked(syscall.ECONNREFUSED)
		} else {
			p.dropSeg(s, &p.stats.InDropped, "SYN_SENT: RST without ACK")
		}
		return
	}
	if !s.has(wire.TCPFlagSYN) {
		p.dropSeg(s, &p.stats.InDropped, "SYN_SENT: neither SYN nor RST")
		return
	}
	ep.rcv.IRS = s.seq
	ep.rcv.NXT = s.seq + 1
	ep.rcv.right = ep.rcv.NXT
	ep.negotiateLocked(&s.opts)
	ep.initCCLocked()
	if !ackOK {
		// Simultaneous open (RFC 9293 Figure 8): SYN_RCVD, SYN-ACK.
		ep.setStateLocked(SynRcvd)
		ep.sendSYNLocked(true)
		ep.armRTOLocked()
		return
	}
	ep.snd.UNA = s.ack
	ep.snd.WND = uint32(s.wnd) // a SYN's window is never scaled (RFC 7323 §2.2)
	ep.maxSndWnd = ep.snd.WND
	ep.snd.WL1, ep.snd.WL2 = s.seq, s.ack
	ep.rttSampleLocked(s)
	ep.backoff, ep.retries = 0, 0
	ep.stopTimer(&ep.rto)
	ep.establishLocked()
	ep.sendAckLocked()
}

// establishLocked enters ESTABLISHED at the end of a handshake.
func (ep *Endpoint) establishLocked() {
	ep.setStateLocked(Established)
	pr := ep.p.probes.connectEstablished
	if !ep.active {
		pr = ep.p.probes.acceptEstablished
	}
	if pr.Enabled() {
		pr.Fire(&trace.Event{Proto: ProtoNumber, Src: ep.local.Addr(), Dst: ep.remote.Addr(), SrcPort: ep.local.Port(), DstPort: ep.remote.Port()})
	}
	ep.armKeepaliveLocked()
	signal(ep.estCh)
	signal(ep.wrCh)
}

// synRcvdInput is §3.10.7.4 in SYN_RCVD (cf. tcp_check_req for a passive
// open, tcp_rcv_state_process for a simultaneous one).
func (ep *Endpoint) synRcvdInput(s *segment) {
	p := ep.p
	if s.has(wire.TCPFlagSYN) && !s.has(wire.TCPFlagACK|wire.TCPFlagRST) && s.seq == ep.rcv.IRS {
		// Our SYN-ACK was lost: the peer retransmitted its SYN.
		p.dropSeg(s, nil, "SYN_RCVD: retransmitted SYN")
		p.stats.SynRetrans.Inc()
		p.stats.RetransSegs.Inc() // as tcp_rtx_synack counts it
		ep.totalRetrans++
		ep.rttTiming = false // Karn: the SYN-ACK was sent twice
		ep.sendSYNLocked(true)
		return
	}
	if ep.active && s.flags&(wire.TCPFlagSYN|wire.TCPFlagACK|wire.TCPFlagRST) == wire.TCPFlagSYN|wire.TCPFlagACK &&
		s.seq+1 == ep.rcv.NXT && s.ack == ep.snd.NXT {
		// Simultaneous open, step 5 of RFC 9293 Figure 8: the peer's
		// SYN-ACK acknowledges our SYN; its SYN is the one already
		// seen (cf. the "pass" case in tcp_validate_incoming).
		s.flags &^= wire.TCPFlagSYN
		s.seq++
	}
	if !ep.checkLocked(s) {
		return
	}
	if s.ack.LessThanEq(ep.snd.UNA) || ep.snd.MAX.LessThan(s.ack) {
		if ep.parent != nil && ep.parent.cookieSupersedes(ep, s) {
			return // the peer took a cookie SYN-ACK instead of ours (listen.go)
		}
		p.dropSeg(s, &p.stats.InDropped, "SYN_RCVD: unacceptable ACK")
		p.resetFor(s)
		return
	}
	if ep.parent != nil {
		switch ep.parent.acceptChild(ep) {
		case childOverflow:
			p.dropSeg(s, &p.stats.ListenDrops, "accept queue full")
			p.stats.ListenOverflows.Inc()
			return
		case childOrphan:
			p.dropSeg(s, &p.stats.ListenDrops, "listener closed")
			ep.sendControlLocked(ep.snd.MAX, wire.TCPFlagRST|wire.TCPFlagACK)
			ep.destroyLocked(syscall.ECONNRESET)
			return
		}
	}
	ep.snd.WND = uint32(s.wnd) << ep.snd.Shift
	ep.maxSndWnd = ep.snd.WND
	ep.snd.WL1, ep.snd.WL2 = s.seq, s.ack
	ep.establishLocked()
	// Continue as ESTABLISHED: the ACK, data and FIN of this segment.
	if !ep.ackLocked(s) {
		return
	}
	ep.dataLocked(s)
	ep.finLocked(s)
	ep.afterInputLocked()
}

func (ep *Endpoint) establishedInput(s *segment) {
	if !ep.checkLocked(s) || !ep.ackLocked(s) {
		return
	}
	ep.dataLocked(s)
	ep.finLocked(s)
	ep.afterInputLocked()
}

func (ep *Endpoint) finWait1Input(s *segment) {
	if !ep.checkLocked(s) || !ep.ackLocked(s) {
		return
	}
	if ep.ourFinAckedLocked() {
		ep.setStateLocked(FinWait2)
		ep.stopTimer(&ep.rto)
		if ep.closed {
			ep.armTimer(&ep.wait, ep.p.cfg.FinTimeout, (*Endpoint).onWait)
		}
		ep.wakeAllLocked()
	}
	if !ep.dataLocked(s) {
		return
	}
	ep.finLocked(s)
	ep.afterInputLocked()
}

func (ep *Endpoint) finWait2Input(s *segment) {
	if !ep.checkLocked(s) || !ep.ackLocked(s) {
		return
	}
	if !ep.dataLocked(s) {
		return
	}
	ep.finLocked(s)
	ep.afterInputLocked()
}

func (ep *Endpoint) closeWaitInput(s *segment) {
	if !ep.checkLocked(s) || !ep.ackLocked(s) {
		return
	}
	ep.ignoreTextLocked(s)
	ep.afterInputLocked()
}

func (ep *Endpoint) closingInput(s *segment) {
	if !ep.checkLocked(s) || !ep.ackLocked(s) {
		return
	}
	if ep.ourFinAckedLocked() {
		ep.enterTimeWaitLocked()
		return
	}
	ep.ignoreTextLocked(s)
	ep.afterInputLocked()
}

func (ep *Endpoint) lastAckInput(s *segment) {
	if !ep.checkLocked(s) || !ep.ackLocked(s) {
		return
	}
	if ep.ourFinAckedLocked() {
		ep.destroyLocked(nil)
		return
	}
	ep.ignoreTextLocked(s)
	ep.afterInputLocked()
}

// timeWaitInput is TIME_WAIT (RFC 9293 §3.10.7.4; RFC 6191 and Linux's
// tcp_timewait_state_process for reuse by a new SYN).
func (ep *Endpoint) timeWaitInput(s *segment) (again bool) {
	p := ep.p
	if s.has(wire.TCPFlagSYN) && !s.has(wire.TCPFlagACK|wire.TCPFlagRST) {
		// As Linux: refused only by PAWS (a strictly older timestamp);
		// accepted when its sequence is beyond the old connection's, or
		// its timestamp newer. A timestamp equal to TS.Recent (a port
		// reused within one clock tick) must not block a higher ISN.
		newer := ep.rcv.NXT.LessThan(s.seq)
		if ep.tsOK && s.opts.HasTimestamps {
			d := int32(s.opts.TSVal - ep.tsRecent)
			newer = d >= 0 && (newer || d > 0)
		}
		if newer {
			p.stats.TimeWaitReuse.Inc()
			ep.destroyLocked(nil)
			return true
		}
		p.dropSeg(s, &p.stats.InDropped, "TIME_WAIT: old SYN")
		ep.sendAckLocked()
		return false
	}
	if s.has(wire.TCPFlagRST) {
		if s.seq == ep.rcv.NXT {
			ep.destroyLocked(nil) // RFC 1337's hazard accepted, as Linux does by default
		} else {
			p.dropSeg(s, &p.stats.InDropped, "TIME_WAIT: RST out of window")
		}
		return false
	}
	if ep.pawsRejectLocked(s) {
		p.dropSeg(s, &p.stats.PAWSDrops, "PAWS")
		ep.sendAckLocked()
		return false
	}
	if s.has(wire.TCPFlagFIN) {
		// A retransmitted FIN: our ACK was lost. ACK it, restart 2*MSL.
		ep.sendAckLocked()
		ep.armTimer(&ep.wait, 2*p.cfg.MSL, (*Endpoint).onWait)
		p.dropSeg(s, &p.stats.TimeWaitSegs, "TIME_WAIT: FIN retransmission")
		return false
	}
	if !ep.acceptableLocked(s) {
		ep.sendAckLocked()
	}
	p.dropSeg(s, &p.stats.TimeWaitSegs, "TIME_WAIT")
	return false
}

// acceptableLocked is the sequence test of §3.10.7.4 step one, with
// Linux's allowance for a segment at RCV.NXT when the window is zero
// (its ACK is processed, its data dropped).
func (ep *Endpoint) acceptableLocked(s *segment) bool {
	l := s.seqLen()
	w := seqnum.Size(0)
	if ep.rcv.NXT.LessThan(ep.rcv.right) {
		w = ep.rcv.right.Sub(ep.rcv.NXT)
	}
	if w == 0 {
		return s.seq == ep.rcv.NXT
	}
	if l == 0 {
		// Up to and including the right edge, as Linux's tcp_sequence
		// and BSD: a peer that filled the window sends its ACKs there.
		return s.seq.InWindow(ep.rcv.NXT, w+1)
	}
	return s.seq.InWindow(ep.rcv.NXT, w) || s.seq.Add(l-1).InWindow(ep.rcv.NXT, w)
}

// checkLocked runs steps one to four and the ACK-bit test of step five,
// shared by the synchronized states and SYN_RCVD (cf.
// tcp_validate_incoming). It reports whether processing continues.
func (ep *Endpoint) checkLocked(s *segment) bool {
	p := ep.p
	if ep.pawsRejectLocked(s) {
		p.dropSeg(s, &p.stats.PAWSDrops, "PAWS: old timestamp")
		ep.sendAckLocked()
		return false
	}
	if !ep.acceptableLocked(s) {
		switch {
		case s.has(wire.TCPFlagRST):
			p.dropSeg(s, &p.stats.InDropped, "RST out of window")
		case s.has(wire.TCPFlagSYN):
			p.dropSeg(s, &p.stats.InDropped, "SYN in a synchronized state")
			ep.challengeAckLocked()
		default:
			if end := s.seq.Add(seqnum.Size(s.plen)); s.plen > 0 && end.LessThanEq(ep.rcv.NXT) {
				p.dropSeg(s, &p.stats.InDuplicates, "old duplicate")
				ep.reportDuplicateLocked(s.seq, end, false)
			} else {
				p.dropSeg(s, &p.stats.InDropped, "out of window")
			}
			ep.oowAckLocked(s)
		}
		return false
	}
	if s.has(wire.TCPFlagRST) {
		// RFC 5961 §3.2: only an exact match resets; in-window, challenge.
		if s.seq == ep.rcv.NXT {
			p.dropSeg(s, nil, "reset")
			ep.resetLocked()
		} else {
			p.dropSeg(s, &p.stats.InDropped, "RST in window, not at RCV.NXT")
			ep.challengeAckLocked()
		}
		return false
	}
	if s.has(wire.TCPFlagSYN) {
		p.dropSeg(s, &p.stats.InDropped, "SYN in a synchronized state")
		ep.challengeAckLocked()
		return false
	}
	if !s.has(wire.TCPFlagACK) {
		p.dropSeg(s, &p.stats.InDropped, "no ACK")
		return false
	}
	ep.updateTSRecentLocked(s)
	ep.keepProbes = 0
	return true
}

// oowAckLocked answers an unacceptable segment with an ACK, at most one
// per 500ms for segments without data, so two confused ends cannot
// ping-pong ACKs (cf. tcp_oow_rate_limited, tcp_invalid_ratelimit).
func (ep *Endpoint) oowAckLocked(s *segment) {
	now := ep.nowLocked()
	if s.plen == 0 && now.Sub(ep.lastOOWAck) < 500*time.Millisecond {
		ep.p.stats.OOWRateLimited.Inc()
		return
	}
	ep.lastOOWAck = now
	ep.sendAckLocked()
}

// challengeAckLocked sends an RFC 5961 challenge ACK within the budget.
func (ep *Endpoint) challengeAckLocked() {
	if !ep.p.challengeAllowed() {
		ep.p.stats.ChallengeACKLimit.Inc()
		return
	}
	ep.p.stats.ChallengeACKs.Inc()
	ep.sendAckLocked()
}

// resetLocked handles an acceptable RST (§3.10.7.4 step two; cf.
// tcp_reset).
func (ep *Endpoint) resetLocked() {
	st := ep.p.stats
	switch ep.state {
	case SynRcvd:
		st.AttemptFails.Inc()
		if ep.active {
			ep.failLocked(syscall.ECONNREFUSED)
		} else {
			ep.destroyLocked(nil) // back to LISTEN: the listener never saw it
		}
	case Established, CloseWait:
		st.EstabResets.Inc()
		ep.failLocked(syscall.ECONNRESET)
	case FinWait1, FinWait2:
		ep.failLocked(syscall.ECONNRESET)
	default: // CLOSING, LAST_ACK, TIME_WAIT
		ep.destroyLocked(nil)
	}
}

// failLocked ends the connection with a hard error for the user.
func (ep *Endpoint) failLocked(err error) { ep.destroyLocked(err) }

// ourFinAckedLocked reports whether our FIN has been acknowledged.
func (ep *Endpoint) ourFinAckedLocked() bool {
	return ep.finQueued && ep.finSeqLocked().LessThan(ep.snd.UNA)
}

// dataLocked is step seven for states that accept text (cf.
// tcp_data_queue). It reports false when the connection was reset.
func (ep *Endpoint) dataLocked(s *segment) bool {
	if s.plen == 0 {
		return true
	}
	p := ep.p
	if ep.closed && ep.rcv.NXT.LessThan(s.seq.Add(seqnum.Size(s.plen))) {
		// Data for a socket the user closed: nobody will read it
		// (cf. tcp_rcv_state_process, LINUX_MIB_TCPABORTONDATA).
		p.stats.AbortOnData.Inc()
		p.dropSeg(s, nil, "data after close")
		ep.sendControlLocked(ep.snd.MAX, wire.TCPFlagRST|wire.TCPFlagACK)
		ep.failLocked(syscall.ECONNRESET)
		return false
	}
	seq, b := s.seq, s.b
	if seq.LessThan(ep.rcv.NXT) {
		d := int(ep.rcv.NXT.Sub(seq))
		if d >= b.Len() {
			p.dropSeg(s, &p.stats.InDuplicates, "old duplicate data")
			ep.reportDuplicateLocked(seq, seq.Add(seqnum.Size(b.Len())), false)
			ep.ackNow = true
			return true
		}
		ep.reportDuplicateLocked(seq, ep.rcv.NXT, false)
		b.Pull(d)
		seq = ep.rcv.NXT
	}
	right := seqnum.Max(ep.rcv.right, ep.rcv.NXT)
	if room := int(int32(right - seq)); room < b.Len() {
		if room <= 0 {
			p.dropSeg(s, &p.stats.InDropped, "data beyond the window")
			ep.ackNow = true
			return true
		}
		b.Trim(room)
	}
	// The peer's segment size: a GSO super-segment's is its GSO size
	// (cf. tcp_measure_rcv_mss), else delayed ACKs and the receive
	// window's SWS test would take ~64 KiB for one segment.
	segs, seg := 1, b.Len()
	if g := int(b.GSOSize); g > 0 && g < seg {
		segs, seg = gsoSegs(seg, g), g
	}
	if seg > ep.rcvMSS {
		ep.rcvMSS = seg
	}
	s.b = nil
	if seq != ep.rcv.NXT {
		// Out of order: hold it, and ACK at once with SACK blocks so the
		// sender sees a duplicate ACK (RFC 5681 §4.2).
		end := seq.Add(seqnum.Size(b.Len()))
		added, overlap := ep.ooo.insert(seq, b)
		if added {
			p.stats.OFOQueue.Inc()
		} else if overlap {
			ep.reportDuplicateLocked(seq, end, true) // all of it was queued already
		}
		if overlap {
			p.stats.OFOMerge.Inc()
		}
		ep.ackNow = true
		return true
	}
	n := b.Len()
	ep.deliverLocked(b)
	if !ep.ooo.empty() || ep.finPending {
		filled := false
		for nb := ep.ooo.pop(ep.rcv.NXT); nb != nil; nb = ep.ooo.pop(ep.rcv.NXT) {
			ep.deliverLocked(nb)
			filled = true
		}
		if filled {
			ep.ackNow = true // a hole filled: ACK at once (RFC 5681 §4.2)
		}
	}
	ep.ackPending = true
	if ep.quickAcks > 0 {
		// Quick-ACK mode at the start of a connection, so the sender's
		// slow start is not paced by our delayed-ACK timer (cf.
		// tcp_in_quickack_mode, TCP_MAX_QUICKACKS).
		ep.quickAcks = max(ep.quickAcks-int32(segs), 0) // counted in wire segments
		ep.ackNow = true
	}
	// RFC 1122 §4.2.3.2's "every second full-sized segment", counted in
	// bytes as Linux's __tcp_ack_snd_check does: ACK at once when more
	// than one full segment's worth arrived since the last ACK. Counting
	// only segments as long as our MSS estimate would never ACK a peer
	// whose segments are a little shorter (options, a smaller MSS).
	ep.unackedBytes += n
	if ep.unackedBytes > ep.rcvMSS {
		ep.ackNow = true
	}
	return true
}

// reportDuplicateLocked has the next ACK report [from, to) as received
// twice, in a D-SACK block (RFC 2883 §4), when the peer sends SACK: a
// sender learns from it that a retransmission was needless and can undo
// the window reduction it made (RFC 3708). ofo says the data was still
// out of order here.
func (ep *Endpoint) reportDuplicateLocked(from, to seqnum.Value, ofo bool) {
	if !ep.sackOK || !from.LessThan(to) {
		return
	}
	ep.dsack.Left, ep.dsack.Right = from, to
	if ofo {
		ep.p.stats.DSACKOfoSent.Inc()
	} else {
		ep.p.stats.DSACKOldSent.Inc()
	}
}

// deliverLocked queues in-order payload for the reader, taking ownership.
func (ep *Endpoint) deliverLocked(b *pkt.Buf) {
	ep.rcv.NXT = ep.rcv.NXT.Add(seqnum.Size(b.Len()))
	if pr := ep.p.probes.sockEnqueue; pr.Enabled() && !ep.rdShut {
		pr.Fire(&trace.Event{PktID: b.ID, Len: b.Len(), Proto: ProtoNumber, Src: ep.remote.Addr(), SrcPort: ep.remote.Port(),
			Dst: ep.local.Addr(), DstPort: ep.local.Port()})
	}
	if ep.rdShut {
		b.Free() // shut down for reading: acknowledged and discarded
	} else {
		ep.rcvq.push(b)
		signal(ep.rdCh)
	}
}

// ignoreTextLocked is step seven in CLOSE_WAIT, CLOSING, LAST_ACK: the
// peer sent its FIN, so text here is a retransmission; ACK it.
func (ep *Endpoint) ignoreTextLocked(s *segment) {
	if s.plen > 0 || s.has(wire.TCPFlagFIN) {
		ep.p.dropSeg(s, &ep.p.stats.InDuplicates, "text after FIN")
		ep.ackNow = true
	}
}

// finLocked is step eight (cf. tcp_fin): a FIN at RCV.NXT is consumed; one
// beyond a hole is remembered until the hole fills.
func (ep *Endpoint) finLocked(s *segment) {
	if s.has(wire.TCPFlagFIN) {
		fs := s.seq.Add(seqnum.Size(s.plen))
		if ep.rcv.NXT.LessThan(fs) {
			if fs.LessThanEq(seqnum.Max(ep.rcv.right, ep.rcv.NXT)) {
				ep.finPending, ep.finSeq = true, fs
			}
		} else if fs == ep.rcv.NXT {
			ep.finPending, ep.finSeq = true, fs
		}
	}
	if !ep.finPending || ep.finSeq != ep.rcv.NXT {
		return
	}
	ep.finPending = false
	ep.rcv.NXT++
	ep.peerFin = true
	ep.ackNow = true
	ep.ooo.flush()
	signal(ep.rdCh)
	switch ep.state {
	case SynRcvd, Established:
		ep.setStateLocked(CloseWait)
	case FinWait1:
		if ep.ourFinAckedLocked() {
			ep.enterTimeWaitLocked()
		} else {
			ep.setStateLocked(Closing)
		}
	case FinWait2:
		ep.enterTimeWaitLocked()
	}
}

// afterInputLocked sends what the segment allowed: new data (with the
// ACK piggybacked), else an immediate or delayed ACK
// (cf. tcp_data_snd_check, tcp_ack_snd_check).
func (ep *Endpoint) afterInputLocked() {
	if ep.state == Closed || ep.state == TimeWait {
		if ep.state == TimeWait && (ep.ackNow || ep.ackPending) {
			ep.ackNow = false
			ep.sendAckLocked()
		}
		return
	}
	ep.outputLocked(false)
	if ep.ackNow {
		ep.sendAckLocked()
		return
	}
	if ep.ackPending {
		ep.armDelackLocked()
	}
}

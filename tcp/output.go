package tcp

// Segment building and the send decision.
//
// Read before editing: RFC 9293 §3.8.6 (window management), RFC 1122
// §4.2.3.4 (when to send: sender silly-window avoidance, with Nagle's
// algorithm, RFC 896) and §4.2.3.3 (receiver SWS: when to open the
// window), RFC 7323 §2.3 (scaling the window field), RFC 5681 §3 (cwnd
// limits what is in flight). Linux: tcp_write_xmit, tcp_nagle_test,
// tcp_snd_wnd_test, __tcp_select_window, tcp_transmit_skb.

import (
	"encoding/binary"
	"errors"

	"ustack/ipv4"
	"ustack/pkt"
	"ustack/seqnum"
	"ustack/trace"
	"ustack/wire"
)

// unsentLocked is the bytes written and not yet sent.
func (ep *Endpoint) unsentLocked() int {
	return max(ep.sndq.len()-int(ep.snd.NXT.Sub(ep.ringSeq)), 0)
}

// finSeqLocked is the sequence number our FIN takes (valid once queued).
func (ep *Endpoint) finSeqLocked() seqnum.Value { return ep.ringSeq.Add(seqnum.Size(ep.sndq.len())) }

// finUnsentLocked reports whether a queued FIN still has to go out (for
// the first time, or again after an RTO rewound SND.NXT).
func (ep *Endpoint) finUnsentLocked() bool {
	return ep.finQueued && ep.snd.NXT.LessThanEq(ep.finSeqLocked())
}

// cwndLocked is the congestion window, inflated during NewReno recovery.
func (ep *Endpoint) cwndLocked() int { return ep.cc.Cwnd() + ep.inflate }

// dataOptLenLocked is the option bytes a data segment carries now.
func (ep *Endpoint) dataOptLenLocked() int {
	n := 0
	if ep.tsOK {
		n += 12
	}
	if ep.sackOK {
		k := len(ep.ooo.segs) // at least as many as the blocks they make
		if ep.dsack.Left != ep.dsack.Right {
			k++ // a D-SACK block goes first (transmitLocked)
		}
		k = min(k, 4)
		if ep.tsOK {
			k = min(k, 3)
		}
		if k > 0 {
			n += 4 + 8*k
		}
	}
	return n
}

// outputLocked sends what the windows, Nagle and SWS avoidance allow
// (cf. tcp_write_xmit). force sends one segment even if Nagle or sender
// SWS avoidance would hold it (the persist timer's override, an RTO).
func (ep *Endpoint) outputLocked(force bool) {
	switch ep.state {
	case Established, CloseWait, FinWait1, Closing, LastAck:
	default:
		return
	}
	if !ep.evNowOK { // a send from a process call: one clock read for all of it
		ep.stampLocked()
		defer ep.unstampLocked()
	}
	sent := false
	for {
		if ep.snd.NXT.LessThan(ep.snd.MAX) {
			if r, ok := ep.sb.sacked(ep.snd.NXT); ok {
				ep.snd.NXT = seqnum.Min(r.end, ep.snd.MAX) // the peer has it: skip
				continue
			}
		}
		off := int(ep.snd.NXT.Sub(ep.ringSeq))
		avail := max(ep.sndq.len()-off, 0)
		wnd := min(int(ep.snd.WND), ep.cwndLocked())
		usable := max(int(int32(ep.snd.UNA.Add(seqnum.Size(wnd))-ep.snd.NXT)), 0)
		lim := ep.mss - ep.dataOptLenLocked() // a full-sized segment
		n := min(avail, ep.gsoLimitLocked(lim), usable)
		if next, ok := ep.sb.nextSacked(ep.snd.NXT); ok && ep.snd.NXT.LessThan(ep.snd.MAX) {
			n = min(n, int(next.Sub(ep.snd.NXT)))
		}
		retrans := ep.snd.NXT.LessThan(ep.snd.MAX)
		if n > lim && !retrans {
			n = ep.gsoTrimLocked(n, lim, avail) // a GSO super-segment (gso.go)
		}
		fin := ep.finUnsentLocked() && n == avail && (n > 0 || usable > 0 || ep.snd.NXT == ep.snd.UNA)
		if n == 0 && !fin {
			break
		}
		if !force && !retrans && n > 0 {
			if n < avail && n < lim && n < int(ep.maxSndWnd/2) {
				break // sender SWS avoidance: wait for a bigger window
			}
			if n == avail && n < lim && !fin && !ep.noDelay && ep.snd.NXT != ep.snd.UNA {
				break // Nagle: a small segment waits for the ACK of what is in flight
			}
		}
		force = false
		flags := wire.TCPFlagACK
		if fin {
			flags |= wire.TCPFlagFIN
		}
		if n > 0 && n == avail {
			flags |= wire.TCPFlagPSH
		}
		ep.transmitLocked(ep.snd.NXT, flags, n)
		ep.snd.NXT = ep.snd.NXT.Add(seqnum.Size(n))
		if fin {
			ep.snd.NXT++
		}
		if ep.snd.MAX.LessThan(ep.snd.NXT) {
			ep.snd.MAX = ep.snd.NXT
		}
		sent = true
		if fin {
			break
		}
	}
	if sent {
		ep.stopTimer(&ep.persist)
		ep.persistBackoff = 0
	}
	if ep.snd.NXT != ep.snd.UNA {
		if !ep.rto.armed() {
			ep.armRTOLocked()
		}
	} else if ep.unsentLocked() > 0 || ep.finUnsentLocked() {
		ep.armPersistLocked()
	}
}

// retransmitAtLocked resends one segment starting at seq, already sent
// once (fast retransmit, NewReno partial ACK), stopping short of SACKed
// data, and returns the sequence space it covered.
func (ep *Endpoint) retransmitAtLocked(seq seqnum.Value) int {
	off := int(seq.Sub(ep.ringSeq))
	if off < 0 {
		return 0
	}
	n := min(max(ep.sndq.len()-off, 0), ep.mss-ep.dataOptLenLocked(), int(ep.snd.MAX.Sub(seq)))
	if next, ok := ep.sb.nextSacked(seq); ok {
		n = min(n, int(next.Sub(seq)))
	}
	flags := wire.TCPFlagACK
	if ep.finQueued && seq.Add(seqnum.Size(n)) == ep.finSeqLocked() && ep.finSeqLocked().LessThan(ep.snd.MAX) {
		flags |= wire.TCPFlagFIN
	}
	if n == 0 && flags&wire.TCPFlagFIN == 0 {
		return 0
	}
	ep.transmitLocked(seq, flags, n)
	if flags&wire.TCPFlagFIN != 0 {
		n++
	}
	return n
}

// retransmitHeadLocked resends from SND.UNA after an RTO rewound SND.NXT.
func (ep *Endpoint) retransmitHeadLocked() { ep.outputLocked(true) }

// sendAckLocked sends a bare ACK now (cf. tcp_send_ack). Its sequence
// number is SND.MAX, not a SND.NXT an RTO rewound: the peer has seen up
// to SND.MAX, and an ACK below its RCV.NXT would be unacceptable to it,
// drawing an ACK back — the start of an ACK war.
func (ep *Endpoint) sendAckLocked() { ep.transmitLocked(ep.snd.MAX, wire.TCPFlagACK, 0) }

// sendControlLocked sends a segment without data at seq.
func (ep *Endpoint) sendControlLocked(seq seqnum.Value, flags wire.TCPFlags) {
	ep.transmitLocked(seq, flags, 0)
}

// sendSYNLocked sends our SYN (SYN_SENT) or SYN-ACK (SYN_RCVD).
func (ep *Endpoint) sendSYNLocked(retrans bool) {
	flags := wire.TCPFlagSYN
	if ep.state == SynRcvd {
		flags |= wire.TCPFlagACK
	}
	ep.transmitLocked(ep.snd.ISS, flags, 0)
	if ep.snd.MAX == ep.snd.ISS {
		ep.snd.NXT, ep.snd.MAX = ep.snd.ISS+1, ep.snd.ISS+1
	}
}

// rcvWindowLocked returns the window to advertise, in bytes, applying
// receiver SWS avoidance: the right edge moves only when it can move by
// min(RCV.BUFF/2, MSS), and never moves left (cf. __tcp_select_window).
func (ep *Endpoint) rcvWindowLocked() uint32 {
	free := max(ep.rcvBuf-ep.rcvq.bytes-ep.ooo.bytes, 0)
	free = min(free, 0xffff<<ep.rcv.Shift)
	free &^= 1<<ep.rcv.Shift - 1
	cur := 0
	if ep.rcv.NXT.LessThan(ep.rcv.right) {
		cur = int(ep.rcv.right.Sub(ep.rcv.NXT))
	}
	if free-cur >= min(ep.rcvBuf/2, max(ep.rcvMSS, 1)) || (free > cur && free == ep.rcvBuf) {
		cur = free
	}
	return uint32(cur)
}

// transmitLocked builds one segment [seq, seq+n) from the send ring with
// flags, and sends it (cf. tcp_transmit_skb). Context: any, ep.mu held.
func (ep *Endpoint) transmitLocked(seq seqnum.Value, flags wire.TCPFlags, n int) {
	p := ep.p
	if !ep.hasRoute {
		rt, err := p.ip.RouteOutput(ep.remote.Addr(), ep.local.Addr())
		if err != nil {
			return
		}
		ep.rt, ep.hasRoute = rt, true
	}
	var o wire.TCPOptions
	syn := flags&wire.TCPFlagSYN != 0
	if syn {
		ep.synOptions(&o, flags&wire.TCPFlagACK != 0)
	} else {
		if ep.tsOK {
			o.HasTimestamps, o.TSVal, o.TSEcr = true, p.tsAt(ep.nowLocked()), ep.tsRecent
		}
		dsack := ep.dsack.Left != ep.dsack.Right
		if ep.sackOK && (dsack || !ep.ooo.empty()) && flags&wire.TCPFlagRST == 0 {
			k := 4
			if ep.tsOK {
				k = 3
			}
			n := 0
			if dsack { // a D-SACK block goes first, and once (RFC 2883 §4)
				o.SACKBlocks[0] = wire.SACKBlock{Left: uint32(ep.dsack.Left), Right: uint32(ep.dsack.Right)}
				ep.dsack.Left, ep.dsack.Right = 0, 0
				n = 1
			}
			o.NumSACKBlocks = n + ep.ooo.sackBlocks(o.SACKBlocks[n:k])
			p.stats.SACKsSent.Inc()
		}
	}
	olen := o.Len()
	hlen := wire.TCPMinHeaderLen + olen
	b := p.pool.Get(pkt.MaxHeaderLen, hlen)
	buf := b.View(0)
	var wnd uint32
	var wfield uint16
	if flags&wire.TCPFlagRST == 0 {
		wnd = ep.rcvWindowLocked()
		if syn {
			wfield = uint16(min(wnd, 0xffff))
		} else {
			wfield = uint16(min(wnd>>ep.rcv.Shift, 0xffff))
			wnd = uint32(wfield) << ep.rcv.Shift
		}
	}
	ack := ep.rcv.NXT
	if flags&wire.TCPFlagACK == 0 {
		ack = 0
	}
	binary.BigEndian.PutUint16(buf[0:], ep.local.Port())
	binary.BigEndian.PutUint16(buf[2:], ep.remote.Port())
	binary.BigEndian.PutUint32(buf[4:], uint32(seq))
	binary.BigEndian.PutUint32(buf[8:], uint32(ack))
	binary.BigEndian.PutUint16(buf[12:], uint16(hlen/4)<<12|uint16(flags))
	binary.BigEndian.PutUint16(buf[14:], wfield)
	binary.BigEndian.PutUint32(buf[16:], 0) // checksum, urgent pointer
	o.Encode(buf[wire.TCPMinHeaderLen:hlen])
	// More than one wire segment's payload: a GSO super-segment, cut
	// (if the device does not carry it whole) at the MSS less these
	// options (gso.go).
	gso := 0
	if seg := ep.mss - olen; n > seg && seg > 0 {
		gso = seg
		b.GSOSize = uint16(seg)
	}
	// A super-segment whole on a link whose ends trust their checksums
	// needs none; its segments, if cut, get theirs (netdev's gso.go).
	if gso == 0 || ep.rt.GSOMaxSize == 0 || ep.rt.Dev == nil || !ep.rt.Dev.Caps().ChecksumOffload {
		sum := wire.Checksum(buf, wire.PseudoHeaderSum(ep.rt.Src, ep.remote.Addr(), ProtoNumber, uint16(hlen+n)))
		if n > 0 {
			// The payload is the send queue's own bytes, by reference:
			// the one copy was the Write's.
			ep.sndq.appendTo(b, int(seq.Sub(ep.ringSeq)), n)
			off := hlen
			for i := 1; i < b.NumViews(); i++ {
				v := b.View(i)
				sum = wire.Combine(sum, wire.Checksum(v, 0), off)
				off += len(v)
			}
		}
		binary.BigEndian.PutUint16(buf[16:], ^wire.Fold(sum))
	} else {
		ep.sndq.appendTo(b, int(seq.Sub(ep.ringSeq)), n)
	}
	b.SetTransportHeader()
	b.ID = p.tracer.NextPacketID() // IP would give it one: give it now, for tcp:::send

	st := p.stats
	segs := uint64(gsoSegs(n, gso)) // wire segments, as tcp_skb_pcount
	st.OutSegs.Add(segs)
	if flags&wire.TCPFlagRST != 0 {
		st.OutRsts.Inc()
	}
	retrans := !syn && seq.LessThan(ep.snd.MAX) && (n > 0 || flags&wire.TCPFlagFIN != 0)
	if retrans {
		st.RetransSegs.Add(segs)
		ep.totalRetrans++
		if ep.rttTiming && seq.LessThan(ep.rttSeq) {
			ep.rttTiming = false // Karn
		}
		if pr := p.probes.retransmit; pr.Enabled() {
			ep.fireSegLocked(pr, b, hlen, seq, ack, flags, wfield, n)
		}
	} else if n > 0 && !ep.rttTiming && seq == ep.snd.MAX {
		ep.rttTiming, ep.rttSeq, ep.rttStart = true, seq.Add(seqnum.Size(n)), ep.nowLocked()
	}
	if flags&wire.TCPFlagACK != 0 && flags&wire.TCPFlagRST == 0 {
		ep.ackPending, ep.ackNow, ep.unackedBytes = false, false, 0
		ep.stopTimer(&ep.delack)
		ep.lastAckSent = ep.rcv.NXT
		ep.rcv.WND = wnd
		if r := ep.rcv.NXT.Add(seqnum.Size(wnd)); ep.rcv.right.LessThan(r) {
			ep.rcv.right = r
		}
	}
	if pr := p.probes.send; pr.Enabled() {
		ep.fireSegLocked(pr, b, hlen, seq, ack, flags, wfield, n)
	}
	if err := p.ip.Output(b, &ep.rt, ProtoNumber, ipv4.SendOptions{DF: true}); err != nil {
		if errors.Is(err, ipv4.ErrMessageSize) {
			ep.lowerMSSLocked(ep.rt.MTU, false) // the RTO resends at the new size
		} else if errors.Is(err, ipv4.ErrNetDown) || errors.Is(err, ipv4.ErrNoRoute) {
			ep.hasRoute = false
		}
	}
}

// lowerMSSLocked applies a smaller path MTU (RFC 1191 via ICMP
// fragmentation needed, or the route) and resends what was in flight at
// the new size (cf. tcp_mtu_reduced / tcp_simple_retransmit).
func (ep *Endpoint) lowerMSSLocked(mtu int, resend bool) {
	nm := max(mtu-ipTCPHdr, minMSS)
	if nm >= ep.mss {
		return
	}
	ep.p.stats.PMTUUpdates.Inc()
	ep.mss = nm
	if ep.cc != nil {
		ep.cc.SetMSS(ep.smss())
	}
	if resend && ep.state.synchronized() && ep.snd.NXT != ep.snd.UNA {
		ep.snd.NXT = ep.snd.UNA
		ep.rttTiming = false
		ep.outputLocked(true)
	}
}

// fireCwnd fires tcp:::cwnd with the congestion controller's window, as
// ss -ti shows it (Info.Cwnd): not cwndLocked, whose inflate is NewReno's
// temporary inflation or, with SACK, the FlightSize − pipe that lets the
// sending test read as RFC 6675's pipe < cwnd.
func (ep *Endpoint) fireCwnd(why string) {
	if pr := ep.p.probes.cwnd; pr.Enabled() {
		pr.Fire(&trace.Event{Proto: ProtoNumber, Src: ep.local.Addr(), Dst: ep.remote.Addr(), SrcPort: ep.local.Port(), DstPort: ep.remote.Port(),
			CWnd: ep.cc.Cwnd(), Ssthresh: ep.cc.Ssthresh(), SRTT: ep.rtt.srtt, RTTVar: ep.rtt.rttvar,
			Reason: why})
	}
}

package tcp

// Option negotiation.
//
// Read before editing: RFC 9293 §3.7.1 (MSS; 536 when absent), RFC 6691
// (MSS excludes options), RFC 7323 §2.2–2.3 (window scale: both SYNs must
// carry it; shift ≤ 14), §3.2 (timestamps: both SYNs; then on every
// segment), §5 (PAWS), RFC 2018 §2 (SACK-permitted on SYNs). Linux:
// tcp_syn_options, tcp_synack_options, tcp_select_initial_window,
// tcp_mss_to_mtu.

import (
	"ustack/tcp/cc"
	"ustack/wire"
)

const (
	defaultMSS = 536 // RFC 9293 §3.7.1 when the peer sends none
	minMSS     = 88  // Linux's TCP_MIN_SND_MSS: clamp hostile MSS values
	ipTCPHdr   = wire.IPv4MinHeaderLen + wire.TCPMinHeaderLen
)

// newCongestion returns a fresh instance of the named algorithm.
func newCongestion(name string) (cc.Algorithm, bool) { return cc.New(name) }

// routeMSS is the MSS the route allows: MTU less IP and TCP headers.
func (ep *Endpoint) routeMSS() int {
	if !ep.hasRoute || ep.rt.MTU <= ipTCPHdr {
		return defaultMSS
	}
	return ep.rt.MTU - ipTCPHdr
}

// rcvShift picks our window scale for the largest buffer we may offer
// (cf. tcp_select_initial_window).
func (ep *Endpoint) rcvShift() uint8 {
	var s uint8
	for s < wire.TCPMaxWindowScale && (max(ep.rcvBuf, 4<<20)>>s) > 0xffff {
		s++
	}
	return s
}

// synOptions fills the options of our SYN or SYN-ACK. On a SYN-ACK only
// what the peer offered is echoed (RFC 7323 §2.2, §3.2; RFC 2018 §2).
func (ep *Endpoint) synOptions(o *wire.TCPOptions, synAck bool) {
	cfg := &ep.p.cfg
	o.MSS, o.HasMSS = uint16(ep.advMSS), true
	if !cfg.NoWindowScale && (!synAck || ep.wsOK) {
		o.WindowScale, o.HasWindowScale = ep.rcv.Shift, true
	}
	if !cfg.NoSACK && (!synAck || ep.sackOK) {
		o.SACKPermitted = true
	}
	if !cfg.NoTimestamps && (!synAck || ep.tsOK) {
		o.HasTimestamps = true
		o.TSVal, o.TSEcr = ep.p.tsNow(), ep.tsRecent
	}
}

// negotiateLocked applies the options of the peer's SYN (or SYN-ACK,
// when we sent the SYN and offered everything).
func (ep *Endpoint) negotiateLocked(o *wire.TCPOptions) {
	cfg := &ep.p.cfg
	peer := defaultMSS
	if o.HasMSS {
		peer = max(int(o.MSS), minMSS)
	}
	ep.mss = min(peer, ep.routeMSS())
	ep.rcvMSS = min(ep.advMSS, peer)
	ep.wsOK = o.HasWindowScale && !cfg.NoWindowScale
	if ep.wsOK {
		ep.snd.Shift = min(o.WindowScale, wire.TCPMaxWindowScale)
	} else {
		ep.snd.Shift, ep.rcv.Shift = 0, 0
	}
	ep.tsOK = o.HasTimestamps && !cfg.NoTimestamps
	if ep.tsOK {
		ep.tsRecent, ep.tsRecentAt = o.TSVal, ep.p.clk.Now()
	}
	ep.sackOK = o.SACKPermitted && !cfg.NoSACK
	if ep.tsOK {
		ep.rcvMSS -= 12 // full-sized segments carry the timestamp option
	}
	ep.quickAcks = quickAckSegs
}

// pawsRejectLocked is RFC 7323 §5.3's test: a segment whose TSval is
// older than TS.Recent is an old duplicate (R1), unless TS.Recent is more
// than 24 days old (R3). RSTs are exempt, as in Linux.
func (ep *Endpoint) pawsRejectLocked(s *segment) bool {
	if !ep.tsOK || !s.opts.HasTimestamps || s.has(wire.TCPFlagRST) {
		return false
	}
	if int32(s.opts.TSVal-ep.tsRecent) >= 0 {
		return false
	}
	return ep.nowLocked().Sub(ep.tsRecentAt) < 24*24*3600e9
}

// updateTSRecentLocked records TSval per RFC 7323 §4.3 (3): when the
// segment covers Last.ACK.sent.
func (ep *Endpoint) updateTSRecentLocked(s *segment) {
	if !ep.tsOK || !s.opts.HasTimestamps {
		return
	}
	if s.seq.LessThanEq(ep.lastAckSent) && int32(s.opts.TSVal-ep.tsRecent) >= 0 {
		ep.tsRecent, ep.tsRecentAt = s.opts.TSVal, ep.nowLocked()
	}
}

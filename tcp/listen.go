package tcp

// Passive open: the SYN queue and the accept queue.
//
// Read before editing: RFC 9293 §3.10.7.2 (LISTEN), §3.10.1 (passive
// OPEN), RFC 4987 (SYN flooding and its defences). Linux:
// tcp_v4_conn_request / tcp_conn_request (the SYN queue of request
// socks), tcp_check_req and inet_csk_complete_hashdance (moving a child
// to the accept queue), inet_csk_accept, inet_csk_listen_stop.

import (
	"syscall"
	"time"

	"ustack/seqnum"
	"ustack/socket"
	"ustack/wire"
)

// listenState is a listener's queues, guarded by the listener's mu.
type listenState struct {
	backlog int
	syn     map[*Endpoint]struct{} // children in SYN_RCVD (the SYN queue)
	accept  []*Endpoint            // established, not yet accepted
	// overflowAt is when the SYN queue last overflowed (cookies sent).
	overflowAt time.Time
}

// listenInput is RFC 9293 §3.10.7.2 (cf. tcp_v4_conn_request).
func (l *Endpoint) listenInput(s *segment) {
	p := l.p
	st := p.stats
	switch {
	case s.has(wire.TCPFlagRST):
		p.dropSeg(s, &st.InDropped, "LISTEN: RST")
		return
	case s.has(wire.TCPFlagACK):
		if !s.has(wire.TCPFlagSYN) && l.cookieAckLocked(s) {
			return
		}
		p.dropSeg(s, &st.InDropped, "LISTEN: ACK for no connection") // a socket there is: not InNoSocket
		p.resetFor(s)
		return
	case !s.has(wire.TCPFlagSYN):
		p.dropSeg(s, &st.InDropped, "LISTEN: no SYN")
		return
	}
	lst := l.lst
	if len(lst.accept) >= lst.backlog {
		st.ListenOverflows.Inc()
		p.dropSeg(s, &st.ListenDrops, "accept queue full")
		return
	}
	if len(lst.syn) >= lst.backlog {
		if p.cfg.NoSyncookies {
			p.dropSeg(s, &st.ListenDrops, "SYN queue full")
			return
		}
		lst.overflowAt = p.clk.Now()
		p.dropSeg(s, nil, "SYN queue full: answered with a cookie")
		l.sendCookieSynAck(s)
		return
	}
	c := l.newChildLocked(s)
	if c == nil {
		return
	}
	defer c.mu.Unlock()
	c.rcv.Shift = c.rcvShift()
	c.negotiateLocked(&s.opts)
	c.rcv.IRS, c.rcv.NXT = s.seq, s.seq+1
	c.rcv.right = c.rcv.NXT
	c.snd.ISS = p.isn.isn(c.local, c.remote, p.clk.Now())
	c.snd.UNA, c.snd.NXT, c.snd.MAX = c.snd.ISS, c.snd.ISS, c.snd.ISS
	c.ringSeq = c.snd.ISS + 1
	c.snd.WND = uint32(s.wnd)
	c.initCCLocked()
	if !l.hashChildLocked(c, s) {
		return
	}
	lst.syn[c] = struct{}{}
	c.state = Listen // for the probe: LISTEN -> SYN_RCVD
	c.setStateLocked(SynRcvd)
	c.sendSYNLocked(false)
	// Time the SYN-ACK, as Linux times a request's (tcp_synack_rtt_meas):
	// the first sample, to the microsecond.
	c.rttTiming, c.rttSeq, c.rttStart = true, c.snd.ISS+1, p.clk.Now()
	c.armRTOLocked()
	// The SYN itself is consumed, not dropped (cf. consume_skb): it fires
	// no tcp:::drop and moves no drop counter.
}

// newChildLocked makes a connection for a segment at listener l,
// inheriting its options, routed back to the peer; returned locked (it is
// unpublished, so no one else can hold it), or nil.
func (l *Endpoint) newChildLocked(s *segment) *Endpoint {
	p := l.p
	c := p.newEndpoint()
	c.mu.Lock()
	c.local, c.remote = s.dst, s.src
	c.rcvBuf, c.sndq.limit, c.noDelay = l.rcvBuf, l.sndq.limit, l.noDelay
	c.rcvAuto, c.sndAuto = l.rcvAuto, l.sndAuto
	c.keepalive, c.keepIdle, c.keepIntvl, c.keepCnt = l.keepalive, l.keepIdle, l.keepIntvl, l.keepCnt
	rt, err := p.ip.RouteOutput(c.remote.Addr(), c.local.Addr())
	if err != nil {
		c.mu.Unlock()
		p.dropSeg(s, &p.stats.ListenDrops, "no route back")
		return nil
	}
	c.rt, c.hasRoute = rt, true
	c.advMSS = c.routeMSS()
	return c
}

// hashChildLocked publishes c in the demux table under listener l.
func (l *Endpoint) hashChildLocked(c *Endpoint, s *segment) bool {
	p := l.p
	p.mu.Lock()
	if p.closed || p.conns[fourTuple{c.local, c.remote}] != nil {
		p.mu.Unlock()
		p.dropSeg(s, &p.stats.ListenDrops, "connection exists")
		return false
	}
	p.conns[fourTuple{c.local, c.remote}] = c
	p.mu.Unlock()
	c.hashed = true
	c.parent = l
	p.stats.PassiveOpens.Inc()
	return true
}

// cookiesRecentLocked reports whether l answered a SYN with a cookie
// lately enough for an ACK to return it (cf. tcp_synq_no_recent_overflow).
func (l *Endpoint) cookiesRecentLocked() bool {
	at := l.lst.overflowAt
	return !at.IsZero() && l.p.clk.Now().Sub(at) <= 2*cookiePeriod
}

// cookieAckLocked completes a handshake answered with a SYN cookie (cf.
// cookie_v4_check, tcp_get_cookie_sock): only while cookies were sent
// lately, and only for a valid cookie with room in the accept queue. It
// reports whether it consumed s; if not, the caller resets.
func (l *Endpoint) cookieAckLocked(s *segment) bool {
	p := l.p
	if !l.cookiesRecentLocked() {
		return false
	}
	o, ok := p.checkCookie(s, s.seq-1)
	if !ok {
		if s.seqLen() > 0 && p.cookieFresh(s.ack-1) {
			// A segment with data, acknowledging a cookie of this period
			// or the last, may be a later segment of a cookie connection
			// whose ACK and first data segment were lost (or dropped on
			// a full accept queue): its SEG.SEQ-1 is not the ISN the
			// cookie was made from, so the cookie cannot be checked.
			// Linux resets it (cookie_v4_check fails, and
			// tcp_rcv_state_process answers an ACK in LISTEN with a RST),
			// killing a connection the peer holds ESTABLISHED; we drop
			// it, and the peer's retransmission from SND.UNA — its first
			// data segment — proves the cookie. A forged or stale pure
			// ACK, or a cookie of an older period, is still reset.
			p.dropSeg(s, &p.stats.SyncookiesFailed, "cookie unverifiable: not the first segment")
			return true
		}
		p.stats.SyncookiesFailed.Inc()
		return false
	}
	if l.acceptQueueFullLocked(s) {
		return true
	}
	l.cookieChildLocked(s, s.seq-1, &o)
	return true
}

// acceptQueueFullLocked drops s, counting it, if l's accept queue is
// full: the ACK that would complete a handshake is dropped and the peer
// retransmits, as Linux does without tcp_abort_on_overflow (cf.
// tcp_check_req's listen_overflow, tcp_v4_syn_recv_sock's exit_overflow).
func (l *Endpoint) acceptQueueFullLocked(s *segment) bool {
	if len(l.lst.accept) < l.lst.backlog {
		return false
	}
	l.p.stats.ListenOverflows.Inc()
	l.p.dropSeg(s, &l.p.stats.ListenDrops, "accept queue full (cookie)")
	return true
}

// cookieChildLocked makes the connection a valid cookie ACK s stands for
// — the peer's ISN irs, the options o — straight into the accept queue,
// and processes s on it (cf. tcp_get_cookie_sock).
func (l *Endpoint) cookieChildLocked(s *segment, irs seqnum.Value, o *wire.TCPOptions) {
	p := l.p
	c := l.newChildLocked(s)
	if c == nil {
		return
	}
	defer c.mu.Unlock()
	p.stats.SyncookiesRecv.Inc()
	c.rcv.Shift = c.rcvShift() // as sendCookieSynAck offered it
	c.negotiateLocked(o)
	c.rcv.IRS, c.rcv.NXT = irs, irs+1
	c.rcv.right = c.rcv.NXT.Add(seqnum.Size(min(c.rcvBuf, 0xffff)))
	c.rcv.WND = uint32(min(c.rcvBuf, 0xffff))
	c.snd.ISS = s.ack - 1
	c.snd.UNA, c.snd.NXT, c.snd.MAX = s.ack, s.ack, s.ack
	c.ringSeq = s.ack
	c.lastAckSent = c.rcv.NXT
	c.initCCLocked()
	if !l.hashChildLocked(c, s) {
		return
	}
	c.parent = nil
	l.lst.accept = append(l.lst.accept, c)
	signal(l.rdCh)
	c.state = Listen
	c.setStateLocked(SynRcvd)
	c.snd.WND = uint32(s.wnd) << c.snd.Shift // an ACK: scaled (RFC 7323 §2.3)
	c.maxSndWnd = c.snd.WND
	c.snd.WL1, c.snd.WL2 = s.seq, s.ack
	c.establishLocked()
	// A segment beyond RCV.NXT (its predecessors lost) is held out of
	// order and answered with a duplicate ACK.
	if c.ackLocked(s) {
		c.dataLocked(s)
		c.finLocked(s)
		c.afterInputLocked()
	}
}

// cookieSupersedes takes an ACK that child c, in SYN_RCVD, found
// unacceptable, and reports whether it consumed it. A SYN answered with
// a cookie while the SYN queue was full, then retransmitted when it had
// room, made c with an ISS of its own; a peer that took the cookie
// SYN-ACK is ESTABLISHED on the cookie, and acknowledges it, never c's
// SYN-ACK. If s returns a valid cookie, checked against c's IRS (the
// peer's ISN, so that any of its segments will do), c is dropped
// silently and the cookie's connection made in its place. Linux hands
// such an ACK back to the listener (tcp_check_req returns it), whose
// cookie_v4_check finds the request in the way and drops the ACK
// (tcp_v4_syn_recv_sock, found_dup_sk); the peer then retries until the
// request expires, and a segment whose SEG.SEQ-1 is not its ISN draws a
// RST — a connection lost. The request can never complete: the cookie
// wins. Called with c.mu held; takes l.mu.
func (l *Endpoint) cookieSupersedes(c *Endpoint, s *segment) bool {
	p := l.p
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.state != Listen || l.lst == nil || !l.cookiesRecentLocked() {
		return false
	}
	irs := c.rcv.IRS
	o, ok := p.checkCookie(s, irs)
	if !ok {
		return false
	}
	if l.acceptQueueFullLocked(s) {
		return true // c stays; the peer retransmits
	}
	delete(l.lst.syn, c)
	c.parent = nil
	c.closed = true            // never the user's: nothing to keep (as abortChildren)
	p.stats.AttemptFails.Inc() // SYN_RCVD -> CLOSED, as RFC 1213 counts it
	c.destroyLocked(nil)
	l.cookieChildLocked(s, irs, &o)
	return true
}

type childResult int

const (
	childAccepted childResult = iota
	childOverflow
	childOrphan
)

// acceptChild moves an established child to the accept queue (cf.
// inet_csk_complete_hashdance). Called with c.mu held; takes l.mu.
func (l *Endpoint) acceptChild(c *Endpoint) childResult {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.state != Listen || l.lst == nil {
		c.parent = nil
		return childOrphan
	}
	if len(l.lst.accept) >= l.lst.backlog {
		return childOverflow
	}
	delete(l.lst.syn, c)
	l.lst.accept = append(l.lst.accept, c)
	c.parent = nil
	signal(l.rdCh)
	return childAccepted
}

// childGone forgets a child that died in SYN_RCVD. Called with c.mu held.
func (l *Endpoint) childGone(c *Endpoint) {
	l.mu.Lock()
	if l.lst != nil {
		delete(l.lst.syn, c)
	}
	l.mu.Unlock()
	c.parent = nil
}

// DefaultBacklog is the backlog of Listen(0): Linux's somaxconn default
// since 5.4, which is what package net's listeners get there.
const DefaultBacklog = 4096

// Listen makes the socket a listener with the given backlog (≤ 0:
// DefaultBacklog), binding an ephemeral port if unbound. Errors:
// EADDRINUSE, EINVAL (connected or closed). Context: process.
func (ep *Endpoint) Listen(backlog int) error {
	if backlog <= 0 {
		backlog = DefaultBacklog
	}
	ep.mu.Lock()
	defer ep.mu.Unlock()
	if ep.closed || ep.state != Closed || ep.hashed {
		return syscall.EINVAL
	}
	if !ep.ownsPort {
		if err := ep.bindLocked(ep.local); err != nil {
			return err
		}
	}
	p := ep.p
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return socket.ErrClosed
	}
	p.listeners[ep.local.Port()] = append(p.listeners[ep.local.Port()], ep)
	p.mu.Unlock()
	ep.lst = &listenState{backlog: backlog, syn: make(map[*Endpoint]struct{})}
	ep.setStateLocked(Listen)
	return nil
}

// Accept waits for an established connection (cf. inet_csk_accept). The
// read deadline bounds the wait. Context: process.
func (ep *Endpoint) Accept() (*Endpoint, error) {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	for {
		if ep.closed {
			return nil, socket.ErrClosed
		}
		if ep.lst == nil || ep.state != Listen {
			return nil, syscall.EINVAL
		}
		if len(ep.lst.accept) > 0 {
			c := ep.lst.accept[0]
			copy(ep.lst.accept, ep.lst.accept[1:])
			ep.lst.accept[len(ep.lst.accept)-1] = nil
			ep.lst.accept = ep.lst.accept[:len(ep.lst.accept)-1]
			if len(ep.lst.accept) > 0 {
				signal(ep.rdCh)
			}
			if pr := ep.p.probes.sockAccept; pr.Enabled() {
				ep.fireAcceptLocked(pr, c)
			}
			return c, nil
		}
		if ep.readDL.Expired() {
			return nil, socket.ErrDeadlineExceeded
		}
		ep.sleepLocked(&ep.rdCh, nil)
	}
}

// closeListenerLocked stops listening and returns the children to abort
// (after ep.mu is released: their locks come first).
func (ep *Endpoint) closeListenerLocked() []*Endpoint {
	p := ep.p
	p.mu.Lock()
	list := p.listeners[ep.local.Port()]
	for i, x := range list {
		if x == ep {
			list = append(list[:i:i], list[i+1:]...)
			break
		}
	}
	if len(list) == 0 {
		delete(p.listeners, ep.local.Port())
	} else {
		p.listeners[ep.local.Port()] = list
	}
	p.mu.Unlock()
	var children []*Endpoint
	if ep.lst != nil {
		for c := range ep.lst.syn {
			children = append(children, c)
		}
		children = append(children, ep.lst.accept...)
		ep.lst = nil
	}
	if ep.state == Listen {
		ep.setStateLocked(Closed)
	}
	if ep.ownsPort {
		p.ports.Release(ep.bindAddr, ep.local.Port(), ep)
		ep.ownsPort = false
	}
	signal(ep.rdCh)
	return children
}

// abortChildren resets the children of a closed listener (cf.
// inet_csk_listen_stop).
func abortChildren(children []*Endpoint) {
	for _, c := range children {
		c.mu.Lock()
		c.parent = nil
		c.closed = true
		if c.state != Closed {
			c.sendControlLocked(c.snd.MAX, wire.TCPFlagRST|wire.TCPFlagACK)
			c.destroyLocked(syscall.ECONNRESET)
		} else {
			// Reset while queued: free what it received.
			c.rcvq.flush()
			c.p.trackEnded(c, false)
		}
		c.mu.Unlock()
	}
}

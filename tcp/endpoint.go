package tcp

// The socket calls: what the sockets layer (and gonet) uses.
//
// Read before editing: RFC 9293 §3.10.1–3.10.6 (OPEN, SEND, RECEIVE,
// CLOSE, ABORT, STATUS as user calls), RFC 1122 §4.2.2.13 (closing with
// unread data sends RST). Linux: tcp_v4_connect, tcp_sendmsg,
// tcp_recvmsg, tcp_shutdown, tcp_close, tcp_cleanup_rbuf, do_tcp_setsockopt.

import (
	"io"
	"net/netip"
	"syscall"
	"time"

	"ustack/ipv4"
	"ustack/seqnum"
	"ustack/socket"
	"ustack/trace"
	"ustack/wire"
)

// NewEndpoint returns an unbound, unconnected socket.
func (p *Proto) NewEndpoint() *Endpoint { return p.newEndpoint() }

// isClosed reports whether Close was called: sockets then neither bind
// nor connect. Context: any (takes p.mu).
func (p *Proto) isClosed() bool {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.closed
}

// Bind reserves a local address and port (port 0: ephemeral).
// Errors: EADDRINUSE, EADDRNOTAVAIL, EINVAL. Context: process.
func (ep *Endpoint) Bind(addr netip.AddrPort) error {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	if ep.closed || ep.ownsPort || ep.state != Closed || ep.hashed {
		return syscall.EINVAL
	}
	return ep.bindLocked(addr)
}

func (ep *Endpoint) bindLocked(addr netip.AddrPort) error {
	if ep.p.isClosed() {
		return socket.ErrClosed
	}
	a := addr.Addr()
	if !a.IsValid() {
		a = netip.IPv4Unspecified()
	}
	if !a.Is4() {
		return syscall.EAFNOSUPPORT
	}
	if !a.IsUnspecified() && !a.IsLoopback() && ep.p.cfg.IsLocal != nil && !ep.p.cfg.IsLocal(a) {
		return syscall.EADDRNOTAVAIL
	}
	port, err := ep.p.ports.Bind(a, addr.Port(), false, ep)
	if err != nil {
		return err
	}
	ep.local, ep.bindAddr, ep.ownsPort = netip.AddrPortFrom(a, port), a, true
	return nil
}

// Connect opens a connection to remote (active OPEN) and waits until it
// is established, fails (ECONNREFUSED, ETIMEDOUT, an ICMP error), or
// cancel is closed (the attempt is then abandoned and ECANCELED
// returned). Context: process.
func (ep *Endpoint) Connect(remote netip.AddrPort, cancel <-chan struct{}) error {
	err := ep.connect(remote, cancel)
	if pr := ep.p.probes.sockConnect; pr.Enabled() {
		ep.mu.Lock()
		ep.fireSocketLocked(pr, err)
		ep.mu.Unlock()
	}
	return err
}

// connect is Connect, without its probe.
func (ep *Endpoint) connect(remote netip.AddrPort, cancel <-chan struct{}) error {
	if err := ep.startConnect(remote); err != nil {
		return err
	}
	ep.mu.Lock()
	defer ep.mu.Unlock()
	for {
		st, err := ep.state, ep.err
		if st != SynSent && st != SynRcvd {
			if st == Closed && err == nil {
				err = syscall.ECONNRESET
			}
			if st != Closed {
				return nil
			}
			return err
		}
		if isClosed(cancel) {
			ep.p.stats.AttemptFails.Inc()
			if ep.state == SynRcvd {
				ep.sendControlLocked(ep.snd.MAX, wire.TCPFlagRST|wire.TCPFlagACK)
			}
			ep.destroyLocked(syscall.ECANCELED)
			return syscall.ECANCELED
		}
		ep.sleepLocked(&ep.estCh, cancel)
	}
}

// isClosed reports whether c is closed (a nil c never is).
func isClosed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

func (ep *Endpoint) startConnect(remote netip.AddrPort) error {
	if !remote.Addr().Is4() || remote.Port() == 0 || remote.Addr().IsUnspecified() {
		return syscall.EINVAL
	}
	p := ep.p
	ep.mu.Lock()
	defer ep.mu.Unlock()
	if ep.closed {
		return socket.ErrClosed
	}
	if ep.state != Closed || ep.hashed || ep.err != nil {
		return syscall.EISCONN
	}
	if p.isClosed() { // the stack is closing: not "no route" (its devices are gone)
		return socket.ErrClosed
	}
	rt, err := p.ip.RouteOutput(remote.Addr(), ep.local.Addr())
	if err != nil {
		return ipv4.Errno(err)
	}
	if !ep.ownsPort {
		if err := ep.bindLocked(netip.AddrPortFrom(rt.Src, 0)); err != nil {
			return err
		}
	}
	local := ep.local
	if local.Addr().IsUnspecified() {
		local = netip.AddrPortFrom(rt.Src, local.Port())
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return socket.ErrClosed
	}
	if p.conns[fourTuple{local, remote}] != nil {
		p.mu.Unlock()
		return syscall.EADDRINUSE
	}
	p.conns[fourTuple{local, remote}] = ep
	p.mu.Unlock()
	ep.hashed, ep.active = true, true
	ep.local, ep.remote = local, remote
	ep.rt, ep.hasRoute = rt, true
	ep.advMSS = ep.routeMSS()
	ep.mss = min(ep.advMSS, defaultMSS)
	ep.rcv.Shift = ep.rcvShift()
	ep.snd.ISS = p.isn.isn(local, remote, p.clk.Now())
	ep.snd.UNA, ep.snd.NXT, ep.snd.MAX = ep.snd.ISS, ep.snd.ISS, ep.snd.ISS
	ep.ringSeq = ep.snd.ISS + 1
	p.stats.ActiveOpens.Inc()
	ep.setStateLocked(SynSent)
	if pr := p.probes.connectRequest; pr.Enabled() {
		pr.Fire(&trace.Event{Proto: ProtoNumber, Src: local.Addr(), Dst: remote.Addr(), SrcPort: local.Port(), DstPort: remote.Port()})
	}
	ep.sendSYNLocked(false)
	ep.rttTiming, ep.rttSeq, ep.rttStart = true, ep.snd.ISS+1, p.clk.Now()
	ep.armRTOLocked()
	return nil
}

// Read copies received data into p: the one copy out. It returns io.EOF
// after the peer's FIN (or CloseRead), the connection's error after a
// reset or timeout, os.ErrDeadlineExceeded after the read deadline.
// Context: process.
func (ep *Endpoint) Read(p []byte) (int, error) {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	for {
		if ep.readDL.Expired() {
			return 0, socket.ErrDeadlineExceeded
		}
		if ep.closed {
			return 0, socket.ErrClosed
		}
		if ep.rcvq.bytes > 0 && !ep.rdShut {
			if len(p) == 0 {
				return 0, nil
			}
			n := ep.rcvq.read(p)
			if ep.rcvAuto {
				ep.rcvSpaceAdjustLocked(n)
			}
			ep.windowUpdateLocked()
			if ep.rcvq.bytes > 0 {
				signal(ep.rdCh)
			}
			return n, nil
		}
		var err error
		switch {
		case ep.rdShut || ep.peerFin:
			err = io.EOF
		case ep.err != nil:
			err = ep.err
		case ep.state == Closed || ep.state == Listen:
			err = syscall.ENOTCONN
			if ep.hashed || ep.active {
				err = io.EOF
			}
		}
		if err != nil {
			signal(ep.rdCh)
			return 0, err
		}
		ep.sleepLocked(&ep.rdCh, nil)
	}
}

// maxAutoBuf caps buffer auto-tuning (cf. tcp_rmem[2], tcp_wmem[2]).
const maxAutoBuf = 4 << 20

// rcvSpaceAdjustLocked grows the receive buffer when the application
// drains more than half of it per round trip, so the window never limits
// a fast reader (cf. tcp_rcv_space_adjust, "dynamic right-sizing").
func (ep *Endpoint) rcvSpaceAdjustLocked(n int) {
	ep.rcvSpaceCopied += n
	if !ep.rtt.measured {
		return
	}
	// The time of the last arrival, not a fresh clock read, as Linux uses
	// tcp_mstamp: the data being read came in by then, and a Read is too
	// frequent an event to read the clock for.
	now := ep.lastRcv
	if now.Sub(ep.rcvSpaceStart) < max(ep.rtt.srtt, time.Millisecond) {
		return
	}
	if need := 2 * ep.rcvSpaceCopied; need > ep.rcvBuf {
		ep.rcvBuf = min(need, max(maxAutoBuf, ep.rcvBuf))
	}
	ep.rcvSpaceStart, ep.rcvSpaceCopied = now, 0
}

// windowUpdateLocked sends a window update after a read opened the
// window enough to matter (cf. tcp_cleanup_rbuf): it at least doubled and
// grew by two segments, or it reopens a window below one segment.
func (ep *Endpoint) windowUpdateLocked() {
	if !ep.state.synchronized() || ep.state == TimeWait || ep.peerFin {
		return
	}
	cur := 0
	if ep.rcv.NXT.LessThan(ep.rcv.right) {
		cur = int(ep.rcv.right.Sub(ep.rcv.NXT))
	}
	nw := int(ep.rcvWindowLocked())
	if nw-cur >= 2*ep.rcvMSS && nw >= 2*cur || cur < ep.rcvMSS && nw >= ep.rcvMSS {
		ep.sendAckLocked()
	}
}

// Write queues p for sending, copying it once into the send ring, and
// waits while the ring is full. Context: process.
func (ep *Endpoint) Write(p []byte) (int, error) {
	n := 0
	ep.mu.Lock()
	defer ep.mu.Unlock()
	for {
		if ep.writeDL.Expired() {
			return n, socket.ErrDeadlineExceeded
		}
		if ep.closed {
			return n, socket.ErrClosed
		}
		if ep.err != nil {
			return n, ep.err
		}
		if ep.finQueued {
			return n, syscall.EPIPE
		}
		switch ep.state {
		case Established, CloseWait:
		case SynSent, SynRcvd:
			ep.sleepLocked(&ep.wrCh, nil)
			continue
		default:
			if ep.state == Closed && !ep.active && !ep.hashed || ep.state == Listen {
				return n, syscall.ENOTCONN
			}
			return n, syscall.EPIPE
		}
		k := ep.sndq.write(p[n:])
		n += k
		if k > 0 {
			ep.outputLocked(false)
		}
		if n == len(p) {
			return n, nil
		}
		ep.sleepLocked(&ep.wrCh, nil)
	}
}

// CloseWrite sends a FIN after the queued data (shutdown(SHUT_WR)).
// Context: process.
func (ep *Endpoint) CloseWrite() error {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	if ep.closed {
		return socket.ErrClosed
	}
	return ep.shutdownWriteLocked()
}

func (ep *Endpoint) shutdownWriteLocked() error {
	switch ep.state {
	case Established, SynRcvd:
		ep.setStateLocked(FinWait1)
	case CloseWait:
		ep.setStateLocked(LastAck)
	case SynSent:
		ep.destroyLocked(nil)
		return nil
	case Closed, Listen:
		return syscall.ENOTCONN
	default:
		return nil // already shut down
	}
	ep.finQueued = true
	ep.outputLocked(true)
	signal(ep.wrCh)
	return nil
}

// CloseRead discards data received from now on (shutdown(SHUT_RD)):
// reads return io.EOF. Context: process.
func (ep *Endpoint) CloseRead() error {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	if ep.closed {
		return socket.ErrClosed
	}
	if !ep.state.synchronized() {
		return syscall.ENOTCONN
	}
	ep.rdShut = true
	ep.rcvq.flush()
	signal(ep.rdCh)
	return nil
}

// Close releases the socket (cf. tcp_close). Unread data or linger 0
// reset the connection; otherwise a FIN follows the queued data and the
// connection finishes in the background, unless a positive linger makes
// Close wait for it. Context: process.
func (ep *Endpoint) Close() error {
	ep.mu.Lock()
	if ep.closed {
		ep.mu.Unlock()
		return socket.ErrClosed
	}
	ep.closed = true
	if pr := ep.p.probes.sockClose; pr.Enabled() {
		ep.fireSocketLocked(pr, nil)
	}
	st := ep.p.stats
	linger := ep.linger
	switch {
	case ep.state == Listen || ep.lst != nil:
		children := ep.closeListenerLocked()
		ep.destroyLocked(nil)
		ep.mu.Unlock()
		abortChildren(children)
		return nil
	case ep.state == Closed || ep.state == SynSent:
		ep.destroyLocked(nil)
	case ep.state == TimeWait:
		ep.rcvq.flush()
	case ep.rcvq.bytes > 0 || linger == 0:
		if linger == 0 {
			st.AbortOnLinger.Inc()
		} else {
			st.AbortOnClose.Inc()
		}
		ep.sendControlLocked(ep.snd.MAX, wire.TCPFlagRST|wire.TCPFlagACK)
		if ep.state.counted() {
			st.EstabResets.Inc()
		}
		ep.destroyLocked(nil)
	default:
		ep.rcvq.flush()
		ep.shutdownWriteLocked()
		if ep.state == FinWait2 {
			ep.armTimer(&ep.wait, ep.p.cfg.FinTimeout, (*Endpoint).onWait)
		}
	}
	ep.readDL.Stop()
	ep.wakeAllLocked()
	ep.mu.Unlock()
	if linger > 0 {
		ep.waitLinger(time.Duration(linger) * time.Second)
	}
	return nil
}

// waitLinger waits until the FIN is acknowledged or d passes (SO_LINGER).
func (ep *Endpoint) waitLinger(d time.Duration) {
	deadline := ep.p.clk.Now().Add(d)
	ch := make(chan struct{})
	t := ep.p.clk.AfterFunc(d, func() { close(ch) })
	defer t.Stop()
	ep.mu.Lock()
	defer ep.mu.Unlock()
	for {
		done := ep.state == Closed || ep.state == TimeWait || ep.state == FinWait2
		if done || isClosed(ch) || !ep.p.clk.Now().Before(deadline) {
			return
		}
		ep.sleepLocked(&ep.wrCh, ch)
	}
}

// Abort resets the connection at once (RFC 9293 §3.10.5 ABORT).
func (ep *Endpoint) Abort() {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	if ep.state.synchronized() && ep.state != TimeWait {
		ep.sendControlLocked(ep.snd.MAX, wire.TCPFlagRST|wire.TCPFlagACK)
	}
	ep.closed = true
	ep.destroyLocked(nil)
}

// icmpErrorLocked applies an ICMP error quoting a segment with sequence
// number seq (RFC 5927 §4.1 check; RFC 1122 §4.2.3.9; cf. tcp_v4_err).
func (ep *Endpoint) icmpErrorLocked(e *ipv4.ICMPError, seq seqnum.Value) {
	if ep.state == Listen || ep.state == Closed {
		return
	}
	if seq.LessThan(ep.snd.UNA) || ep.snd.MAX.LessThan(seq) {
		return // not about a segment in flight: maybe spoofed
	}
	if e.Type == wire.ICMPv4DestUnreach && wire.NewICMPv4TypeCode(e.Type, e.Code) == wire.ICMPv4FragmentationNeeded {
		if e.MTU > 0 {
			ep.rt.MTU = min(ep.rt.MTU, e.MTU)
			ep.lowerMSSLocked(e.MTU, true)
		}
		return
	}
	err := e.Errno()
	if ep.state == SynSent || ep.state == SynRcvd && ep.active {
		ep.p.stats.AttemptFails.Inc()
		ep.failLocked(err)
		return
	}
	ep.softErr = err // reported if the connection then times out
}

// Option setters (setsockopt).

// SetNoDelay turns Nagle's algorithm off (TCP_NODELAY).
func (ep *Endpoint) SetNoDelay(on bool) {
	ep.mu.Lock()
	ep.noDelay = on
	if on {
		ep.outputLocked(false)
	}
	ep.mu.Unlock()
}

// SetKeepAlive turns keepalive probes on or off (SO_KEEPALIVE).
func (ep *Endpoint) SetKeepAlive(on bool) {
	ep.mu.Lock()
	ep.keepalive = on
	if on {
		ep.armKeepaliveLocked()
	} else {
		ep.stopTimer(&ep.keep)
	}
	ep.mu.Unlock()
}

// SetKeepAlivePeriod sets the idle time and the probe interval, as Go's
// net package does (TCP_KEEPIDLE and TCP_KEEPINTVL).
func (ep *Endpoint) SetKeepAlivePeriod(d time.Duration) {
	if d <= 0 {
		return
	}
	ep.mu.Lock()
	ep.keepIdle, ep.keepIntvl = d, d
	if ep.keepalive {
		ep.armKeepaliveLocked()
	}
	ep.mu.Unlock()
}

// SetKeepAliveCount sets the unanswered probes before ETIMEDOUT (TCP_KEEPCNT).
func (ep *Endpoint) SetKeepAliveCount(n int) {
	if n > 0 {
		ep.mu.Lock()
		ep.keepCnt = n
		ep.mu.Unlock()
	}
}

// SetLinger sets SO_LINGER as net.TCPConn.SetLinger does: < 0 default,
// 0 reset on Close, > 0 Close waits up to sec seconds.
func (ep *Endpoint) SetLinger(sec int) {
	ep.mu.Lock()
	ep.linger = max(sec, -1)
	ep.mu.Unlock()
}

// SetReadBuffer sets SO_RCVBUF (bytes of queued payload).
func (ep *Endpoint) SetReadBuffer(n int) {
	ep.mu.Lock()
	ep.rcvBuf, ep.rcvAuto = max(n, 2048), false
	ep.mu.Unlock()
}

// SetWriteBuffer sets SO_SNDBUF.
func (ep *Endpoint) SetWriteBuffer(n int) {
	ep.mu.Lock()
	ep.sndq.limit, ep.sndAuto = max(n, 2048), false
	ep.mu.Unlock()
}

// SetCongestion picks the congestion control algorithm by name
// (TCP_CONGESTION: "cubic", "newreno"). Only before connecting.
func (ep *Endpoint) SetCongestion(name string) error {
	c, ok := newCongestion(name)
	if !ok {
		return syscall.ENOENT
	}
	ep.mu.Lock()
	defer ep.mu.Unlock()
	if ep.state != Closed {
		return syscall.EISCONN
	}
	ep.cc = c
	return nil
}

// LocalAddr returns the local address (the zero AddrPort if unbound).
func (ep *Endpoint) LocalAddr() netip.AddrPort {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	return ep.local
}

// RemoteAddr returns the peer's address (invalid when unconnected).
func (ep *Endpoint) RemoteAddr() netip.AddrPort {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	return ep.remote
}

// State returns the connection state.
func (ep *Endpoint) State() State {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	return ep.state
}

// ReadDeadline and WriteDeadline return the socket's deadlines (the read
// deadline also bounds Accept).
func (ep *Endpoint) ReadDeadline() *socket.Deadline  { return &ep.readDL }
func (ep *Endpoint) WriteDeadline() *socket.Deadline { return &ep.writeDL }

// Info is a snapshot for `ss -i` and tests (cf. struct tcp_info).
type Info struct {
	State                State
	MSS                  int
	SRTT, RTTVar, RTO    time.Duration
	Cwnd, Ssthresh       int
	SndWnd, RcvWnd       uint32
	InFlight, Unsent     int
	RcvQueued, OOOQueued int
	Congestion           string
}

// Info returns the connection's current numbers.
func (ep *Endpoint) Info() Info {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	return ep.infoLocked()
}

func (ep *Endpoint) infoLocked() Info {
	in := Info{State: ep.state, MSS: ep.mss, SRTT: ep.rtt.srtt, RTTVar: ep.rtt.rttvar, RTO: ep.rtoDuration(),
		SndWnd: ep.snd.WND, RcvWnd: ep.rcv.WND, InFlight: ep.inFlight(), Unsent: ep.unsentLocked(),
		RcvQueued: ep.rcvq.bytes, OOOQueued: ep.ooo.bytes}
	if ep.cc != nil {
		in.Cwnd, in.Ssthresh, in.Congestion = ep.cc.Cwnd(), ep.cc.Ssthresh(), ep.cc.Name()
	}
	return in
}

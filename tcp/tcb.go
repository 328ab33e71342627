package tcp

// The transmission control block.
//
// Read before editing: RFC 9293 §3.3.1 (the send and receive sequence
// variables, named here as there), §3.3.2 (states), RFC 7323 §2 and §5
// (Snd.Wind.Shift, Rcv.Wind.Shift, TS.Recent, Last.ACK.sent).

import (
	"net/netip"
	"sync"
	"time"

	"ustack/clock"
	"ustack/ipv4"
	"ustack/seqnum"
	"ustack/socket"
	"ustack/tcp/cc"
	"ustack/trace"
)

// sendVars are RFC 9293's send sequence variables, plus MAX (the highest
// sequence number sent, Linux's snd_nxt when ours is rewound by an RTO).
type sendVars struct {
	UNA, NXT, MAX seqnum.Value
	WND           uint32 // peer's window in bytes, scaled
	WL1, WL2      seqnum.Value
	ISS           seqnum.Value
	Shift         uint8 // Snd.Wind.Shift
}

// recvVars are RFC 9293's receive sequence variables.
type recvVars struct {
	NXT   seqnum.Value
	WND   uint32 // window last advertised: right edge minus NXT
	IRS   seqnum.Value
	Shift uint8        // Rcv.Wind.Shift
	right seqnum.Value // right edge last advertised (never moved left)
}

// Endpoint is one TCP socket: a connection, or a listener. Its methods
// are safe for concurrent use. Lock order: see the package comment.
type Endpoint struct {
	p       *Proto
	readDL  socket.Deadline // also bounds Accept
	writeDL socket.Deadline

	mu sync.Mutex

	// Wait channels (cf. the socket's wait queue, sk_sleep): a blocked
	// call sleeps on one, made by the first sleeper (see sleepLocked) and
	// dropped when the connection goes idle with no one asleep
	// (reclaimLocked), so that an idle connection nobody waits on holds
	// none. signal, with mu held, wakes one sleeper; nil means no one
	// sleeps. wakeAllLocked wakes them all (close, reset, deadlines).
	rdCh, wrCh, estCh chan struct{} // readable, EOF or error (and Accept's wake-up); writable or error; the handshake ended
	sleepers          int32         // calls asleep on any of them

	state    State
	local    netip.AddrPort
	remote   netip.AddrPort
	bindAddr netip.Addr // address the port was reserved on
	ownsPort bool       // holds a reservation in p.ports
	hashed   bool       // in p.conns
	rt       ipv4.Route
	hasRoute bool

	snd sendVars
	rcv recvVars

	// Options negotiated (options.go).
	mss         int  // effective send MSS, options not counted (RFC 6691)
	advMSS      int  // MSS we announced
	tsOK        bool // timestamps on (RFC 7323)
	tsRecent    uint32
	tsRecentAt  time.Time
	lastAckSent seqnum.Value // Last.ACK.sent
	sackOK      bool
	wsOK        bool
	maxSndWnd   uint32 // largest window the peer offered (sender SWS)
	// totalRetrans counts segments retransmitted (tcpi_total_retrans,
	// for the socket table); it sits in what was padding.
	totalRetrans uint32
	rcvMSS       int // estimate of the peer's segment size (delayed ACK)

	// Send side.
	sndq           sendRing
	ringSeq        seqnum.Value // sequence number of the ring's first byte
	finQueued      bool         // the user closed the write side
	noDelay        bool
	cc             cc.Algorithm
	rtt            rttState
	backoff        uint
	retries        int
	rttTiming      bool
	rttSeq         seqnum.Value
	rttStart       time.Time
	dupAcks        int
	inRecovery     bool
	recover        seqnum.Value
	inflate        int // NewReno window inflation during recovery, bytes
	sb             scoreboard
	persistBackoff uint

	// Receive side.
	rcvq           recvQueue
	ooo            oooQueue
	rcvBuf         int
	rcvAuto        bool // rcvBuf auto-tuned (until SetReadBuffer)
	sndAuto        bool // send ring limit auto-tuned (until SetWriteBuffer)
	rcvSpaceStart  time.Time
	rcvSpaceCopied int
	peerFin        bool // FIN received: reads see EOF after the data
	finPending     bool // FIN seen beyond a hole, at finSeq
	finSeq         seqnum.Value
	ackPending     bool  // an ACK is owed (delayed)
	ackNow         bool  // ... and must go out before input processing ends
	quickAcks      int32 // data segments still to ACK at once (slow start)
	// dsack is a duplicate received, for the next ACK's first SACK block
	// (RFC 2883); empty when Left == Right.
	dsack        struct{ Left, Right seqnum.Value }
	unackedBytes int // in-order bytes received since the last ACK sent

	// Timers (timers.go): five deadlines behind one clock timer.
	rto, delack, persist, keep, wait tcpTimer
	clockTimer                       clock.Timer   // nil until first armed, and again when idle
	clockAt                          time.Duration // when clockTimer fires, from the epoch
	clockPending                     bool

	// Keepalive.
	keepalive  bool
	keepIdle   time.Duration
	keepIntvl  time.Duration
	keepCnt    int
	keepProbes int
	lastRcv    time.Time
	// evNow is the time of the event being handled (a segment, a timer, a
	// send), read once for it the way Linux refreshes tcp_mstamp; valid
	// only while evNowOK, which the event's handler clears before it
	// returns. See nowLocked.
	evNow      time.Time
	evNowOK    bool
	lastOOWAck time.Time // rate limit for ACKs to unacceptable segments

	// User side.
	rdShut  bool  // CloseRead
	closed  bool  // Close was called (orphan)
	linger  int   // seconds; -1: no linger
	err     error // hard error, reported to every call
	softErr error // ICMP soft error, reported on timeout
	active  bool  // opened by Connect

	// Listener / child.
	lst    *listenState
	parent *Endpoint // the listener, while this child is not yet accepted
}

func (p *Proto) newEndpoint() *Endpoint {
	ep := &Endpoint{
		p: p, rcvBuf: p.cfg.RcvBuf, linger: -1, rcvAuto: true, sndAuto: true,
		keepIdle: p.cfg.KeepIdle, keepIntvl: p.cfg.KeepIntvl, keepCnt: p.cfg.KeepCnt,
	}
	wake := ep.deadlinePassed
	ep.readDL.Init(p.clk, wake)
	ep.writeDL.Init(p.clk, wake)
	ep.sndq.limit = p.cfg.SndBuf
	ep.sndq.s.Pool = p.pool
	ep.rtt.init(p.cfg.MinRTO)
	return ep
}

// signal wakes one sleeper on ch, if any. Called with the endpoint's mu
// held (ch is one of its wait channels).
func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default: // a wake-up is already pending, or no one sleeps (nil)
	}
}

// wakeAllLocked wakes every sleeper to re-examine the state: it closes
// the wait channels (a broadcast, where signal wakes one) and forgets
// them, so that no one signals a closed channel and later sleepers make
// new ones. For events every call must see: close, reset, a deadline.
func (ep *Endpoint) wakeAllLocked() {
	for _, ch := range [...]*chan struct{}{&ep.rdCh, &ep.wrCh, &ep.estCh} {
		if *ch != nil {
			close(*ch)
			*ch = nil
		}
	}
}

// deadlinePassed is the deadlines' wake-up: the sleepers see Expired.
// Context: timer, or process (a Set in the past).
func (ep *Endpoint) deadlinePassed() {
	ep.mu.Lock()
	ep.wakeAllLocked()
	ep.mu.Unlock()
}

// sleepLocked waits, ep.mu released meanwhile, until *ch is signalled or
// cancel is closed (nil: never). ch is one of rdCh, wrCh, estCh; the
// first sleeper makes it, and it stays while the connection is busy (a
// sleep costs no allocation then). Whoever signals holds ep.mu, and the
// caller checked its condition under it before sleeping, so no wake-up
// falls between the two. Context: process.
func (ep *Endpoint) sleepLocked(ch *chan struct{}, cancel <-chan struct{}) {
	if *ch == nil {
		*ch = make(chan struct{}, 1)
	}
	c := *ch
	ep.sleepers++
	ep.mu.Unlock()
	select {
	case <-c:
	case <-cancel:
	}
	ep.mu.Lock()
	ep.sleepers--
}

// dropWaitChansLocked forgets the wait channels when no call sleeps (a
// pending wake-up goes with them: there is no one to wake).
func (ep *Endpoint) dropWaitChansLocked() {
	if ep.sleepers == 0 {
		ep.rdCh, ep.wrCh, ep.estCh = nil, nil, nil
	}
}

// setStateLocked moves to state s, firing tcp:::state-change and keeping
// CurrEstab (cf. tcp_set_state).
func (ep *Endpoint) setStateLocked(s State) {
	old := ep.state
	if old == s {
		return
	}
	ep.state = s
	st := ep.p.stats
	if old.counted() && !s.counted() {
		st.CurrEstab.Add(-1)
	} else if !old.counted() && s.counted() {
		st.CurrEstab.Add(1)
	}
	if pr := ep.p.probes.stateChange; pr.Enabled() {
		pr.Fire(&trace.Event{Proto: ProtoNumber, Src: ep.local.Addr(), Dst: ep.remote.Addr(),
			SrcPort: ep.local.Port(), DstPort: ep.remote.Port(), OldState: old.String(), NewState: s.String()})
	}
}

// destroyLocked ends the connection for good (cf. tcp_done): CLOSED,
// timers stopped, unhashed, queued data freed unless the user may still
// read it, waiters woken with err (nil: an orderly end).
func (ep *Endpoint) destroyLocked(err error) {
	if err != nil && ep.err == nil {
		ep.err = err
	}
	// A child dying in SYN_RCVD was never the user's; any other socket
	// not yet closed is, and may still be read.
	held := !ep.closed
	if ep.state == SynRcvd && ep.parent != nil {
		ep.parent.childGone(ep)
		held = false
	}
	ep.setStateLocked(Closed)
	ep.stopTimersLocked()
	ep.ooo.flush()
	ep.sndq.release()
	if ep.lst != nil {
		ep.closeListenerLocked()
	}
	ep.unhashLocked()
	ep.p.trackEnded(ep, held)
	if ep.closed {
		ep.rcvq.flush()
		ep.readDL.Stop()
		ep.writeDL.Stop()
	}
	ep.wakeAllLocked()
}

// trackEnded records (held) or forgets a connection that has ended while
// its user may still read from it, so that Proto.Close can free it.
func (p *Proto) trackEnded(ep *Endpoint, held bool) {
	p.mu.Lock()
	if held {
		if p.ended == nil {
			p.ended = make(map[*Endpoint]struct{})
		}
		p.ended[ep] = struct{}{}
	} else {
		delete(p.ended, ep)
	}
	p.mu.Unlock()
}

// unhashLocked removes the connection from the demux table and gives the
// port back.
func (ep *Endpoint) unhashLocked() {
	p := ep.p
	if ep.hashed {
		p.mu.Lock()
		if p.conns[fourTuple{ep.local, ep.remote}] == ep {
			delete(p.conns, fourTuple{ep.local, ep.remote})
		}
		p.mu.Unlock()
		ep.hashed = false
	}
	if ep.ownsPort && ep.state == Closed {
		p.ports.Release(ep.bindAddr, ep.local.Port(), ep)
		ep.ownsPort = false
	}
}

// inFlight is the bytes sent and not yet acknowledged (FlightSize).
func (ep *Endpoint) inFlight() int { return int(ep.snd.NXT.Sub(ep.snd.UNA)) }

// smss is the sender maximum segment size as congestion control counts
// it: the MSS less the timestamp option carried by every segment.
func (ep *Endpoint) smss() int {
	if ep.tsOK {
		return ep.mss - 12
	}
	return ep.mss
}

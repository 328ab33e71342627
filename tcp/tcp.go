// Package tcp is the Transmission Control Protocol: the RFC 9293 state
// machine with its TCB, segment arrival one handler per state, output
// with Nagle and silly-window avoidance, retransmission per RFC 6298 with
// fast retransmit and NewReno recovery, an out-of-order queue, window
// scaling, timestamps with PAWS, SACK-permitted and SACK blocks, delayed
// ACKs, persist and keepalive timers, TIME_WAIT, passive open with SYN and
// accept queues, and RFC 5961's defences (cf. Linux net/ipv4/tcp*.c).
//
// Read before editing: RFC 9293 (all of §3), RFC 1122 §4.2, RFC 5681,
// RFC 6582, RFC 6298, RFC 7323, RFC 2018, RFC 5961, RFC 6528, RFC 6691,
// RFC 896. Files by concern: state.go (the states), tcb.go (the
// connection block), input.go (segment arrival), ack.go (ACK processing
// and loss recovery), output.go (segment building and send decisions),
// timers.go, rtt.go, ooo.go, options.go, listen.go, demux.go,
// endpoint.go (the socket calls), isn.go, sndbuf.go, rcvq.go.
//
// Concurrency. Each connection has one mutex guarding its TCB; segment
// arrival (Context: softnet), the socket calls (Context: process) and the
// timers (Context: timer) all take it. Sending a segment under it is safe:
// output never re-enters TCP synchronously (device receive goes through
// the softnet ring, even on loopback). Lock order: a child connection's
// Endpoint.mu, then its listener's Endpoint.mu, then Proto.mu, then the
// port table's. The package starts no goroutines: blocked calls wait on
// channels, timers are the clock's.
package tcp

import (
	"encoding/binary"
	"net/netip"
	"sync"
	"time"

	"ustack/clock"
	"ustack/ipv4"
	"ustack/pkt"
	"ustack/seqnum"
	"ustack/socket"
	"ustack/stats"
	"ustack/trace"
	"ustack/wire"
)

// ProtoNumber is TCP's IP protocol number.
const ProtoNumber = 6

// Network is what TCP needs of the IP layer (*ipv4.Proto implements it).
type Network interface {
	RouteOutput(dst, src netip.Addr) (ipv4.Route, error)
	Output(b *pkt.Buf, rt *ipv4.Route, proto uint8, o ipv4.SendOptions) error
}

// Config configures TCP for one stack. Zero fields take Linux's defaults.
type Config struct {
	IP     Network
	Pool   *pkt.Pool
	Clock  clock.Clock
	Tracer *trace.Tracer
	Stats  *stats.TCP
	Seed   uint64
	// IsLocal reports whether a is one of the stack's addresses (for
	// Bind); nil accepts any address.
	IsLocal func(a netip.Addr) bool

	MSL                                 time.Duration // TIME_WAIT lasts 2*MSL (default 30s: Linux's 60s TIME_WAIT)
	FinTimeout                          time.Duration // orphaned FIN_WAIT_2 lifetime (tcp_fin_timeout, 60s)
	MinRTO                              time.Duration // 200ms (TCP_RTO_MIN)
	DelAck                              time.Duration // delayed-ACK timeout (40ms, TCP_DELACK_MIN)
	SynRetries                          int           // tcp_syn_retries (6)
	Retries                             int           // tcp_retries2 (15)
	SndBuf                              int           // default SO_SNDBUF (256 KiB)
	RcvBuf                              int           // default SO_RCVBUF (256 KiB)
	Congestion                          string        // default algorithm ("cubic")
	KeepIdle                            time.Duration // 2h
	KeepIntvl                           time.Duration // 75s
	KeepCnt                             int           // 9
	ChallengeRate                       int           // challenge ACKs per second, stack-wide (1000)
	NoTimestamps, NoSACK, NoWindowScale bool
	NoSyncookies                        bool // drop SYNs when the SYN queue is full (tcp_syncookies=0)
	NoTailLossProbe                     bool // RTO only, no RFC 8985 tail loss probe first (tcp_early_retrans=0)
}

func (c *Config) defaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	defi := func(d *int, v int) {
		if *d == 0 {
			*d = v
		}
	}
	def(&c.MSL, 30*time.Second)
	def(&c.FinTimeout, 60*time.Second)
	def(&c.MinRTO, 200*time.Millisecond)
	def(&c.DelAck, 40*time.Millisecond)
	def(&c.KeepIdle, 2*time.Hour)
	def(&c.KeepIntvl, 75*time.Second)
	defi(&c.SynRetries, 6)
	defi(&c.Retries, 15)
	defi(&c.SndBuf, 256<<10)
	defi(&c.RcvBuf, 256<<10)
	defi(&c.KeepCnt, 9)
	defi(&c.ChallengeRate, 1000)
	if c.Congestion == "" {
		c.Congestion = "cubic"
	}
}

// Proto is TCP for one stack.
type Proto struct {
	cfg    Config
	ip     Network
	pool   *pkt.Pool
	clk    clock.Clock
	stats  *stats.TCP
	ports  *socket.Ports
	isn    isnGen
	epoch  time.Time // timestamps clock origin
	probes struct {
		connectRequest, connectEstablished, acceptEstablished *trace.Probe
		stateChange, send, receive, retransmit, drop, cwnd    *trace.Probe
		sockAccept, sockConnect, sockClose, sockEnqueue       *trace.Probe // socket:::*
	}
	tracer *trace.Tracer // packet ids

	chMu     sync.Mutex // challenge ACK budget
	chSecond int64
	chLeft   int

	mu        sync.RWMutex
	conns     map[fourTuple]*Endpoint
	listeners map[uint16][]*Endpoint
	// ended holds connections that ended (reset, timed out) while the
	// user still holds the socket: out of the demux table, they may keep
	// received data for the user to read, and Close must still free it.
	ended  map[*Endpoint]struct{}
	closed bool
}

type fourTuple struct {
	local, remote netip.AddrPort
}

// New builds TCP. The caller registers it with IP (ip.Register(6, p)).
func New(c Config) *Proto {
	c.defaults()
	if c.Clock == nil {
		c.Clock = clock.Real()
	}
	if c.Stats == nil {
		c.Stats = new(stats.TCP)
	}
	if c.Tracer == nil {
		c.Tracer = trace.New(c.Clock)
	}
	now := c.Clock.Now()
	p := &Proto{
		cfg: c, ip: c.IP, pool: c.Pool, clk: c.Clock, stats: c.Stats,
		ports: socket.NewPorts(c.Seed ^ 0x7c9), isn: newISNGen(c.Seed, now),
		epoch:     now.Add(-time.Duration(c.Seed%1000000) * time.Millisecond),
		conns:     make(map[fourTuple]*Endpoint),
		listeners: make(map[uint16][]*Endpoint),
	}
	tr := c.Tracer
	p.probes.connectRequest = tr.Probe("tcp", "connect-request")
	p.probes.connectEstablished = tr.Probe("tcp", "connect-established")
	p.probes.acceptEstablished = tr.Probe("tcp", "accept-established")
	p.probes.stateChange = tr.Probe("tcp", "state-change")
	p.probes.send = tr.Probe("tcp", "send")
	p.probes.receive = tr.Probe("tcp", "receive")
	p.probes.retransmit = tr.Probe("tcp", "retransmit")
	p.probes.drop = tr.Probe("tcp", "drop")
	p.probes.cwnd = tr.Probe("tcp", "cwnd")
	p.probes.sockAccept = tr.Probe("socket", "accept")
	p.probes.sockConnect = tr.Probe("socket", "connect")
	p.probes.sockClose = tr.Probe("socket", "close")
	p.probes.sockEnqueue = tr.Probe("socket", "enqueue")
	p.tracer = tr
	return p
}

// Stats returns the counters.
func (p *Proto) Stats() *stats.TCP { return p.stats }

// segment is one arrived segment, parsed (cf. struct tcp_skb_cb).
type segment struct {
	src, dst netip.AddrPort
	seq, ack seqnum.Value
	flags    wire.TCPFlags
	wnd      uint16
	opts     wire.TCPOptions
	b        *pkt.Buf // the payload; whoever consumes it sets b to nil
	plen     int      // payload length
}

func (s *segment) has(f wire.TCPFlags) bool { return s.flags&f != 0 }

// seqLen is SEG.LEN: payload plus one for SYN and one for FIN.
func (s *segment) seqLen() seqnum.Size {
	n := seqnum.Size(s.plen)
	if s.has(wire.TCPFlagSYN) {
		n++
	}
	if s.has(wire.TCPFlagFIN) {
		n++
	}
	return n
}

// Deliver implements ipv4.Protocol: one segment, data at the TCP header;
// takes ownership (cf. tcp_v4_rcv). Context: softnet.
func (p *Proto) Deliver(b *pkt.Buf, info ipv4.RxInfo) {
	st := p.stats
	st.InSegs.Inc()
	if info.Broadcast || info.Dst.IsMulticast() {
		p.drop(b, &st.InDropped, "to a broadcast or multicast address")
		return
	}
	hb := b.Peek(wire.TCPMinHeaderLen)
	if hb == nil {
		p.drop(b, &st.InErrs, "truncated header")
		return
	}
	hlen := int(hb[12]>>4) * 4
	if hlen < wire.TCPMinHeaderLen || hlen > b.Len() || b.Len() > 0xffff {
		p.drop(b, &st.InErrs, "bad data offset")
		return
	}
	if !info.Offload {
		sum := wire.PseudoHeaderSum(info.Src, info.Dst, ProtoNumber, uint16(b.Len()))
		off := 0
		for i := 0; i < b.NumViews(); i++ {
			v := b.View(i)
			sum = wire.Combine(sum, wire.Checksum(v, 0), off)
			off += len(v)
		}
		if wire.Fold(sum) != 0xffff {
			st.InCsumErrors.Inc()
			p.drop(b, &st.InErrs, "bad checksum")
			return
		}
	}
	h := b.Peek(hlen)
	var s segment
	s.src = netip.AddrPortFrom(info.Src, binary.BigEndian.Uint16(h[0:]))
	s.dst = netip.AddrPortFrom(info.Dst, binary.BigEndian.Uint16(h[2:]))
	s.seq = seqnum.Value(binary.BigEndian.Uint32(h[4:]))
	s.ack = seqnum.Value(binary.BigEndian.Uint32(h[8:]))
	s.flags = wire.TCPFlags(binary.BigEndian.Uint16(h[12:]) & 0x0fff)
	s.wnd = binary.BigEndian.Uint16(h[14:])
	if hlen > wire.TCPMinHeaderLen {
		if err := s.opts.Parse(h[wire.TCPMinHeaderLen:hlen]); err != nil {
			p.drop(b, &st.InErrs, "malformed option")
			return
		}
	}
	if s.src.Port() == 0 || s.dst.Port() == 0 {
		p.drop(b, &st.InErrs, "port zero")
		return
	}
	b.Pull(hlen)
	s.b, s.plen = b, b.Len()
	if pr := p.probes.receive; pr.Enabled() {
		e := segEvent(b.ID, s.src, s.dst, s.seq, s.ack, s.flags, s.wnd, p.peerShift(&s), s.plen)
		if pr.WantsPayload() {
			e.Payload = payloadOf(b, 0, s.plen)
		}
		pr.Fire(&e)
	}
	p.demux(&s)
	if s.b != nil {
		s.b.Free()
	}
}

// DeliverError implements ipv4.Protocol: an ICMP error quoting a segment
// we sent (cf. tcp_v4_err). Context: softnet.
func (p *Proto) DeliverError(e *ipv4.ICMPError) {
	q := e.Transport
	if len(q) < 8 {
		return
	}
	local := netip.AddrPortFrom(e.Src, binary.BigEndian.Uint16(q[0:]))
	remote := netip.AddrPortFrom(e.Dst, binary.BigEndian.Uint16(q[2:]))
	seq := seqnum.Value(binary.BigEndian.Uint32(q[4:]))
	p.mu.RLock()
	ep := p.conns[fourTuple{local, remote}]
	p.mu.RUnlock()
	if ep == nil {
		return
	}
	ep.mu.Lock()
	ep.icmpErrorLocked(e, seq)
	ep.mu.Unlock()
}

func (p *Proto) drop(b *pkt.Buf, c *stats.Counter, reason string) {
	if c != nil {
		c.Inc()
	}
	if pr := p.probes.drop; pr.Enabled() {
		e := trace.Event{PktID: b.ID, Len: b.Len(), Proto: ProtoNumber, Reason: reason}
		e.FillAddrs(b.NetworkHeader(), b.TransportHeader())
		pr.Fire(&e)
	}
	b.Free()
}

// dropSeg counts and reports a dropped segment; the dispatcher frees it.
func (p *Proto) dropSeg(s *segment, c *stats.Counter, reason string) {
	if c != nil {
		c.Inc()
	}
	if pr := p.probes.drop; pr.Enabled() {
		var id uint64
		if s.b != nil {
			id = s.b.ID
		}
		e := segEvent(id, s.src, s.dst, s.seq, s.ack, s.flags, s.wnd, 0, s.plen)
		e.Reason = reason
		pr.Fire(&e)
	}
}

// Close aborts every connection silently (no segments: the devices are
// going away), stops every timer and frees every buffer.
func (p *Proto) Close() {
	p.mu.Lock()
	p.closed = true
	var all []*Endpoint
	for _, ep := range p.conns {
		all = append(all, ep)
	}
	for _, l := range p.listeners {
		all = append(all, l...)
	}
	for ep := range p.ended {
		all = append(all, ep)
	}
	p.mu.Unlock()
	for _, ep := range all {
		ep.mu.Lock()
		ep.closed = true
		ep.destroyLocked(socket.ErrClosed)
		ep.mu.Unlock()
	}
}

// tsNow is the timestamp clock: milliseconds (RFC 7323 §5.4 allows 1ms
// to 1s per tick), offset per stack.
func (p *Proto) tsNow() uint32 { return p.tsAt(p.clk.Now()) }

// tsAt is the timestamp clock's value at t.
func (p *Proto) tsAt(t time.Time) uint32 { return uint32(t.Sub(p.epoch) / time.Millisecond) }

// challengeAllowed spends one unit of the stack-wide challenge ACK budget
// (RFC 5961 §7; cf. tcp_challenge_ack_limit).
func (p *Proto) challengeAllowed() bool {
	sec := p.clk.Now().Unix()
	p.chMu.Lock()
	defer p.chMu.Unlock()
	if sec != p.chSecond {
		p.chSecond, p.chLeft = sec, p.cfg.ChallengeRate
	}
	if p.chLeft <= 0 {
		return false
	}
	p.chLeft--
	return true
}

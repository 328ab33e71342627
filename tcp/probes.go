package tcp

// The tcp provider's probe arguments, after DTrace's tcp provider
// (tcpinfo_t: tcp_seq, tcp_ack, tcp_flags, tcp_window...) and the
// socket provider's calls. Every helper here runs only after its probe's
// Enabled: the fast path builds nothing.

import (
	"net/netip"

	"ustack/pkt"
	"ustack/seqnum"
	"ustack/trace"
	"ustack/wire"
)

// segEvent returns the event of a segment from src to dst: n payload
// bytes, the window field wfield scaled by shift.
func segEvent(id uint64, src, dst netip.AddrPort, seq, ack seqnum.Value, f wire.TCPFlags, wfield uint16, shift uint8, n int) trace.Event {
	return trace.Event{
		PktID: id, Len: n, Proto: ProtoNumber,
		Src: src.Addr(), Dst: dst.Addr(), SrcPort: src.Port(), DstPort: dst.Port(),
		Segment: true, Seq: uint32(seq), Ack: uint32(ack), Flags: f,
		Window: uint32(wfield) << shift, WScale: shift,
	}
}

// payloadOf returns the n bytes of b from off, for a subscriber that
// asked for payloads: a view of b's memory when they are contiguous, else
// a copy.
func payloadOf(b *pkt.Buf, off, n int) []byte {
	if n <= 0 {
		return nil
	}
	o := off
	for i := range b.NumViews() {
		v := b.View(i)
		if o < len(v) {
			if o+n <= len(v) {
				return v[o : o+n]
			}
			break
		}
		o -= len(v)
	}
	p := make([]byte, n)
	return p[:b.CopyRange(off, p)]
}

// peerShift returns the scale of the windows the sender of s announces
// (Snd.Wind.Shift of the connection s belongs to), 0 for a SYN or a
// segment of no connection. Only for tcp:::receive's arguments: it takes
// the connection's lock. Context: softnet.
func (p *Proto) peerShift(s *segment) uint8 {
	if s.has(wire.TCPFlagSYN) {
		return 0
	}
	p.mu.RLock()
	ep := p.conns[fourTuple{s.dst, s.src}]
	p.mu.RUnlock()
	if ep == nil {
		return 0
	}
	ep.mu.Lock()
	defer ep.mu.Unlock()
	return ep.snd.Shift
}

// fireSocketLocked fires a socket provider probe (socket:::connect,
// accept, close) for ep, local end first, with err's text as the reason.
func (ep *Endpoint) fireSocketLocked(pr *trace.Probe, err error) {
	e := trace.Event{Proto: ProtoNumber, Src: ep.local.Addr(), SrcPort: ep.local.Port(),
		Dst: ep.remote.Addr(), DstPort: ep.remote.Port()}
	if err != nil {
		e.Reason = err.Error()
	}
	pr.Fire(&e)
}

// fireSegLocked fires tcp:::send or tcp:::retransmit for the segment b
// about to leave: hlen header bytes, then n payload bytes.
func (ep *Endpoint) fireSegLocked(pr *trace.Probe, b *pkt.Buf, hlen int, seq, ack seqnum.Value, f wire.TCPFlags, wfield uint16, n int) {
	shift := ep.rcv.Shift
	if f&wire.TCPFlagSYN != 0 {
		shift = 0 // a SYN's window is never scaled (RFC 7323 §2.2)
	}
	e := segEvent(b.ID, ep.local, ep.remote, seq, ack, f, wfield, shift, n)
	if pr.WantsPayload() {
		e.Payload = payloadOf(b, hlen, n)
	}
	pr.Fire(&e)
}

// fireAcceptLocked fires socket:::accept for the connection c that the
// listener ep hands out. Lock order puts c's lock before ep's, so c's
// ends are read without it: they are fixed once c is in the accept queue.
func (ep *Endpoint) fireAcceptLocked(pr *trace.Probe, c *Endpoint) {
	pr.Fire(&trace.Event{Proto: ProtoNumber, Src: c.local.Addr(), SrcPort: c.local.Port(),
		Dst: c.remote.Addr(), DstPort: c.remote.Port()})
}

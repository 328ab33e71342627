package tcp

// Demultiplexing and resets for segments that reach no connection.
//
// Read before editing: RFC 9293 §3.10.7.1 (CLOSED: every segment but a
// RST draws a RST), §3.5.2 (reset generation). Linux: __inet_lookup
// (established hash, then listening hash), tcp_v4_send_reset.

import (
	"encoding/binary"
	"net/netip"

	"ustack/ipv4"
	"ustack/seqnum"
	"ustack/wire"
)

// demux hands s to its connection, else to a listener, else answers with
// a RST. Context: softnet.
func (p *Proto) demux(s *segment) {
	for range 2 { // a second time for a SYN that ended a TIME_WAIT
		p.mu.RLock()
		ep := p.conns[fourTuple{s.dst, s.src}]
		if ep == nil {
			ep = p.lookupListenerLocked(s.dst)
		}
		p.mu.RUnlock()
		if ep == nil {
			p.noSocket(s)
			return
		}
		ep.mu.Lock()
		again := ep.segmentArrivesLocked(s)
		ep.mu.Unlock()
		if !again {
			return
		}
	}
}

// lookupListenerLocked finds the listener for dst: bound to dst's address
// exactly, else to the wildcard. Called with p.mu held.
func (p *Proto) lookupListenerLocked(dst netip.AddrPort) *Endpoint {
	var wild *Endpoint
	for _, l := range p.listeners[dst.Port()] {
		a := l.local.Addr()
		if a == dst.Addr() {
			return l
		}
		if a.IsUnspecified() && wild == nil {
			wild = l
		}
	}
	return wild
}

// noSocket answers a segment for no connection (RFC 9293 §3.10.7.1).
func (p *Proto) noSocket(s *segment) {
	p.dropSeg(s, &p.stats.InNoSocket, "no socket")
	p.resetFor(s)
}

// resetFor sends the RST RFC 9293 §3.10.7.1 prescribes in reply to s:
// <SEQ=SEG.ACK><CTL=RST> if s has ACK, else
// <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>. Never in reply to a RST.
func (p *Proto) resetFor(s *segment) {
	if s.has(wire.TCPFlagRST) {
		return
	}
	if s.has(wire.TCPFlagACK) {
		p.sendReset(s.dst, s.src, s.ack, 0, wire.TCPFlagRST)
		return
	}
	p.sendReset(s.dst, s.src, 0, s.seq.Add(s.seqLen()), wire.TCPFlagRST|wire.TCPFlagACK)
}

// sendReset sends a bare control segment from local to remote outside
// any connection (cf. tcp_v4_send_reset). Context: any.
func (p *Proto) sendReset(local, remote netip.AddrPort, seq, ack seqnum.Value, flags wire.TCPFlags) {
	rt, err := p.ip.RouteOutput(remote.Addr(), local.Addr())
	if err != nil {
		return
	}
	b := p.pool.Get(128, wire.TCPMinHeaderLen)
	h := b.View(0)
	binary.BigEndian.PutUint16(h[0:], local.Port())
	binary.BigEndian.PutUint16(h[2:], remote.Port())
	binary.BigEndian.PutUint32(h[4:], uint32(seq))
	binary.BigEndian.PutUint32(h[8:], uint32(ack))
	binary.BigEndian.PutUint16(h[12:], 5<<12|uint16(flags))
	binary.BigEndian.PutUint32(h[14:], 0) // window and checksum
	binary.BigEndian.PutUint16(h[18:], 0)
	cs := wire.TCPChecksum(wire.PseudoHeaderSum(rt.Src, remote.Addr(), ProtoNumber, wire.TCPMinHeaderLen), h)
	binary.BigEndian.PutUint16(h[16:], cs)
	b.SetTransportHeader()
	p.stats.OutSegs.Inc()
	if flags&wire.TCPFlagRST != 0 {
		p.stats.OutRsts.Inc()
	}
	b.ID = p.tracer.NextPacketID()
	if pr := p.probes.send; pr.Enabled() {
		e := segEvent(b.ID, netip.AddrPortFrom(rt.Src, local.Port()), remote, seq, ack, flags, 0, 0, 0)
		pr.Fire(&e)
	}
	p.ip.Output(b, &rt, ProtoNumber, ipv4.SendOptions{DF: true})
}

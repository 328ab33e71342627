// Package udp is the User Datagram Protocol: demultiplexing by 4-tuple,
// then by local address and port, then by port alone; checksums over the
// pseudo-header; port unreachable when no socket listens; broadcast
// delivery to every matching socket (cf. Linux net/ipv4/udp.c).
//
// Read before editing: RFC 768; RFC 1122 §4.1; RFC 1122 §4.1.3.3 (ICMP
// errors reported to the application) and §4.1.3.6 (broadcasts).
package udp

import (
	"encoding/binary"
	"net/netip"
	"sync"

	"ustack/ipv4"
	"ustack/netdev"
	"ustack/pkt"
	"ustack/socket"
	"ustack/stats"
	"ustack/trace"
	"ustack/wire"
)

// ProtoNumber is UDP's IP protocol number.
const ProtoNumber = 17

// DefaultRcvBuf is a socket's default receive buffer, in payload bytes.
const DefaultRcvBuf = 208 * 1024

// Proto is UDP for one stack.
type Proto struct {
	ip     *ipv4.Proto
	reg    *netdev.Registry
	pool   *pkt.Pool
	stats  *stats.UDP
	ports  *socket.Ports
	probes struct {
		receive, send, drop *trace.Probe
		enqueue, dequeue    *trace.Probe // socket:::enqueue, socket:::dequeue
	}

	mu        sync.RWMutex
	connected map[fourTuple]*Endpoint
	bound     map[uint16][]*Endpoint // unconnected, by local port
}

type fourTuple struct {
	local, remote netip.AddrPort
}

// New registers UDP with the IP layer.
func New(ip *ipv4.Proto, reg *netdev.Registry, st *stats.UDP, seed uint64) *Proto {
	u := &Proto{
		ip: ip, reg: reg, pool: reg.Pool(), stats: st, ports: socket.NewPorts(seed),
		connected: make(map[fourTuple]*Endpoint), bound: make(map[uint16][]*Endpoint),
	}
	tr := reg.Tracer()
	u.probes.receive = tr.Probe("udp", "receive")
	u.probes.send = tr.Probe("udp", "send")
	u.probes.drop = tr.Probe("udp", "drop")
	u.probes.enqueue = tr.Probe("socket", "enqueue")
	u.probes.dequeue = tr.Probe("socket", "dequeue")
	if err := ip.Register(ProtoNumber, u); err != nil {
		panic(err)
	}
	return u
}

// Deliver implements ipv4.Protocol: one UDP datagram, data at the UDP
// header; takes ownership (cf. __udp4_lib_rcv). Context: softnet.
func (u *Proto) Deliver(b *pkt.Buf, info ipv4.RxInfo) {
	st := u.stats
	hb := b.Peek(wire.UDPHeaderLen)
	if hb == nil {
		u.drop(b, &st.InErrors, "truncated header")
		return
	}
	// The length field is checked against the whole datagram, which may
	// span several views: only the header is contiguous here.
	var h wire.UDPHeader
	h.SrcPort, h.DstPort = binary.BigEndian.Uint16(hb[0:]), binary.BigEndian.Uint16(hb[2:])
	h.Length, h.Checksum = binary.BigEndian.Uint16(hb[4:]), binary.BigEndian.Uint16(hb[6:])
	ulen := int(h.Length)
	if ulen < wire.UDPHeaderLen {
		u.drop(b, &st.InErrors, "length field below header length")
		return
	}
	if ulen > b.Len() {
		u.drop(b, &st.InErrors, "datagram shorter than its length field")
		return
	}
	b.Trim(ulen)
	if h.Checksum != 0 && !info.Offload {
		sum := wire.PseudoHeaderSum(info.Src, info.Dst, ProtoNumber, uint16(ulen))
		off := 0
		for i := 0; i < b.NumViews(); i++ {
			v := b.View(i)
			sum = wire.Combine(sum, wire.Checksum(v, 0), off)
			off += len(v)
		}
		if wire.Fold(sum) != 0xffff {
			st.InCsumErrors.Inc()
			u.drop(b, &st.InErrors, "bad checksum")
			return
		}
	}
	src := netip.AddrPortFrom(info.Src, h.SrcPort)
	dst := netip.AddrPortFrom(info.Dst, h.DstPort)
	if p := u.probes.receive; p.Enabled() {
		p.Fire(&trace.Event{PktID: b.ID, Len: ulen - wire.UDPHeaderLen, Proto: ProtoNumber, Src: info.Src, Dst: info.Dst, SrcPort: src.Port(), DstPort: dst.Port()})
	}
	b.Pull(wire.UDPHeaderLen)

	if info.Broadcast {
		u.deliverBroadcast(b, src, dst)
		return
	}
	u.mu.RLock()
	ep := u.connected[fourTuple{dst, src}]
	if ep == nil {
		ep = u.lookupBoundLocked(dst)
	}
	u.mu.RUnlock()
	if ep == nil {
		u.stats.NoPorts.Inc() // before the error goes out, as above
		u.ip.SendError(info.Dev, b, wire.ICMPv4PortUnreachable, 0)
		u.drop(b, nil, "no socket on port")
		return
	}
	ep.enqueue(b, src, dst.Addr())
}

// lookupBoundLocked finds the unconnected socket for dst: bound to dst's
// address exactly, else bound to the wildcard.
func (u *Proto) lookupBoundLocked(dst netip.AddrPort) *Endpoint {
	var wild *Endpoint
	for _, ep := range u.bound[dst.Port()] {
		a := ep.local.Addr()
		if a == dst.Addr() {
			return ep
		}
		if a.IsUnspecified() && wild == nil {
			wild = ep
		}
	}
	return wild
}

// deliverBroadcast gives a copy to every socket bound to the port (cf.
// __udp4_lib_mcast_deliver); no port unreachable for broadcasts.
func (u *Proto) deliverBroadcast(b *pkt.Buf, src, dst netip.AddrPort) {
	u.mu.RLock()
	var targets []*Endpoint
	// Connected sockets never have a wildcard local address (Connect
	// fixes it), so only unconnected ones hear broadcasts.
	for _, ep := range u.bound[dst.Port()] {
		if a := ep.local.Addr(); a.IsUnspecified() || a == dst.Addr() {
			targets = append(targets, ep)
		}
	}
	u.mu.RUnlock()
	if len(targets) == 0 {
		u.drop(b, &u.stats.IgnoredMulti, "broadcast to a port nobody listens on")
		return
	}
	for i, ep := range targets {
		c := b
		if i < len(targets)-1 {
			c = b.Clone()
		}
		ep.enqueue(c, src, dst.Addr())
	}
}

// DeliverError implements ipv4.Protocol: an ICMP error about a datagram
// we sent reaches the connected socket that sent it (cf. __udp4_lib_err).
func (u *Proto) DeliverError(e *ipv4.ICMPError) {
	if len(e.Transport) < wire.UDPHeaderLen {
		return
	}
	q := e.Transport
	local := netip.AddrPortFrom(e.Src, binary.BigEndian.Uint16(q[0:]))
	remote := netip.AddrPortFrom(e.Dst, binary.BigEndian.Uint16(q[2:]))
	u.mu.RLock()
	ep := u.connected[fourTuple{local, remote}]
	if ep == nil {
		ep = u.lookupBoundLocked(local)
	}
	u.mu.RUnlock()
	if ep == nil {
		return
	}
	ep.icmpError(e)
}

func (u *Proto) drop(b *pkt.Buf, c *stats.Counter, reason string) {
	if c != nil {
		c.Inc()
	}
	if p := u.probes.drop; p.Enabled() {
		e := trace.Event{PktID: b.ID, Len: b.Len(), Proto: ProtoNumber, Reason: reason}
		e.FillAddrs(b.NetworkHeader(), b.TransportHeader())
		p.Fire(&e)
	}
	b.Free()
}

// CloseAll closes every socket: readers blocked in them return
// net.ErrClosed (for Stack.Close).
func (u *Proto) CloseAll() {
	u.mu.RLock()
	var all []*Endpoint
	for _, list := range u.bound {
		all = append(all, list...)
	}
	for _, ep := range u.connected {
		all = append(all, ep)
	}
	u.mu.RUnlock()
	for _, ep := range all {
		ep.Close()
	}
}

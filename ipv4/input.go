package ipv4

import (
	"errors"
	"net/netip"

	"ustack/netdev"
	"ustack/pkt"
	"ustack/trace"
	"ustack/wire"
)

var limitedBroadcast = netip.AddrFrom4([4]byte{255, 255, 255, 255})

// input receives one IPv4 packet from the device layer, taking ownership
// (cf. ip_rcv, ip_rcv_finish and ip_route_input_slow). Every drop is
// counted. Context: softnet.
func (p *Proto) input(dev *netdev.Device, b *pkt.Buf) {
	st := p.stats
	if b.Type == pkt.OtherHost {
		// Seen only in promiscuous mode; not received by IP at all
		// (ip_rcv drops PACKET_OTHERHOST before counting it).
		p.drop(b, dev.Name(), &st.InDiscards, "frame for another host")
		return
	}
	st.InReceives.Inc()
	hb := b.Peek(wire.IPv4MinHeaderLen)
	if hb == nil {
		p.drop(b, dev.Name(), &st.InHdrErrors, "truncated header")
		return
	}
	if hb[0]>>4 != 4 {
		p.drop(b, dev.Name(), &st.InHdrErrors, "bad version")
		return
	}
	hlen := int(hb[0]&0xf) * 4
	if hlen < wire.IPv4MinHeaderLen {
		p.drop(b, dev.Name(), &st.InHdrErrors, "bad header length")
		return
	}
	if hb = b.Peek(hlen); hb == nil {
		p.drop(b, dev.Name(), &st.InHdrErrors, "truncated options")
		return
	}
	h, err := wire.ParseIPv4HeaderView(hb)
	if err != nil {
		p.drop(b, dev.Name(), &st.InHdrErrors, err.Error())
		return
	}
	offload := dev.Caps().ChecksumOffload
	if !offload && !h.IsValidChecksum() {
		st.InCsumErrors.Inc()
		p.drop(b, dev.Name(), &st.InHdrErrors, "bad header checksum")
		return
	}
	total := int(h.TotalLen())
	if total < hlen {
		p.drop(b, dev.Name(), &st.InHdrErrors, "total length below header length")
		return
	}
	if total > b.Len() {
		p.drop(b, dev.Name(), &st.InTruncatedPkts, "truncated packet")
		return
	}
	b.Trim(total) // drop link-layer padding
	src, dst := h.Src(), h.Dst()
	// Martians first, as Linux routes the input before it looks at
	// options: no ICMP is ever sent to a martian source.
	if p.martianSource(dev, src, dst) {
		st.InMartians.Inc()
		p.dropAddr(b, dev.Name(), "martian source", src, dst)
		return
	}
	if hlen > wire.IPv4MinHeaderLen {
		if err := checkOptions(h.Options()); err != nil {
			var oe *optionError
			if errors.As(err, &oe) {
				st.InHdrErrors.Inc()
				p.SendError(dev.Index(), b, wire.ICMPv4PointerIndicates, uint32(oe.pointer)<<24)
				p.drop(b, dev.Name(), nil, "malformed option")
				return
			}
			p.drop(b, dev.Name(), &st.InDiscards, err.Error())
			return
		}
	}
	if pr := p.probes.receive; pr.Enabled() {
		pr.Fire(&trace.Event{PktID: b.ID, Dev: dev.Name(), Len: total, Proto: uint8(h.Protocol()), Src: src, Dst: dst, TTL: h.TTL(), IPID: h.ID()})
	}

	// Route the input: ours, broadcast, or someone else's.
	bcast := b.Type == pkt.Broadcast || b.Type == pkt.Multicast
	switch {
	case dst.IsLoopback() && !dev.Caps().Loopback:
		// 127/8 never arrives from a wire (RFC 1122 §3.2.1.3(g)).
		st.InAddrErrors.Inc()
		p.dropAddr(b, dev.Name(), "martian destination", src, dst)
		return
	case p.isLocalDst(dev, dst):
		p.routeProbe(b, dev, dst, "local")
	case dst == limitedBroadcast || p.addrs.IsBroadcast(dev.Index(), dst) ||
		(dev.Caps().Loopback && p.addrs.IsAnyBroadcast(dst)): // our own, looped back
		st.InBcastPkts.Inc()
		bcast = true
		p.routeProbe(b, dev, dst, "broadcast")
	case dst.IsMulticast():
		// No multicast membership in ustack yet: nothing to deliver to.
		p.drop(b, dev.Name(), &st.InAddrErrors, "multicast not joined")
		return
	case dst.IsUnspecified() || dst.IsLoopback() || isZeroNet(dst):
		st.InAddrErrors.Inc()
		p.dropAddr(b, dev.Name(), "martian destination", src, dst)
		return
	default:
		if !p.fwd.Load() {
			p.drop(b, dev.Name(), &st.InAddrErrors, "not for us and not forwarding")
			return
		}
		if bcast {
			// RFC 1812 §5.3.4: a link-layer broadcast is never forwarded.
			p.drop(b, dev.Name(), &st.InAddrErrors, "link-layer broadcast not forwarded")
			return
		}
		p.forward(dev, b, h)
		return
	}

	// Local delivery (cf. ip_local_deliver): reassemble first.
	if h.IsFragment() {
		b.Dev = dev.Index()
		whole := p.frag.Process(b)
		if whole == nil {
			return
		}
		b = whole
		hb = b.Peek(wire.IPv4MinHeaderLen)
		hlen = int(hb[0]&0xf) * 4
		hb = b.Peek(hlen)
		h, _ = wire.ParseIPv4HeaderView(hb)
		offload = false
	}
	p.deliver(dev, b, h, hlen, bcast, offload)
}

// deliver hands a whole datagram to its transport protocol (cf.
// ip_local_deliver_finish). Takes ownership.
func (p *Proto) deliver(dev *netdev.Device, b *pkt.Buf, h wire.IPv4View, hlen int, bcast, offload bool) {
	info := RxInfo{
		Src: h.Src(), Dst: h.Dst(), Dev: dev.Index(), TTL: h.TTL(), TOS: h.TOS(),
		Broadcast: bcast, Proto: uint8(h.Protocol()), Offload: offload,
	}
	if hlen > wire.IPv4MinHeaderLen {
		info.optionsLen = uint8(copy(info.options[:], h.Options()))
	}
	proto := p.protos.Load()[info.Proto]
	if proto == nil {
		p.stats.InUnknownProtos.Inc()
		if !bcast {
			p.SendError(dev.Index(), b, wire.ICMPv4ProtoUnreachable, 0)
		}
		p.drop(b, dev.Name(), nil, "no such protocol")
		return
	}
	b.SetNetworkHeader()
	b.Pull(hlen)
	b.SetTransportHeader()
	p.stats.InDelivers.Inc()
	proto.Deliver(b, info)
}

// isLocalDst reports whether dst is one of our addresses. On the loopback
// device all of 127/8 is ours.
func (p *Proto) isLocalDst(dev *netdev.Device, dst netip.Addr) bool {
	if _, ok := p.addrs.IsLocal(dst); ok {
		return true
	}
	return dev.Caps().Loopback && dst.IsLoopback()
}

// martianSource applies RFC 1122 §3.2.1.3 and RFC 1812 §5.3.7: a source
// that is multicast, a broadcast, in 0/8 (but 0.0.0.0 to a broadcast, as
// DHCP does) or loopback from a real device is not a host.
func (p *Proto) martianSource(dev *netdev.Device, src, dst netip.Addr) bool {
	switch {
	case src.IsMulticast(), src == limitedBroadcast:
		return true
	case src.IsUnspecified():
		return !(dst == limitedBroadcast || p.addrs.IsBroadcast(dev.Index(), dst))
	case isZeroNet(src):
		return true
	case src.IsLoopback():
		return !dev.Caps().Loopback
	case src.As4()[0] >= 240:
		return true
	}
	if !dev.Caps().Loopback {
		// One of our own addresses from the wire: a spoof or a loop
		// (Linux's fib_validate_source with accept_local=0).
		if _, ours := p.addrs.IsLocal(src); ours {
			return true
		}
	}
	return p.addrs.IsBroadcast(dev.Index(), src)
}

func isZeroNet(a netip.Addr) bool { return a.Is4() && a.As4()[0] == 0 }

func (p *Proto) routeProbe(b *pkt.Buf, dev *netdev.Device, dst netip.Addr, what string) {
	if pr := p.probes.route; pr.Enabled() {
		pr.Fire(&trace.Event{PktID: b.ID, Dev: dev.Name(), Dst: dst, Reason: what})
	}
}

package ipv4

import (
	"errors"
	"net/netip"

	"ustack/ipv4/ipfrag"
	"ustack/netdev"
	"ustack/pkt"
	"ustack/trace"
	"ustack/wire"
)

// Route is the output decision for one destination (cf. struct rtable).
type Route struct {
	Dev       *netdev.Device
	Src       netip.Addr // source address to use
	Dst       netip.Addr
	NextHop   netip.Addr // gateway, or Dst when directly connected
	MTU       int
	Broadcast bool // Dst is a broadcast: sent to the link broadcast address
	Local     bool // Dst is ours: looped back
	// GSOMaxSize is the largest TCP GSO super-packet (IP total length)
	// Dev carries whole, 0 when it has no GSO (cf. sk_setup_caps taking
	// the device's gso_max_size). A transport may send up to this much
	// in one packet with GSOSize set; each of its wire segments must
	// still fit MTU. It sits in the padding after the flags.
	GSOMaxSize uint16
}

// RouteOutput chooses how to reach dst from src (src may be the zero
// Addr: then one is chosen), cf. ip_route_output_key. Context: any.
func (p *Proto) RouteOutput(dst, src netip.Addr) (Route, error) {
	if !dst.Is4() {
		p.stats.OutNoRoutes.Inc()
		return Route{}, ErrNoRoute
	}
	if dst.IsMulticast() {
		// No multicast membership or 01:00:5e mapping yet (RFC 1112
		// §6.4): refuse rather than ARP for a group or unicast it to
		// the gateway.
		p.stats.OutNoRoutes.Inc()
		return Route{}, ErrNoRoute
	}
	if src.IsValid() && !src.IsUnspecified() {
		if _, ok := p.addrs.IsLocal(src); !ok && !src.IsLoopback() {
			return Route{}, ErrNotAvailable
		}
	}
	// Our own address, or loopback: through the loopback device.
	if _, ok := p.addrs.IsLocal(dst); ok || dst.IsLoopback() {
		lo := p.loopback()
		if lo == nil {
			return Route{}, ErrNoRoute
		}
		if !src.IsValid() || src.IsUnspecified() {
			src = dst
		}
		return Route{Dev: lo, Src: src, Dst: dst, NextHop: dst, MTU: lo.MTU(), Local: true}, nil
	}
	if dst == limitedBroadcast {
		// Out of the device that owns src, else the first with an address.
		for _, a := range p.addrs.All() {
			if src.IsValid() && !src.IsUnspecified() && a.Prefix.Addr() != src {
				continue
			}
			dev := p.reg.Device(a.Dev)
			if dev == nil || !dev.IsUp() || dev.Caps().Loopback {
				continue
			}
			return Route{Dev: dev, Src: a.Prefix.Addr(), Dst: dst, NextHop: dst, MTU: dev.MTU(), Broadcast: true}, nil
		}
		return Route{}, ErrNoRoute
	}
	if src.IsLoopback() {
		// 127/8 never leaves the host (RFC 1122 §3.2.1.3(g)); Linux
		// answers EINVAL in __mkroute_output.
		return Route{}, ErrNotAvailable
	}
	r, ok := p.fib.Lookup(dst)
	if !ok {
		p.stats.OutNoRoutes.Inc()
		return Route{}, ErrNoRoute
	}
	dev := p.reg.Device(r.Dev)
	if dev == nil || !dev.IsUp() {
		return Route{}, ErrNetDown
	}
	rt := Route{Dev: dev, Dst: dst, NextHop: dst, MTU: dev.MTU(), GSOMaxSize: gsoMaxSize(dev)}
	if r.Gateway.IsValid() {
		rt.NextHop = r.Gateway
	}
	if r.MTU > 0 && r.MTU < rt.MTU {
		rt.MTU = r.MTU
	}
	switch {
	case src.IsValid() && !src.IsUnspecified():
		rt.Src = src
	case r.Src.IsValid():
		rt.Src = r.Src
	default:
		s, ok := p.addrs.Source(dev.Index(), rt.NextHop)
		if !ok {
			return Route{}, ErrNoSource
		}
		rt.Src = s
	}
	rt.Broadcast = p.addrs.IsBroadcast(dev.Index(), dst)
	return rt, nil
}

// loopback returns the loopback device, kept by notify so that local
// sends cost no device-table walk.
func (p *Proto) loopback() *netdev.Device {
	if d := p.lo.Load(); d != nil && d.IsUp() {
		return d
	}
	return nil
}

// SendOptions are the per-packet IP options a transport chooses.
type SendOptions struct {
	TTL uint8 // 0: the default
	TOS uint8
	DF  bool // don't fragment: fail with ErrMessageSize instead
	// Options are IP options to send (a multiple of 4 bytes, at most 40).
	// Record Route and Timestamp get this host's entry on the way out.
	Options []byte
}

// Output pushes an IPv4 header onto b (which holds a transport segment)
// and sends it along rt, fragmenting as needed; takes ownership
// (cf. ip_queue_xmit / ip_output). Context: process or softnet.
func (p *Proto) Output(b *pkt.Buf, rt *Route, proto uint8, o SendOptions) error {
	if b.ID == 0 {
		b.ID = p.reg.NextPacketID()
	}
	p.stats.OutRequests.Inc()
	ttl := o.TTL
	if ttl == 0 {
		ttl = p.ttl
	}
	hlen := wire.IPv4MinHeaderLen + len(o.Options)
	total := b.Len() + hlen
	if total > 0xffff {
		p.drop(b, rt.Dev.Name(), &p.stats.OutDiscards, "datagram over 65,535 bytes")
		return ErrMessageSize
	}
	// A GSO packet is as big as each of its wire segments; it takes one
	// IP ID for each (cf. ip_select_ident_segs).
	size, segs := total, uint32(1)
	if b.GSOSize > 0 {
		var ok bool
		if size, segs, ok = gsoOutputSize(b, hlen, proto); !ok {
			p.drop(b, rt.Dev.Name(), &p.stats.OutDiscards, "GSO packet not TCP")
			return ErrMessageSize
		}
	}
	if o.DF && size > rt.MTU {
		p.drop(b, rt.Dev.Name(), &p.stats.FragFails, "DF set and too big")
		return ErrMessageSize
	}
	hdr := wire.IPv4Header{
		TOS: o.TOS, TotalLen: uint16(total), ID: uint16(p.ident.Add(segs) - (segs - 1)),
		TTL: ttl, Protocol: wire.IPProtocol(proto), Src: rt.Src, Dst: rt.Dst, Options: o.Options,
	}
	if o.DF {
		hdr.Flags = wire.IPv4DontFragment
	}
	hb := b.Push(hlen)
	hdr.Encode(hb)
	v, _ := wire.ParseIPv4HeaderView(hb)
	if len(o.Options) > 0 {
		stampOptions(v.Options(), rt.Src, p.clk.Now())
	}
	v.SetChecksum(v.CalculateChecksum())
	b.SetNetworkHeader()
	if pr := p.probes.send; pr.Enabled() {
		pr.Fire(&trace.Event{PktID: b.ID, Dev: rt.Dev.Name(), Len: total, Proto: proto, Src: rt.Src, Dst: rt.Dst, TTL: ttl, IPID: hdr.ID})
	}
	return p.finishOutput(b, rt)
}

// finishOutput sends a complete IPv4 datagram (data at its header) along
// rt, fragmenting it if it exceeds the MTU (cf. ip_finish_output). A GSO
// packet is never fragmented: Output and forward checked that its
// segments fit, and the device sends it whole or cuts it into them
// (cf. ip_finish_output_gso).
func (p *Proto) finishOutput(b *pkt.Buf, rt *Route) error {
	if b.Len() > rt.MTU && b.GSOSize == 0 {
		err := ipfrag.Fragment(b, rt.MTU, p.stats, p.probes.fragment, func(f *pkt.Buf) error {
			return p.neighOutput(f, rt)
		})
		if errors.Is(err, ipfrag.ErrDontFragment) {
			return ErrMessageSize
		}
		return err
	}
	return p.neighOutput(b, rt)
}

// neighOutput hands a datagram to the link (cf. ip_finish_output2).
func (p *Proto) neighOutput(b *pkt.Buf, rt *Route) error {
	dev := rt.Dev
	switch {
	case dev.Link() == netdev.LinkIP:
		return dev.Transmit(b)
	case rt.Broadcast:
		p.stats.OutBcastPkts.Inc()
		// Our own sockets hear our broadcasts too, through loopback
		// (cf. ip_mc_output for RTCF_BROADCAST).
		if lo := p.loopback(); lo != nil {
			lo.Transmit(b.Clone())
		}
		return dev.SendEthernet(b, wire.BroadcastMAC, wire.EtherTypeIPv4)
	}
	return p.neigh.Output(dev, rt.NextHop, b)
}

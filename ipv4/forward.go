package ipv4

import (
	"ustack/netdev"
	"ustack/pkt"
	"ustack/trace"
	"ustack/wire"
)

// forward routes a packet that is not for us to its next hop, taking
// ownership (cf. ip_forward and RFC 1812 §5.2–5.3). h views b's header.
// Context: softnet.
func (p *Proto) forward(in *netdev.Device, b *pkt.Buf, h wire.IPv4View) {
	st := p.stats
	dst := h.Dst()
	// Each refusal is counted before the ICMP error goes out, so that
	// whoever sees the error sees the counter too.
	if h.TTL() <= 1 {
		st.InHdrErrors.Inc()
		p.SendError(in.Index(), b, wire.ICMPv4TTLExceeded, 0)
		p.drop(b, in.Name(), nil, "TTL expired in transit")
		return
	}
	r, ok := p.fib.Lookup(dst)
	if !ok {
		st.InNoRoutes.Inc() // one counter a packet, as Linux: net unreachable
		p.SendError(in.Index(), b, wire.ICMPv4NetUnreachable, 0)
		p.drop(b, in.Name(), nil, "no route")
		return
	}
	out := p.reg.Device(r.Dev)
	if out == nil || !out.IsUp() {
		st.InAddrErrors.Inc() // host unreachable
		p.SendError(in.Index(), b, wire.ICMPv4HostUnreachable, 0)
		p.drop(b, in.Name(), nil, "route through a device that is down")
		return
	}
	rt := Route{Dev: out, Dst: dst, NextHop: dst, MTU: out.MTU(), Src: h.Src()}
	if r.Gateway.IsValid() {
		rt.NextHop = r.Gateway
	}
	if r.MTU > 0 && r.MTU < rt.MTU {
		rt.MTU = r.MTU
	}
	if p.addrs.IsBroadcast(out.Index(), dst) {
		// A directed broadcast: RFC 1812 §5.3.5.2 lets a router refuse,
		// and Linux does by default.
		p.drop(b, in.Name(), &st.InAddrErrors, "directed broadcast not forwarded")
		return
	}
	size := b.Len()
	if b.GSOSize > 0 {
		// A super-packet from a GSO link: its segments must fit, and
		// cannot be fragmented (cf. ip_exceeds_mtu, ip_finish_output_gso).
		if size = gsoForwardSize(b, h); size == 0 {
			p.drop(b, in.Name(), &st.InDiscards, "GSO packet not TCP")
			return
		}
		if size > rt.MTU && !h.DontFragment() {
			p.drop(b, in.Name(), &st.FragFails, "GSO segments larger than the next hop's MTU")
			return
		}
	}
	if size > rt.MTU && h.DontFragment() {
		st.FragFails.Inc()
		p.SendError(in.Index(), b, wire.ICMPv4FragmentationNeeded, uint32(rt.MTU))
		p.drop(b, in.Name(), nil, "DF set and larger than the next hop's MTU")
		return
	}
	// Decrement the TTL in place, updating the checksum incrementally
	// (RFC 1624); copy first if the header is shared with a clone.
	hb := b.Writable(h.HeaderLen())
	w, _ := wire.ParseIPv4HeaderView(hb)
	if w.HeaderLen() > wire.IPv4MinHeaderLen {
		// Record this hop in Record Route and Timestamp options, with
		// the address of the interface it leaves by (RFC 1812 §5.2.4).
		src, ok := p.addrs.Source(out.Index(), rt.NextHop)
		if !ok {
			// An unnumbered output device: any address of ours will do
			// (cf. inet_select_addr's fallback).
			src = p.anyAddress()
		}
		if !stampOptions(w.Options(), src, p.clk.Now()) {
			st.InHdrErrors.Inc()
			p.SendError(in.Index(), b, wire.ICMPv4PointerIndicates, uint32(wire.IPv4MinHeaderLen+3)<<24)
			p.drop(b, in.Name(), nil, "timestamp overflow count overflowed")
			return
		}
		w.DecrementTTL()
		w.SetChecksum(0)
		w.SetChecksum(w.CalculateChecksum())
	} else {
		w.DecrementTTL()
	}
	st.ForwDatagrams.Inc()
	if pr := p.probes.forward; pr.Enabled() {
		pr.Fire(&trace.Event{PktID: b.ID, Dev: out.Name(), Len: b.Len(), Proto: uint8(w.Protocol()), Src: w.Src(), Dst: dst, TTL: w.TTL(), IPID: w.ID(),
			Detail: in.Name() + " -> " + out.Name() + " via " + rt.NextHop.String()})
	}
	if b.GSOSize > 0 && in.Caps().ChecksumOffload && !out.Caps().ChecksumOffload && out.Caps().GSOMaxSize > 0 {
		gsoFixChecksum(b, w) // the sender may have trusted the link in (w is not used after)
	}
	b.Dev = out.Index()
	p.finishOutput(b, &rt)
}

package netdev

import (
	"ustack/pkt"
	"ustack/trace"
	"ustack/wire"
)

// input takes one received frame up to the network layer: counters,
// Ethernet parsing, classification by destination and demultiplexing by
// EtherType (cf. __netif_receive_skb and eth_type_trans). Takes ownership.
// Context: softnet.
func (r *Registry) input(d *Device, b *pkt.Buf) {
	d.Stats.RxPackets.Inc()
	d.Stats.RxBytes.Add(uint64(b.Len()))
	d.tap(b, Inbound)
	if p := r.probes.receive; p.Enabled() {
		p.Fire(&trace.Event{PktID: b.ID, Dev: d.name, Len: b.Len()})
	}
	if !d.IsUp() {
		r.stats.InDeviceDown.Inc()
		d.Stats.RxDropped.Inc()
		r.dropProbe(d, b, "device down")
		b.Free()
		return
	}
	if d.caps.Link == LinkIP {
		// A bare IP packet: the version nibble says which protocol.
		h := b.Peek(1)
		if h == nil || h[0]>>4 != 4 {
			r.stats.InUnknownProtos.Inc()
			d.Stats.RxDropped.Inc()
			r.dropProbe(d, b, "not IPv4")
			b.Free()
			return
		}
		b.Type = pkt.Host
		b.Proto = uint16(wire.EtherTypeIPv4)
		b.SetNetworkHeader()
		r.deliver(d, b, wire.EtherTypeIPv4)
		return
	}
	r.stats.InFrames.Inc()
	h := b.Peek(wire.EthernetHeaderLen)
	if h == nil {
		r.stats.InTruncated.Inc()
		d.Stats.RxErrors.Inc()
		r.dropProbe(d, b, "truncated Ethernet header")
		b.Free()
		return
	}
	eth, _ := wire.ParseEthernetView(h) // length checked by Peek
	dstMAC := eth.Dst()
	switch {
	case dstMAC == d.caps.MAC:
		b.Type = pkt.Host
	case dstMAC == wire.BroadcastMAC:
		b.Type = pkt.Broadcast
		d.Stats.Multicast.Inc()
	case dstMAC.IsMulticast():
		b.Type = pkt.Multicast
		d.Stats.Multicast.Inc()
	default:
		b.Type = pkt.OtherHost
		if d.Flags()&FlagPromisc == 0 {
			r.stats.InOtherHost.Inc()
			d.Stats.RxDropped.Inc()
			r.dropProbe(d, b, "frame for another host")
			b.Free()
			return
		}
	}
	et := eth.EtherType()
	if p := r.probes.etherReceive; p.Enabled() {
		p.Fire(&trace.Event{PktID: b.ID, Dev: d.name, Len: b.Len(), SrcMAC: eth.Src(), DstMAC: dstMAC, EtherType: et,
			Detail: b.Type.String()})
	}
	b.SetLinkHeader()
	b.Pull(wire.EthernetHeaderLen)
	b.SetNetworkHeader()
	b.Proto = uint16(et)
	r.deliver(d, b, et)
}

func (r *Registry) deliver(d *Device, b *pkt.Buf, t wire.EtherType) {
	h, ok := (*r.handlers.Load())[t]
	if !ok {
		r.stats.InUnknownProtos.Inc()
		d.Stats.RxDropped.Inc()
		r.dropProbe(d, b, "no handler for EtherType")
		b.Free()
		return
	}
	h(d, b)
}

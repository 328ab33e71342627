// Package arp is the Address Resolution Protocol for IPv4 over Ethernet:
// it answers requests for our addresses, feeds the neighbour cache from
// what it hears, sends requests for the cache, and announces new addresses
// with gratuitous ARP (cf. Linux net/ipv4/arp.c).
//
// Read before editing: RFC 826; RFC 1122 §2.3.2; RFC 5227 §1.1 and §2.3
// (gratuitous ARP / announcements).
package arp

import (
	"fmt"
	"net/netip"

	"ustack/ifaddr"
	"ustack/neigh"
	"ustack/netdev"
	"ustack/pkt"
	"ustack/stats"
	"ustack/trace"
	"ustack/wire"
)

// Proto is the ARP protocol of one stack.
type Proto struct {
	reg    *netdev.Registry
	addrs  *ifaddr.Table
	cache  *neigh.Table
	stats  *stats.ARP
	probes struct{ request, reply *trace.Probe }
}

// New registers ARP with the device layer (EtherType 0x0806), as the
// neighbour cache's solicitor, and on the notifier chain for gratuitous
// announcements and flushing entries of devices that go down.
func New(reg *netdev.Registry, addrs *ifaddr.Table, cache *neigh.Table, st *stats.ARP) *Proto {
	p := &Proto{reg: reg, addrs: addrs, cache: cache, stats: st}
	p.probes.request = reg.Tracer().Probe("arp", "request")
	p.probes.reply = reg.Tracer().Probe("arp", "reply")
	reg.RegisterHandler(wire.EtherTypeARP, p.input)
	cache.SetSolicitor(p)
	reg.Subscribe(p.notify)
	return p
}

func (p *Proto) notify(e netdev.Event) {
	switch e.Kind {
	case netdev.EventAddrAdd:
		if e.Dev.Link() == netdev.LinkEthernet && e.Dev.IsUp() {
			p.Announce(e.Dev, e.Addr.Addr())
		}
	case netdev.EventUp:
		if e.Dev.Link() == netdev.LinkEthernet {
			for _, a := range p.addrs.OnDevice(e.Dev.Index()) {
				p.Announce(e.Dev, a.Prefix.Addr())
			}
		}
	case netdev.EventDown, netdev.EventUnregister:
		p.cache.FlushDev(e.Dev.Index())
	}
}

// Announce sends a gratuitous ARP request for addr (sender and target
// both addr, RFC 5227 §3), so neighbours update their caches.
func (p *Proto) Announce(dev *netdev.Device, addr netip.Addr) {
	p.stats.OutGratuitous.Inc()
	p.send(dev, wire.ARPRequest, dev.MAC(), addr, wire.MAC{}, addr, wire.BroadcastMAC)
}

// Solicit implements neigh.Solicitor: a broadcast request, or a unicast
// probe to a known MAC. Context: any.
func (p *Proto) Solicit(dev *netdev.Device, target netip.Addr, unicast wire.MAC, hasUnicast bool) {
	src, ok := p.addrs.Source(dev.Index(), target)
	if !ok {
		return // no address to ask from: resolution will time out
	}
	dst := wire.BroadcastMAC
	if hasUnicast {
		dst = unicast
	}
	p.send(dev, wire.ARPRequest, dev.MAC(), src, wire.MAC{}, target, dst)
}

func (p *Proto) send(dev *netdev.Device, op wire.ARPOp, sha wire.MAC, spa netip.Addr, tha wire.MAC, tpa netip.Addr, dst wire.MAC) {
	b := p.reg.Pool().Get(pkt.MaxHeaderLen, wire.ARPLen)
	b.ID = p.reg.NextPacketID()
	h := wire.ARPHeader{Op: op, SenderMAC: sha, SenderIP: spa, TargetMAC: tha, TargetIP: tpa}
	h.Encode(b.View(0))
	pr := p.probes.request
	if op == wire.ARPReply {
		pr = p.probes.reply
		p.stats.OutReplies.Inc()
	}
	if pr.Enabled() {
		pr.Fire(&trace.Event{PktID: b.ID, Dev: dev.Name(), Src: spa, Dst: tpa, SrcMAC: sha, DstMAC: tha, Len: wire.ARPLen, Detail: describe(op, sha, spa, tpa)})
	}
	dev.SendEthernet(b, dst, wire.EtherTypeARP)
}

func describe(op wire.ARPOp, sha wire.MAC, spa, tpa netip.Addr) string {
	if op == wire.ARPReply {
		return fmt.Sprintf("reply %v is-at %v", spa, sha)
	}
	if spa == tpa {
		return fmt.Sprintf("gratuitous %v is-at %v", spa, sha)
	}
	return fmt.Sprintf("who-has %v tell %v", tpa, spa)
}

// input handles one ARP packet, taking ownership (cf. arp_process).
// Context: softnet.
func (p *Proto) input(dev *netdev.Device, b *pkt.Buf) {
	defer b.Free()
	if b.Type == pkt.OtherHost {
		// Overheard in promiscuous mode: not for us (cf. arp_rcv).
		p.stats.InOtherTarget.Inc()
		return
	}
	h := b.Peek(wire.ARPLen)
	if h == nil {
		p.stats.InErrors.Inc()
		return
	}
	var a wire.ARPHeader
	if _, err := a.Parse(h); err != nil {
		p.stats.InErrors.Inc()
		return
	}
	spa, tpa := a.SenderIP, a.TargetIP
	switch a.Op {
	case wire.ARPRequest:
		p.stats.InRequests.Inc()
	case wire.ARPReply:
		p.stats.InReplies.Inc()
	default:
		p.stats.InErrors.Inc()
		return
	}
	// A sender claiming a martian, broadcast or one of our own addresses
	// (a conflict) must not enter the cache.
	if a.SenderMAC == wire.BroadcastMAC || a.SenderMAC[0]&1 != 0 ||
		spa.IsMulticast() || spa.IsLoopback() || p.addrs.IsBroadcast(dev.Index(), spa) {
		p.stats.InBadSender.Inc()
		return
	}
	if _, ours := p.addrs.IsLocal(spa); ours {
		p.stats.InBadSender.Inc()
		return
	}
	if pr := p.probes.request; a.Op == wire.ARPRequest && pr.Enabled() {
		pr.Fire(&trace.Event{PktID: b.ID, Dev: dev.Name(), Src: spa, Dst: tpa, SrcMAC: a.SenderMAC, DstMAC: a.TargetMAC, Len: wire.ARPLen,
			Detail: "received " + describe(a.Op, a.SenderMAC, spa, tpa)})
	}
	if pr := p.probes.reply; a.Op == wire.ARPReply && pr.Enabled() {
		pr.Fire(&trace.Event{PktID: b.ID, Dev: dev.Name(), Src: spa, Dst: tpa, SrcMAC: a.SenderMAC, DstMAC: a.TargetMAC, Len: wire.ARPLen,
			Detail: "received " + describe(a.Op, a.SenderMAC, spa, tpa)})
	}
	// Linux's default arp_ignore=0: answer for any local address, on
	// whichever device the request came (the weak host model), but
	// never for loopback addresses.
	_, local := p.addrs.IsLocal(tpa)
	forUs := local && !tpa.IsLoopback()
	if a.Op == wire.ARPRequest && forUs && !spa.IsUnspecified() {
		// RFC 826: the asker will talk to us, so remember it (create).
		p.cache.Update(dev, spa, a.SenderMAC, false, true)
	} else if !spa.IsUnspecified() {
		// Anything else only refreshes an entry we already have: an
		// unsolicited reply never creates one. A reply to our request
		// (an INCOMPLETE or probed entry) confirms reachability.
		if !p.cache.Exists(dev.Index(), spa) {
			if a.Op == wire.ARPReply {
				p.stats.InUnsolicited.Inc()
			}
		} else {
			p.cache.Update(dev, spa, a.SenderMAC, a.Op == wire.ARPReply && !a.TargetIP.IsUnspecified() && forUs, false)
		}
	}
	if a.Op != wire.ARPRequest {
		return
	}
	if !forUs {
		p.stats.InOtherTarget.Inc()
		return
	}
	// Reply to the asker; an address probe (sender 0.0.0.0, RFC 5227)
	// is answered by broadcast so the prober sees the conflict.
	dst := a.SenderMAC
	if spa.IsUnspecified() {
		dst = wire.BroadcastMAC
	}
	p.send(dev, wire.ARPReply, dev.MAC(), tpa, a.SenderMAC, spa, dst)
}

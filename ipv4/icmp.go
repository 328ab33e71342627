package ipv4

import (
	"encoding/binary"
	"fmt"
	"net/netip"

	"ustack/netdev"
	"ustack/pkt"
	"ustack/trace"
	"ustack/wire"
)

// ICMP is IP protocol 1. It is part of the IP layer (as in Linux), not a
// transport: the protocol table only carries transports.
const protoICMP = 1

// maxQuote bounds an ICMP error to 576 bytes in all (RFC 1812 §4.3.2.3):
// 20 (IP) + 8 (ICMP) + 548 of the offending datagram.
const maxQuote = 548

// icmpInput handles one ICMP message, taking ownership (cf. icmp_rcv).
// b's data starts at the ICMP header. Context: softnet.
func (p *Proto) icmpInput(b *pkt.Buf, info *RxInfo) {
	st := p.icmp
	st.InMsgs.Inc()
	msg := b.Bytes()
	// Counted by ICMP alone: IP has delivered the packet already.
	if len(msg) < wire.ICMPv4HeaderLen {
		st.InErrors.Inc()
		p.drop(b, p.devName(info.Dev), nil, "truncated ICMP")
		return
	}
	if !info.Offload && wire.Fold(wire.Checksum(msg, 0)) != 0xffff {
		st.InCsumErrors.Inc()
		st.InErrors.Inc()
		p.drop(b, p.devName(info.Dev), nil, "bad ICMP checksum")
		return
	}
	typ, code := wire.ICMPv4Type(msg[0]), msg[1]
	if pr := p.probes.icmpReceive; pr.Enabled() {
		pr.Fire(&trace.Event{PktID: b.ID, Dev: p.devName(info.Dev), Len: len(msg), Proto: protoICMP, Src: info.Src, Dst: info.Dst,
			ICMPType: uint8(typ), ICMPCode: code,
			Detail: icmpDescribe(typ, code, msg)})
	}
	switch typ {
	case wire.ICMPv4Echo:
		st.InEchos.Inc()
		if info.Broadcast {
			// Linux's icmp_echo_ignore_broadcasts=1 (smurf
			// amplification), counted as Linux counts it.
			st.InErrors.Inc()
			p.drop(b, p.devName(info.Dev), nil, "echo request to a broadcast")
			return
		}
		p.echoReply(b, info)
	case wire.ICMPv4EchoReply:
		st.InEchoReps.Inc()
		id, seq := binary.BigEndian.Uint16(msg[4:]), binary.BigEndian.Uint16(msg[6:])
		p.pings.deliver(id, seq, info.Src, info.TTL, len(msg)-wire.ICMPv4HeaderLen, p.clk.Now())
		b.Free()
	case wire.ICMPv4SourceQuench:
		// Deprecated (RFC 6633): counted and ignored, as Linux does.
		st.InSrcQuenchs.Inc()
		b.Free()
	case wire.ICMPv4DestUnreach, wire.ICMPv4TimeExceeded, wire.ICMPv4ParamProblem:
		switch typ {
		case wire.ICMPv4DestUnreach:
			st.InDestUnreachs.Inc()
		case wire.ICMPv4TimeExceeded:
			st.InTimeExcds.Inc()
		default:
			st.InParmProbs.Inc()
		}
		if info.Broadcast {
			// An error sent to a broadcast address is bogus (RFC 1122
			// §3.2.2: never sent in reply to a broadcast).
			st.InErrors.Inc()
			p.drop(b, p.devName(info.Dev), nil, "ICMP error to a broadcast")
			return
		}
		p.icmpError(b, info, typ, code, msg)
	case wire.ICMPv4Redirect:
		st.InRedirects.Inc()
		b.Free() // hosts may ignore redirects; Linux does when forwarding
	case wire.ICMPv4Timestamp:
		st.InTimestamps.Inc()
		b.Free()
	default:
		st.InOther.Inc()
		b.Free()
	}
}

// icmpError passes an error to the transport that sent the quoted packet
// (cf. icmp_unreach → ipprot->err_handler). Takes ownership.
func (p *Proto) icmpError(b *pkt.Buf, info *RxInfo, typ wire.ICMPv4Type, code uint8, msg []byte) {
	defer b.Free()
	q := msg[wire.ICMPv4HeaderLen:]
	if len(q) < wire.IPv4MinHeaderLen || q[0]>>4 != 4 {
		p.icmp.InErrors.Inc()
		return
	}
	hl := int(q[0]&0xf) * 4
	if hl < wire.IPv4MinHeaderLen || len(q) < hl+8 {
		p.icmp.InErrors.Inc()
		return
	}
	e := ICMPError{
		Type: typ, Code: code, From: info.Src, Proto: q[9],
		Src:       netip.AddrFrom4([4]byte(q[12:16])),
		Dst:       netip.AddrFrom4([4]byte(q[16:20])),
		Transport: q[hl:],
	}
	if wire.NewICMPv4TypeCode(typ, code) == wire.ICMPv4FragmentationNeeded {
		e.MTU = int(binary.BigEndian.Uint16(msg[6:8]))
	}
	if e.Proto == protoICMP {
		// An error about one of our echo requests: tell the pinger.
		if len(e.Transport) >= 8 && wire.ICMPv4Type(e.Transport[0]) == wire.ICMPv4Echo {
			id, seq := binary.BigEndian.Uint16(e.Transport[4:]), binary.BigEndian.Uint16(e.Transport[6:])
			p.pings.deliverError(id, seq, e)
		}
		return
	}
	if proto := p.protos.Load()[e.Proto]; proto != nil {
		proto.DeliverError(&e)
	}
}

// echoReply turns an echo request into its reply in place and sends it
// back (cf. icmp_echo). Takes ownership.
func (p *Proto) echoReply(b *pkt.Buf, info *RxInfo) {
	src := info.Dst
	if _, ok := p.addrs.IsLocal(src); !ok && !src.IsLoopback() {
		// The address went away since IP routed the request here.
		p.drop(b, p.devName(info.Dev), &p.icmp.InErrors, "echo request to an address no longer ours")
		return
	}
	// The options to reflect (RFC 1122 §3.2.2.6).
	var opts []byte
	if o := info.Options(); len(o) > 0 {
		opts = echoOptions(o)
	}
	rt, err := p.RouteOutput(info.Src, src)
	if err != nil {
		p.icmp.OutErrors.Inc()
		p.drop(b, p.devName(info.Dev), &p.stats.OutNoRoutes, "no route for echo reply")
		return
	}
	msg := b.Writable(b.Len())
	msg[0] = byte(wire.ICMPv4EchoReply)
	msg[2], msg[3] = 0, 0
	binary.BigEndian.PutUint16(msg[2:], ^wire.Fold(wire.Checksum(msg, 0)))
	p.icmp.OutMsgs.Inc()
	p.icmp.OutEchoReps.Inc()
	p.icmpSendProbe(b, &rt, msg)
	p.Output(b, &rt, protoICMP, SendOptions{TOS: info.TOS, Options: opts})
}

func (p *Proto) icmpSendProbe(b *pkt.Buf, rt *Route, msg []byte) {
	if pr := p.probes.icmpSend; pr.Enabled() {
		pr.Fire(&trace.Event{PktID: b.ID, Dev: rt.Dev.Name(), Len: len(msg), Proto: protoICMP, Src: rt.Src, Dst: rt.Dst,
			ICMPType: msg[0], ICMPCode: msg[1],
			Detail: icmpDescribe(wire.ICMPv4Type(msg[0]), msg[1], msg)})
	}
}

// SendError sends an ICMP error about orig, whose data starts at its IPv4
// header, which arrived on the device with ifindex inDev. It does not take
// ownership of orig. It applies RFC 1122 §3.2.2 and RFC 1812 §4.3.2.7:
// never about an ICMP error, a broadcast or multicast, a non-first
// fragment, or a source that does not name one host; and the rate limit.
// extra is the second header word (next-hop MTU for frag-needed).
// Context: softnet or process.
func (p *Proto) SendError(inDev int, orig *pkt.Buf, tc wire.ICMPv4TypeCode, extra uint32) {
	st := p.icmp
	var hb []byte
	if off, ok := orig.NetworkOffset(); ok && off < 0 {
		hb = orig.NetworkHeader()
	} else {
		// The whole header, options included, and the first bytes of
		// the payload (an ICMP type, a transport's ports).
		hb = orig.Peek(min(orig.Len(), wire.IPv4MinHeaderLen))
		if len(hb) == wire.IPv4MinHeaderLen {
			hl := int(hb[0]&0xf) * 4
			hb = orig.Peek(min(orig.Len(), hl+8))
		}
	}
	if len(hb) < wire.IPv4MinHeaderLen {
		st.OutErrors.Inc() // the offending header is no longer held
		return
	}
	h, err := wire.ParseIPv4HeaderView(hb)
	if err != nil {
		st.OutErrors.Inc()
		return
	}
	src, dst := h.Src(), h.Dst()
	suppress := orig.Type == pkt.Broadcast || orig.Type == pkt.Multicast ||
		dst.IsMulticast() || dst == limitedBroadcast || p.addrs.IsAnyBroadcast(dst) ||
		h.FragmentOffset() != 0 ||
		src.IsUnspecified() || src.IsMulticast() || src == limitedBroadcast || isZeroNet(src) || p.addrs.IsAnyBroadcast(src) ||
		src.As4()[0] >= 240 || (src.IsLoopback() && orig.Dev != 0 && !p.isLoopbackDev(orig.Dev))
	if !suppress && h.Protocol() == protoICMP {
		hl := h.HeaderLen()
		if len(hb) > hl {
			// Only queries (echo, timestamp, ...) may be answered with an
			// error; unknown types are treated as errors.
			if t := wire.ICMPv4Type(hb[hl]); t.IsError() || t > wire.ICMPv4TimestampReply {
				suppress = true
			}
		}
	}
	if suppress {
		st.ErrorsSuppressed.Inc()
		return
	}
	if !p.limit.allow() {
		st.OutRateLimited.Inc()
		return
	}
	// The source of the error: the address the offending packet was sent
	// to when it is ours, else an address of the interface the error
	// leaves by (RFC 1812 §4.3.2.4; Linux's default
	// icmp_errors_use_inbound_ifaddr=0), which routing picks.
	var from netip.Addr
	if _, ok := p.addrs.IsLocal(dst); ok {
		from = dst
	}
	rt, err := p.RouteOutput(src, from)
	if err != nil {
		st.OutErrors.Inc()
		return
	}
	// Quote the offending datagram from its IP header: as much as fits
	// in 576 bytes. The header may already be pulled (off < 0).
	off, marked := orig.NetworkOffset()
	if !marked || off > 0 {
		off = 0
	}
	qlen := min(int(h.TotalLen()), orig.Len()-off, maxQuote)
	if qlen < h.HeaderLen() {
		return
	}
	b := p.pool.Get(pkt.MaxHeaderLen, wire.ICMPv4HeaderLen+qlen)
	b.ID = p.reg.NextPacketID() // a packet of its own, as Linux's error is a new skb
	msg := b.View(0)
	msg[0], msg[1], msg[2], msg[3] = byte(tc.Type()), tc.Code(), 0, 0
	binary.BigEndian.PutUint32(msg[4:], extra)
	quote := msg[wire.ICMPv4HeaderLen:]
	n := 0
	if off < 0 {
		n = copy(quote, hb) // the pulled headers, still in the headroom
	}
	if n < qlen {
		orig.CopyRange(n+off, quote[n:])
	}
	binary.BigEndian.PutUint16(msg[2:], ^wire.Fold(wire.Checksum(msg, 0)))
	st.OutMsgs.Inc()
	switch tc.Type() {
	case wire.ICMPv4DestUnreach:
		st.OutDestUnreachs.Inc()
	case wire.ICMPv4TimeExceeded:
		st.OutTimeExcds.Inc()
	case wire.ICMPv4ParamProblem:
		st.OutParmProbs.Inc()
	}
	p.icmpSendProbe(b, &rt, msg)
	p.Output(b, &rt, protoICMP, SendOptions{TOS: 0xc0})
}

// neighUnreachable answers a packet whose next hop never resolved with
// ICMP host unreachable (RFC 1122 §2.3.2.2); takes ownership.
func (p *Proto) neighUnreachable(dev *netdev.Device, b *pkt.Buf) {
	in := b.Dev
	if in == dev.Index() {
		in = 0
	}
	if _, ok := b.NetworkOffset(); !ok {
		b.SetNetworkHeader()
	}
	p.SendError(in, b, wire.ICMPv4HostUnreachable, 0)
	p.drop(b, dev.Name(), &p.stats.OutDiscards, "neighbour unreachable")
}

// reassemblyTimeout answers an incomplete datagram whose first fragment
// arrived with time exceeded, code 1 (RFC 792); takes ownership.
func (p *Proto) reassemblyTimeout(first *pkt.Buf) {
	p.SendError(first.Dev, first, wire.ICMPv4ReassemblyTimeout, 0)
	first.Free()
}

func icmpDescribe(typ wire.ICMPv4Type, code uint8, msg []byte) string {
	switch typ {
	case wire.ICMPv4Echo, wire.ICMPv4EchoReply:
		name := "echo request"
		if typ == wire.ICMPv4EchoReply {
			name = "echo reply"
		}
		if len(msg) >= 8 {
			return fmt.Sprintf("%s id %d seq %d len %d", name, binary.BigEndian.Uint16(msg[4:]), binary.BigEndian.Uint16(msg[6:]), len(msg)-8)
		}
		return name
	case wire.ICMPv4DestUnreach:
		names := map[uint8]string{0: "net unreachable", 1: "host unreachable", 2: "protocol unreachable", 3: "port unreachable", 4: "fragmentation needed"}
		if n, ok := names[code]; ok {
			if code == 4 && len(msg) >= 8 {
				return fmt.Sprintf("%s (mtu %d)", n, binary.BigEndian.Uint16(msg[6:]))
			}
			return n
		}
		return fmt.Sprintf("destination unreachable code %d", code)
	case wire.ICMPv4TimeExceeded:
		if code == 1 {
			return "time exceeded in reassembly"
		}
		return "time exceeded in transit"
	}
	return wire.NewICMPv4TypeCode(typ, code).String()
}

package wire_test

import (
	"bytes"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"ustack/wire"
)

// The golden tests read frames the Linux kernel sent and received
// (testdata/golden.pcap, made by testdata/capture.sh) and check for each
// that it parses, that its checksums verify, that encoding the parsed
// headers gives back the frame byte for byte, and that gopacket, an
// independent decoder, reads every field the same.

const linkTypeEthernet = 1

func TestGolden(t *testing.T) {
	lt, frames := readPcap(t, "testdata/golden.pcap")
	if lt != linkTypeEthernet {
		t.Fatalf("golden.pcap link type %d, want Ethernet", lt)
	}
	g := &goldenState{seen: map[string]int{}, frags: map[uint16][]wire.IPv4View{}}
	for i, f := range frames {
		t.Run(fmt.Sprintf("frame%02d", i), func(t *testing.T) { g.check(t, f) })
	}

	// Reassemble each fragmented datagram and verify its ICMP checksum
	// over the fragments' payloads as chunks, in offset order.
	for id, fr := range g.frags {
		slices.SortFunc(fr, func(a, b wire.IPv4View) int { return int(a.FragmentOffset()) - int(b.FragmentOffset()) })
		var chunks [][]byte
		next := uint16(0)
		for _, v := range fr {
			if v.FragmentOffset() != next {
				t.Fatalf("datagram %d: fragment at %d, want %d", id, v.FragmentOffset(), next)
			}
			next += uint16(len(v.Payload()))
			chunks = append(chunks, v.Payload())
		}
		if fr[len(fr)-1].MoreFragments() {
			t.Fatalf("datagram %d: last fragment missing", id)
		}
		if got := wire.Fold(wire.ChecksumChunks(0, chunks...)); got != 0xffff {
			t.Errorf("datagram %d: ICMP checksum over %d fragments folds to %#04x, want 0xffff", id, len(chunks), got)
		}
		if next != 3008 {
			t.Errorf("datagram %d: reassembled %d bytes, want 3008", id, next)
		}
		g.seen["reassembled"]++
	}

	want := map[string]int{
		"ARP Request": 1, "ARP Reply": 1,
		"Echo": 4, "EchoReply": 2, // one echo request each: to R, to B, TTL 1, DF too big
		"TimeExceeded(TTLExceeded)":                   1,
		"DestinationUnreachable(FragmentationNeeded)": 1,
		"DestinationUnreachable(PortUnreachable)":     1,
		"first fragment":                              2, "middle fragment": 2, "last fragment": 2, "reassembled": 2,
		"UDP": 3, "SYN": 2, "SYN|ACK": 1, "RST|ACK": 1, "FIN|ACK": 2,
		"TCP with SACK blocks": 1, "TCP with data": 1,
	}
	for k, n := range want {
		if g.seen[k] < n {
			t.Errorf("golden.pcap has %d %q, want at least %d (regenerate with testdata/capture.sh?)", g.seen[k], k, n)
		}
	}
}

type goldenState struct {
	seen  map[string]int
	frags map[uint16][]wire.IPv4View
}

func (g *goldenState) check(t *testing.T, frame []byte) {
	pkt := gopacket.NewPacket(frame, layers.LayerTypeEthernet, gopacket.DecodeOptions{NoCopy: true})
	rebuilt := make([]byte, 0, len(frame))

	eth, err := wire.ParseEthernetView(frame)
	if err != nil {
		t.Fatalf("ParseEthernetView(%x) = %v", frame, err)
	}
	var eh wire.EthernetHeader
	if _, err := eh.Parse(frame); err != nil {
		t.Fatalf("Parse(%x) = %v", frame, err)
	}
	rebuilt = appendEncoded(rebuilt, &eh)
	ge := pkt.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
	expect(t, "Ethernet dst", eh.Dst[:], []byte(ge.DstMAC))
	expect(t, "Ethernet src", eh.Src[:], []byte(ge.SrcMAC))
	expect(t, "EtherType", uint16(eh.EtherType), uint16(ge.EthernetType))

	switch eh.EtherType {
	case wire.EtherTypeARP:
		var h wire.ARPHeader
		if _, err := h.Parse(eth.Payload()); err != nil {
			t.Fatalf("ARP Parse(%x) = %v", eth.Payload(), err)
		}
		rebuilt = appendEncoded(rebuilt, &h)
		ga := pkt.Layer(layers.LayerTypeARP).(*layers.ARP)
		v, _ := wire.ParseARPView(eth.Payload())
		expect(t, "ARP HType", v.HType(), uint16(ga.AddrType))
		expect(t, "ARP PType", uint16(v.PType()), uint16(ga.Protocol))
		expect(t, "ARP HLen", v.HLen(), ga.HwAddressSize)
		expect(t, "ARP PLen", v.PLen(), ga.ProtAddressSize)
		expect(t, "ARP Op", uint16(h.Op), ga.Operation)
		expect(t, "ARP SHA", h.SenderMAC[:], ga.SourceHwAddress)
		expect(t, "ARP SPA", h.SenderIP, addrOf(ga.SourceProtAddress))
		expect(t, "ARP THA", h.TargetMAC[:], ga.DstHwAddress)
		expect(t, "ARP TPA", h.TargetIP, addrOf(ga.DstProtAddress))
		g.seen["ARP "+h.Op.String()]++
		rebuilt = append(rebuilt, eth.Payload()[wire.ARPLen:]...)

	case wire.EtherTypeIPv4:
		ip, err := wire.ParseIPv4View(eth.Payload())
		if err != nil {
			t.Fatalf("ParseIPv4View(%x) = %v", eth.Payload(), err)
		}
		if !ip.IsValidChecksum() {
			t.Errorf("IPv4 header checksum %#04x invalid, want %#04x", ip.Checksum(), ip.CalculateChecksum())
		}
		var h wire.IPv4Header
		if _, err := h.Parse(eth.Payload()); err != nil {
			t.Fatalf("IPv4 Parse(%x) = %v", eth.Payload(), err)
		}
		rebuilt = appendEncoded(rebuilt, &h)
		gi := pkt.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
		expect(t, "IPv4 version", ip.Version(), gi.Version)
		expect(t, "IPv4 IHL", ip.IHL(), gi.IHL)
		expect(t, "IPv4 TOS", h.TOS, gi.TOS)
		expect(t, "IPv4 total length", h.TotalLen, gi.Length)
		expect(t, "IPv4 ID", h.ID, gi.Id)
		expect(t, "IPv4 flags", uint8(h.Flags), uint8(gi.Flags))
		expect(t, "IPv4 fragment offset", h.FragOff, gi.FragOffset*8)
		expect(t, "IPv4 TTL", h.TTL, gi.TTL)
		expect(t, "IPv4 protocol", uint8(h.Protocol), uint8(gi.Protocol))
		expect(t, "IPv4 checksum", h.Checksum, gi.Checksum)
		expect(t, "IPv4 src", h.Src, addrOf(gi.SrcIP))
		expect(t, "IPv4 dst", h.Dst, addrOf(gi.DstIP))
		expect(t, "IPv4 options", len(h.Options), len(gi.Options))

		if ip.IsFragment() {
			g.frags[ip.ID()] = append(g.frags[ip.ID()], ip)
			switch {
			case ip.FragmentOffset() == 0:
				g.seen["first fragment"]++
			case ip.MoreFragments():
				g.seen["middle fragment"]++
			default:
				g.seen["last fragment"]++
			}
		}
		rest := ip.Payload()
		if ip.FragmentOffset() == 0 {
			rest = g.checkTransport(t, pkt, ip, &rebuilt)
		}
		rebuilt = append(rebuilt, rest...)
		rebuilt = append(rebuilt, eth.Payload()[ip.TotalLen():]...) // link padding, if any

	default:
		t.Fatalf("unexpected EtherType %v", eh.EtherType)
	}

	if !bytes.Equal(rebuilt, frame) {
		t.Errorf("Encode(Parse(%x)) = %x", frame, rebuilt)
	}
}

// checkTransport checks the transport header of an unfragmented datagram
// or first fragment, appends its encoding to rebuilt and returns the bytes
// after it.
func (g *goldenState) checkTransport(t *testing.T, pkt gopacket.Packet, ip wire.IPv4View, rebuilt *[]byte) []byte {
	b := ip.Payload()
	whole := !ip.IsFragment()
	ps := wire.PseudoHeaderSum(ip.Src(), ip.Dst(), ip.Protocol(), uint16(len(b)))
	switch ip.Protocol() {
	case wire.ProtoICMP:
		v, err := wire.ParseICMPv4View(b)
		if err != nil {
			t.Fatalf("ParseICMPv4View(%x) = %v", b, err)
		}
		if whole && !v.IsValidChecksum() {
			t.Errorf("ICMP checksum %#04x invalid, want %#04x", v.Checksum(), v.CalculateChecksum())
		}
		var h wire.ICMPv4Header
		h.Parse(b)
		*rebuilt = appendEncoded(*rebuilt, &h)
		gc, ok := pkt.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4)
		if !ok { // gopacket does not decode first fragments
			gc = &layers.ICMPv4{TypeCode: layers.ICMPv4TypeCode(v.TypeCode()), Checksum: h.Checksum, Id: v.ID(), Seq: v.Seq()}
		}
		expect(t, "ICMP type/code", uint16(v.TypeCode()), uint16(gc.TypeCode))
		expect(t, "ICMP checksum", h.Checksum, gc.Checksum)
		expect(t, "ICMP rest", h.Rest, uint32(gc.Id)<<16|uint32(gc.Seq))
		if h.Type == wire.ICMPv4Echo || h.Type == wire.ICMPv4EchoReply {
			expect(t, "ICMP echo ID", v.ID(), gc.Id)
			expect(t, "ICMP echo seq", v.Seq(), gc.Seq)
			if whole {
				g.seen[h.Type.String()]++
			}
		}
		if h.Type.IsError() {
			q, tr, err := v.Quoted()
			if err != nil {
				t.Fatalf("Quoted() of %x = %v", b, err)
			}
			if !q.IsValidChecksum() || q.Src() != ip.Dst() || len(tr) < 8 {
				t.Errorf("Quoted() = %v > %v, %d transport bytes, checksum ok %v", q.Src(), q.Dst(), len(tr), q.IsValidChecksum())
			}
			if v.TypeCode() == wire.ICMPv4FragmentationNeeded {
				expect(t, "next-hop MTU", v.NextHopMTU(), uint16(1280))
				expect(t, "quoted length", len(v.Bytes()), 576-20) // RFC 1812 §4.3.2.3
			}
			g.seen[v.TypeCode().String()]++
		}
		return v.Payload()

	case wire.ProtoUDP:
		v, err := wire.ParseUDPView(b)
		if err != nil {
			t.Fatalf("ParseUDPView(%x) = %v", b, err)
		}
		if !v.IsValidChecksum(ps) || v.Checksum() == 0 {
			t.Errorf("UDP checksum %#04x invalid, want %#04x", v.Checksum(), v.CalculateChecksum(ps))
		}
		var h wire.UDPHeader
		h.Parse(b)
		*rebuilt = appendEncoded(*rebuilt, &h)
		gu := pkt.Layer(layers.LayerTypeUDP).(*layers.UDP)
		expect(t, "UDP src port", h.SrcPort, uint16(gu.SrcPort))
		expect(t, "UDP dst port", h.DstPort, uint16(gu.DstPort))
		expect(t, "UDP length", h.Length, gu.Length)
		expect(t, "UDP checksum", h.Checksum, gu.Checksum)
		g.seen["UDP"]++
		return v.Payload()

	case wire.ProtoTCP:
		v, err := wire.ParseTCPView(b)
		if err != nil {
			t.Fatalf("ParseTCPView(%x) = %v", b, err)
		}
		if !v.IsValidChecksum(ps) {
			t.Errorf("TCP checksum %#04x invalid, want %#04x", v.Checksum(), v.CalculateChecksum(ps))
		}
		var h wire.TCPHeader
		h.Parse(b)
		*rebuilt = appendEncoded(*rebuilt, &h)
		gt := pkt.Layer(layers.LayerTypeTCP).(*layers.TCP)
		expect(t, "TCP src port", h.SrcPort, uint16(gt.SrcPort))
		expect(t, "TCP dst port", h.DstPort, uint16(gt.DstPort))
		expect(t, "TCP seq", h.Seq, gt.Seq)
		expect(t, "TCP ack", h.Ack, gt.Ack)
		expect(t, "TCP data offset", v.DataOffset(), gt.DataOffset)
		expect(t, "TCP window", h.Window, gt.Window)
		expect(t, "TCP checksum", h.Checksum, gt.Checksum)
		expect(t, "TCP urgent", h.Urgent, gt.Urgent)
		var gf wire.TCPFlags
		for i, set := range []bool{gt.FIN, gt.SYN, gt.RST, gt.PSH, gt.ACK, gt.URG, gt.ECE, gt.CWR, gt.NS} {
			if set {
				gf |= 1 << i
			}
		}
		expect(t, "TCP flags", h.Flags, gf)

		// Options: ours one by one against gopacket's list.
		var got []layers.TCPOption
		it := wire.NewTCPOptionIter(v.Options())
		for it.Next() {
			o := it.Option()
			got = append(got, layers.TCPOption{OptionType: layers.TCPOptionKind(o.Kind), OptionLength: uint8(o.Len()), OptionData: o.Data})
		}
		if it.Err() != nil {
			t.Errorf("options %x: %v", v.Options(), it.Err())
		}
		expect(t, "TCP option count", len(got), len(gt.Options))
		for i := range min(len(got), len(gt.Options)) {
			a, b := got[i], gt.Options[i]
			if a.OptionType != b.OptionType || a.OptionLength != b.OptionLength || !bytes.Equal(a.OptionData, b.OptionData) {
				t.Errorf("TCP option %d = %v, gopacket %v", i, a, b)
			}
		}
		// Linux lays options out as TCPOptions.Encode does.
		var o wire.TCPOptions
		if err := v.ParseOptions(&o); err != nil {
			t.Errorf("ParseOptions(%x) = %v", v.Options(), err)
		}
		enc := make([]byte, o.Len())
		o.Encode(enc)
		if !bytes.Equal(enc, v.Options()) {
			t.Errorf("Encode(Parse(%x)) = %x", v.Options(), enc)
		}
		if h.Flags&wire.TCPFlagSYN != 0 && !(o.HasMSS && o.HasWindowScale && o.SACKPermitted && o.HasTimestamps) {
			t.Errorf("SYN options %+v, want MSS, window scale, SACK permitted and timestamps", o)
		}
		if o.NumSACKBlocks > 0 {
			g.seen["TCP with SACK blocks"]++
		}
		if len(v.Payload()) > 0 {
			g.seen["TCP with data"]++
		}
		g.seen[(h.Flags&^wire.TCPFlagPSH).String()]++
		return v.Payload()
	}
	t.Fatalf("unexpected protocol %v", ip.Protocol())
	return nil
}

type encoder interface {
	Encode([]byte) int
	Len() int
}

func appendEncoded(b []byte, h encoder) []byte {
	n := len(b)
	b = append(b, make([]byte, h.Len())...)
	if m := h.Encode(b[n:]); m != h.Len() {
		panic("Encode and Len disagree")
	}
	return b
}

func addrOf(ip net.IP) netip.Addr {
	a, _ := netip.AddrFromSlice(ip)
	return a.Unmap()
}

func expect[T any](t *testing.T, what string, ours, theirs T) {
	t.Helper()
	if !equal(ours, theirs) {
		t.Errorf("%s = %v, gopacket %v", what, ours, theirs)
	}
}

func equal(a, b any) bool {
	if x, ok := a.([]byte); ok {
		return bytes.Equal(x, b.([]byte))
	}
	return a == b
}

package netdev

// Generic segmentation offload, in software: a TCP super-packet (a Buf
// with GSOSize set) that the driver cannot carry whole is cut here into
// the wire segments it stands for, just before the driver sees it.
//
// Read before editing: RFC 791 §3.1 (total length, identification, header
// checksum), RFC 9293 §3.1 (sequence number, flags, checksum over the
// pseudo-header), RFC 3168 §6.1.2 (CWR on the first segment only). Linux:
// net/core/gso.c (skb_gso_segment), net/ipv4/af_inet.c
// (inet_gso_segment: total length, ID incremented per segment, header
// checksum), net/ipv4/tcp_offload.c (tcp_gso_segment: seq advanced, FIN and
// PSH on the last segment only, CWR on the first only), net/core/dev.c
// (validate_xmit_skb, netif_needs_gso).

import (
	"encoding/binary"
	"errors"

	"ustack/pkt"
	"ustack/wire"
)

// ErrNotSegmentable is returned for a GSO packet that is not a whole,
// well-formed IPv4/TCP packet: software GSO cannot cut it.
var ErrNotSegmentable = errors.New("netdev: GSO packet is not a segmentable IPv4/TCP packet")

// gsoHeaders locates the headers of a GSO super-packet.
type gsoHeaders struct {
	link, ip, tcp int // header lengths
	payload       int // TCP payload bytes
}

func (h gsoHeaders) len() int { return h.link + h.ip + h.tcp }

// needsGSO reports whether b is a GSO packet the device must segment in
// software: it has no GSO, or b is larger than it takes whole (cf.
// netif_needs_gso). b's data starts at the link header.
func (d *Device) needsGSO(b *pkt.Buf) bool {
	return b.GSOSize > 0 && (d.caps.GSOMaxSize <= 0 || b.Len()-d.linkHeaderLen() > d.caps.GSOMaxSize)
}

// gsoFitsMTU reports whether each wire segment of the GSO packet b (data
// at the link header) fits the device's MTU: what SendEthernet checks
// instead of the whole length. A packet that is not segmentable passes
// here: transmitGSO drops and counts it if it has to be cut.
func (d *Device) gsoFitsMTU(b *pkt.Buf) bool {
	h, err := parseGSO(b, d.linkHeaderLen())
	return err != nil || h.ip+h.tcp+int(b.GSOSize) <= d.MTU()
}

// transmitGSO cuts the GSO packet b into wire segments and transmits each
// in order, taking ownership (cf. validate_xmit_skb → skb_gso_segment).
// Each segment is an ordinary frame to the rest of the device: the
// transmit probe sees it, and it is queued and counted (TxPackets,
// TxBytes) on its own. Context: any.
func (d *Device) transmitGSO(b *pkt.Buf) error {
	st := d.reg.stats
	h, err := parseGSO(b, d.linkHeaderLen())
	if err != nil {
		st.OutGSOErrors.Inc()
		d.Stats.TxDropped.Inc()
		d.reg.dropProbe(d, b, "GSO packet not segmentable")
		b.Free()
		return err
	}
	if h.ip+h.tcp+int(b.GSOSize) > d.MTU() {
		st.OutTooBig.Inc()
		d.Stats.TxDropped.Inc()
		d.reg.dropProbe(d, b, "GSO segment exceeds MTU")
		b.Free()
		return ErrTooBig
	}
	var first error
	n := segmentTCP(b, h, func(s *pkt.Buf) {
		if err := d.Transmit(s); err != nil && first == nil {
			first = err
		}
	})
	st.OutGSOPackets.Inc()
	st.OutGSOSegs.Add(uint64(n))
	if d.caps.Link == LinkEthernet {
		st.OutFrames.Add(uint64(n - 1)) // SendEthernet counted the super-packet as one
	}
	return first
}

// parseGSO checks that b (data at a link header of linkLen bytes) is a
// whole IPv4/TCP packet with payload, not a fragment, and returns its
// header lengths. It may make the headers contiguous; it changes nothing
// else.
func parseGSO(b *pkt.Buf, linkLen int) (gsoHeaders, error) {
	h := gsoHeaders{link: linkLen}
	if b.GSOSize == 0 {
		return h, ErrNotSegmentable
	}
	ib := b.Peek(linkLen + wire.IPv4MinHeaderLen)
	if ib == nil {
		return h, ErrNotSegmentable
	}
	h.ip = int(ib[linkLen]&0xf) * 4
	ib = b.Peek(linkLen + h.ip + wire.TCPMinHeaderLen)
	if ib == nil {
		return h, ErrNotSegmentable
	}
	ip, err := wire.ParseIPv4HeaderView(ib[linkLen:])
	if err != nil || ip.Protocol() != wire.ProtoTCP || ip.IsFragment() ||
		int(ip.TotalLen()) != b.Len()-linkLen {
		return h, ErrNotSegmentable
	}
	h.tcp = int(ib[linkLen+h.ip+12]>>4) * 4
	if h.tcp < wire.TCPMinHeaderLen || b.Peek(h.len()) == nil {
		return h, ErrNotSegmentable
	}
	h.payload = b.Len() - h.len()
	if h.payload <= 0 {
		return h, ErrNotSegmentable
	}
	return h, nil
}

// segmentTCP cuts b, whose headers parseGSO found, into segments of at
// most b.GSOSize payload bytes, passes each to emit in order, and frees b;
// it returns how many it made (cf. tcp_gso_segment and inet_gso_segment).
// Each segment holds a copy of the headers in a chunk of its own and its
// payload by reference to b's. Per segment: the IP total length, ID
// (the super-packet's, plus the segment's index) and header checksum; the
// TCP sequence number, FIN and PSH only on the last, CWR only on the
// first, and the checksum, always computed: ustack's ChecksumOffload is a
// receiver's trust in its link, not a promise that the frame's checksum
// will be filled in after this, so a segment leaves complete.
func segmentTCP(b *pkt.Buf, h gsoHeaders, emit func(*pkt.Buf)) int {
	var tmpl [pkt.MaxHeaderLen]byte
	hl := h.len()
	copy(tmpl[:hl], b.Peek(hl))
	ipT := tmpl[h.link : h.link+h.ip]
	tcpT := tmpl[h.link+h.ip : hl]
	id := binary.BigEndian.Uint16(ipT[4:])
	seq := binary.BigEndian.Uint32(tcpT[4:])
	flags := wire.TCPFlags(binary.BigEndian.Uint16(tcpT[12:]) & 0x0fff)
	ipv, _ := wire.ParseIPv4HeaderView(ipT) // checked by parseGSO
	src, dst := ipv.Src(), ipv.Dst()

	mss := int(b.GSOSize)
	segs := 0
	for off := 0; off < h.payload; off += mss {
		n := min(mss, h.payload-off)
		last := off+n == h.payload
		s := b.Slice(hl+off, n)
		s.GSOSize = 0
		// Three pushes, so that each header mark names this segment's
		// header; the first puts a private chunk in front of the shared
		// payload, the others use its headroom.
		th := s.Push(h.tcp)
		s.SetTransportHeader()
		copy(th, tcpT)
		ih := s.Push(h.ip)
		s.SetNetworkHeader()
		copy(ih, ipT)
		if h.link > 0 {
			copy(s.Push(h.link), tmpl[:h.link])
			s.SetLinkHeader()
		}

		binary.BigEndian.PutUint16(ih[2:], uint16(h.ip+h.tcp+n))
		binary.BigEndian.PutUint16(ih[4:], id+uint16(segs))
		binary.BigEndian.PutUint16(ih[10:], 0)
		binary.BigEndian.PutUint16(ih[10:], ^wire.Fold(wire.Checksum(ih, 0)))

		f := flags
		if !last {
			f &^= wire.TCPFlagFIN | wire.TCPFlagPSH
		}
		if segs > 0 {
			f &^= wire.TCPFlagCWR
		}
		binary.BigEndian.PutUint32(th[4:], seq+uint32(off))
		binary.BigEndian.PutUint16(th[12:], binary.BigEndian.Uint16(th[12:])&0xf000|uint16(f))
		binary.BigEndian.PutUint16(th[16:], 0)
		// The pseudo-header, the TCP header, then the payload views
		// past the headers, each at its offset in the segment (an odd
		// offset swaps the bytes of the sum; see wire.Combine).
		sum := wire.Checksum(th, wire.PseudoHeaderSum(src, dst, wire.ProtoTCP, uint16(h.tcp+n)))
		skip, at := hl, h.tcp
		for i := 0; i < s.NumViews(); i++ {
			v := s.View(i)
			if skip >= len(v) {
				skip -= len(v)
				continue
			}
			v, skip = v[skip:], 0
			sum = wire.Combine(sum, wire.Checksum(v, 0), at)
			at += len(v)
		}
		binary.BigEndian.PutUint16(th[16:], ^wire.Fold(sum))
		segs++
		emit(s)
	}
	b.Free()
	return segs
}

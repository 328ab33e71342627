package ipv4

// GSO super-packets at the IP layer: TCP hands Output one packet standing
// for several wire segments (pkt.Buf.GSOSize), and a router may receive
// one whole from a GSO link. Such a packet is judged against the MTU by
// the size of its segments, not its own, is never fragmented, and takes
// one IP ID per segment; the device sends it whole or cuts it (netdev's
// gso.go).
//
// Read before editing: RFC 791 §3.2 (identification: one per datagram on
// the wire, so one per segment here), RFC 1191 (fragmentation needed for
// a segment too big). Linux net/ipv4/ip_output.c (ip_finish_output_gso,
// ip_select_ident_segs), net/ipv4/ip_forward.c (ip_exceeds_mtu: a GSO
// packet exceeds the MTU only if its segments do), net/core/gso.c
// (skb_gso_validate_network_len).

import (
	"encoding/binary"

	"ustack/netdev"
	"ustack/pkt"
	"ustack/wire"
)

// gsoMaxSize is the route's GSOMaxSize for output through dev.
func gsoMaxSize(dev *netdev.Device) uint16 {
	return uint16(min(max(dev.Caps().GSOMaxSize, 0), netdev.GSOMaxSize))
}

// gsoOutputSize returns, for a GSO packet b whose data starts at its TCP
// header and which is to get an IP header of hlen bytes, the length of
// each full wire segment and how many segments it makes; ok is false if
// b is not a TCP segment that GSO can cut.
func gsoOutputSize(b *pkt.Buf, hlen int, proto uint8) (size int, segs uint32, ok bool) {
	th := b.Peek(wire.TCPMinHeaderLen)
	if proto != uint8(wire.ProtoTCP) || th == nil {
		return 0, 0, false
	}
	thl := int(th[12]>>4) * 4
	payload := b.Len() - thl
	if thl < wire.TCPMinHeaderLen || payload <= 0 {
		return 0, 0, false
	}
	gso := int(b.GSOSize)
	return hlen + thl + min(gso, payload), uint32((payload + gso - 1) / gso), true
}

// gsoForwardSize returns the length of each full wire segment of the GSO
// packet b, whose data starts at the IPv4 header h views (cf.
// skb_gso_network_seglen); 0 if it is not a TCP packet GSO can cut.
func gsoForwardSize(b *pkt.Buf, h wire.IPv4View) int {
	hl := h.HeaderLen()
	if h.Protocol() != wire.ProtoTCP || b.Len() < hl+wire.TCPMinHeaderLen {
		return 0
	}
	// One byte copied, not Peek: a pull-up would move the bytes h views.
	var off [1]byte
	b.CopyRange(hl+12, off[:])
	thl := int(off[0]>>4) * 4
	return hl + thl + min(int(b.GSOSize), max(b.Len()-hl-thl, 0))
}

// gsoFixChecksum computes the TCP checksum of the GSO packet b (data at
// the IPv4 header) over the whole super-packet, in place. A sender leaves
// it uncomputed on a GSO link whose ends trust their checksums (the
// receiving stack does not verify it): before such a packet goes on,
// whole, to a GSO link whose receiver verifies, it needs one. Segments cut
// in software get theirs anyway. Context: softnet (forwarding).
func gsoFixChecksum(b *pkt.Buf, h wire.IPv4View) {
	// Read h first: Writable may move the bytes it views.
	hl, src, dst := h.HeaderLen(), h.Src(), h.Dst()
	hb := b.Writable(hl + wire.TCPMinHeaderLen)
	if hb == nil {
		return
	}
	binary.BigEndian.PutUint16(hb[hl+16:], 0)
	sum := wire.PseudoHeaderSum(src, dst, wire.ProtoTCP, uint16(b.Len()-hl))
	skip, at := hl, 0
	for i := 0; i < b.NumViews(); i++ {
		v := b.View(i)
		if skip >= len(v) {
			skip -= len(v)
			continue
		}
		v, skip = v[skip:], 0
		sum = wire.Combine(sum, wire.Checksum(v, 0), at)
		at += len(v)
	}
	binary.BigEndian.PutUint16(hb[hl+16:], ^wire.Fold(sum))
}

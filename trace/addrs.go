package trace

import (
	"encoding/binary"
	"net/netip"
)

// FillAddrs sets the event's addresses, IP protocol and, for TCP and UDP,
// ports from a packet's IPv4 header ip and transport header l4 (nil: the
// one after ip, if ip holds it) — for the drop probes of layers that give
// up on a packet before they have its addresses in hand (a bad checksum,
// no socket, not ours), so that a drop can be filtered and followed like
// any other event. It reads what the headers say without checking it,
// and never overwrites a field already set. Call it only under Enabled:
// it costs a little parsing.
func (e *Event) FillAddrs(ip, l4 []byte) {
	if len(ip) < 20 || ip[0]>>4 != 4 {
		return
	}
	if !e.Src.IsValid() {
		e.Src = netip.AddrFrom4([4]byte(ip[12:16]))
	}
	if !e.Dst.IsValid() {
		e.Dst = netip.AddrFrom4([4]byte(ip[16:20]))
	}
	if e.Proto == 0 {
		e.Proto = ip[9]
	}
	if ip[9] != 6 && ip[9] != 17 {
		return
	}
	if l4 == nil {
		ihl := int(ip[0]&0x0f) * 4
		first := binary.BigEndian.Uint16(ip[6:8])&0x1fff == 0 // offset 0: the transport header is here
		if ihl < 20 || len(ip) < ihl+4 || !first {
			return
		}
		l4 = ip[ihl:]
	}
	if len(l4) >= 4 && e.SrcPort == 0 && e.DstPort == 0 {
		e.SrcPort = binary.BigEndian.Uint16(l4[0:2])
		e.DstPort = binary.BigEndian.Uint16(l4[2:4])
	}
}

package trace

import (
	"net/netip"
	"testing"
)

func TestFillAddrs(t *testing.T) {
	// 10.0.0.1:1234 -> 10.0.0.2:80, TCP, not a fragment.
	ip := []byte{0x45, 0, 0, 40, 0, 1, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, 0x04, 0xd2, 0, 80}
	var e Event
	e.FillAddrs(ip, nil)
	if e.Src != netip.MustParseAddr("10.0.0.1") || e.Dst != netip.MustParseAddr("10.0.0.2") || e.Proto != 6 || e.SrcPort != 1234 || e.DstPort != 80 {
		t.Errorf("FillAddrs = %v:%d -> %v:%d proto %d, want 10.0.0.1:1234 -> 10.0.0.2:80 proto 6", e.Src, e.SrcPort, e.Dst, e.DstPort, e.Proto)
	}
	// A later fragment: no ports in it.
	ip[6], ip[7] = 0x00, 0x10
	e = Event{}
	e.FillAddrs(ip, nil)
	if e.SrcPort != 0 || e.DstPort != 0 || !e.Src.IsValid() {
		t.Errorf("FillAddrs of a non-first fragment: ports %d %d, src %v; want no ports, the addresses", e.SrcPort, e.DstPort, e.Src)
	}
	// Not IPv4, too short: nothing.
	e = Event{}
	e.FillAddrs(ip[:19], nil)
	e.FillAddrs(append([]byte{0x65}, ip[1:]...), nil)
	if e.Src.IsValid() || e.Proto != 0 {
		t.Errorf("FillAddrs of a short or non-IPv4 header set %v proto %d", e.Src, e.Proto)
	}
}

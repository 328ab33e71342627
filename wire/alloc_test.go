package wire_test

import (
	"testing"

	"ustack/wire"
)

// The UDP echo request of the golden capture as a whole frame.
var udpFrame = fromHex(`
	020000000001 02000000000a 0800                 // Ethernet: dst, src, IPv4
	45 00 0029 f554 4000 40 11 5938 c0000201 c6336402 // IPv4: 41 bytes, DF, TTL 64, UDP
	9722 0007 0015 285a                            // UDP: 38690 -> 7, length 21
	68656c6c6f2c20776972652121                     // "hello, wire!!"
`)

// parseUDPFrame is the receive path for a UDP frame: what netdev, ipv4 and
// udp do with it before delivery.
func parseUDPFrame(frame []byte) (int, bool) {
	eth, err := wire.ParseEthernetView(frame)
	if err != nil || eth.EtherType() != wire.EtherTypeIPv4 {
		return 0, false
	}
	ip, err := wire.ParseIPv4View(eth.Payload())
	if err != nil || !ip.IsValidChecksum() || ip.IsFragment() || ip.Protocol() != wire.ProtoUDP {
		return 0, false
	}
	udp, err := wire.ParseUDPView(ip.Payload())
	if err != nil {
		return 0, false
	}
	ps := wire.PseudoHeaderSum(ip.Src(), ip.Dst(), wire.ProtoUDP, udp.Length())
	if !udp.IsValidChecksum(ps) {
		return 0, false
	}
	return len(udp.Payload()), udp.DstPort() == 7
}

func TestParseDoesNotAllocate(t *testing.T) {
	if n, ok := parseUDPFrame(udpFrame); n != 13 || !ok {
		t.Fatalf("parseUDPFrame(%x) = %d, %v, want 13, true", udpFrame, n, ok)
	}
	tests := []struct {
		name string
		f    func()
	}{
		{"views, Ethernet+IPv4+UDP", func() { parseUDPFrame(udpFrame) }},
		{"structs, Ethernet+IPv4+UDP", func() {
			var e wire.EthernetHeader
			var i wire.IPv4Header
			var u wire.UDPHeader
			n, _ := e.Parse(udpFrame)
			m, _ := i.Parse(udpFrame[n:])
			u.Parse(udpFrame[n+m:])
		}},
		{"TCP header and options", func() {
			var h wire.TCPHeader
			var o wire.TCPOptions
			h.Parse(tcpSYN)
			o.Parse(h.Options)
			for it := wire.NewTCPOptionIter(tcpSACK[20:]); it.Next(); {
			}
		}},
		{"ICMP error quote", func() {
			v, _ := wire.ParseICMPv4View(icmpPortUnreachable)
			v.Quoted()
		}},
		{"Encode", func() {
			var buf [64]byte
			h := wire.IPv4Header{TTL: 64, Options: buf[40:44]}
			h.Encode(buf[:])
			o := wire.TCPOptions{HasMSS: true, HasTimestamps: true}
			o.Encode(buf[:])
		}},
	}
	for _, tt := range tests {
		if n := testing.AllocsPerRun(1000, tt.f); n != 0 {
			t.Errorf("%s: %v allocs per run, want 0", tt.name, n)
		}
	}
}

func BenchmarkParseUDPFrame(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(udpFrame)))
	for b.Loop() {
		parseUDPFrame(udpFrame)
	}
}

func BenchmarkParseTCPOptions(b *testing.B) {
	b.ReportAllocs()
	var o wire.TCPOptions
	for b.Loop() {
		o.Parse(tcpSYN[20:])
	}
}

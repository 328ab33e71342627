package wire_test

import (
	"fmt"
	"net/netip"

	"ustack/wire"
)

// Build a UDP datagram in IPv4 in Ethernet with the header structs, then
// read it back with views, as the receive path does.
func Example() {
	src, dst := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("198.51.100.2")
	payload := []byte("hello, wire!!")

	// Transmit: encode each header into one buffer, innermost checksum
	// first (the UDP checksum covers the IP addresses, not the IP header).
	buf := make([]byte, wire.EthernetHeaderLen+wire.IPv4MinHeaderLen+wire.UDPHeaderLen+len(payload))
	eth := wire.EthernetHeader{Dst: wire.MAC{2, 0, 0, 0, 0, 1}, Src: wire.MAC{2, 0, 0, 0, 0, 0x0a}, EtherType: wire.EtherTypeIPv4}
	n := eth.Encode(buf)
	ip := wire.IPv4Header{TotalLen: uint16(len(buf) - n), ID: 1, Flags: wire.IPv4DontFragment, TTL: 64,
		Protocol: wire.ProtoUDP, Src: src, Dst: dst}
	m := ip.Encode(buf[n:])
	udp := wire.UDPHeader{SrcPort: 38690, DstPort: 7, Length: uint16(wire.UDPHeaderLen + len(payload))}
	udp.Encode(buf[n+m:])
	copy(buf[n+m+wire.UDPHeaderLen:], payload)

	ipv, _ := wire.ParseIPv4View(buf[n:])
	ipv.SetChecksum(ipv.CalculateChecksum())
	udpv, _ := wire.ParseUDPView(ipv.Payload())
	udpv.SetChecksum(udpv.CalculateChecksum(wire.PseudoHeaderSum(src, dst, wire.ProtoUDP, udpv.Length())))

	// Receive: views, checked once, then field by field.
	e, err := wire.ParseEthernetView(buf)
	if err != nil {
		panic(err)
	}
	fmt.Println(e.Src(), ">", e.Dst(), e.EtherType())
	i, err := wire.ParseIPv4View(e.Payload())
	if err != nil {
		panic(err)
	}
	fmt.Println(i.Src(), ">", i.Dst(), i.Protocol(), "ttl", i.TTL(), "df", i.DontFragment(), "checksum ok", i.IsValidChecksum())
	u, err := wire.ParseUDPView(i.Payload())
	if err != nil {
		panic(err)
	}
	ps := wire.PseudoHeaderSum(i.Src(), i.Dst(), i.Protocol(), u.Length())
	fmt.Printf("%d > %d %q checksum %#04x ok %v\n", u.SrcPort(), u.DstPort(), u.Payload(), u.Checksum(), u.IsValidChecksum(ps))
	// Output:
	// 02:00:00:00:00:0a > 02:00:00:00:00:01 IPv4
	// 192.0.2.1 > 198.51.100.2 UDP ttl 64 df true checksum ok true
	// 38690 > 7 "hello, wire!!" checksum 0x285a ok true
}

// Walk the options of a SYN.
func ExampleNextTCPOption() {
	opts := []byte{2, 4, 0x05, 0xb4, 4, 2, 1, 3, 3, 7, 0, 0}
	for rest := opts; len(rest) > 0; {
		var o wire.TCPOption
		var err error
		o, rest, err = wire.NextTCPOption(rest)
		if err != nil {
			fmt.Println(err)
			break
		}
		fmt.Println(o.Kind, o.Data)
	}
	// Output:
	// MSS [5 180]
	// SACKPermitted []
	// NOP []
	// WindowScale [7]
	// EOL []
}

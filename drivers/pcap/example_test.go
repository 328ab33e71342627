package pcap_test

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"

	"ustack/drivers/pcap"
	"ustack/drivers/vwire"
	"ustack/ipv4"
	"ustack/pcapng"
	"ustack/stack"
	"ustack/wire"
)

// Record what one host of a two-host network sends and receives, then
// read the capture back. (To a file: pcap.Create(path, c); to tap a
// device of a running stack instead: c.Attach(dev).)
func ExampleWrap() {
	a, b := stack.New(stack.Options{Seed: 1}), stack.New(stack.Options{Seed: 2})
	defer a.Close()
	defer b.Close()
	ea, eb := vwire.NewPair(vwire.Config{}, vwire.Config{})

	c := pcap.New(pcap.Options{})
	var file bytes.Buffer
	w, _ := pcap.NewWriter(&file, c)
	a.AddNIC("eth0", pcap.Wrap(ea, c, "eth0"))
	b.AddNIC("eth0", eb)
	a.AddAddress("eth0", netip.MustParsePrefix("10.0.0.1/24"))
	b.AddAddress("eth0", netip.MustParsePrefix("10.0.0.2/24"))
	a.Ping(context.Background(), netip.MustParseAddr("10.0.0.2"), ipv4.PingOptions{Count: 1}, nil)
	w.Close()

	r, _ := pcapng.NewReader(&file)
	for {
		p, err := r.Next()
		if err != nil {
			break
		}
		ip, err := wire.ParseIPv4View(p.Data[wire.EthernetHeaderLen:])
		if err != nil || ip.Protocol() != wire.ProtoICMP {
			continue // ARP
		}
		fmt.Printf("%s %-3v %v > %v ICMP type %d, %d bytes\n",
			r.Interfaces()[p.Interface].Name, p.Direction, ip.Src(), ip.Dst(), ip.Payload()[0], p.Length)
	}
	// Output:
	// eth0 out 10.0.0.1 > 10.0.0.2 ICMP type 8, 98 bytes
	// eth0 in  10.0.0.2 > 10.0.0.1 ICMP type 0, 98 bytes
}

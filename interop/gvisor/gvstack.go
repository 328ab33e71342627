package gvisor

import (
	"fmt"
	"net/netip"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/network/arp"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	gstack "gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/icmp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"
)

// NICID is the gVisor NIC a Host's Link is.
const NICID tcpip.NICID = 1

// Host is a gVisor stack with one NIC, a Link, and one IPv4 address on it.
type Host struct {
	*gstack.Stack
	Link *Link
	Addr netip.Addr
}

// NewHost builds a gVisor stack speaking IPv4, ARP, ICMP, UDP and TCP on
// link, with address addr (e.g. 10.0.0.2/24) and an on-link route for its
// subnet. It takes ownership of link (Close closes it).
func NewHost(link *Link, addr netip.Prefix) (*Host, error) {
	h, err := newHostOn(link, addr)
	if err != nil {
		return nil, err
	}
	h.Link = link
	return h, nil
}

// newHostOn is NewHost on any gVisor link endpoint; the Host's Link is nil
// and Close must not be used (call Stack.Destroy).
func newHostOn(ep gstack.LinkEndpoint, addr netip.Prefix) (*Host, error) {
	s := gstack.New(gstack.Options{
		NetworkProtocols:   []gstack.NetworkProtocolFactory{ipv4.NewProtocol, arp.NewProtocol},
		TransportProtocols: []gstack.TransportProtocolFactory{tcp.NewProtocol, udp.NewProtocol, icmp.NewProtocol4},
	})
	h := &Host{Stack: s, Addr: addr.Addr()}
	if err := s.CreateNIC(NICID, ep); err != nil {
		s.Destroy()
		return nil, fmt.Errorf("gvisor: CreateNIC: %s", err)
	}
	pa := tcpip.ProtocolAddress{
		Protocol: ipv4.ProtocolNumber,
		AddressWithPrefix: tcpip.AddressWithPrefix{
			Address:   tcpip.AddrFrom4(addr.Addr().As4()),
			PrefixLen: addr.Bits(),
		},
	}
	if err := s.AddProtocolAddress(NICID, pa, gstack.AddressProperties{}); err != nil {
		s.Destroy()
		return nil, fmt.Errorf("gvisor: AddProtocolAddress %v: %s", addr, err)
	}
	s.SetRouteTable([]tcpip.Route{{Destination: pa.AddressWithPrefix.Subnet(), NIC: NICID}})
	return h, nil
}

// FullAddr returns the gVisor form of ap on the Host's NIC.
func FullAddr(ap netip.AddrPort) tcpip.FullAddress {
	return tcpip.FullAddress{NIC: NICID, Addr: tcpip.AddrFrom4(ap.Addr().As4()), Port: ap.Port()}
}

// Close tears the Host down: endpoints aborted, then the Link closed
// (the driver first, so nothing more arrives, then the receive goroutine),
// then gVisor's own goroutines waited for.
func (h *Host) Close() {
	h.Stack.Close()
	h.Link.Close()
	h.Stack.Wait()
}

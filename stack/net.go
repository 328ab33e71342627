package stack

import (
	"context"
	"net"
	"net/netip"
	"strconv"
	"syscall"

	"ustack/gonet"
	"ustack/ipv4"
	"ustack/socket"
)

// ListenPacket opens a datagram socket as net.ListenPacket does: network
// "udp" or "udp4", address "host:port" (empty host: every address; port
// 0: ephemeral).
func (s *Stack) ListenPacket(network, address string) (net.PacketConn, error) {
	switch network {
	case "udp", "udp4":
	default:
		return nil, socket.OpError("listen", network, nil, nil, net.UnknownNetworkError(network))
	}
	ap, err := parseAddrPort(address)
	if err != nil {
		return nil, socket.OpError("listen", network, nil, nil, err)
	}
	if s.closed.Load() {
		return nil, socket.OpError("listen", network, nil, net.UDPAddrFromAddrPort(ap), socket.ErrClosed)
	}
	ep, err := s.udp.Bind(ap)
	if err != nil {
		return nil, socket.OpError("listen", network, nil, net.UDPAddrFromAddrPort(ap), err)
	}
	return gonet.NewUDPConn(ep, network), nil
}

// DialContext connects as net.Dialer.DialContext does, for "tcp"/"tcp4"
// (see Dialer) and "udp"/"udp4".
func (s *Stack) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	switch network {
	case "tcp", "tcp4":
		return s.dialTCP(ctx, network, netip.AddrPort{}, address, 0)
	}
	return s.DialFrom(ctx, network, netip.AddrPort{}, address)
}

// DialFrom is DialContext with a chosen local address (like
// net.Dialer.LocalAddr).
func (s *Stack) DialFrom(ctx context.Context, network string, local netip.AddrPort, address string) (net.Conn, error) {
	switch network {
	case "tcp", "tcp4":
		return s.dialTCP(ctx, network, local, address, 0)
	case "udp", "udp4":
	default:
		return nil, socket.OpError("dial", network, nil, nil, net.UnknownNetworkError(network))
	}
	raddr, err := parseAddrPort(address)
	if err != nil {
		return nil, socket.OpError("dial", network, nil, nil, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, socket.OpError("dial", network, nil, net.UDPAddrFromAddrPort(raddr), err)
	}
	if s.closed.Load() {
		return nil, socket.OpError("dial", network, nil, net.UDPAddrFromAddrPort(raddr), socket.ErrClosed)
	}
	ep, err := s.udp.Bind(local)
	if err != nil {
		return nil, socket.OpError("dial", network, nil, net.UDPAddrFromAddrPort(raddr), err)
	}
	if err := ep.Connect(raddr); err != nil {
		ep.Close()
		return nil, socket.OpError("dial", network, nil, net.UDPAddrFromAddrPort(raddr), err)
	}
	return gonet.NewUDPConn(ep, network), nil
}

// Ping sends echo requests to addr, like ping(8); see ipv4.Proto.Ping.
func (s *Stack) Ping(ctx context.Context, addr netip.Addr, o ipv4.PingOptions, onReply func(ipv4.EchoReply)) (ipv4.PingSummary, error) {
	return s.ip.Ping(ctx, addr, o, onReply)
}

// parseAddrPort reads "host:port" where host is an IPv4 literal or empty.
// Names need the DNS client (a later issue).
func parseAddrPort(s string) (netip.AddrPort, error) {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return netip.AddrPort{}, err
	}
	pn, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return netip.AddrPort{}, &net.AddrError{Err: "invalid port", Addr: s}
	}
	if host == "" {
		return netip.AddrPortFrom(netip.IPv4Unspecified(), uint16(pn)), nil
	}
	if host == "localhost" {
		return netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), uint16(pn)), nil
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.AddrPort{}, &net.AddrError{Err: "no such host (ustack resolves IP literals only)", Addr: host}
	}
	a = a.Unmap()
	if !a.Is4() {
		return netip.AddrPort{}, syscall.EAFNOSUPPORT
	}
	return netip.AddrPortFrom(a, uint16(pn)), nil
}

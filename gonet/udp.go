// Package gonet adapts ustack's sockets to the interfaces of package net,
// so that Go code written for the kernel's sockets runs on ustack
// unmodified: net.Conn and net.PacketConn for UDP (UDPConn), net.Conn and
// net.Listener for TCP (TCPConn, TCPListener).
//
// The contract is package net's: absolute deadlines that also cut pending
// I/O and fail with an error matching os.ErrDeadlineExceeded whose
// Timeout() is true; net.ErrClosed after Close; *net.OpError wrapping a
// syscall.Errno so errors.Is(err, syscall.ECONNREFUSED) works.
package gonet

import (
	"net"
	"net/netip"
	"time"

	"ustack/socket"
	"ustack/udp"
)

// UDPConn is a UDP socket as a net.Conn (when connected) and a
// net.PacketConn. Its methods are safe for concurrent use.
type UDPConn struct {
	ep      *udp.Endpoint
	network string
}

var (
	_ net.Conn       = (*UDPConn)(nil)
	_ net.PacketConn = (*UDPConn)(nil)
)

// NewUDPConn wraps an endpoint; network is "udp" or "udp4" for errors.
func NewUDPConn(ep *udp.Endpoint, network string) *UDPConn {
	return &UDPConn{ep: ep, network: network}
}

// Endpoint returns the underlying socket.
func (c *UDPConn) Endpoint() *udp.Endpoint { return c.ep }

func udpAddr(ap netip.AddrPort) net.Addr {
	if !ap.IsValid() {
		return nil
	}
	return net.UDPAddrFromAddrPort(ap)
}

func (c *UDPConn) opError(op string, remote netip.AddrPort, err error) error {
	return socket.OpError(op, c.network, udpAddr(c.ep.LocalAddr()), udpAddr(remote), err)
}

// Read reads one datagram's payload (net.Conn).
func (c *UDPConn) Read(p []byte) (int, error) {
	n, _, err := c.ep.Recv(p)
	if err != nil {
		return 0, c.opError("read", c.ep.RemoteAddr(), err)
	}
	return n, nil
}

// ReadFrom reads one datagram and its sender (net.PacketConn).
func (c *UDPConn) ReadFrom(p []byte) (int, net.Addr, error) {
	n, from, err := c.ep.Recv(p)
	if err != nil {
		return 0, nil, c.opError("read", netip.AddrPort{}, err)
	}
	return n, net.UDPAddrFromAddrPort(from), nil
}

// ReadFromUDPAddrPort is like ReadFrom but returns a netip.AddrPort, as
// *net.UDPConn's method of the same name does.
func (c *UDPConn) ReadFromUDPAddrPort(p []byte) (int, netip.AddrPort, error) {
	n, from, err := c.ep.Recv(p)
	if err != nil {
		return 0, netip.AddrPort{}, c.opError("read", netip.AddrPort{}, err)
	}
	return n, from, nil
}

// Write sends p to the connected peer (net.Conn).
func (c *UDPConn) Write(p []byte) (int, error) {
	n, err := c.ep.SendTo(p, netip.AddrPort{})
	if err != nil {
		return 0, c.opError("write", c.ep.RemoteAddr(), err)
	}
	return n, nil
}

// WriteTo sends p to addr (net.PacketConn). On a connected socket it
// fails with net.ErrWriteToConnected, as *net.UDPConn's does.
func (c *UDPConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	if c.ep.RemoteAddr().IsValid() {
		return 0, c.opError("write", netip.AddrPort{}, net.ErrWriteToConnected)
	}
	ap, err := toAddrPort(addr)
	if err != nil {
		return 0, c.opError("write", netip.AddrPort{}, err)
	}
	return c.WriteToUDPAddrPort(p, ap)
}

// WriteToUDPAddrPort sends p to ap.
func (c *UDPConn) WriteToUDPAddrPort(p []byte, ap netip.AddrPort) (int, error) {
	n, err := c.ep.SendTo(p, ap)
	if err != nil {
		return 0, c.opError("write", ap, err)
	}
	return n, nil
}

func toAddrPort(a net.Addr) (netip.AddrPort, error) {
	switch a := a.(type) {
	case *net.UDPAddr:
		ap := a.AddrPort()
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), nil
	case nil:
		return netip.AddrPort{}, net.InvalidAddrError("missing address")
	}
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return netip.AddrPort{}, net.InvalidAddrError(a.String())
	}
	return ap, nil
}

// Close closes the socket; pending reads return net.ErrClosed.
func (c *UDPConn) Close() error {
	if err := c.ep.Close(); err != nil {
		return c.opError("close", netip.AddrPort{}, err)
	}
	return nil
}

// LocalAddr returns the bound address as a *net.UDPAddr.
func (c *UDPConn) LocalAddr() net.Addr { return udpAddr(c.ep.LocalAddr()) }

// RemoteAddr returns the connected peer as a *net.UDPAddr, or nil.
func (c *UDPConn) RemoteAddr() net.Addr { return udpAddr(c.ep.RemoteAddr()) }

// SetDeadline sets both deadlines.
func (c *UDPConn) SetDeadline(t time.Time) error {
	if c.ep.Closed() {
		return c.opError("set", netip.AddrPort{}, net.ErrClosed)
	}
	c.ep.ReadDeadline().Set(t)
	c.ep.WriteDeadline().Set(t)
	return nil
}

// SetReadDeadline sets the read deadline.
func (c *UDPConn) SetReadDeadline(t time.Time) error {
	if c.ep.Closed() {
		return c.opError("set", netip.AddrPort{}, net.ErrClosed)
	}
	c.ep.ReadDeadline().Set(t)
	return nil
}

// SetWriteDeadline sets the write deadline.
func (c *UDPConn) SetWriteDeadline(t time.Time) error {
	if c.ep.Closed() {
		return c.opError("set", netip.AddrPort{}, net.ErrClosed)
	}
	c.ep.WriteDeadline().Set(t)
	return nil
}

// SetReadBuffer sets the receive buffer (SO_RCVBUF).
func (c *UDPConn) SetReadBuffer(n int) error { c.ep.SetReadBuffer(n); return nil }

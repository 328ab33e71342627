package stack

import (
	"context"
	"net"
	"net/netip"
	"syscall"
	"time"

	"ustack/gonet"
	"ustack/socket"
	"ustack/tcp"
)

// newTCP builds TCP for s and registers it with IP.
func newTCP(s *Stack, o Options) *tcp.Proto {
	c := o.TCP
	c.IP, c.Pool, c.Clock, c.Tracer, c.Stats, c.Seed = s.ip, s.pool, o.Clock, s.tracer, &s.stats.TCP, o.Seed
	c.IsLocal = func(a netip.Addr) bool { _, ok := s.addrs.IsLocal(a); return ok }
	t := tcp.New(c)
	if err := s.ip.Register(tcp.ProtoNumber, t); err != nil {
		panic(err)
	}
	return t
}

// TCP returns the TCP layer.
func (s *Stack) TCP() *tcp.Proto { return s.tcp }

// Listen opens a TCP listener as net.Listen does: network "tcp" or
// "tcp4", address "host:port" (empty host: every address; port 0:
// ephemeral).
func (s *Stack) Listen(network, address string) (net.Listener, error) {
	return s.ListenTCP(network, address)
}

// ListenTCP is Listen returning the concrete type.
func (s *Stack) ListenTCP(network, address string) (*gonet.TCPListener, error) {
	switch network {
	case "tcp", "tcp4":
	default:
		return nil, socket.OpError("listen", network, nil, nil, net.UnknownNetworkError(network))
	}
	ap, err := parseAddrPort(address)
	if err != nil {
		return nil, socket.OpError("listen", network, nil, nil, err)
	}
	if s.closed.Load() {
		return nil, socket.OpError("listen", network, nil, net.TCPAddrFromAddrPort(ap), socket.ErrClosed)
	}
	ep := s.tcp.NewEndpoint()
	if err := ep.Bind(ap); err != nil {
		ep.Close()
		return nil, socket.OpError("listen", network, nil, net.TCPAddrFromAddrPort(ap), err)
	}
	if err := ep.Listen(0); err != nil {
		ep.Close()
		return nil, socket.OpError("listen", network, nil, net.TCPAddrFromAddrPort(ap), err)
	}
	return gonet.NewTCPListener(ep, network), nil
}

// Dialer is net.Dialer for a Stack.
type Dialer struct {
	Stack *Stack
	// Timeout bounds the whole dial (0: none beyond the context's).
	Timeout time.Duration
	// LocalAddr is the local address to dial from (nil: chosen by the
	// route); a *net.TCPAddr or *net.UDPAddr.
	LocalAddr net.Addr
	// KeepAlive is the keepalive period of TCP connections: 0 means 15s
	// (as package net), negative turns keepalive off.
	KeepAlive time.Duration
}

// DialContext connects as net.Dialer.DialContext does, for "tcp",
// "tcp4", "udp" and "udp4".
func (d *Dialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	if d.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d.Timeout)
		defer cancel()
	}
	var local netip.AddrPort
	switch a := d.LocalAddr.(type) {
	case nil:
	case *net.TCPAddr:
		ap := a.AddrPort()
		local = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	case *net.UDPAddr:
		ap := a.AddrPort()
		local = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	default:
		return nil, socket.OpError("dial", network, nil, nil, net.InvalidAddrError(a.String()))
	}
	switch network {
	case "tcp", "tcp4":
		return d.Stack.dialTCP(ctx, network, local, address, d.KeepAlive)
	}
	return d.Stack.DialFrom(ctx, network, local, address)
}

// dialTCP is the active open behind DialContext.
func (s *Stack) dialTCP(ctx context.Context, network string, local netip.AddrPort, address string, keepAlive time.Duration) (net.Conn, error) {
	raddr, err := parseAddrPort(address)
	if err != nil {
		return nil, socket.OpError("dial", network, nil, nil, err)
	}
	ra := net.TCPAddrFromAddrPort(raddr)
	var la net.Addr
	if local.IsValid() {
		la = net.TCPAddrFromAddrPort(local)
	}
	if err := ctx.Err(); err != nil {
		return nil, socket.OpError("dial", network, la, ra, err)
	}
	if s.closed.Load() {
		return nil, socket.OpError("dial", network, la, ra, socket.ErrClosed)
	}
	ep := s.tcp.NewEndpoint()
	if local.IsValid() {
		if err := ep.Bind(local); err != nil {
			ep.Close()
			return nil, socket.OpError("dial", network, la, ra, err)
		}
	}
	if keepAlive >= 0 {
		if keepAlive == 0 {
			keepAlive = 15 * time.Second
		}
		ep.SetKeepAlive(true)
		ep.SetKeepAlivePeriod(keepAlive)
	}
	if err := ep.Connect(raddr, ctx.Done()); err != nil {
		ep.Close()
		if err == syscall.ECANCELED && ctx.Err() != nil {
			err = ctx.Err()
		}
		return nil, socket.OpError("dial", network, la, ra, err)
	}
	return gonet.NewTCPConn(ep, network), nil
}

package gonet

import (
	"errors"
	"io"
	"net"
	"net/netip"
	"time"

	"ustack/socket"
	"ustack/tcp"
)

// TCPConn is a TCP connection as a net.Conn, with the methods of
// *net.TCPConn. Its methods are safe for concurrent use.
type TCPConn struct {
	ep      *tcp.Endpoint
	network string
}

var _ net.Conn = (*TCPConn)(nil)

// NewTCPConn wraps a connected endpoint; network is "tcp" or "tcp4".
func NewTCPConn(ep *tcp.Endpoint, network string) *TCPConn {
	return &TCPConn{ep: ep, network: network}
}

// Endpoint returns the underlying socket.
func (c *TCPConn) Endpoint() *tcp.Endpoint { return c.ep }

func tcpAddr(ap netip.AddrPort) net.Addr {
	if !ap.IsValid() {
		return nil
	}
	return net.TCPAddrFromAddrPort(ap)
}

func (c *TCPConn) opError(op string, err error) error {
	return socket.OpError(op, c.network, tcpAddr(c.ep.LocalAddr()), tcpAddr(c.ep.RemoteAddr()), err)
}

// Read reads data; io.EOF after the peer's FIN, as package net.
func (c *TCPConn) Read(p []byte) (int, error) {
	n, err := c.ep.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		return n, c.opError("read", err)
	}
	return n, err
}

// Write writes all of p unless an error (deadline, reset) stops it.
func (c *TCPConn) Write(p []byte) (int, error) {
	n, err := c.ep.Write(p)
	if err != nil {
		return n, c.opError("write", err)
	}
	return n, nil
}

// Close closes the connection (see tcp.Endpoint.Close for linger).
func (c *TCPConn) Close() error {
	if err := c.ep.Close(); err != nil {
		return c.opError("close", err)
	}
	return nil
}

// CloseWrite shuts down the writing side (sends a FIN).
func (c *TCPConn) CloseWrite() error {
	if err := c.ep.CloseWrite(); err != nil {
		return c.opError("close", err)
	}
	return nil
}

// CloseRead shuts down the reading side.
func (c *TCPConn) CloseRead() error {
	if err := c.ep.CloseRead(); err != nil {
		return c.opError("close", err)
	}
	return nil
}

// LocalAddr returns the local address as a *net.TCPAddr.
func (c *TCPConn) LocalAddr() net.Addr { return tcpAddr(c.ep.LocalAddr()) }

// RemoteAddr returns the peer's address as a *net.TCPAddr.
func (c *TCPConn) RemoteAddr() net.Addr { return tcpAddr(c.ep.RemoteAddr()) }

// SetDeadline sets both deadlines.
func (c *TCPConn) SetDeadline(t time.Time) error {
	c.ep.ReadDeadline().Set(t)
	c.ep.WriteDeadline().Set(t)
	return nil
}

// SetReadDeadline sets the read deadline.
func (c *TCPConn) SetReadDeadline(t time.Time) error { c.ep.ReadDeadline().Set(t); return nil }

// SetWriteDeadline sets the write deadline.
func (c *TCPConn) SetWriteDeadline(t time.Time) error { c.ep.WriteDeadline().Set(t); return nil }

// SetNoDelay controls Nagle's algorithm (on by default: noDelay false).
// Note: package net's default is no delay; ustack follows the kernel.
func (c *TCPConn) SetNoDelay(noDelay bool) error { c.ep.SetNoDelay(noDelay); return nil }

// SetKeepAlive turns keepalive probes on or off.
func (c *TCPConn) SetKeepAlive(on bool) error { c.ep.SetKeepAlive(on); return nil }

// SetKeepAlivePeriod sets the keepalive idle time and probe interval.
func (c *TCPConn) SetKeepAlivePeriod(d time.Duration) error { c.ep.SetKeepAlivePeriod(d); return nil }

// SetLinger sets the behaviour of Close with unsent data (SO_LINGER).
func (c *TCPConn) SetLinger(sec int) error { c.ep.SetLinger(sec); return nil }

// SetReadBuffer sets the receive buffer size.
func (c *TCPConn) SetReadBuffer(n int) error { c.ep.SetReadBuffer(n); return nil }

// SetWriteBuffer sets the send buffer size.
func (c *TCPConn) SetWriteBuffer(n int) error { c.ep.SetWriteBuffer(n); return nil }

// TCPListener is a listening socket as a net.Listener.
type TCPListener struct {
	ep      *tcp.Endpoint
	network string
}

var _ net.Listener = (*TCPListener)(nil)

// NewTCPListener wraps a listening endpoint.
func NewTCPListener(ep *tcp.Endpoint, network string) *TCPListener {
	return &TCPListener{ep: ep, network: network}
}

// Endpoint returns the underlying socket.
func (l *TCPListener) Endpoint() *tcp.Endpoint { return l.ep }

// Accept waits for the next connection; net.ErrClosed after Close.
func (l *TCPListener) Accept() (net.Conn, error) { return l.AcceptTCP() }

// AcceptTCP is Accept returning the concrete type.
func (l *TCPListener) AcceptTCP() (*TCPConn, error) {
	c, err := l.ep.Accept()
	if err != nil {
		return nil, socket.OpError("accept", l.network, nil, tcpAddr(l.ep.LocalAddr()), err)
	}
	return NewTCPConn(c, l.network), nil
}

// Close stops listening; pending Accepts return net.ErrClosed and
// connections not yet accepted are reset.
func (l *TCPListener) Close() error {
	if err := l.ep.Close(); err != nil {
		return socket.OpError("close", l.network, nil, tcpAddr(l.ep.LocalAddr()), err)
	}
	return nil
}

// Addr returns the listening address as a *net.TCPAddr.
func (l *TCPListener) Addr() net.Addr { return tcpAddr(l.ep.LocalAddr()) }

// SetDeadline bounds Accept.
func (l *TCPListener) SetDeadline(t time.Time) error { l.ep.ReadDeadline().Set(t); return nil }

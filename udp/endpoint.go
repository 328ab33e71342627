package udp

import (
	"errors"
	"net/netip"
	"sync"
	"syscall"

	"ustack/ipv4"
	"ustack/pkt"
	"ustack/socket"
	"ustack/trace"
	"ustack/wire"
)

// MaxPayload is the largest UDP payload over IPv4: 65,535 − 20 − 8.
const MaxPayload = 65507

// Endpoint is one UDP socket. Its methods are safe for concurrent use.
// Lock order: Proto.mu before Endpoint.mu.
type Endpoint struct {
	u       *Proto
	rcv     *socket.DgramQueue
	readDL  *socket.Deadline
	writeDL *socket.Deadline

	mu        sync.Mutex
	local     netip.AddrPort // bound address (port never 0 once bound)
	bindAddr  netip.Addr     // the address the port was reserved on
	remote    netip.AddrPort // valid once connected
	closed    bool
	ttl, tos  uint8
	noBcast   bool
	connected bool
}

// Bind creates a socket bound to addr (port 0: an ephemeral port; the
// zero address: every local address). Errors: EADDRINUSE, EADDRNOTAVAIL.
func (u *Proto) Bind(addr netip.AddrPort) (*Endpoint, error) {
	a := addr.Addr()
	if !a.IsValid() {
		a = netip.IPv4Unspecified()
	}
	if !a.Is4() {
		return nil, syscall.EAFNOSUPPORT
	}
	if !a.IsUnspecified() {
		if _, ok := u.ip.Addrs().IsLocal(a); !ok && !a.IsLoopback() && !a.IsMulticast() && a != netip.AddrFrom4([4]byte{255, 255, 255, 255}) {
			return nil, syscall.EADDRNOTAVAIL
		}
	}
	clk := u.reg.Clock()
	ep := &Endpoint{u: u, rcv: socket.NewDgramQueue(DefaultRcvBuf), readDL: socket.NewDeadline(clk), writeDL: socket.NewDeadline(clk)}
	port, err := u.ports.Bind(a, addr.Port(), false, ep)
	if err != nil {
		return nil, err
	}
	ep.local = netip.AddrPortFrom(a, port)
	ep.bindAddr = a
	u.mu.Lock()
	u.bound[port] = append(u.bound[port], ep)
	u.mu.Unlock()
	return ep, nil
}

// Connect fixes the peer: the socket then receives only from it, sends to
// it by default, and reports ICMP errors about it (ECONNREFUSED...). A
// wildcard local address is replaced by the route's source address.
func (ep *Endpoint) Connect(remote netip.AddrPort) error {
	if !remote.Addr().Is4() || remote.Port() == 0 {
		return syscall.EINVAL
	}
	ep.mu.Lock()
	local := ep.local
	ep.mu.Unlock()
	rt, err := ep.u.ip.RouteOutput(remote.Addr(), local.Addr())
	if err != nil {
		return ipv4.Errno(err)
	}
	u := ep.u
	u.mu.Lock()
	defer u.mu.Unlock()
	ep.mu.Lock()
	defer ep.mu.Unlock()
	if ep.closed {
		return errClosed
	}
	u.unhashLocked(ep)
	if local.Addr().IsUnspecified() {
		local = netip.AddrPortFrom(rt.Src, local.Port())
	}
	ep.local, ep.remote, ep.connected = local, remote, true
	u.connected[fourTuple{local, remote}] = ep
	return nil
}

var errClosed = socket.ErrClosed

// unhashLocked removes ep from the demux tables. Called with u.mu and
// ep.mu held.
func (u *Proto) unhashLocked(ep *Endpoint) {
	if ep.connected {
		delete(u.connected, fourTuple{ep.local, ep.remote})
		return
	}
	list := u.bound[ep.local.Port()]
	for i, x := range list {
		if x == ep {
			list = append(list[:i:i], list[i+1:]...)
			break
		}
	}
	if len(list) == 0 {
		delete(u.bound, ep.local.Port())
	} else {
		u.bound[ep.local.Port()] = list
	}
}

// Closed reports whether Close was called.
func (ep *Endpoint) Closed() bool {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	return ep.closed
}

// LocalAddr returns the bound address.
func (ep *Endpoint) LocalAddr() netip.AddrPort {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	return ep.local
}

// RemoteAddr returns the connected peer (invalid when not connected).
func (ep *Endpoint) RemoteAddr() netip.AddrPort {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	return ep.remote
}

// SetTTL sets the TTL of sent datagrams (0: the stack default).
func (ep *Endpoint) SetTTL(ttl uint8) { ep.mu.Lock(); ep.ttl = ttl; ep.mu.Unlock() }

// SetTOS sets the type-of-service byte of sent datagrams.
func (ep *Endpoint) SetTOS(tos uint8) { ep.mu.Lock(); ep.tos = tos; ep.mu.Unlock() }

// SetBroadcast allows or forbids sending to broadcast addresses
// (SO_BROADCAST; allowed by default, as Go's net package sets it).
func (ep *Endpoint) SetBroadcast(on bool) { ep.mu.Lock(); ep.noBcast = !on; ep.mu.Unlock() }

// SetReadBuffer sets the receive buffer size in bytes (SO_RCVBUF).
func (ep *Endpoint) SetReadBuffer(n int) { ep.rcv.SetLimit(n) }

// ReadDeadline and WriteDeadline return the socket's deadlines.
func (ep *Endpoint) ReadDeadline() *socket.Deadline  { return ep.readDL }
func (ep *Endpoint) WriteDeadline() *socket.Deadline { return ep.writeDL }

// SendTo sends p as one datagram to dst, or to the connected peer when dst
// is the zero AddrPort. The payload is copied once, into the packet.
// Context: process.
func (ep *Endpoint) SendTo(p []byte, dst netip.AddrPort) (int, error) {
	if len(p) > MaxPayload {
		return 0, syscall.EMSGSIZE
	}
	if ep.writeDL.Expired() {
		return 0, socket.ErrDeadlineExceeded
	}
	ep.mu.Lock()
	if ep.closed {
		ep.mu.Unlock()
		return 0, socket.ErrClosed
	}
	local, ttl, tos, noBcast, connected := ep.local, ep.ttl, ep.tos, ep.noBcast, ep.connected
	if !dst.IsValid() {
		if !ep.connected {
			ep.mu.Unlock()
			return 0, syscall.EDESTADDRREQ
		}
		dst = ep.remote
	} else if ep.connected && dst != ep.remote {
		ep.mu.Unlock()
		return 0, syscall.EISCONN
	}
	ep.mu.Unlock()
	if err := ep.rcv.TakeError(); err != nil && connected {
		return 0, err
	}
	if !dst.Addr().Is4() || dst.Port() == 0 {
		return 0, syscall.EINVAL
	}
	u := ep.u
	rt, err := u.ip.RouteOutput(dst.Addr(), local.Addr())
	if err != nil {
		return 0, ipv4.Errno(err)
	}
	if rt.Broadcast && noBcast {
		return 0, syscall.EACCES
	}
	b := u.pool.Get(pkt.MaxHeaderLen, len(p)+wire.UDPHeaderLen)
	b.ID = u.reg.NextPacketID()
	buf := b.View(0)
	copy(buf[wire.UDPHeaderLen:], p)
	n := len(p) + wire.UDPHeaderLen
	uh := wire.UDPHeader{SrcPort: local.Port(), DstPort: dst.Port(), Length: uint16(n)}
	uh.Encode(buf)
	sum := wire.Checksum(buf, wire.PseudoHeaderSum(rt.Src, dst.Addr(), ProtoNumber, uint16(n)))
	cs := ^wire.Fold(sum)
	if cs == 0 {
		cs = 0xffff // RFC 768: a computed zero is sent as all ones
	}
	buf[6], buf[7] = byte(cs>>8), byte(cs)
	b.SetTransportHeader()
	u.stats.OutDatagrams.Inc()
	if pr := u.probes.send; pr.Enabled() {
		pr.Fire(&trace.Event{PktID: b.ID, Len: len(p), Proto: ProtoNumber, Src: rt.Src, Dst: dst.Addr(), SrcPort: local.Port(), DstPort: dst.Port()})
	}
	if err := u.ip.Output(b, &rt, ProtoNumber, ipv4.SendOptions{TTL: ttl, TOS: tos}); err != nil {
		if errors.Is(err, ipv4.ErrMessageSize) {
			return 0, syscall.EMSGSIZE
		}
		// Queue and neighbour drops are silent for UDP, as in Linux.
	}
	return len(p), nil
}

// Recv waits for a datagram and copies its payload into p, returning the
// payload length copied (a longer datagram is truncated, as recvfrom
// does), the sender and the address it was sent to. Context: process.
func (ep *Endpoint) Recv(p []byte) (int, netip.AddrPort, error) {
	d, err := ep.rcv.Pop(ep.readDL)
	if err != nil {
		return 0, netip.AddrPort{}, err
	}
	n := d.Buf.CopyTo(p)
	if pr := ep.u.probes.dequeue; pr.Enabled() {
		local := ep.LocalAddr()
		pr.Fire(&trace.Event{PktID: d.Buf.ID, Len: n, Proto: ProtoNumber, Src: d.From.Addr(), SrcPort: d.From.Port(), Dst: d.To, DstPort: local.Port(),
			Detail: "read by the application"})
	}
	d.Buf.Free()
	return n, d.From, nil
}

// Pending returns the queued datagrams and bytes (for `ss`).
func (ep *Endpoint) Pending() (int, int) { return ep.rcv.Len(), ep.rcv.Bytes() }

// enqueue queues a datagram for the reader, taking ownership.
// Context: softnet.
func (ep *Endpoint) enqueue(b *pkt.Buf, from netip.AddrPort, to netip.Addr) {
	ep.mu.Lock()
	connected, remote := ep.connected, ep.remote
	ep.mu.Unlock()
	if connected && from != remote {
		ep.u.stats.NoPorts.Inc()
		ep.u.drop(b, nil, "not from the connected peer")
		return
	}
	id, n := b.ID, b.Len()
	if !ep.rcv.Push(socket.Datagram{Buf: b, From: from, To: to}) {
		if ep.Closed() {
			// Demultiplexed just before Close took the socket away.
			ep.u.drop(b, &ep.u.stats.NoPorts, "socket closing")
			return
		}
		ep.u.stats.RcvbufErrors.Inc()
		ep.u.drop(b, &ep.u.stats.InErrors, "receive buffer full")
		return
	}
	if pr := ep.u.probes.enqueue; pr.Enabled() {
		local := ep.LocalAddr()
		pr.Fire(&trace.Event{PktID: id, Len: n, Proto: ProtoNumber, Src: from.Addr(), SrcPort: from.Port(), Dst: to, DstPort: local.Port(),
			Detail: "queued on the socket"})
	}
	ep.u.stats.InDatagrams.Inc()
}

// icmpError records an ICMP error for a connected socket's next call
// (RFC 1122 §4.1.3.3; Linux reports only on connected sockets unless
// IP_RECVERR).
func (ep *Endpoint) icmpError(e *ipv4.ICMPError) {
	ep.mu.Lock()
	connected := ep.connected
	ep.mu.Unlock()
	if connected && e.Fatal() {
		ep.rcv.SetError(e.Errno())
	}
}

// Close releases the port and wakes pending readers with net.ErrClosed.
func (ep *Endpoint) Close() error {
	u := ep.u
	u.mu.Lock()
	ep.mu.Lock()
	if ep.closed {
		ep.mu.Unlock()
		u.mu.Unlock()
		return socket.ErrClosed
	}
	ep.closed = true
	u.unhashLocked(ep)
	port := ep.local.Port()
	ep.mu.Unlock()
	u.mu.Unlock()
	u.ports.Release(ep.bindAddr, port, ep)
	ep.rcv.Close()
	ep.readDL.Stop()
	ep.writeDL.Stop()
	return nil
}

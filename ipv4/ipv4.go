// Package ipv4 is the Internet Protocol, version 4: input with every check
// of RFC 1122, local delivery through a protocol table where transports
// register (cf. inet_protos), output with routing and fragmentation,
// forwarding as a router (RFC 1812), and ICMP.
//
// Read before editing: RFC 791; RFC 1122 §3.2 and §3.3; RFC 1812 §4.2.2
// and §5.2 (forwarding, TTL, ICMP from routers); RFC 792 and RFC 1122
// §3.2.2 (ICMP: when errors must not be sent); RFC 1191 (frag-needed with
// next-hop MTU). Linux: net/ipv4/ip_input.c, ip_output.c, ip_forward.c,
// icmp.c, route.c.
package ipv4

import (
	"errors"
	"net/netip"
	"sync"
	"sync/atomic"

	"ustack/clock"
	"ustack/ifaddr"
	"ustack/ipv4/fib"
	"ustack/ipv4/ipfrag"
	"ustack/neigh"
	"ustack/netdev"
	"ustack/pkt"
	"ustack/stats"
	"ustack/trace"
	"ustack/wire"
)

// Errors of the IP layer, matched by callers with errors.Is.
var (
	ErrNoRoute      = errors.New("ipv4: no route to host")
	ErrMessageSize  = errors.New("ipv4: message too long")
	ErrNoSource     = errors.New("ipv4: no source address")
	ErrNetDown      = errors.New("ipv4: network is down")
	ErrProtoInUse   = errors.New("ipv4: protocol already registered")
	ErrNotAvailable = errors.New("ipv4: address not available")
)

// RxInfo describes a delivered packet to its transport protocol.
type RxInfo struct {
	Src, Dst  netip.Addr
	Dev       int
	TTL, TOS  uint8
	Broadcast bool // to a broadcast address (limited, directed, or link-level)
	Proto     uint8
	// Offload is true when the link vouches for the checksum.
	Offload bool
	// options holds the IP options received, by value: the header they
	// came in may be released while the transport runs.
	options    [wire.IPv4MaxHeaderLen - wire.IPv4MinHeaderLen]byte
	optionsLen uint8
}

// Options returns the IP options the packet carried (empty without).
func (r *RxInfo) Options() []byte { return r.options[:r.optionsLen] }

// ICMPError is an ICMP error delivered to the transport whose packet it
// quotes (cf. the err_handler of inet_protos).
type ICMPError struct {
	Type     wire.ICMPv4Type
	Code     uint8
	From     netip.Addr // who sent the error
	Src, Dst netip.Addr // of the quoted packet
	Proto    uint8
	// Transport is the start of the quoted transport header (at least 8
	// bytes when present).
	Transport []byte
	// MTU is the next-hop MTU of a fragmentation-needed error, else 0.
	MTU int
}

// Protocol is a transport protocol registered in the protocol table.
type Protocol interface {
	// Deliver takes ownership of b, whose data starts at the transport
	// header (the network header is marked). info is passed by value so
	// that it never escapes to the heap on the per-packet path.
	// Context: softnet.
	Deliver(b *pkt.Buf, info RxInfo)
	// DeliverError hands the protocol an ICMP error about a packet it sent.
	DeliverError(e *ICMPError)
}

// Config configures the IP layer.
type Config struct {
	Registry *netdev.Registry
	Addrs    *ifaddr.Table
	Neigh    *neigh.Table
	Stats    *stats.IP
	ICMP     *stats.ICMP
	// DefaultTTL for locally generated packets (0: 64).
	DefaultTTL uint8
	// Forwarding enables routing between devices.
	Forwarding bool
	// ICMPRate and ICMPBurst limit ICMP errors per second (0: 1000, 50).
	ICMPRate, ICMPBurst int
	// Reassembly tunes the reassembler.
	Reassembly ipfrag.Config
}

// Proto is the IPv4 layer of one stack.
type Proto struct {
	reg    *netdev.Registry
	clk    clock.Clock
	pool   *pkt.Pool
	addrs  *ifaddr.Table
	neigh  *neigh.Table
	fib    *fib.Table
	frag   *ipfrag.Reassembler
	stats  *stats.IP
	icmp   *stats.ICMP
	ttl    uint8
	fwd    atomic.Bool
	lo     atomic.Pointer[netdev.Device]
	ident  atomic.Uint32
	limit  tokenBucket
	pings  pingTable
	probes probes

	protoMu sync.Mutex
	protos  atomic.Pointer[[256]Protocol]
}

type probes struct {
	receive, send, forward, drop, route *trace.Probe
	fragment                            *trace.Probe
	icmpReceive, icmpSend               *trace.Probe
}

// New builds the IP layer and registers it with the device layer for
// EtherType 0x0800, with the neighbour cache for unreachable packets, and
// on the notifier chain for connected routes.
func New(c Config) *Proto {
	if c.DefaultTTL == 0 {
		c.DefaultTTL = 64
	}
	if c.ICMPRate <= 0 {
		c.ICMPRate = 1000
	}
	if c.ICMPBurst <= 0 {
		c.ICMPBurst = 50
	}
	reg := c.Registry
	tr := reg.Tracer()
	p := &Proto{
		reg: reg, clk: reg.Clock(), pool: reg.Pool(), addrs: c.Addrs, neigh: c.Neigh,
		fib: new(fib.Table), stats: c.Stats, icmp: c.ICMP, ttl: c.DefaultTTL,
	}
	p.limit.init(p.clk, c.ICMPRate, c.ICMPBurst)
	p.pings.init()
	p.fwd.Store(c.Forwarding)
	p.ident.Store(uint32(p.clk.Now().UnixNano()))
	p.protos.Store(new([256]Protocol))
	p.probes = probes{
		receive: tr.Probe("ip", "receive"), send: tr.Probe("ip", "send"),
		forward: tr.Probe("ip", "forward"), drop: tr.Probe("ip", "drop"),
		route: tr.Probe("ip", "route"), fragment: tr.Probe("ip", "fragment"),
		icmpReceive: tr.Probe("icmp", "receive"), icmpSend: tr.Probe("icmp", "send"),
	}
	rc := c.Reassembly
	rc.Clock = p.clk
	rc.Stats = c.Stats
	rc.Tracer = tr
	rc.OnTimeout = p.reassemblyTimeout
	p.frag = ipfrag.New(rc)
	p.Register(protoICMP, icmpProto{p})
	reg.RegisterHandler(wire.EtherTypeIPv4, p.input)
	c.Neigh.SetUnreachable(p.neighUnreachable)
	reg.Subscribe(p.notify)
	return p
}

// FIB returns the routing table.
func (p *Proto) FIB() *fib.Table { return p.fib }

// Addrs returns the address table.
func (p *Proto) Addrs() *ifaddr.Table { return p.addrs }

// SetForwarding turns routing between devices on or off.
func (p *Proto) SetForwarding(on bool) { p.fwd.Store(on) }

// Forwarding reports whether routing between devices is on.
func (p *Proto) Forwarding() bool { return p.fwd.Load() }

// DefaultTTL returns the TTL of locally generated packets.
func (p *Proto) DefaultTTL() uint8 { return p.ttl }

// Register installs a transport protocol for IP protocol number n.
func (p *Proto) Register(n uint8, proto Protocol) error {
	p.protoMu.Lock()
	defer p.protoMu.Unlock()
	cur := p.protos.Load()
	if cur[n] != nil {
		return ErrProtoInUse
	}
	next := *cur
	next[n] = proto
	p.protos.Store(&next)
	return nil
}

// Close stops the reassembler's timers and frees what it holds.
func (p *Proto) Close() {
	p.frag.Close()
	p.pings.closeAll()
}

// notify keeps connected routes in step with addresses and device state
// (cf. fib_netdev_event, fib_inetaddr_event).
func (p *Proto) notify(e netdev.Event) {
	switch e.Kind {
	case netdev.EventRegister:
		if e.Dev.Caps().Loopback {
			p.lo.Store(e.Dev)
		}
	case netdev.EventAddrAdd:
		if e.Dev.IsUp() {
			p.addConnected(e.Dev, e.Addr)
		}
	case netdev.EventAddrDel:
		if e.Addr.Bits() < 32 {
			p.fib.Delete(fib.Route{Dst: e.Addr.Masked(), Dev: e.Dev.Index(), Proto: fib.ProtoKernel, Scope: fib.ScopeLink, Src: e.Addr.Addr()})
		}
	case netdev.EventUp:
		for _, a := range p.addrs.OnDevice(e.Dev.Index()) {
			p.addConnected(e.Dev, a.Prefix)
		}
	case netdev.EventDown:
		p.fib.DeleteDev(e.Dev.Index())
	case netdev.EventUnregister:
		p.lo.CompareAndSwap(e.Dev, nil)
		p.fib.DeleteDev(e.Dev.Index())
		p.addrs.DelDev(e.Dev.Index())
	}
}

func (p *Proto) addConnected(dev *netdev.Device, a netip.Prefix) {
	if a.Bits() >= 32 {
		return
	}
	p.fib.Add(fib.Route{Dst: a.Masked(), Dev: dev.Index(), Src: a.Addr(), Proto: fib.ProtoKernel, Scope: fib.ScopeLink})
}

// drop counts (c may be nil when the caller counted already), fires
// ip:::drop and frees b.
func (p *Proto) drop(b *pkt.Buf, dev string, c *stats.Counter, reason string) {
	if c != nil {
		c.Inc()
	}
	if pr := p.probes.drop; pr.Enabled() {
		e := trace.Event{PktID: b.ID, Dev: dev, Len: b.Len(), Reason: reason}
		if ip := b.NetworkHeader(); ip != nil {
			e.FillAddrs(ip, b.TransportHeader())
		} else if b.NumViews() > 0 {
			e.FillAddrs(b.View(0), nil) // not yet pulled: the header is in front
		}
		pr.Fire(&e)
	}
	b.Free()
}

// dropAddr is drop for address-related reasons: the addresses go in the
// event, so nothing is formatted unless someone listens.
func (p *Proto) dropAddr(b *pkt.Buf, dev, reason string, src, dst netip.Addr) {
	if pr := p.probes.drop; pr.Enabled() {
		pr.Fire(&trace.Event{PktID: b.ID, Dev: dev, Len: b.Len(), Src: src, Dst: dst, Reason: reason})
	}
	b.Free()
}

func (p *Proto) isLoopbackDev(i int) bool {
	d := p.reg.Device(i)
	return d != nil && d.Caps().Loopback
}

// anyAddress returns some address of ours that is not loopback.
func (p *Proto) anyAddress() netip.Addr {
	for _, a := range p.addrs.All() {
		if !a.Prefix.Addr().IsLoopback() {
			return a.Prefix.Addr()
		}
	}
	return netip.Addr{}
}

func (p *Proto) devName(i int) string {
	if d := p.reg.Device(i); d != nil {
		return d.Name()
	}
	return ""
}

// icmpProto puts ICMP in the protocol table, as Linux's icmp_protocol.
type icmpProto struct{ p *Proto }

func (i icmpProto) Deliver(b *pkt.Buf, info RxInfo) { i.p.icmpInput(b, &info) }
func (i icmpProto) DeliverError(*ICMPError)         {}

// Package stack wires the layers into one network stack, as inet_init does
// in Linux: it creates the device registry, address table, neighbour cache,
// ARP, IPv4 (with ICMP), UDP and the socket layer, registers each protocol
// with the one below, and offers the calls most users need: add a NIC, an
// address, a route; open sockets through the net-shaped API.
//
// Any number of stacks can live in one process: nothing is global.
package stack

import (
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"

	"ustack/arp"
	"ustack/clock"
	"ustack/drivers/loopback"
	"ustack/ifaddr"
	"ustack/ipv4"
	"ustack/ipv4/fib"
	"ustack/ipv4/ipfrag"
	"ustack/neigh"
	"ustack/netdev"
	"ustack/pkt"
	"ustack/stats"
	"ustack/tcp"
	"ustack/trace"
	"ustack/udp"
)

// Options configure a Stack. The zero value is a host on the real clock.
type Options struct {
	// Clock is the source of all time (default: the real clock).
	Clock clock.Clock
	// Seed makes the stack's random choices (ephemeral ports, IP ids)
	// repeatable; 0 picks one from the clock.
	Seed uint64
	// Forwarding makes the stack a router.
	Forwarding bool
	// CheckedBuffers makes the packet pool catch use-after-free and
	// double free (for tests; slower).
	CheckedBuffers bool
	// Neigh tunes the neighbour cache.
	Neigh neigh.Config
	// Reassembly tunes IP reassembly.
	Reassembly ipfrag.Config
	// RxRing, TxQueue, Weight, Budget tune the device layer (0: defaults).
	RxRing, TxQueue, Weight, Budget int
	// TCP tunes TCP (MSL, retries, buffers...; zero fields: Linux's
	// defaults). Its IP, Pool, Clock, Tracer, Stats and Seed are set by
	// the stack.
	TCP tcp.Config
}

// Stack is one TCP/IP stack.
type Stack struct {
	clk    clock.Clock
	pool   *pkt.Pool
	tracer *trace.Tracer
	stats  *stats.Stack

	devs  *netdev.Registry
	addrs *ifaddr.Table
	neigh *neigh.Table
	arp   *arp.Proto
	ip    *ipv4.Proto
	udp   *udp.Proto
	tcp   *tcp.Proto
	lo    *netdev.Device

	closeOnce sync.Once
	closed    atomic.Bool // Close began: no new sockets
}

// New builds a stack with a loopback device (lo, 127.0.0.1/8), up.
func New(o Options) *Stack {
	if o.Clock == nil {
		o.Clock = clock.Real()
	}
	if o.Seed == 0 {
		o.Seed = uint64(o.Clock.Now().UnixNano())
	}
	s := &Stack{clk: o.Clock, stats: new(stats.Stack)}
	s.pool = pkt.NewPool(pkt.Options{Checked: o.CheckedBuffers})
	s.tracer = trace.New(o.Clock)
	s.devs = netdev.NewRegistry(netdev.Config{
		Clock: o.Clock, Pool: s.pool, Tracer: s.tracer, Stats: &s.stats.Ether,
		RxRing: o.RxRing, TxQueue: o.TxQueue, Weight: o.Weight, Budget: o.Budget,
	})
	s.addrs = ifaddr.New(s.devs)
	s.neigh = neigh.New(o.Neigh, o.Clock, &s.stats.ARP, s.tracer)
	s.arp = arp.New(s.devs, s.addrs, s.neigh, &s.stats.ARP)
	s.ip = ipv4.New(ipv4.Config{
		Registry: s.devs, Addrs: s.addrs, Neigh: s.neigh, Stats: &s.stats.IP, ICMP: &s.stats.ICMP,
		Forwarding: o.Forwarding, Reassembly: o.Reassembly,
	})
	s.udp = udp.New(s.ip, s.devs, &s.stats.UDP, o.Seed)
	s.tcp = newTCP(s, o)
	lo, err := s.devs.Register("lo", loopback.New())
	if err != nil {
		panic(err) // a fresh registry has no "lo"
	}
	s.lo = lo
	s.devs.SetUp(lo, true)
	if err := s.addrs.Add(lo, netip.MustParsePrefix("127.0.0.1/8")); err != nil {
		panic(err)
	}
	return s
}

// Clock returns the stack's clock.
func (s *Stack) Clock() clock.Clock { return s.clk }

// Pool returns the stack's packet pool.
func (s *Stack) Pool() *pkt.Pool { return s.pool }

// Tracer returns the stack's probes.
func (s *Stack) Tracer() *trace.Tracer { return s.tracer }

// Stats returns the stack's protocol counters.
func (s *Stack) Stats() *stats.Stack { return s.stats }

// Devices returns the device registry.
func (s *Stack) Devices() *netdev.Registry { return s.devs }

// Addrs returns the address table.
func (s *Stack) Addrs() *ifaddr.Table { return s.addrs }

// Neigh returns the neighbour cache.
func (s *Stack) Neigh() *neigh.Table { return s.neigh }

// IP returns the IPv4 layer.
func (s *Stack) IP() *ipv4.Proto { return s.ip }

// UDP returns the UDP layer.
func (s *Stack) UDP() *udp.Proto { return s.udp }

// ARP returns the ARP protocol.
func (s *Stack) ARP() *arp.Proto { return s.arp }

// Errors of the stack's configuration calls.
var (
	ErrNoDevice = errors.New("stack: no such device")
)

// AddNIC registers a device driven by drv under name (empty: ethN) and
// brings it up.
func (s *Stack) AddNIC(name string, drv netdev.Driver) (*netdev.Device, error) {
	d, err := s.devs.Register(name, drv)
	if err != nil {
		return nil, err
	}
	s.devs.SetUp(d, true)
	return d, nil
}

// Device returns the device called name.
func (s *Stack) Device(name string) (*netdev.Device, error) {
	d := s.devs.ByName(name)
	if d == nil {
		return nil, fmt.Errorf("%w: %s", ErrNoDevice, name)
	}
	return d, nil
}

// AddAddress assigns p (e.g. 10.0.0.2/24) to the device called ifname;
// the connected route follows, and ARP announces it.
func (s *Stack) AddAddress(ifname string, p netip.Prefix) error {
	d, err := s.Device(ifname)
	if err != nil {
		return err
	}
	return s.addrs.Add(d, p)
}

// AddRoute adds a route; Dev 0 with a gateway picks the device whose
// connected route reaches the gateway.
func (s *Stack) AddRoute(r fib.Route) error {
	if r.Dev == 0 {
		if !r.Gateway.IsValid() {
			return fmt.Errorf("stack: route %v needs a device or a gateway", r.Dst)
		}
		via, ok := s.ip.FIB().Lookup(r.Gateway)
		if !ok || via.Gateway.IsValid() {
			return fmt.Errorf("stack: gateway %v is not on a connected network", r.Gateway)
		}
		r.Dev = via.Dev
	}
	if r.Proto == 0 {
		r.Proto = fib.ProtoStatic
	}
	return s.ip.FIB().Add(r)
}

// SetDefaultGateway adds 0.0.0.0/0 via gw.
func (s *Stack) SetDefaultGateway(gw netip.Addr) error {
	return s.AddRoute(fib.Route{Dst: netip.PrefixFrom(netip.IPv4Unspecified(), 0), Gateway: gw})
}

// SetForwarding turns routing between devices on or off.
func (s *Stack) SetForwarding(on bool) { s.ip.SetForwarding(on) }

// Routes lists the routing table.
func (s *Stack) Routes() []fib.Route { return s.ip.FIB().Routes() }

// Close stops the stack: every socket is closed (blocked calls return
// net.ErrClosed, connections are dropped without a segment sent), devices
// are unregistered (drivers closed), timers stopped, and every buffer the
// stack holds freed. Sockets cannot be opened afterwards.
func (s *Stack) Close() error {
	var err error
	s.closed.Store(true)
	s.closeOnce.Do(func() {
		s.udp.CloseAll()
		s.tcp.Close()
		err = s.devs.Close()
		s.neigh.Close()
		s.ip.Close()
	})
	return err
}

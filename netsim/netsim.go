// Package netsim builds whole networks in one process: hosts and routers,
// each a complete ustack stack, joined by virtual wires (like veth pairs)
// and switches (like Linux bridges) that can lose, duplicate, reorder,
// corrupt, delay and rate-limit traffic with seeded randomness.
//
// It is what `ustack demo` runs on, what the scenario tests run on, and
// what a program testing its own networked code can run on.
package netsim

import (
	"fmt"
	"net/netip"
	"sync"

	"ustack/clock"
	"ustack/drivers/fault"
	"ustack/drivers/vwire"
	"ustack/ipv4/fib"
	"ustack/neigh"
	"ustack/netdev"
	"ustack/stack"
	"ustack/tcp"
)

// Options configure a Network.
type Options struct {
	// Clock drives every stack and wire (default: the real clock).
	Clock clock.Clock
	// Seed makes MACs, ports and impairments repeatable.
	Seed int64
	// CheckedBuffers makes every stack's packet pool catch misuse.
	CheckedBuffers bool
	// Neigh tunes every stack's neighbour cache (e.g. faster ARP
	// failure in tests).
	Neigh neigh.Config
	// TCP tunes every stack's TCP (e.g. a short MSL or RTO in tests).
	TCP tcp.Config
}

// Network is a set of hosts and the links between them.
type Network struct {
	o     Options
	mu    sync.Mutex
	hosts []*Host
	links []*Link
	sws   []*Switch
	nmac  uint64
}

// New returns an empty network.
func New(o Options) *Network {
	if o.Clock == nil {
		o.Clock = clock.Real()
	}
	return &Network{o: o}
}

// Host is one machine of the network: a stack with a name.
type Host struct {
	*stack.Stack
	Name string
	n    *Network
	nifs int
}

// Host adds a host (forwarding off).
func (n *Network) Host(name string) *Host { return n.add(name, false) }

// Router adds a router (forwarding on).
func (n *Network) Router(name string) *Host { return n.add(name, true) }

func (n *Network) add(name string, fwd bool) *Host {
	n.mu.Lock()
	defer n.mu.Unlock()
	seed := uint64(n.o.Seed)*1000003 + uint64(len(n.hosts)) + 1
	s := stack.New(stack.Options{Clock: n.o.Clock, Seed: seed, Forwarding: fwd, CheckedBuffers: n.o.CheckedBuffers, Neigh: n.o.Neigh, TCP: n.o.TCP})
	h := &Host{Stack: s, Name: name, n: n}
	n.hosts = append(n.hosts, h)
	return h
}

// Hosts lists the hosts in the order they were added.
func (n *Network) Hosts() []*Host {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]*Host(nil), n.hosts...)
}

func (n *Network) nextMAC() uint64 {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.nmac++
	return n.nmac
}

// LinkOptions configure a link. Impair applies to both directions unless
// AtoB or BtoA is set.
type LinkOptions struct {
	MTU    int
	Impair fault.Impair
	AtoB   *fault.Impair
	BtoA   *fault.Impair
	// GSO lets the two stacks pass TCP GSO super-packets whole, as
	// veth with TSO (vwire.Config.GSO). Off by default: the demo narrates
	// frames and impairments act on frames, so GSO is ignored on an
	// impaired link.
	GSO bool
}

// Link is a point-to-point wire between two hosts.
type Link struct {
	A, B       *Host
	DevA, DevB *netdev.Device
	EndA, EndB *vwire.End
}

// Link joins a and b with a wire; aAddr and bAddr are their addresses on
// it (e.g. "10.0.0.1/24"). Each side gets the next free ethN.
func (n *Network) Link(a *Host, aAddr string, b *Host, bAddr string, o LinkOptions) (*Link, error) {
	imA, imB := o.Impair, o.Impair
	if o.AtoB != nil {
		imA = *o.AtoB
	}
	if o.BtoA != nil {
		imB = *o.BtoA
	}
	ca := vwire.Config{Name: a.Name, MAC: vwire.SeededMAC(n.o.Seed, n.nextMAC()), MTU: o.MTU, Impair: imA, Seed: n.o.Seed + 1, Clock: n.o.Clock, GSO: o.GSO}
	cb := vwire.Config{Name: b.Name, MAC: vwire.SeededMAC(n.o.Seed, n.nextMAC()), MTU: o.MTU, Impair: imB, Seed: n.o.Seed + 2, Clock: n.o.Clock, GSO: o.GSO}
	ea, eb := vwire.NewPair(ca, cb)
	l := &Link{A: a, B: b, EndA: ea, EndB: eb}
	return l, n.plug(l, ea, eb, aAddr, bAddr)
}

// plug puts l's ends, drivers da and db, into its hosts and registers
// the link. Both ends are plugged in before either has an address: the
// gratuitous ARP an address sends then finds the wire's other end
// running, as on a veth pair whose carrier is up.
func (n *Network) plug(l *Link, da, db netdev.Driver, aAddr, bAddr string) error {
	var err error
	if l.DevA, err = l.A.addNIC(da); err != nil {
		return err
	}
	if l.DevB, err = l.B.addNIC(db); err != nil {
		return err
	}
	if err := l.A.addAddr(l.DevA, aAddr); err != nil {
		return err
	}
	if err := l.B.addAddr(l.DevB, bAddr); err != nil {
		return err
	}
	n.mu.Lock()
	n.links = append(n.links, l)
	n.mu.Unlock()
	return nil
}

// MustLink is Link that panics on error, for tests and examples.
func (n *Network) MustLink(a *Host, aAddr string, b *Host, bAddr string, o LinkOptions) *Link {
	l, err := n.Link(a, aAddr, b, bAddr, o)
	if err != nil {
		panic(err)
	}
	return l
}

func (h *Host) attach(drv netdev.Driver, addr string) (*netdev.Device, error) {
	dev, err := h.addNIC(drv)
	if err != nil {
		return nil, err
	}
	return dev, h.addAddr(dev, addr)
}

// addNIC adds the host's next ethN on drv.
func (h *Host) addNIC(drv netdev.Driver) (*netdev.Device, error) {
	name := fmt.Sprintf("eth%d", h.nifs)
	h.nifs++
	return h.AddNIC(name, drv)
}

// addAddr gives dev the address addr ("10.0.0.1/24"; "" for none).
func (h *Host) addAddr(dev *netdev.Device, addr string) error {
	if addr == "" {
		return nil
	}
	p, err := netip.ParsePrefix(addr)
	if err != nil {
		return fmt.Errorf("netsim: %s address %q: %w", h.Name, addr, err)
	}
	return h.AddAddress(dev.Name(), p)
}

// Switch is a learning switch hosts plug into, for a shared LAN.
type Switch struct {
	n  *Network
	sw *vwire.Switch
}

// Switch adds a switch.
func (n *Network) Switch() *Switch {
	s := &Switch{n: n, sw: vwire.NewSwitch(vwire.SwitchConfig{Clock: n.o.Clock})}
	n.mu.Lock()
	n.sws = append(n.sws, s)
	n.mu.Unlock()
	return s
}

// Attach plugs h into the switch with address addr; im impairs what h
// sends.
func (s *Switch) Attach(h *Host, addr string, im fault.Impair) (*netdev.Device, error) {
	end := s.sw.Port(vwire.Config{Name: h.Name, MAC: vwire.SeededMAC(s.n.o.Seed, s.n.nextMAC()), Impair: im, Seed: s.n.o.Seed + int64(s.n.nextMAC()), Clock: s.n.o.Clock})
	if end == nil {
		return nil, fmt.Errorf("netsim: switch closed")
	}
	return h.attach(end, addr)
}

// Inner returns the underlying vwire switch.
func (s *Switch) Inner() *vwire.Switch { return s.sw }

// DefaultRoute sends h's traffic for everything else via gw.
func (h *Host) DefaultRoute(gw string) error {
	return h.SetDefaultGateway(netip.MustParseAddr(gw))
}

// Route adds a route to dst via gw on h.
func (h *Host) Route(dst, gw string) error {
	return h.AddRoute(fib.Route{Dst: netip.MustParsePrefix(dst), Gateway: netip.MustParseAddr(gw)})
}

// Close closes every host and switch.
func (n *Network) Close() error {
	n.mu.Lock()
	hosts, sws := n.hosts, n.sws
	n.hosts, n.sws, n.links = nil, nil, nil
	n.mu.Unlock()
	var first error
	for _, h := range hosts {
		if err := h.Close(); err != nil && first == nil {
			first = err
		}
	}
	for _, s := range sws {
		s.sw.Close()
	}
	return first
}

// Package ifaddr holds the IPv4 addresses assigned to a stack's devices
// (cf. Linux's in_device and in_ifaddr). ARP answers for them, IP accepts
// packets for them and picks source addresses from them. Adding or
// removing an address is announced on the device notifier chain, to which
// routing (connected routes) and ARP (gratuitous announcements) subscribe.
//
// Read before editing: RFC 1122 §3.3.4 (multihoming), §3.2.1.3
// (addressing: broadcast forms).
package ifaddr

import (
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"sync"
	"sync/atomic"

	"ustack/netdev"
)

// Errors of the address table.
var (
	ErrNotIPv4    = errors.New("ifaddr: not an IPv4 prefix")
	ErrExists     = errors.New("ifaddr: address already assigned")
	ErrNoAddress  = errors.New("ifaddr: no such address")
	ErrBadAddress = errors.New("ifaddr: address not assignable")
)

// Addr is one address on one device.
type Addr struct {
	Dev    int
	Prefix netip.Prefix // the address with its subnet length, e.g. 10.0.0.2/24
}

// Broadcast returns the subnet's directed broadcast address (for /31 and
// /32 there is none, and the zero Addr is returned).
func (a Addr) Broadcast() netip.Addr {
	bits := a.Prefix.Bits()
	if bits >= 31 {
		return netip.Addr{}
	}
	b := a.Prefix.Addr().As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	v |= (1 << (32 - bits)) - 1
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// Table is a stack's address table. Reads are lock-free.
type Table struct {
	reg  *netdev.Registry
	mu   sync.Mutex
	snap atomic.Pointer[[]Addr]
}

// New returns an empty table announcing changes on reg's notifier chain.
func New(reg *netdev.Registry) *Table {
	t := &Table{reg: reg}
	t.snap.Store(new([]Addr))
	return t
}

// Add assigns p (an address with its prefix length) to dev.
func (t *Table) Add(dev *netdev.Device, p netip.Prefix) error {
	a := p.Addr()
	if !a.Is4() {
		return fmt.Errorf("%w: %v", ErrNotIPv4, p)
	}
	if a.IsUnspecified() || a.IsMulticast() || a == netip.AddrFrom4([4]byte{255, 255, 255, 255}) {
		return fmt.Errorf("%w: %v", ErrBadAddress, p)
	}
	t.mu.Lock()
	cur := *t.snap.Load()
	for _, x := range cur {
		if x.Prefix.Addr() == a && x.Dev == dev.Index() {
			t.mu.Unlock()
			return fmt.Errorf("%w: %v on %s", ErrExists, p, dev.Name())
		}
	}
	next := append(append([]Addr(nil), cur...), Addr{Dev: dev.Index(), Prefix: p})
	t.snap.Store(&next)
	t.mu.Unlock()
	t.reg.Notify(netdev.Event{Kind: netdev.EventAddrAdd, Dev: dev, Addr: p})
	return nil
}

// Del removes address a from dev.
func (t *Table) Del(dev *netdev.Device, a netip.Addr) error {
	t.mu.Lock()
	cur := *t.snap.Load()
	var next []Addr
	var gone netip.Prefix
	for _, x := range cur {
		if x.Prefix.Addr() == a && x.Dev == dev.Index() {
			gone = x.Prefix
			continue
		}
		next = append(next, x)
	}
	if !gone.IsValid() {
		t.mu.Unlock()
		return fmt.Errorf("%w: %v on %s", ErrNoAddress, a, dev.Name())
	}
	t.snap.Store(&next)
	t.mu.Unlock()
	t.reg.Notify(netdev.Event{Kind: netdev.EventAddrDel, Dev: dev, Addr: gone})
	return nil
}

// DelDev removes every address of the device with ifindex dev, silently
// (the device is going away).
func (t *Table) DelDev(dev int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var next []Addr
	for _, x := range *t.snap.Load() {
		if x.Dev != dev {
			next = append(next, x)
		}
	}
	t.snap.Store(&next)
}

// All returns every address, by device then address.
func (t *Table) All() []Addr {
	out := append([]Addr(nil), *t.snap.Load()...)
	sort.Slice(out, func(i, j int) bool {
		if out[i].Dev != out[j].Dev {
			return out[i].Dev < out[j].Dev
		}
		return out[i].Prefix.Addr().Less(out[j].Prefix.Addr())
	})
	return out
}

// OnDevice returns the addresses of the device with ifindex dev.
func (t *Table) OnDevice(dev int) []Addr {
	var out []Addr
	for _, x := range *t.snap.Load() {
		if x.Dev == dev {
			out = append(out, x)
		}
	}
	return out
}

// IsLocal reports whether a is assigned to any device (the weak host
// model of RFC 1122 §3.3.4.2, as Linux does), and returns that device.
func (t *Table) IsLocal(a netip.Addr) (dev int, ok bool) {
	for _, x := range *t.snap.Load() {
		if x.Prefix.Addr() == a {
			return x.Dev, true
		}
	}
	return 0, false
}

// HasAddr reports whether a is assigned to the device with ifindex dev.
func (t *Table) HasAddr(dev int, a netip.Addr) bool {
	for _, x := range *t.snap.Load() {
		if x.Dev == dev && x.Prefix.Addr() == a {
			return true
		}
	}
	return false
}

// IsBroadcast reports whether a is the limited broadcast address or the
// directed broadcast of a subnet on the device with ifindex dev.
func (t *Table) IsBroadcast(dev int, a netip.Addr) bool {
	if a == netip.AddrFrom4([4]byte{255, 255, 255, 255}) {
		return true
	}
	for _, x := range *t.snap.Load() {
		if x.Dev == dev && x.Broadcast() == a {
			return true
		}
	}
	return false
}

// IsAnyBroadcast reports whether a is a directed broadcast of any subnet
// we are on, or the limited broadcast.
func (t *Table) IsAnyBroadcast(a netip.Addr) bool {
	if a == netip.AddrFrom4([4]byte{255, 255, 255, 255}) {
		return true
	}
	for _, x := range *t.snap.Load() {
		if x.Broadcast() == a {
			return true
		}
	}
	return false
}

// Source picks the source address for a packet to dst leaving through the
// device with ifindex dev: an address on dev whose subnet contains dst,
// else dev's first address (cf. inet_select_addr).
func (t *Table) Source(dev int, dst netip.Addr) (netip.Addr, bool) {
	var first netip.Addr
	for _, x := range *t.snap.Load() {
		if x.Dev != dev {
			continue
		}
		if x.Prefix.Contains(dst) {
			return x.Prefix.Addr(), true
		}
		if !first.IsValid() {
			first = x.Prefix.Addr()
		}
	}
	return first, first.IsValid()
}

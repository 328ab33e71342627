package netsim

import (
	"sync/atomic"
	"time"

	"ustack/drivers/vwire"
	"ustack/netdev"
	"ustack/pkt"
)

// Frame is one frame a tap saw cross a wire.
type Frame struct {
	Host string // the host that sent it
	Dev  string // the device it left by
	// PktID is the packet's id, the one the sender's probes report as
	// trace.Event.PktID: it ties the bytes to tcp:::send, ip:::send...
	PktID uint64
	Time  time.Time
	Data  []byte // the whole frame, Ethernet header first (a copy)
}

// TapLink is Link with a tap on the wire, like tcpdump on both of its
// devices: tap receives a copy of every frame either host transmits onto
// it, before any impairment. Probes report lengths, not bytes; a tap is
// where the bytes are. tap runs in the sender's context, just after the
// sender's netdev:::transmit probe, and must not block. o.GSO is ignored:
// a tap shows wire frames, and the hosts' devices cut GSO packets into
// them.
func (n *Network) TapLink(a *Host, aAddr string, b *Host, bAddr string, o LinkOptions, tap func(Frame)) (*Link, error) {
	// As Link, but each host's driver is its wire end wrapped in a tap.
	imA, imB := o.Impair, o.Impair
	if o.AtoB != nil {
		imA = *o.AtoB
	}
	if o.BtoA != nil {
		imB = *o.BtoA
	}
	ca := vwire.Config{Name: a.Name, MAC: vwire.SeededMAC(n.o.Seed, n.nextMAC()), MTU: o.MTU, Impair: imA, Seed: n.o.Seed + 1, Clock: n.o.Clock}
	cb := vwire.Config{Name: b.Name, MAC: vwire.SeededMAC(n.o.Seed, n.nextMAC()), MTU: o.MTU, Impair: imB, Seed: n.o.Seed + 2, Clock: n.o.Clock}
	ea, eb := vwire.NewPair(ca, cb)
	l := &Link{A: a, B: b, EndA: ea, EndB: eb}
	da := &tapDriver{Driver: ea, host: a.Name, clk: n.o.Clock.Now, fn: tap}
	db := &tapDriver{Driver: eb, host: b.Name, clk: n.o.Clock.Now, fn: tap}
	return l, n.plug(l, da, db, aAddr, bAddr)
}

// tapDriver is a netdev.Driver that copies each frame it transmits to fn.
type tapDriver struct {
	netdev.Driver
	host string
	dev  atomic.Pointer[string]
	clk  func() time.Time
	fn   func(Frame)
}

// Start learns the device's name: the registry starts a driver when it
// registers the device, before anything can be sent through it.
func (t *tapDriver) Start(rx netdev.Receiver) error {
	if d, ok := rx.(*netdev.Device); ok {
		name := d.Name()
		t.dev.Store(&name)
	}
	return t.Driver.Start(rx)
}

// Transmit copies b to the tap, then sends it, taking ownership.
// Context: any.
func (t *tapDriver) Transmit(b *pkt.Buf) error {
	f := Frame{Host: t.host, PktID: b.ID, Time: t.clk(), Data: make([]byte, b.Len())}
	if d := t.dev.Load(); d != nil {
		f.Dev = *d
	}
	b.CopyTo(f.Data)
	t.fn(f)
	return t.Driver.Transmit(b)
}

package pcap

import (
	"ustack/netdev"
	"ustack/pkt"
)

// Driver is a netdev.Driver that records, into a Capture, every frame
// another driver receives and every frame the stack transmits through it.
// It changes nothing else: its capabilities are the inner driver's.
type Driver struct {
	inner netdev.Driver
	iface *Iface
	up    netdev.Receiver // the stack's receiver, set by Start
}

// Wrap returns a driver that records the frames of inner into c as
// interface name (the name the pcapng file gives it; use the name the
// device will have). The driver owns inner: Close closes it. Wrappers
// compose: wrap a fault.Driver to record what the stack sends before the
// impairments and what it receives after them, or wrap the inner driver
// of a fault.Driver to record what is on the wire. Context: process.
func Wrap(inner netdev.Driver, c *Capture, name string) *Driver {
	return &Driver{inner: inner, iface: c.AddInterface(name, inner.Caps())}
}

// Inner returns the wrapped driver.
func (d *Driver) Inner() netdev.Driver { return d.inner }

// Iface returns the capture interface the driver records into.
func (d *Driver) Iface() *Iface { return d.iface }

// Caps implements netdev.Driver: the inner driver's.
func (d *Driver) Caps() netdev.Caps { return d.inner.Caps() }

// Start implements netdev.Driver: the inner driver delivers to a hook that
// records each frame and passes it to rx. Context: process.
func (d *Driver) Start(rx netdev.Receiver) error {
	d.up = rx
	return d.inner.Start(rxHook{d})
}

// Transmit implements netdev.Driver, taking ownership of b: it records b
// and passes it to the inner driver. Context: any.
func (d *Driver) Transmit(b *pkt.Buf) error {
	d.iface.Record(b, netdev.Outbound)
	return d.inner.Transmit(b)
}

// Close implements netdev.Driver: it closes the inner driver.
func (d *Driver) Close() error { return d.inner.Close() }

// rxHook is the netdev.Receiver the inner driver sees.
type rxHook struct{ d *Driver }

// Receive records a received frame and passes it on, taking ownership.
// Context: driver.
func (h rxHook) Receive(b *pkt.Buf) {
	h.d.iface.Record(b, netdev.Inbound)
	h.d.up.Receive(b)
}

// Pool returns the stack's pool.
func (h rxHook) Pool() *pkt.Pool { return h.d.up.Pool() }

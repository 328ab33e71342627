package netdev

// Capture taps: the hook packet capture hangs on (cf. Linux's ptype_all
// list, which __netif_receive_skb_core delivers every received frame to
// and dev_queue_xmit_nit every transmitted one, just before the driver's
// ndo_start_xmit). A tap sees whole frames, link header included: a
// received frame as the driver delivered it, before it is parsed; a
// transmitted one as the driver is handed it, after the transmit queue
// and after software GSO, so a GSO super-packet shows whole only when the
// driver carries it whole.
//
// With no tap attached the cost is one atomic load per frame.

import "ustack/pkt"

// Direction says whether a tapped frame was received or transmitted.
type Direction uint8

const (
	Inbound Direction = iota + 1
	Outbound
)

func (d Direction) String() string {
	switch d {
	case Inbound:
		return "in"
	case Outbound:
		return "out"
	}
	return "dir?"
}

// A Tap is called with every frame the device receives or transmits. b is
// lent for the duration of the call only: the tap must not modify, keep
// or free it, and must not block — copy what it needs and return. Taps
// are called concurrently: inbound frames in the softnet loop, outbound
// ones in whatever goroutine drains the transmit queue.
// Context: softnet (Inbound) or any (Outbound).
type Tap func(d *Device, b *pkt.Buf, dir Direction)

// tapList is a device's taps, replaced whole on every change so that the
// packet path reads it with one atomic load and no lock.
type tapList []*Tap

// AddTap attaches fn to the device and returns the function that
// detaches it (safe to call more than once). A call already under way
// may still reach fn after the detach returns. Context: process.
func (d *Device) AddTap(fn Tap) (remove func()) {
	p := &fn
	for {
		old := d.taps.Load()
		var next tapList
		if old != nil {
			next = append(next, *old...)
		}
		next = append(next, p)
		if d.taps.CompareAndSwap(old, &next) {
			break
		}
	}
	return func() {
		for {
			old := d.taps.Load()
			if old == nil {
				return
			}
			next := make(tapList, 0, len(*old))
			for _, t := range *old {
				if t != p {
					next = append(next, t)
				}
			}
			if len(next) == len(*old) {
				return
			}
			np := &next
			if len(next) == 0 {
				np = nil
			}
			if d.taps.CompareAndSwap(old, np) {
				return
			}
		}
	}
}

// tap hands b to the device's taps, if it has any. Small enough to be
// inlined at the receive and transmit points.
func (d *Device) tap(b *pkt.Buf, dir Direction) {
	if t := d.taps.Load(); t != nil {
		d.runTaps(t, b, dir)
	}
}

// runTaps is kept out of line so that tap stays small enough to inline.
//
//go:noinline
func (d *Device) runTaps(t *tapList, b *pkt.Buf, dir Direction) {
	for _, fn := range *t {
		(*fn)(d, b, dir)
	}
}

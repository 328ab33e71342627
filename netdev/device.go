package netdev

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"ustack/pkt"
	"ustack/stats"
	"ustack/trace"
	"ustack/wire"
)

// Flags are a device's administrative and operational state.
type Flags uint32

const (
	FlagUp Flags = 1 << iota
	FlagBroadcast
	FlagLoopback
	FlagPromisc
	FlagRunning
)

func (f Flags) String() string {
	s := ""
	add := func(bit Flags, name string) {
		if f&bit != 0 {
			if s != "" {
				s += ","
			}
			s += name
		}
	}
	add(FlagUp, "UP")
	add(FlagBroadcast, "BROADCAST")
	add(FlagLoopback, "LOOPBACK")
	add(FlagPromisc, "PROMISC")
	add(FlagRunning, "RUNNING")
	return "<" + s + ">"
}

// Errors of the device layer.
var (
	ErrDeviceDown  = errors.New("netdev: device is down")
	ErrQueueFull   = errors.New("netdev: transmit queue full")
	ErrTooBig      = errors.New("netdev: frame exceeds MTU")
	ErrNoDevice    = errors.New("netdev: no such device")
	ErrNameInUse   = errors.New("netdev: device name in use")
	ErrNotEthernet = errors.New("netdev: not an Ethernet device")
)

// Default ring sizes: like a NIC's descriptor rings and txqueuelen. The
// receive ring holds a whole auto-tuned TCP window (4 MiB is about 2,900
// full-sized segments): with 1024 entries an in-memory peer's burst
// overflowed it and every overflow became a retransmission.
const (
	DefaultRxRing  = 4096
	DefaultTxQueue = 1000
)

// Device is one network interface.
type Device struct {
	index int
	name  string
	drv   Driver
	caps  Caps
	reg   *Registry

	mtu   atomic.Int32
	flags atomic.Uint32

	// Stats are the device's counters, as `ip -s link` shows them.
	Stats stats.Link

	rx        chan *pkt.Buf
	scheduled atomic.Bool // on the softnet poll list

	txMu      sync.Mutex
	txq       pkt.Queue
	txRunning bool
	txBatch   []*pkt.Buf

	taps atomic.Pointer[tapList] // capture taps (capture.go)
}

// Index returns the ifindex.
func (d *Device) Index() int { return d.index }

// Name returns the interface name.
func (d *Device) Name() string { return d.name }

// MAC returns the hardware address (zero for non-Ethernet links).
func (d *Device) MAC() wire.MAC { return d.caps.MAC }

// Link returns the link type.
func (d *Device) Link() LinkType { return d.caps.Link }

// Caps returns the driver's capabilities.
func (d *Device) Caps() Caps { return d.caps }

// MTU returns the device's current MTU.
func (d *Device) MTU() int { return int(d.mtu.Load()) }

// Flags returns the device's flags.
func (d *Device) Flags() Flags { return Flags(d.flags.Load()) }

// IsUp reports whether the device is administratively up.
func (d *Device) IsUp() bool { return d.Flags()&FlagUp != 0 }

// Driver returns the device's driver.
func (d *Device) Driver() Driver { return d.drv }

// Registry returns the registry the device belongs to.
func (d *Device) Registry() *Registry { return d.reg }

// TxQueueLen returns the number of frames waiting to be transmitted.
func (d *Device) TxQueueLen() int {
	d.txMu.Lock()
	defer d.txMu.Unlock()
	return d.txq.Len()
}

func (d *Device) String() string { return fmt.Sprintf("%s(%d)", d.name, d.index) }

// Receive implements Receiver: a driver delivers a frame. Context: driver.
func (d *Device) Receive(b *pkt.Buf) {
	b.Dev = d.index
	if b.ID == 0 {
		b.ID = d.reg.NextPacketID()
	}
	if d.reg.clockStamp {
		b.Time = d.reg.clk.Now()
	}
	select {
	case d.rx <- b:
	default:
		d.Stats.RxDropped.Inc()
		d.reg.dropProbe(d, b, "rx ring full")
		b.Free()
		return
	}
	d.reg.schedule(d)
}

// Pool implements Receiver.
func (d *Device) Pool() *pkt.Pool { return d.reg.pool }

// Transmit queues a complete frame for the driver, taking ownership. It
// never blocks on a full queue: the frame is dropped, counted, and
// ErrQueueFull returned. The queue is drained in the caller's context when
// no one else is draining it (cf. __dev_xmit_skb and qdisc_run).
// Context: any.
func (d *Device) Transmit(b *pkt.Buf) error {
	if !d.IsUp() {
		d.Stats.TxDropped.Inc()
		d.reg.dropProbe(d, b, "device down")
		b.Free()
		return ErrDeviceDown
	}
	if b.GSOSize > 0 && d.needsGSO(b) {
		return d.transmitGSO(b) // each segment comes back here (gso.go)
	}
	if p := d.reg.probes.transmit; p.Enabled() {
		p.Fire(&trace.Event{PktID: b.ID, Dev: d.name, Len: b.Len()})
	}
	d.txMu.Lock()
	if !d.txq.Push(b) {
		d.txMu.Unlock()
		d.Stats.TxDropped.Inc()
		d.reg.dropProbe(d, b, "tx queue full")
		b.Free()
		return ErrQueueFull
	}
	if d.txRunning {
		d.txMu.Unlock()
		return nil
	}
	d.txRunning = true
	for {
		batch := d.txBatch[:0]
		for len(batch) < cap(d.txBatch) {
			x := d.txq.Pop()
			if x == nil {
				break
			}
			batch = append(batch, x)
		}
		if len(batch) == 0 {
			d.txRunning = false
			d.txMu.Unlock()
			return nil
		}
		d.txMu.Unlock()
		for i, x := range batch {
			n := x.Len()
			d.tap(x, Outbound)
			id := x.ID
			if err := d.drv.Transmit(x); err != nil {
				// The driver refused the frame (no carrier, too big) and
				// freed it: counted, and reported like any drop.
				d.Stats.TxErrors.Inc()
				if p := d.reg.probes.drop; p.Enabled() {
					p.Fire(&trace.Event{PktID: id, Dev: d.name, Len: n, Reason: "transmit: " + err.Error()})
				}
			} else {
				d.Stats.TxPackets.Inc()
				d.Stats.TxBytes.Add(uint64(n))
			}
			batch[i] = nil
		}
		d.txMu.Lock()
	}
}

// SendEthernet pushes an Ethernet II header onto b (which holds a
// network-layer packet) and transmits it, taking ownership. On an IP link
// no header is added. Context: any.
func (d *Device) SendEthernet(b *pkt.Buf, dst wire.MAC, etherType wire.EtherType) error {
	if d.caps.Link == LinkEthernet {
		h, _ := wire.ParseEthernetView(b.Push(wire.EthernetHeaderLen))
		h.SetDst(dst)
		h.SetSrc(d.caps.MAC)
		h.SetEtherType(etherType)
		b.SetLinkHeader()
	}
	if b.Len() > d.MTU()+d.linkHeaderLen() && (b.GSOSize == 0 || !d.gsoFitsMTU(b)) {
		d.reg.stats.OutTooBig.Inc()
		d.Stats.TxDropped.Inc()
		d.reg.dropProbe(d, b, "frame exceeds MTU")
		b.Free()
		return ErrTooBig
	}
	d.reg.stats.OutFrames.Inc()
	if p := d.reg.probes.etherSend; p.Enabled() {
		p.Fire(&trace.Event{PktID: b.ID, Dev: d.name, Len: b.Len(), SrcMAC: d.caps.MAC, DstMAC: dst, EtherType: etherType})
	}
	return d.Transmit(b)
}

func (d *Device) linkHeaderLen() int {
	if d.caps.Link == LinkEthernet {
		return wire.EthernetHeaderLen
	}
	return 0
}

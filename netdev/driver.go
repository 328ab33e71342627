// Package netdev is the device layer: ustack's net_device. A Device wraps a
// Driver (the smoltcp "phy": something that moves frames), gives it an
// ifindex, name, MAC, MTU, flags and counters, receives through a bounded
// ring drained by a budgeted poll loop (NAPI), transmits through a bounded
// queue, and demultiplexes Ethernet frames by EtherType to the handlers the
// layers above registered at start-up.
//
// Read before editing: Linux's net/core/dev.c (netif_receive_skb,
// net_rx_action, __dev_queue_xmit) for the structure mirrored here.
package netdev

import (
	"ustack/pkt"
	"ustack/wire"
)

// LinkType says what a device's frames are.
type LinkType uint8

const (
	// LinkEthernet frames carry an Ethernet II header.
	LinkEthernet LinkType = iota + 1
	// LinkIP frames are bare IP packets (TUN, loopback).
	LinkIP
)

func (l LinkType) String() string {
	switch l {
	case LinkEthernet:
		return "ether"
	case LinkIP:
		return "ip"
	}
	return "link?"
}

// Caps are what a driver can do.
type Caps struct {
	Link LinkType
	// MTU is the largest network-layer packet the link carries.
	MTU int
	// MAC is the device's hardware address (Ethernet links only).
	MAC wire.MAC
	// Loopback marks the loopback device.
	Loopback bool
	// ChecksumOffload means frames never leave this process: receivers
	// may trust checksums the sender did not compute (an in-memory wire).
	ChecksumOffload bool
	// TxBatch is how many frames the driver likes per transmit round.
	TxBatch int
	// GSOMaxSize is the largest IPv4/TCP GSO super-packet (network-layer
	// bytes, at most GSOMaxSize) the driver carries whole, as one frame,
	// to a receiver that takes it whole (cf. NETIF_F_TSO and
	// netif_set_tso_max_size). 0: none; the device then cuts GSO packets
	// into wire segments in software before the driver sees them
	// (gso.go). A driver declaring it must deliver such frames, longer
	// than the MTU, intact (no per-frame impairment), and its peer must
	// verify checksums exactly when this end's ChecksumOffload is off:
	// TCP leaves a super-packet's checksum uncomputed on a device with
	// both GSO and checksum offload.
	GSOMaxSize int
}

// GSOMaxSize is the largest GSO super-packet: an IPv4 datagram's total
// length field is 16 bits (cf. GSO_LEGACY_MAX_SIZE; ustack has no BIG TCP).
const GSOMaxSize = 0xffff

// Driver moves frames. Drivers live in ustack/drivers/...
type Driver interface {
	// Caps describes the driver; it must not change after Start.
	Caps() Caps
	// Start begins delivering received frames to rx; called once, when
	// the device is registered.
	Start(rx Receiver) error
	// Transmit sends one frame, taking ownership of b. It may block
	// briefly (a write system call) but must not wait on the stack.
	Transmit(b *pkt.Buf) error
	// Close stops the driver; Receive is not called after it returns.
	Close() error
}

// Receiver is how a driver hands frames to the stack.
type Receiver interface {
	// Receive takes ownership of one received frame. It never blocks:
	// when the receive ring is full the frame is dropped and counted.
	// Context: driver.
	Receive(b *pkt.Buf)
	// Pool is where the driver gets receive buffers.
	Pool() *pkt.Pool
}

// Package loopback is the loopback device (cf. drivers/net/loopback.c): every
// frame transmitted is handed straight back to the device's own receiver,
// without copying. It carries bare IP packets (no link header), has a 64 KiB
// MTU, and vouches for checksums since nothing leaves the process.
package loopback

import (
	"errors"
	"sync"

	"ustack/netdev"
	"ustack/pkt"
)

// MTU is the loopback MTU, as Linux sets it.
const MTU = 65536

// Errors of the loopback driver.
var (
	ErrClosed     = errors.New("loopback: device closed")
	ErrNotStarted = errors.New("loopback: device not started")
	ErrStarted    = errors.New("loopback: device already started")
)

// Driver is the loopback device. The zero value is ready to use; New
// returns one too.
type Driver struct {
	// mu guards rx and closed. Transmit holds it for reading while it
	// calls Receive, so that Close, which takes it for writing, returns
	// only when no Receive is in progress.
	mu     sync.RWMutex
	rx     netdev.Receiver
	closed bool
}

// New returns a loopback driver.
func New() *Driver { return new(Driver) }

// Caps implements netdev.Driver.
func (d *Driver) Caps() netdev.Caps {
	return netdev.Caps{Link: netdev.LinkIP, MTU: MTU, Loopback: true, ChecksumOffload: true}
}

// Start implements netdev.Driver. Context: process.
func (d *Driver) Start(rx netdev.Receiver) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case d.closed:
		return ErrClosed
	case d.rx != nil:
		return ErrStarted
	}
	d.rx = rx
	return nil
}

// Transmit hands b back to the receiver, taking ownership (cf.
// loopback_xmit). The receiver never blocks, so neither does this.
// Context: any.
func (d *Driver) Transmit(b *pkt.Buf) error {
	d.mu.RLock()
	if d.closed || d.rx == nil {
		err := ErrNotStarted
		if d.closed {
			err = ErrClosed
		}
		d.mu.RUnlock()
		b.Free()
		return err
	}
	d.rx.Receive(b)
	d.mu.RUnlock()
	return nil
}

// Close implements netdev.Driver: once it returns, Receive is not called
// again. It must not be called from within the receiver's Receive.
// Context: process.
func (d *Driver) Close() error {
	d.mu.Lock()
	d.closed = true
	d.rx = nil
	d.mu.Unlock()
	return nil
}

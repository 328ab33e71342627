// Package fault impairs a device's traffic the way Linux's netem qdisc does
// (tc qdisc add dev eth0 root netem loss 1% delay 10ms ...): loss,
// duplication, corruption, reordering, delay with jitter, and a rate limit
// behind a bounded queue, each drawn from a seeded source so that a test run
// can be replayed exactly.
//
// Wrap puts the impairment around any netdev.Driver (an in-memory wire, a
// TAP device), separately for the frames it transmits and those it
// receives. The engine is the Pipe (pipe.go), which other drivers reuse:
// vwire impairs its wires with it.
//
// Read before editing: the tc-netem(8) manual and net/sched/sch_netem.c.
package fault

import (
	"errors"
	"sync"

	"ustack/clock"
	"ustack/netdev"
	"ustack/pkt"
)

// Config configures a Driver.
type Config struct {
	// Tx impairs the frames the stack transmits, on their way to the
	// inner driver; Rx the frames the inner driver receives, on their way
	// to the stack.
	Tx, Rx Impair
	// Seed seeds both directions' random sources. The same seed and the
	// same frames give the same impairments.
	Seed int64
	// Clock times delays, rates and reorder timeouts (nil: clock.Real()).
	Clock clock.Clock
}

// Stats are a Driver's counters, per direction.
type Stats struct {
	Tx, Rx Counts
}

// Streams distinguishing the two directions' random sources.
const (
	streamTx = 0x7478 // "tx"
	streamRx = 0x7278 // "rx"
)

// ErrStarted is returned by a second Start.
var ErrStarted = errors.New("fault: already started")

// Driver is a netdev.Driver that impairs the traffic of another.
type Driver struct {
	inner netdev.Driver
	caps  netdev.Caps
	tx    *Pipe
	rx    *Pipe

	mu      sync.Mutex
	started bool
	up      netdev.Receiver // the stack's receiver, set once by Start
}

// Wrap returns a driver that passes frames to and from inner through the
// impairments cfg describes. The driver owns inner: Close closes it.
// Checksum offload is turned off when either direction corrupts, so that
// the receiving stack verifies checksums and catches the damage; GSO is
// turned off when the transmit direction impairs anything. (A GSO peer
// across inner still sends super-packets, which the receive direction
// impairs whole: do not wrap one end of a GSO pair.)
func Wrap(inner netdev.Driver, cfg Config) *Driver {
	if cfg.Clock == nil {
		cfg.Clock = clock.Real()
	}
	d := &Driver{inner: inner, caps: inner.Caps()}
	if cfg.Tx.Corrupt > 0 || cfg.Rx.Corrupt > 0 {
		d.caps.ChecksumOffload = false
	}
	if !cfg.Tx.IsZero() {
		// Impairments act on wire frames: the stack must hand the pipe
		// segments, not GSO super-packets (netdev cuts them).
		d.caps.GSOMaxSize = 0
	}
	d.tx = NewPipe(PipeConfig{Impair: cfg.Tx, Seed: cfg.Seed, Stream: streamTx, Clock: cfg.Clock}, inner.Transmit)
	d.rx = NewPipe(PipeConfig{Impair: cfg.Rx, Seed: cfg.Seed, Stream: streamRx, Clock: cfg.Clock}, d.receive)
	return d
}

// Inner returns the wrapped driver.
func (d *Driver) Inner() netdev.Driver { return d.inner }

// Tx returns the transmit direction's pipe (to read its counters or change
// its impairment).
func (d *Driver) Tx() *Pipe { return d.tx }

// Rx returns the receive direction's pipe.
func (d *Driver) Rx() *Pipe { return d.rx }

// Stats returns a snapshot of both directions' counters.
func (d *Driver) Stats() Stats { return Stats{Tx: d.tx.Stats(), Rx: d.rx.Stats()} }

// Caps implements netdev.Driver: the inner driver's, less checksum
// offload when frames are corrupted and GSO when sent frames are impaired.
func (d *Driver) Caps() netdev.Caps { return d.caps }

// Start implements netdev.Driver: the inner driver delivers to the receive
// pipe, which delivers to rx. Context: process.
func (d *Driver) Start(rx netdev.Receiver) error {
	d.mu.Lock()
	if d.started {
		d.mu.Unlock()
		return ErrStarted
	}
	d.started = true
	d.up = rx
	d.mu.Unlock()
	if err := d.inner.Start(rxHook{d}); err != nil {
		d.mu.Lock()
		d.started = false
		d.mu.Unlock()
		return err
	}
	return nil
}

// Transmit implements netdev.Driver, taking ownership of b: it passes b
// through the transmit pipe to the inner driver. Frames the pipe drops
// count as sent, as on a real lossy link; an error from the inner driver
// is counted in Stats().Tx.OutErrors. Context: any.
func (d *Driver) Transmit(b *pkt.Buf) error { return d.tx.Send(b) }

// Close implements netdev.Driver: it stops the transmit pipe, closes the
// inner driver, then stops the receive pipe, freeing every frame held in
// either. Context: process.
func (d *Driver) Close() error {
	d.tx.Close()
	err := d.inner.Close()
	d.rx.Close()
	return err
}

// receive is the receive pipe's output. Context: driver or timer.
func (d *Driver) receive(b *pkt.Buf) error {
	d.up.Receive(b)
	return nil
}

// rxHook is the netdev.Receiver the inner driver sees.
type rxHook struct{ d *Driver }

// Receive passes a frame from the inner driver into the receive pipe,
// taking ownership. Context: driver.
func (h rxHook) Receive(b *pkt.Buf) { h.d.rx.Send(b) }

// Pool returns the stack's pool.
func (h rxHook) Pool() *pkt.Pool { return h.d.up.Pool() }

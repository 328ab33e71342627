// Package socket is the protocol-agnostic socket layer: what UDP and TCP
// endpoints share — deadlines that cut pending I/O, wait queues, bounded
// receive queues, port allocation, and errors shaped as package net shapes
// them (cf. Linux net/socket.c, net/core/sock.c, inet_hashtables.c).
package socket

import (
	"sync"
	"time"

	"ustack/clock"
)

// Deadline is one direction's deadline, as net.Conn.SetReadDeadline sets
// it: an absolute time after which pending and future calls fail with
// os.ErrDeadlineExceeded, until it is moved. Safe for concurrent use.
//
// A Deadline costs no allocation until it is used: the clock timer is
// made by a Set in the future, the Done channel by the first Done. A
// socket that wakes its blocked calls itself (Init's wake) never needs
// Done, so an idle connection holds neither.
type Deadline struct {
	clk     clock.Clock
	wake    func() // called, no lock held, when the deadline passes; may be nil
	mu      sync.Mutex
	timer   clock.Timer
	expiry  chan struct{} // made by Done; closed when the deadline passes
	gen     uint32        // bumped by every Set: a timer of an older Set does nothing
	expired bool          // the deadline has passed
}

// closedChan is Done's answer once the deadline has passed.
var closedChan = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

// NewDeadline returns a deadline that never expires until Set.
func NewDeadline(clk clock.Clock) *Deadline {
	d := new(Deadline)
	d.Init(clk, nil)
	return d
}

// Init readies a Deadline held by value in a socket (NewDeadline
// allocates one): clk tells the time, and wake, if not nil, is called
// each time the deadline passes, with no lock of d's held, so that the
// socket can wake the calls it has blocked (they then see Expired). Call
// it before any other method.
func (d *Deadline) Init(clk clock.Clock, wake func()) {
	d.clk, d.wake = clk, wake
}

// Set moves the deadline to t; the zero time means none.
func (d *Deadline) Set(t time.Time) {
	d.mu.Lock()
	d.gen++
	if d.timer != nil {
		d.timer.Stop()
		d.timer = nil
	}
	// A deadline that had passed is reopened; Done makes a new channel.
	d.expired = false
	if t.IsZero() {
		d.mu.Unlock()
		return
	}
	wait := t.Sub(d.clk.Now())
	if wait <= 0 {
		d.expireLocked()
		d.mu.Unlock()
		d.notify()
		return
	}
	// The callback may already be running when a later Set stops it (Stop
	// then returns false): it checks the generation, so it never expires
	// a deadline set after it (cf. the rseq/wseq counters of
	// internal/poll).
	gen := d.gen
	d.timer = d.clk.AfterFunc(wait, func() {
		d.mu.Lock()
		if d.gen != gen || d.expired {
			d.mu.Unlock()
			return
		}
		d.timer = nil
		d.expireLocked()
		d.mu.Unlock()
		d.notify()
	})
	d.mu.Unlock()
}

func (d *Deadline) expireLocked() {
	d.expired = true
	if d.expiry != nil {
		close(d.expiry)
		d.expiry = nil
	}
}

func (d *Deadline) notify() {
	if d.wake != nil {
		d.wake()
	}
}

// Done returns a channel closed once the deadline passes. Take it again
// after each Set.
func (d *Deadline) Done() <-chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.expired {
		return closedChan
	}
	if d.expiry == nil {
		d.expiry = make(chan struct{})
	}
	return d.expiry
}

// Expired reports whether the deadline has passed.
func (d *Deadline) Expired() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.expired
}

// Stop releases the deadline's timer.
func (d *Deadline) Stop() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.gen++
	if d.timer != nil {
		d.timer.Stop()
		d.timer = nil
	}
}

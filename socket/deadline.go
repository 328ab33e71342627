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
type Deadline struct {
	clk    clock.Clock
	mu     sync.Mutex
	timer  clock.Timer
	gen    uint64        // bumped by every Set: a timer of an older Set does nothing
	expiry chan struct{} // closed when the deadline has passed
}

// NewDeadline returns a deadline that never expires until Set.
func NewDeadline(clk clock.Clock) *Deadline {
	return &Deadline{clk: clk, expiry: make(chan struct{})}
}

// Set moves the deadline to t; the zero time means none.
func (d *Deadline) Set(t time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.gen++
	if d.timer != nil {
		d.timer.Stop()
		d.timer = nil
	}
	// A deadline that had passed is reopened.
	select {
	case <-d.expiry:
		d.expiry = make(chan struct{})
	default:
	}
	if t.IsZero() {
		return
	}
	wait := t.Sub(d.clk.Now())
	if wait <= 0 {
		close(d.expiry)
		return
	}
	// The callback may already be running when a later Set stops it (Stop
	// then returns false): it checks the generation, not the channel,
	// so it never closes the channel of a deadline set after it (cf. the
	// rseq/wseq counters of internal/poll).
	gen := d.gen
	d.timer = d.clk.AfterFunc(wait, func() {
		d.mu.Lock()
		defer d.mu.Unlock()
		if d.gen != gen {
			return
		}
		select {
		case <-d.expiry:
		default:
			close(d.expiry)
		}
	})
}

// Done returns a channel closed once the deadline passes. Take it again
// after each Set.
func (d *Deadline) Done() <-chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.expiry
}

// Expired reports whether the deadline has passed.
func (d *Deadline) Expired() bool {
	select {
	case <-d.Done():
		return true
	default:
		return false
	}
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

// Package clock is the stack's only source of time. Every layer takes a
// Clock at construction; nothing in ustack calls time.Now, time.Sleep or
// time.AfterFunc directly, so that a test (or a simulator) can run a whole
// network on virtual time by advancing a Manual clock.
package clock

import "time"

// Clock tells the time and runs functions later.
type Clock interface {
	// Now returns the current time. With the real clock it carries a
	// monotonic reading, so differences are safe against wall-clock steps.
	Now() time.Time
	// AfterFunc calls f in its own goroutine (Real) or in the goroutine
	// that advances time (Manual) once d has elapsed.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a pending call made by AfterFunc.
type Timer interface {
	// Stop prevents the call; it reports whether it did (false when the
	// call already ran or was already stopped).
	Stop() bool
	// Reset re-arms the timer to fire d from now; it reports whether the
	// timer was pending.
	Reset(d time.Duration) bool
}

// Real returns the wall clock.
func Real() Clock { return realClock{} }

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }

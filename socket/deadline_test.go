package socket

import (
	"testing"
	"time"

	"ustack/clock"
)

// lateClock hands out timers whose Stop always reports false, as when the
// callback has already started and waits for the deadline's lock.
type lateClock struct {
	now   time.Time
	fired []func()
}

func (c *lateClock) Now() time.Time { return c.now }
func (c *lateClock) AfterFunc(d time.Duration, f func()) clock.Timer {
	c.fired = append(c.fired, f)
	return lateTimer{}
}

type lateTimer struct{}

func (lateTimer) Stop() bool               { return false }
func (lateTimer) Reset(time.Duration) bool { return false }

// A timer of an earlier Set that runs after a later Set must not expire
// the later deadline (the "extend the deadline on every read" pattern).
func TestStaleTimerDoesNotExpireMovedDeadline(t *testing.T) {
	clk := &lateClock{now: time.Unix(0, 0)}
	d := NewDeadline(clk)
	d.Set(clk.now.Add(10 * time.Millisecond))
	d.Set(clk.now.Add(time.Hour)) // moved before the first fired
	clk.fired[0]()                // the first timer's callback runs late
	if d.Expired() {
		t.Fatal("a stale timer expired a deadline moved an hour ahead")
	}
	clk.fired[1]()
	if !d.Expired() {
		t.Fatal("the current timer did not expire the deadline")
	}
}

func TestDeadlineSetPastAndClear(t *testing.T) {
	m := clock.NewManual(time.Unix(0, 0))
	d := NewDeadline(m)
	d.Set(m.Now().Add(-time.Second))
	if !d.Expired() {
		t.Fatal("a past deadline is not expired")
	}
	d.Set(time.Time{})
	if d.Expired() {
		t.Fatal("clearing did not reopen the deadline")
	}
	d.Set(m.Now().Add(time.Second))
	m.Advance(999 * time.Millisecond)
	if d.Expired() {
		t.Fatal("expired early")
	}
	m.Advance(time.Millisecond)
	if !d.Expired() {
		t.Fatal("did not expire on time")
	}
}

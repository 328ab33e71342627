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

// Init's wake runs each time the deadline passes — a Set in the past, or
// the timer of one in the future — and not for a Set that clears it or a
// stale timer, so a socket can wake its blocked calls without Done.
func TestDeadlineWake(t *testing.T) {
	m := clock.NewManual(time.Unix(0, 0))
	var d Deadline
	wakes := 0
	d.Init(m, func() { wakes++ })
	d.Set(m.Now().Add(-time.Second))
	if wakes != 1 || !d.Expired() {
		t.Fatalf("Set in the past: %d wakes, Expired %v; want 1, true", wakes, d.Expired())
	}
	d.Set(m.Now().Add(time.Second))
	d.Set(m.Now().Add(2 * time.Second)) // the first timer is stale
	m.Advance(time.Second)
	if wakes != 1 || d.Expired() {
		t.Fatalf("after a moved deadline's old time: %d wakes, Expired %v; want 1, false", wakes, d.Expired())
	}
	m.Advance(time.Second)
	if wakes != 2 || !d.Expired() {
		t.Fatalf("at the deadline: %d wakes, Expired %v; want 2, true", wakes, d.Expired())
	}
	d.Set(time.Time{})
	if wakes != 2 || d.Expired() {
		t.Fatalf("cleared: %d wakes, Expired %v; want 2, false", wakes, d.Expired())
	}
}

// A Done channel taken before the deadline is set closes when it passes,
// and Done after it passes is closed at once.
func TestDeadlineDoneLazy(t *testing.T) {
	m := clock.NewManual(time.Unix(0, 0))
	d := NewDeadline(m)
	ch := d.Done()
	d.Set(m.Now().Add(time.Second))
	m.Advance(time.Second)
	select {
	case <-ch:
	default:
		t.Fatal("a Done channel taken before Set did not close at the deadline")
	}
	select {
	case <-d.Done():
	default:
		t.Fatal("Done after the deadline is not closed")
	}
	d.Set(time.Time{})
	select {
	case <-d.Done():
		t.Fatal("Done closed after the deadline was cleared")
	default:
	}
}

// An unused deadline allocates nothing: Init, Expired, a Set to zero and
// Stop cost no memory (idle connections hold two).
func TestDeadlineUnusedAllocatesNothing(t *testing.T) {
	m := clock.NewManual(time.Unix(0, 0))
	var d Deadline
	d.Init(m, nil)
	if n := testing.AllocsPerRun(100, func() {
		d.Expired()
		d.Set(time.Time{})
		d.Stop()
	}); n != 0 {
		t.Fatalf("unused deadline: %v allocations per run, want 0", n)
	}
}

package clock

import (
	"testing"
	"time"
)

func TestManualRunsTimersInOrder(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	m := NewManual(start)
	var got []int
	var at []time.Duration
	rec := func(i int) func() {
		return func() { got = append(got, i); at = append(at, m.Now().Sub(start)) }
	}
	m.AfterFunc(3*time.Second, rec(3))
	m.AfterFunc(1*time.Second, rec(1))
	m.AfterFunc(2*time.Second, rec(2))
	m.AfterFunc(2*time.Second, rec(22))
	stopped := m.AfterFunc(time.Second, rec(99))
	if !stopped.Stop() {
		t.Fatal("Stop of pending timer = false, want true")
	}
	m.Advance(2500 * time.Millisecond)
	want := []int{1, 2, 22}
	if len(got) != len(want) {
		t.Fatalf("fired %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("fired %v, want %v", got, want)
		}
	}
	if at[0] != time.Second || at[1] != 2*time.Second {
		t.Fatalf("timers saw times %v, want 1s, 2s", at)
	}
	if now := m.Now().Sub(start); now != 2500*time.Millisecond {
		t.Fatalf("Now after Advance = %v, want 2.5s", now)
	}
	if m.Pending() != 1 {
		t.Fatalf("Pending = %d, want 1", m.Pending())
	}
	m.Advance(time.Second)
	if len(got) != 4 || got[3] != 3 {
		t.Fatalf("fired %v, want 3 last", got)
	}
}

func TestManualReset(t *testing.T) {
	m := NewManual(time.Unix(0, 0))
	n := 0
	tm := m.AfterFunc(time.Second, func() { n++ })
	m.Advance(900 * time.Millisecond)
	if !tm.Reset(time.Second) {
		t.Fatal("Reset of pending timer = false")
	}
	m.Advance(900 * time.Millisecond)
	if n != 0 {
		t.Fatal("timer fired before its reset deadline")
	}
	m.Advance(100 * time.Millisecond)
	if n != 1 {
		t.Fatalf("fired %d times, want 1", n)
	}
	if tm.Stop() {
		t.Fatal("Stop after firing = true, want false")
	}
}

func TestManualTimerCanRearmItself(t *testing.T) {
	m := NewManual(time.Unix(0, 0))
	n := 0
	var tm Timer
	tm = m.AfterFunc(time.Second, func() {
		n++
		if n < 5 {
			tm.Reset(time.Second)
		}
	})
	m.Advance(10 * time.Second)
	if n != 5 {
		t.Fatalf("periodic timer fired %d times, want 5", n)
	}
}

func TestRealClock(t *testing.T) {
	c := Real()
	done := make(chan struct{})
	c.AfterFunc(time.Millisecond, func() { close(done) })
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("real timer did not fire")
	}
}

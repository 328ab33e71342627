package clock

import (
	"container/heap"
	"sync"
	"time"
)

// Manual is a clock that moves only when told to. Timers due at or before
// the new time run, in time order, in the goroutine calling Advance or Set,
// with the clock reading the timer's due time while each runs.
//
// The zero value is not usable; call NewManual.
type Manual struct {
	mu     sync.Mutex
	now    time.Time
	timers timerHeap
	seq    uint64
}

// NewManual returns a manual clock reading start.
func NewManual(start time.Time) *Manual { return &Manual{now: start} }

// Now returns the clock's current reading.
func (m *Manual) Now() time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.now
}

// AfterFunc schedules f to run when the clock has advanced by d.
func (m *Manual) AfterFunc(d time.Duration, f func()) Timer {
	t := &manualTimer{m: m, f: f, index: -1}
	m.mu.Lock()
	m.scheduleLocked(t, d)
	m.mu.Unlock()
	return t
}

// Advance moves the clock forward by d, running every timer that falls due.
func (m *Manual) Advance(d time.Duration) {
	m.mu.Lock()
	target := m.now.Add(d)
	m.mu.Unlock()
	m.Set(target)
}

// Set moves the clock to t (never backwards), running due timers in order.
func (m *Manual) Set(t time.Time) {
	for {
		m.mu.Lock()
		if len(m.timers) == 0 || m.timers[0].when.After(t) {
			if t.After(m.now) {
				m.now = t
			}
			m.mu.Unlock()
			return
		}
		next := heap.Pop(&m.timers).(*manualTimer)
		if next.when.After(m.now) {
			m.now = next.when
		}
		f := next.f
		m.mu.Unlock()
		f()
	}
}

// Pending returns how many timers are waiting to fire.
func (m *Manual) Pending() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.timers)
}

// NextDue returns when the earliest pending timer fires.
func (m *Manual) NextDue() (time.Time, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.timers) == 0 {
		return time.Time{}, false
	}
	return m.timers[0].when, true
}

func (m *Manual) scheduleLocked(t *manualTimer, d time.Duration) {
	if d < 0 {
		d = 0
	}
	m.seq++
	t.when = m.now.Add(d)
	t.seq = m.seq
	heap.Push(&m.timers, t)
}

type manualTimer struct {
	m     *Manual
	f     func()
	when  time.Time
	seq   uint64
	index int // position in the heap, -1 when not pending
}

func (t *manualTimer) Stop() bool {
	t.m.mu.Lock()
	defer t.m.mu.Unlock()
	if t.index < 0 {
		return false
	}
	heap.Remove(&t.m.timers, t.index)
	return true
}

func (t *manualTimer) Reset(d time.Duration) bool {
	t.m.mu.Lock()
	defer t.m.mu.Unlock()
	was := t.index >= 0
	if was {
		heap.Remove(&t.m.timers, t.index)
	}
	t.m.scheduleLocked(t, d)
	return was
}

type timerHeap []*manualTimer

func (h timerHeap) Len() int { return len(h) }
func (h timerHeap) Less(i, j int) bool {
	if h[i].when.Equal(h[j].when) {
		return h[i].seq < h[j].seq
	}
	return h[i].when.Before(h[j].when)
}
func (h timerHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}
func (h *timerHeap) Push(x any) {
	t := x.(*manualTimer)
	t.index = len(*h)
	*h = append(*h, t)
}
func (h *timerHeap) Pop() any {
	old := *h
	n := len(old)
	t := old[n-1]
	old[n-1] = nil
	t.index = -1
	*h = old[:n-1]
	return t
}

package tcp

// The time of the event being handled, read once per event the way Linux
// refreshes tp->tcp_mstamp: a segment's handling wants the time half a
// dozen times (RTT sample, timestamps, timers), and on this kind of
// machine each clock read costs tens of nanoseconds.

import "time"

// stampLocked reads the clock for the event being handled and returns
// the reading; until unstampLocked, nowLocked answers with it instead of
// reading the clock again. Only handlers that return without waiting may
// stamp: a stamp must never outlive its event.
func (ep *Endpoint) stampLocked() time.Time {
	ep.evNow, ep.evNowOK = ep.p.clk.Now(), true
	return ep.evNow
}

// unstampLocked ends the event stampLocked began.
func (ep *Endpoint) unstampLocked() { ep.evNowOK = false }

// nowLocked is the time of the event being handled, or the clock's time
// outside one: a handler that forgets to stamp only loses the saving.
func (ep *Endpoint) nowLocked() time.Time {
	if ep.evNowOK {
		return ep.evNow
	}
	return ep.p.clk.Now()
}

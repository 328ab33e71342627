package tcp

// Connection timers: retransmission, delayed ACK, persist, keepalive, and
// the "wait" timer for TIME_WAIT and orphaned FIN_WAIT_2.
//
// Read before editing: RFC 6298 §5 (managing the RTO timer, backoff),
// RFC 9293 §3.8.1 (retransmission; R2 → give up), §3.8.6.1 (zero-window
// probing), §3.6.1 and §3.10.7 (TIME_WAIT, 2*MSL), RFC 1122 §4.2.3.2
// (delayed ACK ≤ 0.5s) and §4.2.3.6 (keep-alives), RFC 5681 §3.1
// (timeouts and the congestion window). Linux: tcp_timer.c —
// tcp_retransmit_timer, tcp_delack_timer, tcp_probe_timer,
// tcp_keepalive_timer, tcp_time_wait.

import (
	"syscall"
	"time"

	"ustack/wire"
)

// armTimer makes t due d from now, calling fire (with ep.mu held) then.
func (ep *Endpoint) armTimer(t *tcpTimer, d time.Duration, fire func(*Endpoint)) {
	now := ep.nowLocked()
	t.at = now.Add(d)
	if t.pending && !t.at.Before(t.sched) {
		return // the clock timer fires first and re-arms
	}
	t.sched, t.pending = t.at, true
	if t.t == nil {
		t.t = ep.p.clk.AfterFunc(d, func() { ep.timerFired(t, fire) })
	} else {
		t.t.Reset(d)
	}
}

func (ep *Endpoint) stopTimer(t *tcpTimer) {
	t.at = time.Time{}
	if t.pending && t.t != nil {
		t.t.Stop()
		t.pending = false
	}
}

func (t *tcpTimer) armed() bool { return !t.at.IsZero() }

// timerFired runs in the clock's context. Context: timer.
func (ep *Endpoint) timerFired(t *tcpTimer, fire func(*Endpoint)) {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	t.pending = false
	if t.at.IsZero() || ep.state == Closed {
		return
	}
	now := ep.p.clk.Now()
	if now.Before(t.at) {
		d := t.at.Sub(now)
		t.sched, t.pending = t.at, true
		t.t.Reset(d)
		return
	}
	t.at = time.Time{}
	ep.evNow, ep.evNowOK = now, true
	fire(ep)
	ep.unstampLocked()
}

// stampLocked reads the clock for the event being handled and returns
// the reading; until unstampLocked, nowLocked answers with it instead of
// reading the clock again (each read costs tens of nanoseconds, and a
// segment's handling wants the time half a dozen times). Only handlers
// that return without waiting may stamp: a stamp must never outlive the
// event.
func (ep *Endpoint) stampLocked() time.Time {
	ep.evNow, ep.evNowOK = ep.p.clk.Now(), true
	return ep.evNow
}

func (ep *Endpoint) unstampLocked() { ep.evNowOK = false }

// nowLocked is the time of the event being handled, or the clock's time
// outside one.
func (ep *Endpoint) nowLocked() time.Time {
	if ep.evNowOK {
		return ep.evNow
	}
	return ep.p.clk.Now()
}

// rtoDuration is the current RTO with exponential backoff.
func (ep *Endpoint) rtoDuration() time.Duration {
	d := ep.rtt.rto << min(ep.backoff, 10)
	return min(d, maxRTO)
}

func (ep *Endpoint) armRTOLocked() { ep.armTimer(&ep.rto, ep.rtoDuration(), (*Endpoint).onRTO) }

// onRTO is the retransmission timeout (cf. tcp_retransmit_timer).
func (ep *Endpoint) onRTO() {
	st := ep.p.stats
	switch ep.state {
	case SynSent, SynRcvd:
		ep.retries++
		if ep.retries > ep.p.cfg.SynRetries {
			st.AttemptFails.Inc()
			ep.failLocked(ep.timeoutErr())
			return
		}
		st.SynRetrans.Inc()
		st.RetransSegs.Inc()
		ep.backoff++
		ep.rttTiming = false
		ep.sendSYNLocked(true)
		ep.armRTOLocked()
		return
	}
	if ep.snd.UNA == ep.snd.MAX {
		return
	}
	ep.retries++
	if ep.retries > ep.p.cfg.Retries {
		st.AbortOnTimeout.Inc()
		ep.failLocked(ep.timeoutErr())
		return
	}
	st.Timeouts.Inc()
	ep.cc.OnTimeout(ep.inFlight(), ep.p.clk.Now())
	ep.fireCwnd("rto")
	ep.inRecovery, ep.inflate, ep.dupAcks = false, 0, 0
	ep.recover = ep.snd.MAX
	ep.rttTiming = false // Karn: no sample from retransmitted data
	ep.backoff++
	ep.sb.highRxt = ep.snd.UNA
	ep.snd.NXT = ep.snd.UNA // go back N: resend from the first unacked byte (SACKed ranges skipped)
	ep.retransmitHeadLocked()
	ep.armRTOLocked()
}

func (ep *Endpoint) timeoutErr() error {
	if ep.softErr != nil {
		return ep.softErr
	}
	return syscall.ETIMEDOUT
}

// armDelackLocked schedules the delayed ACK if none is pending.
func (ep *Endpoint) armDelackLocked() {
	if !ep.delack.armed() {
		ep.armTimer(&ep.delack, ep.p.cfg.DelAck, (*Endpoint).onDelack)
	}
}

func (ep *Endpoint) onDelack() {
	if ep.ackPending {
		ep.p.stats.DelayedACKs.Inc()
		ep.sendAckLocked()
	}
}

// armPersistLocked starts zero-window probing when the peer's window is
// closed, data waits, and nothing is in flight to elicit a window update
// (RFC 9293 §3.8.6.1).
func (ep *Endpoint) armPersistLocked() {
	if ep.persist.armed() || ep.rto.armed() {
		return
	}
	d := min(ep.rtoDuration()<<min(ep.persistBackoff, 10), maxRTO)
	ep.armTimer(&ep.persist, d, (*Endpoint).onPersist)
}

// onPersist sends a window probe (cf. tcp_probe_timer / tcp_write_wakeup):
// a segment with an old sequence number that the peer must answer with
// an ACK carrying its current window.
func (ep *Endpoint) onPersist() {
	if !ep.state.synchronized() || ep.unsentLocked() == 0 && !ep.finUnsentLocked() {
		ep.persistBackoff = 0
		return
	}
	if ep.snd.WND >= uint32(min(ep.smss(), ep.unsentLocked())) && ep.snd.WND > 0 {
		ep.persistBackoff = 0
		ep.outputLocked(true)
		return
	}
	ep.p.stats.ZeroWindowProbes.Inc()
	ep.sendControlLocked(ep.snd.UNA-1, wire.TCPFlagACK)
	ep.persistBackoff++
	ep.armPersistLocked()
}

// armKeepaliveLocked (re)starts keepalive for an idle period.
func (ep *Endpoint) armKeepaliveLocked() {
	if ep.keepalive && ep.state.synchronized() {
		ep.armTimer(&ep.keep, ep.keepIdle, (*Endpoint).onKeepalive)
	}
}

// onKeepalive probes an idle connection (RFC 1122 §4.2.3.6; cf.
// tcp_keepalive_timer): after keepCnt unanswered probes, ETIMEDOUT.
func (ep *Endpoint) onKeepalive() {
	if !ep.keepalive || ep.state != Established && ep.state != CloseWait && ep.state != FinWait2 {
		return
	}
	now := ep.p.clk.Now()
	if idle := now.Sub(ep.lastRcv); idle < ep.keepIdle && ep.keepProbes == 0 {
		ep.armTimer(&ep.keep, ep.keepIdle-idle, (*Endpoint).onKeepalive)
		return
	}
	if ep.keepProbes >= ep.keepCnt {
		ep.p.stats.KeepAliveTimeouts.Inc()
		ep.failLocked(ep.timeoutErr())
		return
	}
	ep.keepProbes++
	ep.p.stats.KeepAliveProbes.Inc()
	ep.sendControlLocked(ep.snd.UNA-1, wire.TCPFlagACK)
	ep.armTimer(&ep.keep, ep.keepIntvl, (*Endpoint).onKeepalive)
}

// enterTimeWaitLocked starts (or restarts) the 2*MSL wait (RFC 9293
// §3.10.7.4: "restart the 2 MSL timeout").
func (ep *Endpoint) enterTimeWaitLocked() {
	ep.setStateLocked(TimeWait)
	ep.stopTimer(&ep.rto)
	ep.stopTimer(&ep.persist)
	ep.stopTimer(&ep.keep)
	ep.sndq.release()
	ep.ooo.flush()
	ep.armTimer(&ep.wait, 2*ep.p.cfg.MSL, (*Endpoint).onWait)
	ep.wakeAllLocked()
}

// onWait ends TIME_WAIT, or an orphaned FIN_WAIT_2 (tcp_fin_timeout).
func (ep *Endpoint) onWait() {
	if ep.state == TimeWait {
		ep.p.stats.TimeWaitExpired.Inc()
	}
	ep.destroyLocked(nil)
}

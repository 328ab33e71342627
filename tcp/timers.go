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

// tcpTimer is one of a connection's five timers: when it is due, as an
// offset from the stack's timestamp epoch (zero: disarmed), and what it
// does then. The five share one clock timer per connection, set for the
// earliest of them and re-armed lazily: arming for a later time or
// disarming leaves it alone, and when it fires it runs what is due and
// sets itself for what remains (cf. sk_reset_timer and the one
// icsk_retransmit_timer Linux multiplexes over RTO, probe and loss probe).
// A clock timer that fires with nothing left to do is dropped, so an
// idle connection without keepalive holds none.
type tcpTimer struct {
	at   time.Duration
	fire func(*Endpoint)
}

func (t *tcpTimer) armed() bool { return t.at != 0 }

// sinceEpochLocked is the time of the event being handled on the scale
// tcpTimer.at uses.
func (ep *Endpoint) sinceEpochLocked() time.Duration { return ep.nowLocked().Sub(ep.p.epoch) }

// armTimer makes t due d from now, calling fire (with ep.mu held) then.
func (ep *Endpoint) armTimer(t *tcpTimer, d time.Duration, fire func(*Endpoint)) {
	now := ep.sinceEpochLocked()
	t.at, t.fire = max(now+d, 1), fire
	if ep.clockPending && ep.clockAt <= t.at {
		return // the clock timer fires first and re-arms
	}
	ep.setClockLocked(now, t.at)
}

// setClockLocked sets the connection's clock timer to fire at at.
func (ep *Endpoint) setClockLocked(now, at time.Duration) {
	ep.clockAt, ep.clockPending = at, true
	if ep.clockTimer == nil {
		ep.clockTimer = ep.p.clk.AfterFunc(at-now, ep.onClock)
	} else {
		ep.clockTimer.Reset(at - now)
	}
}

// stopTimer disarms t; the clock timer is left to fire (lazily).
func (ep *Endpoint) stopTimer(t *tcpTimer) { t.at = 0 }

// stopTimersLocked disarms every timer and releases the clock timer.
func (ep *Endpoint) stopTimersLocked() {
	for _, t := range ep.timers() {
		t.at = 0
	}
	if ep.clockTimer != nil {
		ep.clockTimer.Stop()
		ep.clockTimer, ep.clockPending = nil, false
	}
}

func (ep *Endpoint) timers() [5]*tcpTimer {
	return [5]*tcpTimer{&ep.rto, &ep.delack, &ep.persist, &ep.keep, &ep.wait}
}

// onClock runs the timers that are due, earliest first, reclaims idle
// buffers, and sets the clock timer for the next one. Context: timer.
func (ep *Endpoint) onClock() {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	ep.clockPending = false
	if ep.state == Closed {
		return
	}
	now := ep.stampLocked().Sub(ep.p.epoch)
	defer ep.unstampLocked()
	for range 2 * len(ep.timers()) { // a fire re-arms only into the future; bounded anyway
		var next *tcpTimer
		for _, t := range ep.timers() {
			if t.armed() && (next == nil || t.at < next.at) {
				next = t
			}
		}
		if next == nil || next.at > now {
			break
		}
		next.at = 0
		next.fire(ep)
		if ep.state == Closed {
			return // destroyed: the timers are stopped
		}
	}
	ep.reclaimLocked()
	var next time.Duration
	for _, t := range ep.timers() {
		if t.armed() && (next == 0 || t.at < next) {
			next = t.at
		}
	}
	switch {
	case next == 0 && !ep.clockPending:
		ep.clockTimer = nil // idle: a later arm makes a new one
	case next == 0, ep.clockPending && ep.clockAt <= next:
		// A fire armed the clock timer in time.
	default:
		ep.setClockLocked(now, max(next, now))
	}
}

// reclaimLocked gives back the memory of buffers left empty — the send
// queue once all it held is acknowledged, the receive and out-of-order
// queues once drained (cf. sk_mem_reclaim) — and of the wait channels no
// one sleeps on, so that an idle connection holds none. It runs when the
// clock timer fires: a connection keeps them while busy, and gives them
// up about an RTO after its last send.
func (ep *Endpoint) reclaimLocked() {
	ep.dropWaitChansLocked()
	if ep.sndq.len() == 0 {
		ep.sndq.release()
	}
	if ep.rcvq.bytes == 0 {
		ep.rcvq.flush()
	}
	if ep.ooo.empty() {
		ep.ooo.flush()
	}
}

// rtoDuration is the current RTO with exponential backoff.
func (ep *Endpoint) rtoDuration() time.Duration {
	d := ep.rtt.rto << min(ep.backoff, 10)
	return min(d, maxRTO)
}

func (ep *Endpoint) armRTOLocked() {
	d, probe := ep.ptoLocked() // a tail loss probe first, if it may (tlp.go)
	if !probe {
		d = ep.rtoDuration()
	}
	ep.sb.ptoArmed = probe
	ep.armTimer(&ep.rto, d, (*Endpoint).onRTO)
}

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
		ep.totalRetrans++
		ep.backoff++
		ep.rttTiming = false
		ep.sendSYNLocked(true)
		ep.armRTOLocked()
		return
	}
	if ep.snd.UNA == ep.snd.MAX {
		return
	}
	if ep.sb.ptoArmed {
		ep.sb.ptoArmed = false
		ep.probeLocked()
		return
	}
	ep.retries++
	if ep.retries > ep.p.cfg.Retries {
		st.AbortOnTimeout.Inc()
		ep.failLocked(ep.timeoutErr())
		return
	}
	st.Timeouts.Inc()
	if ep.sackOK {
		ep.sackTimeoutLocked() // RFC 6675 §5.1 (recovery.go)
		return
	}
	ep.cc.OnTimeout(ep.inFlight(), ep.p.clk.Now())
	ep.fireCwnd("rto")
	ep.inRecovery, ep.inflate, ep.dupAcks = false, 0, 0
	ep.recover = ep.snd.MAX
	ep.rttTiming = false // Karn: no sample from retransmitted data
	ep.backoff++
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

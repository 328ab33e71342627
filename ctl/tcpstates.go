package ctl

// The "tcp" section of status: how many connections are in each state,
// as `ss -s` and `ss -tan state X | wc -l` tell of the kernel.
//
// Package tcp keeps its connection table to itself, so the server counts
// from the outside: it listens to the tcp:::state-change probe, which
// fires on every transition of RFC 9293 §3.3.2's state machine (cf.
// tcp_set_state), and keeps one gauge per state. It therefore counts the
// connections that changed state after the server started: `ustack up`
// makes its server before it opens any listener.

import (
	"strings"
	"sync/atomic"

	"ustack/trace"
)

// tcpStateNames are the states counted, in RFC 9293's order and Linux's
// names (as tcp.State prints them). CLOSED is not counted: a connection
// there has left the table.
var tcpStateNames = [...]string{"LISTEN", "SYN_SENT", "SYN_RCVD", "ESTABLISHED", "FIN_WAIT_1", "FIN_WAIT_2", "CLOSE_WAIT", "CLOSING", "LAST_ACK", "TIME_WAIT"}

// tcpStates counts connections per state from tcp:::state-change events.
type tcpStates struct {
	n      [len(tcpStateNames)]atomic.Int64
	cancel func()
}

// watchTCPStates starts counting the state changes tr reports.
func watchTCPStates(tr *trace.Tracer) *tcpStates {
	t := &tcpStates{}
	t.cancel = tr.Subscribe("tcp:::state-change", t.event)
	return t
}

// stop ends the subscription.
func (t *tcpStates) stop() { t.cancel() }

// stateIndex returns the gauge of the state called name, or -1 (CLOSED
// and anything unknown).
func stateIndex(name string) int {
	for i, n := range tcpStateNames {
		if n == name {
			return i
		}
	}
	return -1
}

// event applies one transition, Detail "OLD -> NEW". A connection made
// by a listener starts as "LISTEN -> SYN_RCVD" (the listener itself stays
// in LISTEN), so that transition adds a connection and takes none away.
// Context: softnet, timer or process, under the connection's lock: it
// must not block.
func (t *tcpStates) event(e *trace.Event) {
	from, to, ok := strings.Cut(e.Detail, " -> ")
	if !ok {
		return
	}
	if i := stateIndex(from); i >= 0 && !(from == "LISTEN" && to == "SYN_RCVD") {
		t.n[i].Add(-1)
	}
	if i := stateIndex(to); i >= 0 {
		t.n[i].Add(1)
	}
}

// counters returns every state's count, in state order. A count below
// zero (a connection that predates the server left its state) shows as
// zero.
func (t *tcpStates) counters() []Counter {
	out := make([]Counter, len(tcpStateNames))
	for i, n := range tcpStateNames {
		out[i] = Counter{Name: n, Value: max(t.n[i].Load(), 0)}
	}
	return out
}

// TCPState returns the number of TCP connections in the state called
// name ("ESTABLISHED", "TIME_WAIT", ...) in the "tcp" section, and
// whether the section holds that state.
func (s *Status) TCPState(name string) (int64, bool) {
	for _, c := range s.TCPStates {
		if c.Name == name {
			return c.Value, true
		}
	}
	return 0, false
}

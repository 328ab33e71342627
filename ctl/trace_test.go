package ctl_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"ustack/ctl"
)

// sendUDP sends datagrams from stack a to b's echo service every
// interval until stop is closed.
func (n *testNet) sendUDP(t *testing.T, interval time.Duration, stop <-chan struct{}) {
	t.Helper()
	c, err := n.a.DialContext(context.Background(), "udp", "10.0.0.2:7")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			c.Write([]byte("probe me"))
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	t.Cleanup(func() { <-done; c.Close() })
}

func TestTraceEvents(t *testing.T) {
	n := newTestNet(t)
	c := n.dial(t)
	stop := make(chan struct{})
	n.sendUDP(t, 10*time.Millisecond, stop)
	defer close(stop)
	var evs []ctl.TraceEvent
	res, err := c.Trace(testContext(t), ctl.TraceArgs{Probes: []string{"udp:::*", "ip:::send"}, Filter: `probe == "udp:::send" && dport == 7`, Count: 3},
		ctl.TraceHandler{Event: func(e ctl.TraceEvent) { evs = append(evs, e) }})
	if err != nil {
		t.Fatalf("Trace: %v", err)
	}
	if res.Events != 3 || len(evs) != 3 || res.Lost != 0 {
		t.Fatalf("Trace = %+v with %d events, want 3 events, none lost", res, len(evs))
	}
	for _, e := range evs {
		if e.Probe != "udp:::send" || e.Src != "10.0.0.1" || e.Dst != "10.0.0.2" || e.DstPort != 7 || e.SrcPort == 0 ||
			e.Len != len("probe me") || e.PktID == 0 || e.Proto != 17 || e.Time.IsZero() || e.ElapsedNS < 0 || e.Seq != nil || e.ICMPType != nil {
			t.Errorf("event %+v, want udp:::send of 8 bytes from 10.0.0.1 to 10.0.0.2:7 with a packet id and a time, no TCP or ICMP fields", e)
		}
		if s := e.String(); !strings.Contains(s, " udp:::send          10.0.0.1:") || !strings.HasSuffix(s, "-> 10.0.0.2:7 len 8") {
			t.Errorf("String() = %q", s)
		}
	}
	if evs[0].ElapsedNS > evs[2].ElapsedNS {
		t.Errorf("elapsed times out of order: %d, %d", evs[0].ElapsedNS, evs[2].ElapsedNS)
	}
}

// TCP handshakes traced with a filter on flags: a SYN and its SYN-ACK,
// with their segment fields in the JSON.
func TestTraceTCPJSON(t *testing.T) {
	n := newTestNet(t)
	ln, err := n.b.Listen("tcp", ":80")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	c := n.dial(t)
	var raws []json.RawMessage
	done := make(chan error, 1)
	go func() {
		_, err := c.Trace(testContext(t), ctl.TraceArgs{Probes: []string{"tcp:::send,tcp:::receive"}, Filter: "port == 80 && flags & SYN", Count: 3},
			ctl.TraceHandler{Event: func(e ctl.TraceEvent) {
				b, _ := json.Marshal(e)
				raws = append(raws, b)
			}})
		done <- err
	}()
	for i := 0; ; i++ {
		conn, err := n.a.DialContext(testContext(t), "tcp", "10.0.0.2:80")
		if err == nil {
			conn.Close()
		}
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("Trace: %v", err)
			}
		case <-time.After(20 * time.Millisecond):
			continue
		}
		break
	}
	// The trace may begin between a SYN and its SYN-ACK: find a SYN,
	// then take the event after it.
	var syn, synack map[string]any
	for i := 0; i+1 < len(raws) && syn == nil; i++ {
		var m map[string]any
		json.Unmarshal(raws[i], &m)
		if m["probe"] == "tcp:::send" {
			syn = m
			json.Unmarshal(raws[i+1], &synack)
		}
	}
	if syn == nil {
		t.Fatalf("no SYN sent among %d events", len(raws))
	}
	if syn["probe"] != "tcp:::send" || syn["flags"] != "SYN" || syn["ack"] != 0.0 || syn["dport"] != 80.0 || syn["wscale"] != 0.0 {
		t.Errorf("SYN event %v, want a tcp:::send SYN to port 80", syn)
	}
	if synack["probe"] != "tcp:::receive" || synack["flags"] != "SYN|ACK" || synack["ack"] != syn["seq"].(float64)+1 || synack["sport"] != 80.0 {
		t.Errorf("event after the SYN %v, want the tcp:::receive of the SYN-ACK acknowledging seq %v", synack, syn["seq"])
	}
	for _, key := range []string{"time", "elapsed_ns", "probe", "pkt_id", "len", "src", "dst", "sport", "dport", "seq", "ack", "flags", "window", "wscale"} {
		if _, ok := syn[key]; !ok {
			t.Errorf("the SYN's JSON %v has no %q", syn, key)
		}
	}
	for _, key := range []string{"cwnd", "icmp_type", "payload", "old_state"} {
		if _, ok := syn[key]; ok {
			t.Errorf("the SYN's JSON %v has %q", syn, key)
		}
	}
}

func TestTraceWalk(t *testing.T) {
	n := newTestNet(t)
	c := n.dial(t)
	stop := make(chan struct{})
	n.sendUDP(t, 10*time.Millisecond, stop)
	defer close(stop)
	var walks []ctl.TraceWalk
	res, err := c.Trace(testContext(t), ctl.TraceArgs{Probes: []string{"*:::*"}, Walk: true, Filter: "dport == 7", Count: 2, WalkIdle: ctl.Duration(20 * time.Millisecond)},
		ctl.TraceHandler{Walk: func(w ctl.TraceWalk) { walks = append(walks, w) }})
	if err != nil {
		t.Fatalf("Trace: %v", err)
	}
	if res.Walks != 2 || len(walks) != 2 {
		t.Fatalf("Trace = %+v with %d walks, want 2", res, len(walks))
	}
	for _, w := range walks {
		var probes []string
		for _, s := range w.Steps {
			probes = append(probes, s.Probe)
			if s.PktID != w.PktID {
				t.Errorf("walk of packet %d has a step of packet %d", w.PktID, s.PktID)
			}
		}
		if got := strings.Join(probes, " "); got != "udp:::send ip:::send ether:::send netdev:::transmit" {
			t.Errorf("walk of packet %d: %s, want udp:::send ip:::send ether:::send netdev:::transmit", w.PktID, got)
		}
		if s := w.Walk().String(); !strings.HasPrefix(s, "packet ") || !strings.Contains(s, "udp:::send") {
			t.Errorf("walk rendered as %q", s)
		}
	}
}

func TestTraceBadArgs(t *testing.T) {
	n := newTestNet(t)
	c := n.dial(t)
	for _, tc := range []struct {
		args ctl.TraceArgs
		msg  string
	}{
		{ctl.TraceArgs{}, "no probes given"},
		{ctl.TraceArgs{Probes: []string{"tcp:::*"}, Filter: "port = 80"}, "column 6: use =="},
		{ctl.TraceArgs{Probes: []string{"nosuch:::probe"}}, "no probe matches nosuch:::probe"},
		{ctl.TraceArgs{Probes: []string{"tcp"}, Count: -1}, "negative count"},
	} {
		_, err := c.Trace(testContext(t), tc.args, ctl.TraceHandler{})
		var ce *ctl.Error
		if !errors.As(err, &ce) || ce.Code != ctl.CodeBadArgs || !strings.Contains(ce.Message, tc.msg) {
			t.Errorf("Trace(%+v) = %v, want bad_args with %q", tc.args, err, tc.msg)
		}
	}
}

// A client that stops reading never holds the stack up: its events are
// dropped and counted, and the stack keeps sending at full speed.
func TestTraceSlowClientLosesEvents(t *testing.T) {
	n := newTestNet(t)
	c := n.dial(t)
	ctx, cancel := context.WithCancel(testContext(t))
	defer cancel()
	first := make(chan struct{})
	var once atomic.Bool
	type out struct {
		res ctl.TraceResult
		err error
	}
	done := make(chan out, 1)
	go func() {
		res, err := c.Trace(ctx, ctl.TraceArgs{Probes: []string{"*:::*"}}, ctl.TraceHandler{Event: func(ctl.TraceEvent) {
			if once.CompareAndSwap(false, true) {
				close(first)
				<-ctx.Done() // a reader that stops reading
			}
		}})
		done <- out{res, err}
	}()
	conn, err := n.a.DialContext(context.Background(), "udp", "10.0.0.2:7")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for {
		conn.Write([]byte("x"))
		select {
		case <-first:
		case <-time.After(10 * time.Millisecond):
			continue
		}
		break
	}
	// Each datagram and its echo fire some twenty probes: far more
	// events than the queue and the socket hold.
	start := time.Now()
	for range 5000 {
		if _, err := conn.Write([]byte("x")); err != nil && !errors.Is(err, syscall.ENOBUFS) {
			t.Fatalf("Write: %v", err)
		}
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("5000 datagrams took %v with a stalled tracer", d)
	}
	time.Sleep(100 * time.Millisecond)
	cancel()
	r := <-done
	if !errors.Is(r.err, context.Canceled) {
		t.Errorf("Trace = %v, want context.Canceled", r.err)
	}
	if r.res.Lost == 0 {
		t.Errorf("Trace result %+v, want events lost", r.res)
	}
}

package tcp

import (
	"errors"
	"os"
	"testing"
	"time"
)

// waitSleepers waits until n calls sleep on ep.
func waitSleepers(t *testing.T, ep *Endpoint, n int32) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		ep.mu.Lock()
		got := ep.sleepers
		ep.mu.Unlock()
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d calls asleep, want %d", got, n)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestDeadlineWakesEveryReader: a read deadline passing fails every Read
// blocked on the connection, not only one.
func TestDeadlineWakesEveryReader(t *testing.T) {
	h := newHarness(t, nil)
	c := h.established()
	c.ep.ReadDeadline().Set(h.clk.Now().Add(time.Second))
	errs := make(chan error, 3)
	for range 3 {
		go func() {
			_, err := c.ep.Read(make([]byte, 10))
			errs <- err
		}()
	}
	waitSleepers(t, c.ep, 3)
	h.clk.Advance(time.Second)
	for range 3 {
		select {
		case err := <-errs:
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("Read = %v, want os.ErrDeadlineExceeded", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("a blocked Read outlived its deadline")
		}
	}
}

// TestIdleConnectionHoldsNothing: once a connection that moved data both
// ways has been idle past its RTO, it holds no buffer, no wait channel and
// no clock timer — what an idle connection costs is its Endpoint.
func TestIdleConnectionHoldsNothing(t *testing.T) {
	h := newHarness(t, nil)
	c := h.established()
	// The peer sends, a reader waits for it: a wait channel is made.
	got := make(chan []byte)
	go func() {
		buf := make([]byte, 100)
		n, _ := c.ep.Read(buf)
		got <- buf[:n]
	}()
	waitSleepers(t, c.ep, 1)
	h.inject(seg{seq: c.peerNxt, ack: c.ourNxt, flags: fACK | fPSH, data: []byte("request")})
	c.peerNxt += 7
	if b := <-got; string(b) != "request" {
		t.Fatalf("Read %q, want %q", b, "request")
	}
	// We answer, the peer acknowledges.
	if _, err := c.ep.Write([]byte("response")); err != nil {
		t.Fatal(err)
	}
	h.sent()
	c.ourNxt += 8
	h.ack(c)
	h.clk.Advance(5 * time.Second) // past the RTO the clock timer was left set for
	h.sent()
	c.ep.mu.Lock()
	defer c.ep.mu.Unlock()
	if c.ep.rdCh != nil || c.ep.wrCh != nil || c.ep.estCh != nil {
		t.Error("an idle connection keeps a wait channel")
	}
	if c.ep.clockTimer != nil || h.clk.Pending() != 0 {
		t.Errorf("an idle connection keeps a clock timer (%d pending)", h.clk.Pending())
	}
	if n := c.ep.sndq.s.Chunks(); n != 0 {
		t.Errorf("the send queue holds %d chunks, want none", n)
	}
	if c.ep.rcvq.bufs != nil {
		t.Error("the receive queue keeps its slice")
	}
}

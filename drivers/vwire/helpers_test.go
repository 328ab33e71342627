package vwire

import (
	"bytes"
	"runtime"
	"sync"
	"testing"
	"time"

	"ustack/pkt"
	"ustack/wire"
)

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// host is a fake netdev.Receiver: it records (a copy of) each frame it is
// handed and frees it.
type host struct {
	pool *pkt.Pool
	mu   sync.Mutex
	got  [][]byte
}

func (h *host) Receive(b *pkt.Buf) {
	data := bytes.Clone(b.Bytes())
	b.Free()
	h.mu.Lock()
	h.got = append(h.got, data)
	h.mu.Unlock()
}

func (h *host) Pool() *pkt.Pool { return h.pool }

func (h *host) n() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.got)
}

// take returns and forgets what the host has received.
func (h *host) take() [][]byte {
	h.mu.Lock()
	defer h.mu.Unlock()
	g := h.got
	h.got = nil
	return g
}

// sink frees what it receives, recording nothing: for allocation tests.
type sink struct{ pool *pkt.Pool }

func (s sink) Receive(b *pkt.Buf) { b.Free() }
func (s sink) Pool() *pkt.Pool    { return s.pool }

// ether builds an Ethernet frame of total length n (n >= 14) with a
// recognisable payload.
func ether(dst, src wire.MAC, n int, fill byte) []byte {
	f := make([]byte, n)
	h, _ := wire.ParseEthernetView(f)
	h.SetDst(dst)
	h.SetSrc(src)
	h.SetEtherType(wire.EtherTypeIPv4)
	for i := wire.EthernetHeaderLen; i < n; i++ {
		f[i] = fill + byte(i)
	}
	return f
}

// checkedPool returns a checked pool and registers a leak check run after
// the test's other cleanups (register it first).
func checkedPool(t *testing.T) *pkt.Pool {
	t.Helper()
	pool := pkt.NewPool(pkt.Options{Checked: true})
	t.Cleanup(func() {
		if n := pool.Live(); n != 0 {
			t.Errorf("pool.Live() = %d at the end, want 0 (a leak)", n)
		}
	})
	return pool
}

func mac(n byte) wire.MAC { return wire.MAC{0x02, 0, 0, 0, 0, n} }

// settle waits for the goroutine count to fall to at most want.
func settle(want int) int {
	deadline := time.Now().Add(5 * time.Second)
	for {
		n := runtime.NumGoroutine()
		if n <= want || time.Now().After(deadline) {
			return n
		}
		time.Sleep(time.Millisecond)
	}
}

package fault

import (
	"bytes"
	"encoding/binary"
	"runtime"
	"sync"
	"testing"
	"time"

	"ustack/clock"
	"ustack/netdev"
	"ustack/pkt"
)

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// arrival is one frame seen by a recorder.
type arrival struct {
	seq  uint32 // the sequence number the test wrote in the first 4 bytes
	data []byte
	at   time.Time
}

// recorder is a fake netdev.Receiver (and transmit sink) that records and
// frees the frames it is handed.
type recorder struct {
	pool *pkt.Pool
	clk  clock.Clock
	mu   sync.Mutex
	got  []arrival
}

func (r *recorder) Receive(b *pkt.Buf) {
	data := bytes.Clone(b.Bytes())
	a := arrival{data: data}
	if len(data) >= 4 {
		a.seq = binary.BigEndian.Uint32(data)
	}
	if r.clk != nil {
		a.at = r.clk.Now()
	}
	b.Free()
	r.mu.Lock()
	r.got = append(r.got, a)
	r.mu.Unlock()
}

func (r *recorder) Pool() *pkt.Pool { return r.pool }

func (r *recorder) Transmit(b *pkt.Buf) error { r.Receive(b); return nil }

func (r *recorder) n() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.got)
}

func (r *recorder) seqs() []uint32 {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := make([]uint32, len(r.got))
	for i, a := range r.got {
		s[i] = a.seq
	}
	return s
}

// fakeDriver is an inner driver: Transmit hands frames to sent; inject
// delivers a frame as if it had arrived from the wire.
type fakeDriver struct {
	caps   netdev.Caps
	sent   *recorder
	mu     sync.Mutex
	rx     netdev.Receiver
	closed bool
}

func (f *fakeDriver) Caps() netdev.Caps { return f.caps }
func (f *fakeDriver) Start(rx netdev.Receiver) error {
	f.mu.Lock()
	f.rx = rx
	f.mu.Unlock()
	return nil
}
func (f *fakeDriver) Transmit(b *pkt.Buf) error { return f.sent.Transmit(b) }
func (f *fakeDriver) Close() error {
	f.mu.Lock()
	f.closed = true
	f.mu.Unlock()
	return nil
}
func (f *fakeDriver) inject(b *pkt.Buf) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		b.Free()
		return
	}
	f.rx.Receive(b)
}

// frame returns a Buf of n bytes (n >= 4) whose first four bytes are seq.
func frame(pool *pkt.Pool, seq uint32, n int) *pkt.Buf {
	b := pool.Get(pkt.MaxHeaderLen, n)
	v := b.View(0)
	for i := range v {
		v[i] = byte(i)
	}
	binary.BigEndian.PutUint32(v, seq)
	return b
}

// setup returns a checked pool, a manual clock, a wrapped fake driver
// started with a recorder, and registers the leak check.
type rig struct {
	pool  *pkt.Pool
	clk   *clock.Manual
	inner *fakeDriver
	drv   *Driver
	sent  *recorder // frames that reached the inner driver
	up    *recorder // frames that reached the stack
}

func newRig(t *testing.T, cfg Config) *rig {
	t.Helper()
	r := &rig{pool: pkt.NewPool(pkt.Options{Checked: true}), clk: clock.NewManual(epoch)}
	r.sent = &recorder{pool: r.pool, clk: r.clk}
	r.up = &recorder{pool: r.pool, clk: r.clk}
	r.inner = &fakeDriver{caps: netdev.Caps{Link: netdev.LinkEthernet, MTU: 1500, ChecksumOffload: true}, sent: r.sent}
	if cfg.Clock == nil {
		cfg.Clock = r.clk
	}
	r.drv = Wrap(r.inner, cfg)
	if err := r.drv.Start(r.up); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		r.drv.Close()
		if n := r.pool.Live(); n != 0 {
			t.Errorf("pool.Live() = %d after Close, want 0 (a leak)", n)
		}
		if n := r.clk.Pending(); n != 0 {
			t.Errorf("%d timers pending after Close, want 0", n)
		}
	})
	return r
}

// send transmits n frames of size bytes numbered from 0.
func (r *rig) send(t *testing.T, n, size int) {
	t.Helper()
	for i := range n {
		if err := r.drv.Transmit(frame(r.pool, uint32(i), size)); err != nil {
			t.Fatalf("Transmit(%d) = %v", i, err)
		}
	}
}

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

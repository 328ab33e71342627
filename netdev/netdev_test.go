package netdev

import (
	"runtime"
	"sync"
	"testing"
	"time"

	"ustack/pkt"
	"ustack/wire"
)

// fakeDriver records transmitted frames and lets the test inject frames.
type fakeDriver struct {
	caps  Caps
	rx    Receiver
	mu    sync.Mutex
	sent  [][]byte
	block chan struct{} // when set, Transmit waits on it
}

func (f *fakeDriver) Caps() Caps              { return f.caps }
func (f *fakeDriver) Start(rx Receiver) error { f.rx = rx; return nil }
func (f *fakeDriver) Close() error            { return nil }
func (f *fakeDriver) Transmit(b *pkt.Buf) error {
	if f.block != nil {
		<-f.block
	}
	f.mu.Lock()
	f.sent = append(f.sent, append([]byte(nil), b.Bytes()...))
	f.mu.Unlock()
	b.Free()
	return nil
}

var (
	macA = wire.MAC{2, 0, 0, 0, 0, 0xa}
	macB = wire.MAC{2, 0, 0, 0, 0, 0xb}
)

func frame(dst, src wire.MAC, t wire.EtherType, payload string) []byte {
	b := make([]byte, wire.EthernetHeaderLen+len(payload))
	v, _ := wire.ParseEthernetView(b)
	v.SetDst(dst)
	v.SetSrc(src)
	v.SetEtherType(t)
	copy(b[wire.EthernetHeaderLen:], payload)
	return b
}

func newTestRegistry(t *testing.T) (*Registry, *pkt.Pool) {
	pool := pkt.NewPool(pkt.Options{Checked: true})
	r := NewRegistry(Config{Pool: pool, RxRing: 8, TxQueue: 4})
	t.Cleanup(func() {
		r.Close()
		if n := pool.Live(); n != 0 {
			t.Errorf("pool.Live() = %d after Close, want 0 (a leak)", n)
		}
	})
	return r, pool
}

func TestDemuxByEtherTypeAndDestination(t *testing.T) {
	r, pool := newTestRegistry(t)
	drv := &fakeDriver{caps: Caps{Link: LinkEthernet, MTU: 1500, MAC: macA}}
	d, err := r.Register("", drv)
	if err != nil {
		t.Fatal(err)
	}
	if d.Name() != "eth0" || d.Index() != 1 {
		t.Fatalf("first device = %s/%d, want eth0/1", d.Name(), d.Index())
	}
	got := make(chan string, 10)
	r.RegisterHandler(wire.EtherTypeIPv4, func(dev *Device, b *pkt.Buf) {
		got <- b.Type.String() + ":" + string(b.Bytes())
		b.Free()
	})
	r.SetUp(d, true)
	for _, f := range [][]byte{
		frame(macA, macB, wire.EtherTypeIPv4, "unicast"),
		frame(wire.BroadcastMAC, macB, wire.EtherTypeIPv4, "bcast"),
		frame(macB, macA, wire.EtherTypeIPv4, "otherhost"), // dropped: not promiscuous
		frame(macA, macB, 0x88b5, "unknown"),               // dropped: no handler
		frame(macA, macB, wire.EtherTypeIPv4, "")[:10],     // dropped: truncated
	} {
		drv.rx.Receive(pool.Copy(pkt.MaxHeaderLen, f))
	}
	want := []string{"host:unicast", "broadcast:bcast"}
	for _, w := range want {
		select {
		case g := <-got:
			if g != w {
				t.Fatalf("handler got %q, want %q", g, w)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("handler never got %q", w)
		}
	}
	waitFor(t, func() bool { return r.stats.InTruncated.Load() == 1 })
	if n := r.stats.InOtherHost.Load(); n != 1 {
		t.Errorf("InOtherHost = %d, want 1", n)
	}
	if n := r.stats.InUnknownProtos.Load(); n != 1 {
		t.Errorf("InUnknownProtos = %d, want 1", n)
	}
	if n := d.Stats.RxPackets.Load(); n != 5 {
		t.Errorf("RxPackets = %d, want 5", n)
	}
	if n := d.Stats.Multicast.Load(); n != 1 {
		t.Errorf("Multicast = %d, want 1", n)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 5s")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestRxRingFullDropsAndCounts(t *testing.T) {
	r, pool := newTestRegistry(t)
	drv := &fakeDriver{caps: Caps{Link: LinkEthernet, MTU: 1500, MAC: macA}}
	d, _ := r.Register("", drv)
	r.SetUp(d, true)
	release := make(chan struct{})
	var delivered sync.WaitGroup
	r.RegisterHandler(wire.EtherTypeIPv4, func(dev *Device, b *pkt.Buf) {
		<-release // hold softnet so the ring fills
		b.Free()
		delivered.Done()
	})
	// One frame is taken by the blocked handler, 8 fill the ring, the
	// rest must be dropped without blocking the driver.
	const sent = 20
	delivered.Add(1)
	drv.rx.Receive(pool.Copy(pkt.MaxHeaderLen, frame(macA, macB, wire.EtherTypeIPv4, "x")))
	waitFor(t, func() bool { return len(d.rx) == 0 })
	for i := 1; i < sent; i++ {
		drv.rx.Receive(pool.Copy(pkt.MaxHeaderLen, frame(macA, macB, wire.EtherTypeIPv4, "x")))
	}
	if n := d.Stats.RxDropped.Load(); n != sent-1-8 {
		t.Fatalf("RxDropped = %d, want %d", n, sent-1-8)
	}
	delivered.Add(8)
	close(release)
	delivered.Wait()
}

func TestTransmitQueueBoundAndDown(t *testing.T) {
	r, pool := newTestRegistry(t)
	drv := &fakeDriver{caps: Caps{Link: LinkEthernet, MTU: 1500, MAC: macA, TxBatch: 1}, block: make(chan struct{})}
	d, _ := r.Register("", drv)
	if err := d.SendEthernet(pool.Copy(pkt.MaxHeaderLen, []byte("x")), macB, wire.EtherTypeIPv4); err != ErrDeviceDown {
		t.Fatalf("send on a down device = %v, want ErrDeviceDown", err)
	}
	r.SetUp(d, true)
	// The first sender drains (and blocks in the driver); the next 4 fill
	// the queue; the 6th is dropped.
	go d.SendEthernet(pool.Copy(pkt.MaxHeaderLen, []byte("first")), macB, wire.EtherTypeIPv4)
	waitFor(t, func() bool { d.txMu.Lock(); defer d.txMu.Unlock(); return d.txq.Len() == 0 && d.txRunning })
	for i := 0; i < 4; i++ {
		if err := d.SendEthernet(pool.Copy(pkt.MaxHeaderLen, []byte("q")), macB, wire.EtherTypeIPv4); err != nil {
			t.Fatalf("queued send %d: %v", i, err)
		}
	}
	if err := d.SendEthernet(pool.Copy(pkt.MaxHeaderLen, []byte("over")), macB, wire.EtherTypeIPv4); err != ErrQueueFull {
		t.Fatalf("send on a full queue = %v, want ErrQueueFull", err)
	}
	if n := d.Stats.TxDropped.Load(); n != 2 {
		t.Fatalf("TxDropped = %d, want 2 (down + full)", n)
	}
	close(drv.block)
	waitFor(t, func() bool { return d.Stats.TxPackets.Load() == 5 })
	drv.mu.Lock()
	first := drv.sent[0]
	drv.mu.Unlock()
	var h wire.EthernetHeader
	if _, err := h.Parse(first); err != nil || h.Dst != macB || h.Src != macA || h.EtherType != wire.EtherTypeIPv4 {
		t.Fatalf("transmitted header = %+v, %v", h, err)
	}
	if big := pool.Get(pkt.MaxHeaderLen, 1501); d.SendEthernet(big, macB, wire.EtherTypeIPv4) != ErrTooBig {
		t.Fatal("frame over the MTU was not refused")
	}
}

func TestNotifierChainAndNames(t *testing.T) {
	r, _ := newTestRegistry(t)
	var events []string
	r.Subscribe(func(e Event) { events = append(events, e.Kind.String()+" "+e.Dev.Name()) })
	d, _ := r.Register("wan", &fakeDriver{caps: Caps{Link: LinkEthernet, MTU: 1500}})
	if _, err := r.Register("wan", &fakeDriver{caps: Caps{MTU: 1500}}); err == nil {
		t.Fatal("second device named wan was accepted")
	}
	r.SetUp(d, true)
	r.SetUp(d, true) // no change, no event
	if err := r.SetMTU(d, 9000); err == nil {
		t.Fatal("MTU above the driver's accepted")
	}
	if err := r.SetMTU(d, 1400); err != nil || d.MTU() != 1400 {
		t.Fatalf("SetMTU(1400) = %v, MTU %d", err, d.MTU())
	}
	r.Unregister(d)
	want := []string{"register wan", "up wan", "mtu wan", "down wan", "unregister wan"}
	if len(events) != len(want) {
		t.Fatalf("events = %v, want %v", events, want)
	}
	for i := range want {
		if events[i] != want[i] {
			t.Fatalf("events = %v, want %v", events, want)
		}
	}
	if r.ByName("wan") != nil {
		t.Fatal("unregistered device still found")
	}
}

func TestCloseLeavesNoGoroutine(t *testing.T) {
	before := runtime.NumGoroutine()
	for i := 0; i < 10; i++ {
		r := NewRegistry(Config{})
		r.Register("", &fakeDriver{caps: Caps{MTU: 1500}})
		r.Close()
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			t.Fatalf("goroutines: %d before, %d after Close", before, runtime.NumGoroutine())
		}
		time.Sleep(time.Millisecond)
	}
}

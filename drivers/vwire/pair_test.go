package vwire

import (
	"bytes"
	"errors"
	"math"
	"runtime"
	"sync"
	"testing"
	"time"

	"ustack/clock"
	"ustack/drivers/fault"
	"ustack/netdev"
	"ustack/pkt"
)

var _ netdev.Driver = (*End)(nil)

func startPair(t *testing.T, pool *pkt.Pool, a, b Config) (*End, *End, *host, *host) {
	t.Helper()
	ea, eb := NewPair(a, b)
	ha, hb := &host{pool: pool}, &host{pool: pool}
	if err := ea.Start(ha); err != nil {
		t.Fatal(err)
	}
	if err := eb.Start(hb); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ea.Close(); eb.Close() })
	return ea, eb, ha, hb
}

func TestPairCarriesFramesBothWaysByteExact(t *testing.T) {
	pool := checkedPool(t)
	a, b, ha, hb := startPair(t, pool, Config{MAC: mac(1), MTU: 65535}, Config{MAC: mac(2), MTU: 65535})
	sizes := []int{14, 60, 1514, 9014, 65535 + 14}
	for _, n := range sizes {
		fa := ether(mac(2), mac(1), n, 0xa0)
		fb := ether(mac(1), mac(2), n, 0xb0)
		if err := a.Transmit(pool.Copy(pkt.MaxHeaderLen, fa)); err != nil {
			t.Fatalf("a.Transmit(%d bytes) = %v", n, err)
		}
		if err := b.Transmit(pool.Copy(pkt.MaxHeaderLen, fb)); err != nil {
			t.Fatalf("b.Transmit(%d bytes) = %v", n, err)
		}
		if got := hb.take(); len(got) != 1 || !bytes.Equal(got[0], fa) {
			t.Fatalf("b received %d frames for a %d-byte send, or different bytes", len(got), n)
		}
		if got := ha.take(); len(got) != 1 || !bytes.Equal(got[0], fb) {
			t.Fatalf("a received %d frames for a %d-byte send, or different bytes", len(got), n)
		}
	}
	total := uint64(0)
	for _, n := range sizes {
		total += uint64(n)
	}
	for _, e := range []*End{a, b} {
		s := &e.Stats
		if s.TxFrames.Load() != 5 || s.RxFrames.Load() != 5 || s.TxBytes.Load() != total || s.RxBytes.Load() != total {
			t.Errorf("%v: tx %d/%dB rx %d/%dB, want 5/%dB each way", e, s.TxFrames.Load(), s.TxBytes.Load(),
				s.RxFrames.Load(), s.RxBytes.Load(), total)
		}
	}
}

func TestPairCaps(t *testing.T) {
	a, b := NewPair(Config{MAC: mac(1)}, Config{MTU: 9000, Impair: fault.Impair{Corrupt: 0.01}})
	defer a.Close()
	defer b.Close()
	ca, cb := a.Caps(), b.Caps()
	if ca.Link != netdev.LinkEthernet || ca.MTU != 1500 || ca.MAC != mac(1) {
		t.Errorf("a.Caps() = %+v, want Ethernet, MTU 1500, MAC %v", ca, mac(1))
	}
	if cb.MTU != 9000 {
		t.Errorf("b.Caps().MTU = %d, want 9000", cb.MTU)
	}
	if ca.ChecksumOffload {
		t.Error("a trusts checksums though b corrupts what it sends to a")
	}
	if !cb.ChecksumOffload {
		t.Error("b does not trust checksums though nothing corrupts what it receives")
	}
	if m := cb.MAC; m.IsZero() || m.IsMulticast() || m[0]&2 == 0 {
		t.Errorf("random MAC %v, want a locally administered unicast address", m)
	}
	if a.Peer() != b || b.Peer() != a {
		t.Error("Peer() does not return the other end")
	}
}

func TestSeededMAC(t *testing.T) {
	seen := map[[6]byte]bool{}
	for n := range uint64(100) {
		m := SeededMAC(1, n)
		if m != SeededMAC(1, n) {
			t.Fatalf("SeededMAC(1, %d) not deterministic", n)
		}
		if m.IsMulticast() || m[0]&2 == 0 {
			t.Fatalf("SeededMAC(1, %d) = %v, want locally administered unicast", n, m)
		}
		if seen[m] {
			t.Fatalf("SeededMAC(1, %d) = %v repeats", n, m)
		}
		seen[m] = true
	}
}

func TestPairDropsWhatThePeerCannotTake(t *testing.T) {
	pool := checkedPool(t)
	a, b := NewPair(Config{MAC: mac(1), MTU: 9000}, Config{MAC: mac(2)})
	defer a.Close()
	ha := &host{pool: pool}
	a.Start(ha)
	f := ether(mac(2), mac(1), 100, 0)
	if err := a.Transmit(pool.Copy(0, f)); !errors.Is(err, ErrNoCarrier) {
		t.Errorf("Transmit to an unstarted peer = %v, want ErrNoCarrier", err)
	}
	hb := &host{pool: pool}
	b.Start(hb)
	if err := a.Transmit(pool.Copy(0, ether(mac(2), mac(1), 1515, 0))); !errors.Is(err, ErrTooBig) {
		t.Errorf("Transmit of 1515 bytes to a 1500-MTU peer = %v, want ErrTooBig", err)
	}
	if err := a.Transmit(pool.Copy(0, ether(mac(2), mac(1), 1514, 0))); err != nil {
		t.Errorf("Transmit of 1514 bytes to a 1500-MTU peer = %v, want nil", err)
	}
	b.Close()
	if err := a.Transmit(pool.Copy(0, f)); !errors.Is(err, ErrNoCarrier) {
		t.Errorf("Transmit to a closed peer = %v, want ErrNoCarrier", err)
	}
	if err := b.Transmit(pool.Copy(0, f)); !errors.Is(err, ErrClosed) {
		t.Errorf("Transmit on a closed end = %v, want ErrClosed", err)
	}
	if n := b.Stats.RxDropped.Load(); n != 3 {
		t.Errorf("b RxDropped = %d, want 3", n)
	}
	if n := b.Stats.TxDropped.Load(); n != 1 {
		t.Errorf("b TxDropped = %d, want 1", n)
	}
	if err := b.Start(hb); !errors.Is(err, ErrClosed) {
		t.Errorf("Start after Close = %v, want ErrClosed", err)
	}
	if err := a.Start(ha); !errors.Is(err, ErrStarted) {
		t.Errorf("second Start = %v, want ErrStarted", err)
	}
	if hb.n() != 1 {
		t.Errorf("b received %d frames, want 1", hb.n())
	}
}

// TestPairPingPong has each host answer from within Receive: delivery must
// neither deadlock nor lose frames when a host transmits re-entrantly.
func TestPairPingPong(t *testing.T) {
	pool := checkedPool(t)
	a, b := NewPair(Config{MAC: mac(1)}, Config{MAC: mac(2)})
	defer a.Close()
	defer b.Close()
	bounces := 0
	echo := func(self *End) netdev.Receiver {
		return recvFunc{pool, func(f *pkt.Buf) {
			bounces++
			if bounces >= 1000 {
				f.Free()
				return
			}
			self.Transmit(f)
		}}
	}
	a.Start(echo(a))
	b.Start(echo(b))
	a.Transmit(pool.Copy(pkt.MaxHeaderLen, ether(mac(2), mac(1), 64, 0)))
	if bounces != 1000 {
		t.Errorf("frame bounced %d times, want 1000", bounces)
	}
}

type recvFunc struct {
	pool *pkt.Pool
	f    func(*pkt.Buf)
}

func (r recvFunc) Receive(b *pkt.Buf) { r.f(b) }
func (r recvFunc) Pool() *pkt.Pool    { return r.pool }

// TestPairCloseRacesTransmit checks, under -race, that no frame reaches a
// host after its end's Close returns and nothing leaks.
func TestPairCloseRacesTransmit(t *testing.T) {
	pool := checkedPool(t)
	a, b := NewPair(Config{MAC: mac(1)}, Config{MAC: mac(2)})
	var mu sync.Mutex
	closed, late := false, 0
	a.Start(sink{pool})
	b.Start(recvFunc{pool, func(f *pkt.Buf) {
		mu.Lock()
		if closed {
			late++
		}
		mu.Unlock()
		f.Free()
	}})
	frame := ether(mac(2), mac(1), 100, 0)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 2000 {
				a.Transmit(pool.Copy(pkt.MaxHeaderLen, frame))
			}
		}()
	}
	b.Close()
	mu.Lock()
	closed = true
	mu.Unlock()
	wg.Wait()
	a.Close()
	if late != 0 {
		t.Errorf("%d frames delivered after Close returned, want 0", late)
	}
}

func TestPairSteadyStateAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under -race")
	}
	pool := pkt.NewPool(pkt.Options{})
	a, b := NewPair(Config{MAC: mac(1)}, Config{MAC: mac(2)})
	defer a.Close()
	defer b.Close()
	a.Start(sink{pool})
	b.Start(sink{pool})
	frame := ether(mac(2), mac(1), 1514, 0)
	allocs := testing.AllocsPerRun(1000, func() {
		a.Transmit(pool.Copy(pkt.MaxHeaderLen, frame))
	})
	if allocs != 0 {
		t.Errorf("a frame across a pair allocates %v times, want 0", allocs)
	}
}

func TestPairImpairedByFault(t *testing.T) {
	pool := checkedPool(t)
	clk := clock.NewManual(epoch)
	a, b, _, hb := startPair(t, pool,
		Config{MAC: mac(1), Impair: fault.Impair{Loss: 0.3, Delay: 5 * time.Millisecond}, Seed: 8, Clock: clk},
		Config{MAC: mac(2)})
	frame := ether(mac(2), mac(1), 100, 0)
	for range 1000 {
		a.Transmit(pool.Copy(pkt.MaxHeaderLen, frame))
	}
	if hb.n() != 0 {
		t.Fatal("frames crossed a 5ms-delay wire before the clock moved")
	}
	clk.Advance(5 * time.Millisecond)
	s := a.Impairment()
	got := hb.n()
	if got+int(s.Lost) != 1000 || math.Abs(float64(s.Lost)-300) > 5*math.Sqrt(1000*0.3*0.7) {
		t.Errorf("lost %d and delivered %d of 1000 at p=0.3, want about 300 lost and the rest delivered", s.Lost, got)
	}
	if s.Delayed != uint64(got) {
		t.Errorf("Delayed = %d, want %d", s.Delayed, got)
	}
	if a.Stats.TxFrames.Load() != 1000 || b.Stats.RxFrames.Load() != uint64(got) {
		t.Errorf("a TxFrames %d, b RxFrames %d; want 1000 and %d", a.Stats.TxFrames.Load(), b.Stats.RxFrames.Load(), got)
	}
	if (b.Impairment() != fault.Counts{}) {
		t.Error("b reports impairment counters without an impairment")
	}
}

// TestPairCloseFreesImpairedFrames closes a pair with frames on a slow,
// delayed, real-clock wire and checks nothing leaks, no goroutine stays.
func TestPairCloseFreesImpairedFrames(t *testing.T) {
	before := runtime.NumGoroutine()
	pool := checkedPool(t)
	a, b := NewPair(Config{MAC: mac(1), Impair: fault.Impair{Delay: time.Hour, Rate: 1000}},
		Config{MAC: mac(2), Impair: fault.Impair{Delay: time.Millisecond, Jitter: time.Millisecond}})
	a.Start(sink{pool})
	b.Start(sink{pool})
	for range 100 {
		a.Transmit(pool.Copy(pkt.MaxHeaderLen, ether(mac(2), mac(1), 100, 0)))
		b.Transmit(pool.Copy(pkt.MaxHeaderLen, ether(mac(1), mac(2), 100, 0)))
	}
	a.Close()
	b.Close()
	if n := pool.Live(); n != 0 {
		t.Errorf("pool.Live() = %d after Close, want 0", n)
	}
	if after := settle(before); after > before {
		t.Errorf("goroutines: %d before, %d after Close", before, after)
	}
}

// TestFaultWrapsAnEnd composes the fault wrapper with a wire end, as a
// test would wrap a TAP device: impair what a sends and what it receives.
func TestFaultWrapsAnEnd(t *testing.T) {
	pool := checkedPool(t)
	clk := clock.NewManual(epoch)
	a, b := NewPair(Config{MAC: mac(1)}, Config{MAC: mac(2)})
	fa := fault.Wrap(a, fault.Config{
		Tx:    fault.Impair{Delay: 2 * time.Millisecond},
		Rx:    fault.Impair{Duplicate: 1},
		Clock: clk,
	})
	ha, hb := &host{pool: pool}, &host{pool: pool}
	var drv netdev.Driver = fa
	drv.Start(ha)
	b.Start(hb)
	defer b.Close()
	defer drv.Close()
	toB := ether(mac(2), mac(1), 100, 1)
	toA := ether(mac(1), mac(2), 100, 2)
	drv.Transmit(pool.Copy(pkt.MaxHeaderLen, toB))
	b.Transmit(pool.Copy(pkt.MaxHeaderLen, toA))
	if hb.n() != 0 {
		t.Fatal("a's delayed frame reached b before the clock moved")
	}
	if got := ha.take(); len(got) != 2 || !bytes.Equal(got[0], toA) || !bytes.Equal(got[1], toA) {
		t.Errorf("a got %d frames, want b's frame twice", len(got))
	}
	clk.Advance(2 * time.Millisecond)
	if got := hb.take(); len(got) != 1 || !bytes.Equal(got[0], toB) {
		t.Errorf("b got %d frames, want a's frame once", len(got))
	}
	if s := fa.Stats(); s.Tx.Delayed != 1 || s.Rx.Duplicated != 1 {
		t.Errorf("Stats() = %+v, want Tx.Delayed 1, Rx.Duplicated 1", s)
	}
}

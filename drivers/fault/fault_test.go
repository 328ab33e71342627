package fault

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"ustack/clock"
	"ustack/drivers/loopback"
	"ustack/netdev"
	"ustack/pkt"
)

var _ netdev.Driver = (*Driver)(nil)

func TestZeroImpairPassesThroughInOrder(t *testing.T) {
	r := newRig(t, Config{})
	r.send(t, 100, 64)
	if got := r.sent.seqs(); len(got) != 100 || !slices.IsSorted(got) {
		t.Fatalf("inner got %d frames (sorted %v), want 100 in order", len(got), slices.IsSorted(got))
	}
	if s := r.drv.Stats().Tx; s != (Counts{Frames: 100, Delivered: 100}) {
		t.Errorf("Stats().Tx = %+v, want 100 frames delivered and nothing else", s)
	}
	if !r.drv.Caps().ChecksumOffload {
		t.Error("Caps().ChecksumOffload = false without corruption, want the inner driver's true")
	}
}

// lossRun sends 10,000 frames through a lossy pipe and returns which
// arrived.
func lossRun(t *testing.T, seed int64, p float64) []uint32 {
	r := newRig(t, Config{Tx: Impair{Loss: p}, Seed: seed})
	r.send(t, 10000, 64)
	s := r.drv.Stats().Tx
	if int(s.Lost)+r.sent.n() != 10000 {
		t.Errorf("Lost %d + delivered %d != 10000 sent", s.Lost, r.sent.n())
	}
	return r.sent.seqs()
}

func TestLossRateWithinBoundsAndDeterministic(t *testing.T) {
	for _, p := range []float64{0.01, 0.1, 0.5} {
		t.Run(fmt.Sprint(p), func(t *testing.T) {
			first := lossRun(t, 42, p)
			lost := 10000 - len(first)
			// Binomial(10000, p): mean 10000p; allow 5 standard deviations.
			mean, sd := 10000*p, math.Sqrt(10000*p*(1-p))
			if math.Abs(float64(lost)-mean) > 5*sd {
				t.Errorf("lost %d of 10000 at p=%v, want %.0f ± %.0f", lost, p, mean, 5*sd)
			}
			if again := lossRun(t, 42, p); !slices.Equal(first, again) {
				t.Errorf("two runs with seed 42 lost different frames (%d vs %d delivered)", len(first), len(again))
			}
			if other := lossRun(t, 43, p); slices.Equal(first, other) {
				t.Errorf("seeds 42 and 43 lost the same frames")
			}
		})
	}
}

func TestDuplicateIsCountedAndIdentical(t *testing.T) {
	r := newRig(t, Config{Tx: Impair{Duplicate: 0.2}, Seed: 1})
	r.send(t, 10000, 100)
	s := r.drv.Stats().Tx
	if s.Duplicated < 1800 || s.Duplicated > 2200 {
		t.Errorf("Duplicated = %d of 10000 at p=0.2, want about 2000", s.Duplicated)
	}
	if got := r.sent.n(); got != 10000+int(s.Duplicated) {
		t.Errorf("inner got %d frames, want 10000 + %d duplicates", got, s.Duplicated)
	}
	// A duplicate follows its original and carries the same bytes.
	got := r.sent.got
	dups := 0
	for i := 1; i < len(got); i++ {
		if got[i].seq == got[i-1].seq {
			dups++
			if !bytes.Equal(got[i].data, got[i-1].data) {
				t.Fatalf("duplicate of frame %d differs from it", got[i].seq)
			}
		}
	}
	if dups != int(s.Duplicated) {
		t.Errorf("saw %d adjacent duplicates, want %d", dups, s.Duplicated)
	}
}

func TestCorruptFlipsOneBitAndNeverTouchesAClone(t *testing.T) {
	r := newRig(t, Config{Tx: Impair{Corrupt: 1}, Seed: 7})
	if r.drv.Caps().ChecksumOffload {
		t.Error("Caps().ChecksumOffload = true with corruption, want false")
	}
	for i := range 200 {
		b := frame(r.pool, uint32(i), 300)
		if i%2 == 1 {
			// Two views, to make Writable pull up across them.
			tail := frame(r.pool, 0xffffffff, 200)
			b.Append(tail)
		}
		keep := b.Clone() // the sender's copy, sharing the payload
		want := bytes.Clone(keep.Bytes())
		r.drv.Transmit(b)
		if !bytes.Equal(keep.Bytes(), want) {
			t.Fatalf("frame %d: corruption changed the sender's clone", i)
		}
		keep.Free()
		got := r.sent.got[i].data
		if len(got) != len(want) {
			t.Fatalf("frame %d: length %d, want %d", i, len(got), len(want))
		}
		flipped := 0
		for j := range got {
			flipped += bits.OnesCount8(got[j] ^ want[j])
		}
		if flipped != 1 {
			t.Fatalf("frame %d: %d bits differ, want 1", i, flipped)
		}
	}
	if s := r.drv.Stats().Tx; s.Corrupted != 200 {
		t.Errorf("Corrupted = %d, want 200", s.Corrupted)
	}
}

func TestCorruptWithDuplicateCorruptsEachCopyPrivately(t *testing.T) {
	r := newRig(t, Config{Tx: Impair{Corrupt: 1, Duplicate: 1}, Seed: 3})
	b := frame(r.pool, 9, 1000)
	want := bytes.Clone(b.Bytes())
	r.drv.Transmit(b)
	if r.sent.n() != 2 {
		t.Fatalf("inner got %d frames, want original and duplicate", r.sent.n())
	}
	for i, a := range r.sent.got {
		flipped := 0
		for j := range a.data {
			flipped += bits.OnesCount8(a.data[j] ^ want[j])
		}
		if flipped != 1 {
			t.Errorf("copy %d: %d bits differ from the original, want exactly its own 1", i, flipped)
		}
	}
}

func TestReorderHoldsFrameBehindTheNext(t *testing.T) {
	for _, tc := range []struct {
		name string
		gap  int
		want []uint32
	}{
		{"gap 1", 1, []uint32{1, 0, 2, 3, 4}},
		{"gap 2", 2, []uint32{1, 2, 0, 3, 4}},
		{"gap 4", 4, []uint32{1, 2, 3, 4, 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, Config{Tx: Impair{Reorder: 1, ReorderGap: tc.gap}})
			r.drv.Transmit(frame(r.pool, 0, 64)) // held back
			r.drv.Tx().SetImpair(Impair{})
			for i := uint32(1); i < 5; i++ {
				r.drv.Transmit(frame(r.pool, i, 64))
			}
			if got := r.sent.seqs(); !slices.Equal(got, tc.want) {
				t.Errorf("order %v, want %v", got, tc.want)
			}
			if s := r.drv.Stats().Tx; s.Reordered != 1 {
				t.Errorf("Reordered = %d, want 1", s.Reordered)
			}
		})
	}
}

func TestReorderTimeoutReleasesALoneFrame(t *testing.T) {
	r := newRig(t, Config{Tx: Impair{Reorder: 1, ReorderTimeout: 5 * time.Millisecond}})
	r.drv.Transmit(frame(r.pool, 0, 64))
	r.clk.Advance(4 * time.Millisecond)
	if r.sent.n() != 0 {
		t.Fatal("held frame sent before its timeout")
	}
	r.clk.Advance(time.Millisecond)
	if r.sent.n() != 1 {
		t.Fatal("held frame not sent at its timeout")
	}
}

func TestReorderStatistics(t *testing.T) {
	r := newRig(t, Config{Tx: Impair{Reorder: 0.25}, Seed: 5})
	r.send(t, 10000, 64)
	r.clk.Advance(time.Second) // release anything still held
	got := r.sent.seqs()
	if len(got) != 10000 {
		t.Fatalf("inner got %d frames, want all 10000", len(got))
	}
	sorted := slices.Clone(got)
	slices.Sort(sorted)
	for i, s := range sorted {
		if s != uint32(i) {
			t.Fatalf("frames lost or duplicated by reordering: sorted[%d] = %d", i, s)
		}
	}
	// Count frames that arrived after a higher-numbered one.
	late, hi := 0, uint32(0)
	for i, s := range got {
		if i > 0 && s < hi {
			late++
		}
		hi = max(hi, s)
	}
	st := r.drv.Stats().Tx
	if st.Reordered < 2300 || st.Reordered > 2700 {
		t.Errorf("Reordered = %d of 10000 at p=0.25, want about 2500", st.Reordered)
	}
	if late == 0 || uint64(late) > st.Reordered {
		t.Errorf("%d frames arrived late, want between 1 and Reordered = %d", late, st.Reordered)
	}
}

func TestDelayWaitsForTheClock(t *testing.T) {
	r := newRig(t, Config{Tx: Impair{Delay: 10 * time.Millisecond}})
	r.send(t, 5, 64)
	r.clk.Advance(9 * time.Millisecond)
	if n := r.sent.n(); n != 0 {
		t.Fatalf("%d frames arrived before the delay passed, want 0", n)
	}
	r.clk.Advance(time.Millisecond)
	if got := r.sent.seqs(); !slices.Equal(got, []uint32{0, 1, 2, 3, 4}) {
		t.Fatalf("after the delay got %v, want 0..4 in order", got)
	}
	for _, a := range r.sent.got {
		if d := a.at.Sub(epoch); d != 10*time.Millisecond {
			t.Errorf("frame %d arrived at +%v, want +10ms", a.seq, d)
		}
	}
	if s := r.drv.Stats().Tx; s.Delayed != 5 {
		t.Errorf("Delayed = %d, want 5", s.Delayed)
	}
}

func TestJitterStaysInBoundsAndReorders(t *testing.T) {
	r := newRig(t, Config{Tx: Impair{Delay: 10 * time.Millisecond, Jitter: 5 * time.Millisecond}, Seed: 11})
	sentAt := map[uint32]time.Time{}
	for i := range uint32(200) {
		sentAt[i] = r.clk.Now()
		r.drv.Transmit(frame(r.pool, i, 64))
		r.clk.Advance(time.Millisecond)
	}
	r.clk.Advance(20 * time.Millisecond)
	got := r.sent.seqs()
	if len(got) != 200 {
		t.Fatalf("got %d frames, want 200", len(got))
	}
	for _, a := range r.sent.got {
		if d := a.at.Sub(sentAt[a.seq]); d < 5*time.Millisecond || d > 15*time.Millisecond {
			t.Errorf("frame %d took %v, want 10ms ± 5ms", a.seq, d)
		}
	}
	if slices.IsSorted(got) {
		t.Error("jitter of ±5ms on frames 1ms apart reordered nothing")
	}
}

func TestRateMatchesConfiguredThroughput(t *testing.T) {
	// 1 Mb/s; a 1250-byte frame is 10,000 bits: 10ms on the link.
	r := newRig(t, Config{Tx: Impair{Rate: 1_000_000, QueueLimit: 50}})
	r.send(t, 200, 1250)
	s := r.drv.Stats().Tx
	if s.RateDropped != 150 {
		t.Errorf("RateDropped = %d, want 150 (200 sent, queue of 50)", s.RateDropped)
	}
	for k := 1; k <= 50; k++ {
		r.clk.Advance(10 * time.Millisecond)
		if n := r.sent.n(); n != k {
			t.Fatalf("after %dms %d frames left, want %d", 10*k, n, k)
		}
	}
	r.clk.Advance(time.Second)
	if n := r.sent.n(); n != 50 {
		t.Errorf("%d frames left in all, want 50", n)
	}
}

func TestRateUnderSustainedOverload(t *testing.T) {
	// Offer 10 Mb/s (a 1250-byte frame every ms) to a 1 Mb/s link for 2s.
	r := newRig(t, Config{Tx: Impair{Rate: 1_000_000, QueueLimit: 10}})
	for i := range 2000 {
		r.drv.Transmit(frame(r.pool, uint32(i), 1250))
		r.clk.Advance(time.Millisecond)
	}
	n := r.sent.n()
	if bps := float64(n*1250*8) / 2; math.Abs(bps-1e6) > 0.01e6 {
		t.Errorf("throughput %.0f b/s (%d frames in 2s), want 1,000,000 ± 1%%", bps, n)
	}
	s := r.drv.Stats().Tx
	if int(s.RateDropped)+n+10 < 2000 || int(s.RateDropped)+n > 2000 {
		t.Errorf("RateDropped %d + delivered %d, want 2000 less at most the 10 queued", s.RateDropped, n)
	}
	// Serialization then delay: the frame queued last leaves after the
	// queue ahead of it drains.
	if got := r.sent.seqs(); !slices.IsSorted(got) {
		t.Error("a rate limit alone reordered frames")
	}
}

func TestRateThenDelay(t *testing.T) {
	r := newRig(t, Config{Tx: Impair{Rate: 8_000_000, Delay: 5 * time.Millisecond}})
	r.drv.Transmit(frame(r.pool, 0, 1000)) // 1ms on the link at 8 Mb/s
	r.drv.Transmit(frame(r.pool, 1, 1000))
	r.clk.Advance(50 * time.Millisecond)
	want := []time.Duration{6 * time.Millisecond, 7 * time.Millisecond}
	for i, a := range r.sent.got {
		if d := a.at.Sub(epoch); d != want[i] {
			t.Errorf("frame %d arrived at +%v, want +%v", a.seq, d, want[i])
		}
	}
}

func TestRxDirectionIsImpairedSeparately(t *testing.T) {
	r := newRig(t, Config{Rx: Impair{Loss: 1}, Tx: Impair{Delay: time.Millisecond}})
	for i := range 10 {
		r.inner.inject(frame(r.pool, uint32(i), 64))
	}
	r.send(t, 3, 64)
	r.clk.Advance(time.Millisecond)
	if n := r.up.n(); n != 0 {
		t.Errorf("stack got %d frames through Rx loss 1, want 0", n)
	}
	if n := r.sent.n(); n != 3 {
		t.Errorf("inner got %d frames, want 3", n)
	}
	s := r.drv.Stats()
	if s.Rx.Lost != 10 || s.Tx.Lost != 0 || s.Tx.Delayed != 3 || s.Rx.Delayed != 0 {
		t.Errorf("Stats() = %+v, want Rx.Lost 10, Tx.Delayed 3, nothing else", s)
	}
}

func TestRxDelay(t *testing.T) {
	r := newRig(t, Config{Rx: Impair{Delay: 3 * time.Millisecond}})
	r.inner.inject(frame(r.pool, 1, 64))
	if r.up.n() != 0 {
		t.Fatal("received frame arrived before its delay")
	}
	r.clk.Advance(3 * time.Millisecond)
	if r.up.n() != 1 {
		t.Fatal("received frame did not arrive after its delay")
	}
}

func TestDeterministicWithEverything(t *testing.T) {
	im := Impair{Loss: 0.05, Duplicate: 0.05, Corrupt: 0.05, Reorder: 0.05,
		Delay: 2 * time.Millisecond, Jitter: time.Millisecond, Rate: 50_000_000, QueueLimit: 20}
	run := func(seed int64) ([]arrival, Counts) {
		r := newRig(t, Config{Tx: im, Seed: seed})
		for i := range 3000 {
			r.drv.Transmit(frame(r.pool, uint32(i), 64+i%1400))
			if i%3 == 0 {
				r.clk.Advance(100 * time.Microsecond)
			}
		}
		r.clk.Advance(time.Second)
		return r.sent.got, r.drv.Stats().Tx
	}
	a, sa := run(99)
	b, sb := run(99)
	if sa != sb {
		t.Fatalf("same seed, different counters:\n%+v\n%+v", sa, sb)
	}
	if len(a) != len(b) {
		t.Fatalf("same seed, %d vs %d frames", len(a), len(b))
	}
	for i := range a {
		if a[i].seq != b[i].seq || !a[i].at.Equal(b[i].at) || !bytes.Equal(a[i].data, b[i].data) {
			t.Fatalf("same seed, frame %d differs", i)
		}
	}
	for name, v := range map[string]uint64{"Lost": sa.Lost, "Duplicated": sa.Duplicated, "Corrupted": sa.Corrupted,
		"Reordered": sa.Reordered, "Delayed": sa.Delayed, "RateDropped": sa.RateDropped} {
		if v == 0 {
			t.Errorf("%s = 0, want some", name)
		}
	}
	if c, _ := run(100); len(c) == len(a) && slices.EqualFunc(c, a, func(x, y arrival) bool { return x.seq == y.seq }) {
		t.Error("seeds 99 and 100 gave the same frames")
	}
}

func TestCloseFreesHeldFramesAndStopsTimers(t *testing.T) {
	pool := pkt.NewPool(pkt.Options{Checked: true})
	clk := clock.NewManual(epoch)
	sent := &recorder{pool: pool}
	inner := &fakeDriver{caps: netdev.Caps{MTU: 1500}, sent: sent}
	d := Wrap(inner, Config{
		Tx:    Impair{Delay: time.Second, Rate: 1000, Reorder: 0.3, Duplicate: 0.3},
		Rx:    Impair{Delay: time.Second},
		Clock: clk, Seed: 1,
	})
	up := &recorder{pool: pool}
	d.Start(up)
	for i := range 100 {
		d.Transmit(frame(pool, uint32(i), 100))
		inner.inject(frame(pool, uint32(i), 100))
	}
	if pool.Live() == 0 || clk.Pending() == 0 {
		t.Fatal("nothing held before Close; the test proves nothing")
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if n := pool.Live(); n != 0 {
		t.Errorf("pool.Live() = %d after Close, want 0", n)
	}
	if n := clk.Pending(); n != 0 {
		t.Errorf("%d timers pending after Close, want 0", n)
	}
	s := d.Stats()
	if s.Tx.Flushed == 0 || s.Rx.Flushed != 100 {
		t.Errorf("Flushed tx %d rx %d, want some and 100", s.Tx.Flushed, s.Rx.Flushed)
	}
	clk.Advance(time.Hour)
	if sent.n() != 0 || up.n() != 0 {
		t.Errorf("frames delivered after Close: %d tx, %d rx", sent.n(), up.n())
	}
	if err := d.Transmit(frame(pool, 0, 64)); !errors.Is(err, ErrClosed) {
		t.Errorf("Transmit after Close = %v, want ErrClosed", err)
	}
	if n := pool.Live(); n != 0 {
		t.Errorf("pool.Live() = %d after a Transmit on a closed driver, want 0", n)
	}
}

// TestCloseWithRealClockLeavesNoGoroutines runs delays on the real clock
// with frames in flight when Close is called.
func TestCloseWithRealClockLeavesNoGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	pool := pkt.NewPool(pkt.Options{Checked: true})
	var mu sync.Mutex
	closed, late := false, 0
	inner := &fakeDriver{caps: netdev.Caps{MTU: 1500}, sent: &recorder{pool: pool}}
	d := Wrap(inner, Config{Tx: Impair{Delay: 200 * time.Microsecond, Jitter: 200 * time.Microsecond, Rate: 100_000_000}})
	d.Start(&recorder{pool: pool})
	// Count deliveries after Close returns by replacing the pipe's output.
	d.tx.out = func(b *pkt.Buf) error {
		mu.Lock()
		if closed {
			late++
		}
		mu.Unlock()
		b.Free()
		return nil
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				d.Transmit(frame(pool, uint32(g*1000+i), 200))
			}
		}()
	}
	time.Sleep(2 * time.Millisecond) // let timers fire mid-stream
	d.Close()
	mu.Lock()
	closed = true
	mu.Unlock()
	wg.Wait()
	if late != 0 {
		t.Errorf("%d frames delivered after Close returned, want 0", late)
	}
	s := d.Stats().Tx
	t.Logf("delivered %d before Close, flushed %d", s.Delivered, s.Flushed)
	if n := pool.Live(); n != 0 {
		t.Errorf("pool.Live() = %d after Close, want 0", n)
	}
	if after := settle(before); after > before {
		t.Errorf("goroutines: %d before, %d after Close", before, after)
	}
}

// TestOutMayReenterSend echoes every frame back into the same pipe once:
// the drain loop must neither deadlock nor recurse.
func TestOutMayReenterSend(t *testing.T) {
	pool := pkt.NewPool(pkt.Options{Checked: true})
	var p *Pipe
	var got []uint32
	p = NewPipe(PipeConfig{Impair: Impair{Duplicate: 0.5}, Seed: 2}, func(b *pkt.Buf) error {
		seq := uint32(b.Bytes()[0])
		got = append(got, seq)
		if seq < 100 {
			b.Writable(1)[0] = byte(seq + 100) // the duplicate shares the bytes
			p.Send(b)
			return nil
		}
		b.Free()
		return nil
	})
	for i := range 10 {
		b := pool.Get(0, 1)
		b.Bytes()[0] = byte(i)
		p.Send(b)
	}
	p.Close()
	if len(got) < 20 {
		t.Errorf("saw %d frames, want at least 10 and their 10 echoes", len(got))
	}
	if n := pool.Live(); n != 0 {
		t.Errorf("pool.Live() = %d, want 0", n)
	}
}

func TestPipeWithLossAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under -race")
	}
	pool := pkt.NewPool(pkt.Options{})
	p := NewPipe(PipeConfig{Impair: Impair{Loss: 0.1, Duplicate: 0.1, Reorder: 0.1}}, func(b *pkt.Buf) error { b.Free(); return nil })
	defer p.Close()
	allocs := testing.AllocsPerRun(2000, func() { p.Send(pool.Get(pkt.MaxHeaderLen, 100)) })
	if allocs != 0 {
		t.Errorf("Send allocates %v times per frame, want 0", allocs)
	}
}

func ExampleWrap() {
	clk := clock.NewManual(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	pool := pkt.NewPool(pkt.Options{})
	// Loopback with a 10ms one-way delay on transmit.
	d := Wrap(loopback.New(), Config{Tx: Impair{Delay: 10 * time.Millisecond}, Clock: clk})
	d.Start(printer{pool, clk})
	d.Transmit(pool.Copy(pkt.MaxHeaderLen, []byte{0x45, 0, 0, 20}))
	fmt.Println("sent at +0s")
	clk.Advance(10 * time.Millisecond)
	fmt.Printf("delayed: %d\n", d.Stats().Tx.Delayed)
	d.Close()
	// Output:
	// sent at +0s
	// received 4 bytes at +10ms
	// delayed: 1
}

type printer struct {
	pool *pkt.Pool
	clk  *clock.Manual
}

func (p printer) Receive(b *pkt.Buf) {
	fmt.Printf("received %d bytes at +%v\n", b.Len(), p.clk.Now().Sub(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)))
	b.Free()
}
func (p printer) Pool() *pkt.Pool { return p.pool }

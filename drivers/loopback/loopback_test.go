package loopback

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"testing"

	"ustack/netdev"
	"ustack/pkt"
)

// sink is a fake netdev.Receiver that records and frees what it receives.
type sink struct {
	pool *pkt.Pool
	mu   sync.Mutex
	got  [][]byte
}

func (s *sink) Receive(b *pkt.Buf) {
	s.mu.Lock()
	s.got = append(s.got, bytes.Clone(b.Bytes()))
	s.mu.Unlock()
	b.Free()
}

func (s *sink) Pool() *pkt.Pool { return s.pool }

var _ netdev.Driver = (*Driver)(nil)

func TestLoopbackReturnsFramesByteExact(t *testing.T) {
	pool := pkt.NewPool(pkt.Options{Checked: true})
	d := New()
	rx := &sink{pool: pool}
	if err := d.Start(rx); err != nil {
		t.Fatal(err)
	}
	want := [][]byte{{0x45, 1, 2, 3}, bytes.Repeat([]byte{0x45, 0xaa}, 30000)}
	for _, w := range want {
		if err := d.Transmit(pool.Copy(pkt.MaxHeaderLen, w)); err != nil {
			t.Fatalf("Transmit(%d bytes) = %v, want nil", len(w), err)
		}
	}
	if len(rx.got) != len(want) {
		t.Fatalf("received %d frames, want %d", len(rx.got), len(want))
	}
	for i := range want {
		if !bytes.Equal(rx.got[i], want[i]) {
			t.Errorf("frame %d = %x..., want %x...", i, rx.got[i][:4], want[i][:4])
		}
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := d.Transmit(pool.Copy(0, []byte{0x45})); !errors.Is(err, ErrClosed) {
		t.Errorf("Transmit after Close = %v, want ErrClosed", err)
	}
	if n := pool.Live(); n != 0 {
		t.Errorf("pool.Live() = %d, want 0 (a leak)", n)
	}
}

func TestLoopbackCaps(t *testing.T) {
	c := New().Caps()
	if c.Link != netdev.LinkIP || c.MTU != 65536 || !c.Loopback || !c.ChecksumOffload {
		t.Errorf("Caps() = %+v, want IP link, MTU 65536, loopback, checksum offload", c)
	}
}

func TestLoopbackStartTwiceAndUnstarted(t *testing.T) {
	pool := pkt.NewPool(pkt.Options{Checked: true})
	d := New()
	if err := d.Transmit(pool.Copy(0, []byte{0x45})); !errors.Is(err, ErrNotStarted) {
		t.Errorf("Transmit before Start = %v, want ErrNotStarted", err)
	}
	if err := d.Start(&sink{pool: pool}); err != nil {
		t.Fatal(err)
	}
	if err := d.Start(&sink{pool: pool}); !errors.Is(err, ErrStarted) {
		t.Errorf("second Start = %v, want ErrStarted", err)
	}
	d.Close()
	if err := d.Start(&sink{pool: pool}); !errors.Is(err, ErrClosed) {
		t.Errorf("Start after Close = %v, want ErrClosed", err)
	}
	if n := pool.Live(); n != 0 {
		t.Errorf("pool.Live() = %d, want 0", n)
	}
}

// TestLoopbackCloseRacesTransmit checks that no Receive happens after Close
// returns, with transmitters running concurrently (run with -race).
func TestLoopbackCloseRacesTransmit(t *testing.T) {
	pool := pkt.NewPool(pkt.Options{})
	d := New()
	var mu sync.Mutex
	closed := false
	late := 0
	d.Start(recvFunc{pool, func(b *pkt.Buf) {
		mu.Lock()
		if closed {
			late++
		}
		mu.Unlock()
		b.Free()
	}})
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 2000 {
				d.Transmit(pool.Copy(0, []byte{0x45}))
			}
		}()
	}
	d.Close()
	mu.Lock()
	closed = true
	mu.Unlock()
	wg.Wait()
	if late != 0 {
		t.Errorf("%d frames received after Close returned, want 0", late)
	}
	if n := pool.Live(); n != 0 {
		t.Errorf("pool.Live() = %d, want 0", n)
	}
}

type recvFunc struct {
	pool *pkt.Pool
	f    func(*pkt.Buf)
}

func (r recvFunc) Receive(b *pkt.Buf) { r.f(b) }
func (r recvFunc) Pool() *pkt.Pool    { return r.pool }

func TestLoopbackTransmitAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under -race")
	}
	pool := pkt.NewPool(pkt.Options{})
	d := New()
	d.Start(recvFunc{pool, (*pkt.Buf).Free})
	frame := make([]byte, 1500)
	frame[0] = 0x45
	allocs := testing.AllocsPerRun(1000, func() {
		d.Transmit(pool.Copy(pkt.MaxHeaderLen, frame))
	})
	if allocs != 0 {
		t.Errorf("Transmit allocates %v times per frame, want 0", allocs)
	}
}

func Example() {
	pool := pkt.NewPool(pkt.Options{})
	lo := New()
	lo.Start(recvFunc{pool, func(b *pkt.Buf) {
		fmt.Printf("looped back %d bytes: % x\n", b.Len(), b.Bytes())
		b.Free()
	}})
	lo.Transmit(pool.Copy(pkt.MaxHeaderLen, []byte{0x45, 0x00, 0x00, 0x14}))
	lo.Close()
	// Output: looped back 4 bytes: 45 00 00 14
}

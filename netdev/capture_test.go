package netdev

import (
	"sync"
	"testing"

	"ustack/pkt"
	"ustack/wire"
)

// tapRecorder collects what a tap sees.
type tapRecorder struct {
	mu  sync.Mutex
	got []string
}

func (r *tapRecorder) tap(d *Device, b *pkt.Buf, dir Direction) {
	p := make([]byte, b.Len())
	b.CopyTo(p)
	r.mu.Lock()
	r.got = append(r.got, d.Name()+" "+dir.String()+" "+string(p[wire.EthernetHeaderLen:]))
	r.mu.Unlock()
}

func (r *tapRecorder) seen() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.got...)
}

// Taps see every frame received (whatever becomes of it) and every frame
// handed to the driver, whole; a removed tap sees no more.
func TestTaps(t *testing.T) {
	r, pool := newTestRegistry(t)
	drv := &fakeDriver{caps: Caps{Link: LinkEthernet, MTU: 1500, MAC: macA}}
	d, _ := r.Register("", drv)
	r.SetUp(d, true)
	handled := make(chan struct{}, 10)
	r.RegisterHandler(wire.EtherTypeIPv4, func(dev *Device, b *pkt.Buf) { b.Free(); handled <- struct{}{} })

	var one, two tapRecorder
	rm1 := d.AddTap(one.tap)
	rm2 := d.AddTap(two.tap)

	drv.rx.Receive(pool.Copy(pkt.MaxHeaderLen, frame(macA, macB, wire.EtherTypeIPv4, "in1")))
	<-handled
	drv.rx.Receive(pool.Copy(pkt.MaxHeaderLen, frame(macB, macA, wire.EtherTypeIPv4, "other"))) // dropped, still tapped
	waitFor(t, func() bool { return r.stats.InOtherHost.Load() == 1 })
	out := pool.Get(pkt.MaxHeaderLen, 0)
	out.AppendBytes([]byte("out1"))
	if err := d.SendEthernet(out, macB, wire.EtherTypeIPv4); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return len(two.seen()) == 3 })

	rm1()
	rm1() // a second call does nothing
	out = pool.Get(pkt.MaxHeaderLen, 0)
	out.AppendBytes([]byte("out2"))
	d.SendEthernet(out, macB, wire.EtherTypeIPv4)
	rm2()
	out = pool.Get(pkt.MaxHeaderLen, 0)
	out.AppendBytes([]byte("out3"))
	d.SendEthernet(out, macB, wire.EtherTypeIPv4)
	if d.taps.Load() != nil {
		t.Errorf("taps left after removing both: %v", *d.taps.Load())
	}

	want1 := []string{"eth0 in in1", "eth0 in other", "eth0 out out1"}
	want2 := append(want1, "eth0 out out2")
	for _, c := range []struct {
		name      string
		got, want []string
	}{{"first tap", one.seen(), want1}, {"second tap", two.seen(), want2}} {
		if len(c.got) != len(c.want) {
			t.Errorf("%s saw %q, want %q", c.name, c.got, c.want)
			continue
		}
		for i := range c.got {
			if c.got[i] != c.want[i] {
				t.Errorf("%s saw %q, want %q", c.name, c.got, c.want)
				break
			}
		}
	}
}

// Adding and removing taps races with frames in both directions (run with
// -race).
func TestTapsConcurrent(t *testing.T) {
	r, pool := newTestRegistry(t)
	drv := &fakeDriver{caps: Caps{Link: LinkEthernet, MTU: 1500, MAC: macA}}
	d, _ := r.Register("", drv)
	r.SetUp(d, true)
	r.RegisterHandler(wire.EtherTypeIPv4, func(dev *Device, b *pkt.Buf) { b.Free() })
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			drv.rx.Receive(pool.Copy(pkt.MaxHeaderLen, frame(macA, macB, wire.EtherTypeIPv4, "x")))
			b := pool.Get(pkt.MaxHeaderLen, 0)
			b.AppendBytes([]byte("y"))
			d.SendEthernet(b, macB, wire.EtherTypeIPv4)
		}
	}()
	var recs [4]tapRecorder
	for range 50 {
		var rms []func()
		for i := range recs {
			rms = append(rms, d.AddTap(recs[i].tap))
		}
		for _, rm := range rms {
			rm()
		}
	}
	close(stop)
	wg.Wait()
}

func BenchmarkTransmitNoTap(b *testing.B) { benchmarkTransmit(b, false) }
func BenchmarkTransmitTap(b *testing.B)   { benchmarkTransmit(b, true) }

func benchmarkTransmit(b *testing.B, tapped bool) {
	pool := pkt.NewPool(pkt.Options{})
	r := NewRegistry(Config{Pool: pool})
	defer r.Close()
	d, _ := r.Register("", nullDriver{})
	r.SetUp(d, true)
	if tapped {
		d.AddTap(func(d *Device, b *pkt.Buf, dir Direction) {})
	}
	b.ReportAllocs()
	for b.Loop() {
		x := pool.Get(pkt.MaxHeaderLen, 0)
		x.AppendBytes([]byte("payload"))
		d.Transmit(x)
	}
}

type nullDriver struct{}

func (nullDriver) Caps() Caps                { return Caps{Link: LinkEthernet, MTU: 1500, MAC: macA} }
func (nullDriver) Start(Receiver) error      { return nil }
func (nullDriver) Close() error              { return nil }
func (nullDriver) Transmit(b *pkt.Buf) error { b.Free(); return nil }

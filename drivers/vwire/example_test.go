package vwire_test

import (
	"fmt"
	"time"

	"ustack/clock"
	"ustack/drivers/vwire"
	"ustack/pkt"
	"ustack/wire"
)

// station is a stand-in for a stack: it prints what reaches it.
type station struct {
	name string
	pool *pkt.Pool
}

func (s station) Receive(b *pkt.Buf) {
	h, _ := wire.ParseEthernetView(b.Bytes())
	fmt.Printf("%s got %d bytes %v > %v\n", s.name, b.Len(), h.Src(), h.Dst())
	b.Free()
}

func (s station) Pool() *pkt.Pool { return s.pool }

func frame(pool *pkt.Pool, dst, src wire.MAC) *pkt.Buf {
	b := pool.Get(pkt.MaxHeaderLen, wire.EthernetMinFrameLen)
	h, _ := wire.ParseEthernetView(b.View(0))
	h.SetDst(dst)
	h.SetSrc(src)
	h.SetEtherType(wire.EtherTypeIPv4)
	return b
}

// A veth-like pair: what one end transmits, the other receives.
func Example() {
	pool := pkt.NewPool(pkt.Options{})
	macA, macB := vwire.SeededMAC(1, 1), vwire.SeededMAC(1, 2)
	a, b := vwire.NewPair(vwire.Config{MAC: macA}, vwire.Config{MAC: macB})
	a.Start(station{"a", pool})
	b.Start(station{"b", pool})

	a.Transmit(frame(pool, macB, macA))
	b.Transmit(frame(pool, macA, macB))
	fmt.Println("a sent", a.Stats.TxFrames.Load(), "b received", b.Stats.RxFrames.Load())

	a.Close()
	b.Close()
	// Output:
	// b got 60 bytes ba:4f:b4:6b:9f:e3 > 12:f5:ee:56:86:a5
	// a got 60 bytes 12:f5:ee:56:86:a5 > ba:4f:b4:6b:9f:e3
	// a sent 1 b received 1
}

// A learning switch with three hosts: the first frame to an unknown
// address floods; once the reply has taught the switch where the sender
// is, frames go to one port only.
func ExampleSwitch() {
	pool := pkt.NewPool(pkt.Options{})
	sw := vwire.NewSwitch(vwire.SwitchConfig{Clock: clock.NewManual(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))})
	defer sw.Close()
	var macs []wire.MAC
	var ports []*vwire.End
	for i, name := range []string{"h1", "h2", "h3"} {
		m := wire.MAC{2, 0, 0, 0, 0, byte(i + 1)}
		p := sw.Port(vwire.Config{Name: name, MAC: m})
		p.Start(station{name, pool})
		macs, ports = append(macs, m), append(ports, p)
	}

	fmt.Println("h1 -> h2, h2 unknown:")
	ports[0].Transmit(frame(pool, macs[1], macs[0]))
	fmt.Println("h2 -> h1, h1 learned:")
	ports[1].Transmit(frame(pool, macs[0], macs[1]))
	fmt.Println("h1 -> h2, h2 learned:")
	ports[0].Transmit(frame(pool, macs[1], macs[0]))
	for _, e := range sw.FDB() {
		fmt.Println("fdb", e.MAC, "on", e.Port)
	}
	// Output:
	// h1 -> h2, h2 unknown:
	// h2 got 60 bytes 02:00:00:00:00:01 > 02:00:00:00:00:02
	// h3 got 60 bytes 02:00:00:00:00:01 > 02:00:00:00:00:02
	// h2 -> h1, h1 learned:
	// h1 got 60 bytes 02:00:00:00:00:02 > 02:00:00:00:00:01
	// h1 -> h2, h2 learned:
	// h2 got 60 bytes 02:00:00:00:00:01 > 02:00:00:00:00:02
	// fdb 02:00:00:00:00:01 on h1
	// fdb 02:00:00:00:00:02 on h2
}

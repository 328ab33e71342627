package vwire

import (
	"bytes"
	"testing"
	"time"

	"ustack/clock"
	"ustack/netdev"
	"ustack/pkt"
	"ustack/wire"
)

// TestPairBetweenRegistries cables two device registries (two stacks'
// device layers) together and sends a frame each way through the real
// Device transmit queue, softnet loop and EtherType demux.
func TestPairBetweenRegistries(t *testing.T) {
	pool := checkedPool(t)
	a, b := NewPair(Config{MAC: mac(1)}, Config{MAC: mac(2)})
	got := make(chan string, 2)
	var devs [2]*netdev.Device
	for i, end := range []*End{a, b} {
		r := netdev.NewRegistry(netdev.Config{Pool: pool, Clock: clock.NewManual(epoch)})
		t.Cleanup(func() { r.Close() })
		r.RegisterHandler(wire.EtherTypeIPv4, func(d *netdev.Device, p *pkt.Buf) {
			got <- d.Name() + ":" + string(p.Bytes())
			p.Free()
		})
		d, err := r.Register("", end)
		if err != nil {
			t.Fatal(err)
		}
		r.SetUp(d, true)
		devs[i] = d
	}
	send := func(d *netdev.Device, dst wire.MAC, msg string) {
		p := pool.Get(pkt.MaxHeaderLen, 0)
		p.AppendBytes([]byte(msg))
		if err := d.SendEthernet(p, dst, wire.EtherTypeIPv4); err != nil {
			t.Fatalf("SendEthernet = %v", err)
		}
	}
	send(devs[0], mac(2), "ping")
	send(devs[1], mac(1), "pong")
	var seen [][]byte
	for range 2 {
		select {
		case s := <-got:
			seen = append(seen, []byte(s))
		case <-time.After(5 * time.Second):
			t.Fatal("frame did not cross the pair")
		}
	}
	if !bytes.Contains(bytes.Join(seen, []byte(" ")), []byte("eth0:ping")) ||
		!bytes.Contains(bytes.Join(seen, []byte(" ")), []byte("eth0:pong")) {
		t.Errorf("handlers saw %q, want eth0:ping and eth0:pong", seen)
	}
	if n := devs[1].Stats.RxPackets.Load(); n != 1 {
		t.Errorf("receiving device RxPackets = %d, want 1", n)
	}
}

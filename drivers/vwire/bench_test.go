package vwire

import (
	"testing"

	"ustack/clock"
	"ustack/drivers/fault"
	"ustack/pkt"
	"ustack/wire"
)

func reportFrames(b *testing.B) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
}

func benchPair(b *testing.B, size int, cfgA Config) {
	pool := pkt.NewPool(pkt.Options{})
	cfgA.MAC = mac(1)
	x, y := NewPair(cfgA, Config{MAC: mac(2)})
	defer x.Close()
	defer y.Close()
	x.Start(sink{pool})
	y.Start(sink{pool})
	frame := ether(mac(2), mac(1), size, 0)
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		x.Transmit(pool.Copy(pkt.MaxHeaderLen, frame))
	}
	reportFrames(b)
}

// BenchmarkPair is one frame from a pooled Buf across a pair to a host
// that frees it: the steady-state cost of the wire.
func BenchmarkPair(b *testing.B) {
	b.Run("64B", func(b *testing.B) { benchPair(b, 64, Config{}) })
	b.Run("1514B", func(b *testing.B) { benchPair(b, 1514, Config{}) })
	b.Run("1514B-loss1%", func(b *testing.B) {
		benchPair(b, 1514, Config{Impair: fault.Impair{Loss: 0.01}, Seed: 1})
	})
}

// BenchmarkPairParallel has every P transmit on the same end at once.
func BenchmarkPairParallel(b *testing.B) {
	pool := pkt.NewPool(pkt.Options{})
	x, y := NewPair(Config{MAC: mac(1)}, Config{MAC: mac(2)})
	defer x.Close()
	defer y.Close()
	x.Start(sink{pool})
	y.Start(sink{pool})
	frame := ether(mac(2), mac(1), 1514, 0)
	b.SetBytes(1514)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			x.Transmit(pool.Copy(pkt.MaxHeaderLen, frame))
		}
	})
	reportFrames(b)
}

func benchSwitch(b *testing.B, dst wire.MAC) {
	pool := pkt.NewPool(pkt.Options{})
	sw := NewSwitch(SwitchConfig{Clock: clock.NewManual(epoch)})
	defer sw.Close()
	var ports []*End
	for i := 1; i <= 4; i++ {
		p := sw.Port(Config{MAC: mac(byte(i))})
		p.Start(sink{pool})
		ports = append(ports, p)
	}
	ports[1].Transmit(pool.Copy(pkt.MaxHeaderLen, ether(mac(1), mac(2), 64, 0))) // learn mac(2)
	frame := ether(dst, mac(1), 1514, 0)
	b.SetBytes(1514)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		ports[0].Transmit(pool.Copy(pkt.MaxHeaderLen, frame))
	}
	reportFrames(b)
}

// BenchmarkSwitch forwards known unicast, and floods broadcast to 3 ports.
func BenchmarkSwitch(b *testing.B) {
	b.Run("unicast", func(b *testing.B) { benchSwitch(b, mac(2)) })
	b.Run("flood3", func(b *testing.B) { benchSwitch(b, wire.BroadcastMAC) })
}

package netsim

import (
	"context"
	"net"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"ustack/netdev"
	"ustack/pkt"
	"ustack/wire"
)

// BenchmarkUDPBetweenStacks sends 64-byte datagrams from one stack to
// another over the in-memory wire and reports delivered datagrams per
// second and allocations per datagram (the whole path: socket write, UDP,
// IP, neighbour, device, wire, softnet, IP, UDP, socket queue, read).
func BenchmarkUDPBetweenStacks(b *testing.B) {
	n := New(Options{Seed: 1})
	defer n.Close()
	a, c := n.Host("a"), n.Host("b")
	n.MustLink(a, "10.0.0.1/24", c, "10.0.0.2/24", LinkOptions{})
	pc, err := c.ListenPacket("udp", ":9")
	if err != nil {
		b.Fatal(err)
	}
	defer pc.Close()
	conn, err := a.DialContext(context.Background(), "udp", "10.0.0.2:9")
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	payload := make([]byte, 64)
	// Resolve ARP and warm the pools outside the measurement.
	warm(b, conn, pc, payload)

	var got atomic.Int64
	done := make(chan struct{})
	// ReadFromUDPAddrPort, like *net.UDPConn's, returns the sender
	// without allocating a net.Addr; the reader stops when pc is closed.
	rd := pc.(interface {
		ReadFromUDPAddrPort([]byte) (int, netip.AddrPort, error)
	})
	go func() {
		defer close(done)
		buf := make([]byte, 2048)
		for {
			if _, _, err := rd.ReadFromUDPAddrPort(buf); err != nil {
				return
			}
			got.Add(1)
		}
	}()
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	const window = 256
	for i := 0; i < b.N; i++ {
		// Keep at most window datagrams in flight so the receiver's
		// buffers, not the benchmark, decide the rate.
		for int64(i)-got.Load() >= window {
			time.Sleep(5 * time.Microsecond)
		}
		conn.Write(payload)
	}
	for got.Load() < int64(b.N) && time.Since(start) < 10*time.Second+time.Duration(b.N)*time.Microsecond {
		time.Sleep(10 * time.Microsecond)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	delivered := got.Load()
	pc.Close()
	<-done
	b.ReportMetric(float64(delivered)/elapsed.Seconds(), "datagrams/s")
	b.ReportMetric(float64(int64(b.N)-delivered)/float64(b.N)*100, "%lost")
}

func warm(b *testing.B, conn net.Conn, pc net.PacketConn, payload []byte) {
	buf := make([]byte, 2048)
	for i := 0; i < 2000; i++ {
		conn.Write(payload)
		pc.SetReadDeadline(time.Now().Add(time.Second))
		if _, _, err := pc.ReadFrom(buf); err != nil {
			b.Fatal("warm-up:", err)
		}
	}
}

// sinkNIC frees what it is given and counts it; blastNIC injects frames.
type sinkNIC struct {
	caps netdev.Caps
	n    atomic.Int64
}

func (s *sinkNIC) Caps() netdev.Caps              { return s.caps }
func (s *sinkNIC) Start(rx netdev.Receiver) error { return nil }
func (s *sinkNIC) Close() error                   { return nil }
func (s *sinkNIC) Transmit(b *pkt.Buf) error      { b.Free(); s.n.Add(1); return nil }

type blastNIC struct {
	caps netdev.Caps
	rx   netdev.Receiver
}

func (s *blastNIC) Caps() netdev.Caps              { return s.caps }
func (s *blastNIC) Start(rx netdev.Receiver) error { s.rx = rx; return nil }
func (s *blastNIC) Close() error                   { return nil }
func (s *blastNIC) Transmit(b *pkt.Buf) error      { b.Free(); return nil }

// BenchmarkForward measures one router alone: frames are injected into
// its input device as a NIC would deliver them and counted as the output
// device transmits them. It reports forwarded packets per second and
// allocations per packet.
func BenchmarkForward(b *testing.B) {
	n := New(Options{Seed: 1})
	defer n.Close()
	r := n.Router("r")
	inMAC, outMAC := wire.MAC{2, 0, 0, 0, 0, 1}, wire.MAC{2, 0, 0, 0, 0, 2}
	in := &blastNIC{caps: netdev.Caps{Link: netdev.LinkEthernet, MTU: 1500, MAC: inMAC}}
	out := &sinkNIC{caps: netdev.Caps{Link: netdev.LinkEthernet, MTU: 1500, MAC: outMAC}}
	if _, err := r.attach(in, "10.0.1.1/24"); err != nil {
		b.Fatal(err)
	}
	outDev, err := r.attach(out, "10.0.2.1/24")
	if err != nil {
		b.Fatal(err)
	}
	dst := netip.MustParseAddr("10.0.2.2")
	r.Neigh().SetStatic(outDev, dst, wire.MAC{2, 0, 0, 0, 0, 3})
	frame := forwardFrame(inMAC, netip.MustParseAddr("10.0.1.2"), dst, 64)
	pool := r.Pool()
	base := out.n.Load()
	for i := 0; i < 5000; i++ { // warm
		in.rx.Receive(pool.Copy(pkt.MaxHeaderLen, frame))
		for out.n.Load()-base < int64(i+1)-512 {
			time.Sleep(time.Microsecond)
		}
	}
	for out.n.Load()-base < 5000 {
		time.Sleep(time.Microsecond)
	}
	base = out.n.Load()
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		for int64(i)-(out.n.Load()-base) >= 512 {
			time.Sleep(time.Microsecond)
		}
		in.rx.Receive(pool.Copy(pkt.MaxHeaderLen, frame))
	}
	for out.n.Load()-base < int64(b.N) {
		if time.Since(start) > 30*time.Second {
			b.Fatalf("forwarded %d of %d", out.n.Load()-base, b.N)
		}
		time.Sleep(time.Microsecond)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "pkts/s")
}

// forwardFrame builds an Ethernet/IPv4/UDP frame to dst with a payload.
func forwardFrame(dstMAC wire.MAC, src, dst netip.Addr, payload int) []byte {
	udpLen := wire.UDPHeaderLen + payload
	f := make([]byte, wire.EthernetHeaderLen+wire.IPv4MinHeaderLen+udpLen)
	eth := wire.EthernetHeader{Dst: dstMAC, Src: wire.MAC{2, 0, 0, 0, 0, 9}, EtherType: wire.EtherTypeIPv4}
	eth.Encode(f)
	ip := wire.IPv4Header{TotalLen: uint16(wire.IPv4MinHeaderLen + udpLen), TTL: 64, Protocol: wire.ProtoUDP, Src: src, Dst: dst}
	ip.Encode(f[wire.EthernetHeaderLen:])
	v, _ := wire.ParseIPv4HeaderView(f[wire.EthernetHeaderLen:])
	v.SetChecksum(v.CalculateChecksum())
	u := wire.UDPHeader{SrcPort: 1000, DstPort: 9, Length: uint16(udpLen)}
	u.Encode(f[wire.EthernetHeaderLen+wire.IPv4MinHeaderLen:])
	return f
}

package netsim

import (
	"context"
	"net/netip"
	"runtime"
	"testing"
	"time"

	"ustack/netdev"
	"ustack/pkt"
	"ustack/wire"
)

// TestUDPPathAllocatesNothing guards the steady-state UDP path between
// two stacks: write, every layer down, the wire, every layer up, read.
func TestUDPPathAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop items on purpose")
	}
	n := New(Options{Seed: 1})
	defer n.Close()
	a, c := n.Host("a"), n.Host("b")
	n.MustLink(a, "10.0.0.1/24", c, "10.0.0.2/24", LinkOptions{})
	pc, err := c.ListenPacket("udp", ":9")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	rd := pc.(interface {
		ReadFromUDPAddrPort([]byte) (int, netip.AddrPort, error)
	})
	conn, err := a.DialContext(context.Background(), "udp", "10.0.0.2:9")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	payload, buf := make([]byte, 64), make([]byte, 2048)
	roundTrip := func() {
		conn.Write(payload)
		if _, _, err := rd.ReadFromUDPAddrPort(buf); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 1000; i++ {
		roundTrip()
	}
	if allocs := testing.AllocsPerRun(2000, roundTrip); allocs != 0 {
		t.Fatalf("allocations per datagram = %v, want 0", allocs)
	}
}

// TestForwardPathAllocatesNothing guards the router's forwarding path.
func TestForwardPathAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop items on purpose")
	}
	n := New(Options{Seed: 1})
	defer n.Close()
	r := n.Router("r")
	inMAC := wire.MAC{2, 0, 0, 0, 0, 1}
	in := &blastNIC{caps: netdev.Caps{Link: netdev.LinkEthernet, MTU: 1500, MAC: inMAC}}
	out := &sinkNIC{caps: netdev.Caps{Link: netdev.LinkEthernet, MTU: 1500, MAC: wire.MAC{2, 0, 0, 0, 0, 2}}}
	r.attach(in, "10.0.1.1/24")
	outDev, _ := r.attach(out, "10.0.2.1/24")
	dst := netip.MustParseAddr("10.0.2.2")
	r.Neigh().SetStatic(outDev, dst, wire.MAC{2, 0, 0, 0, 0, 3})
	frame := forwardFrame(inMAC, netip.MustParseAddr("10.0.1.2"), dst, 64)
	pool := r.Pool()
	forwardOne := func() {
		want := out.n.Load() + 1
		in.rx.Receive(pool.Copy(pkt.MaxHeaderLen, frame))
		deadline := time.Now().Add(5 * time.Second)
		for out.n.Load() < want {
			if time.Now().After(deadline) {
				t.Fatal("frame not forwarded")
			}
			runtime.Gosched() // let softnet run on a busy machine
		}
	}
	for i := 0; i < 1000; i++ {
		forwardOne()
	}
	if allocs := testing.AllocsPerRun(2000, forwardOne); allocs != 0 {
		t.Fatalf("allocations per forwarded packet = %v, want 0", allocs)
	}
	if got := r.Stats().IP.ForwDatagrams.Load(); got < 3000 {
		t.Fatalf("ForwDatagrams = %d, want ≥ 3000", got)
	}
}

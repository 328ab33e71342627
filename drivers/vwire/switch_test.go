package vwire

import (
	"bytes"
	"fmt"
	"slices"
	"testing"
	"time"

	"ustack/clock"
	"ustack/drivers/fault"
	"ustack/pkt"
	"ustack/wire"
)

// lan is a switch with n hosts, host i (from 1) with MAC mac(i) on port i.
type lan struct {
	sw    *Switch
	clk   *clock.Manual
	pool  *pkt.Pool
	ports []*End  // ports[i] for host i; ports[0] unused
	hosts []*host // likewise
}

func newLAN(t *testing.T, n int, cfg SwitchConfig) *lan {
	t.Helper()
	l := &lan{pool: checkedPool(t), clk: clock.NewManual(epoch)}
	if cfg.Clock == nil {
		cfg.Clock = l.clk
	}
	l.sw = NewSwitch(cfg)
	l.ports = make([]*End, n+1)
	l.hosts = make([]*host, n+1)
	for i := 1; i <= n; i++ {
		l.ports[i] = l.sw.Port(Config{MAC: mac(byte(i))})
		l.hosts[i] = &host{pool: l.pool}
		if err := l.ports[i].Start(l.hosts[i]); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { l.sw.Close() })
	return l
}

// send has host from send a frame to dst.
func (l *lan) send(t *testing.T, from int, dst wire.MAC) []byte {
	t.Helper()
	f := ether(dst, mac(byte(from)), 64, byte(from))
	if err := l.ports[from].Transmit(l.pool.Copy(pkt.MaxHeaderLen, f)); err != nil {
		t.Fatalf("host %d Transmit = %v", from, err)
	}
	return f
}

// drain forgets what the hosts have received.
func (l *lan) drain() {
	for _, h := range l.hosts[1:] {
		h.take()
	}
}

// receivers returns which hosts received something since the last call,
// checking each got exactly want.
func (l *lan) receivers(t *testing.T, want []byte) []int {
	t.Helper()
	var who []int
	for i := 1; i < len(l.hosts); i++ {
		got := l.hosts[i].take()
		if len(got) == 0 {
			continue
		}
		if len(got) != 1 || !bytes.Equal(got[0], want) {
			t.Errorf("host %d received %d frames or different bytes, want the one sent", i, len(got))
		}
		who = append(who, i)
	}
	return who
}

func TestSwitchLearnsFloodsAndForwards(t *testing.T) {
	l := newLAN(t, 4, SwitchConfig{})
	steps := []struct {
		from int
		dst  wire.MAC
		want []int
		why  string
	}{
		{1, mac(2), []int{2, 3, 4}, "2 unknown: flood to all but the ingress port"},
		{2, mac(1), []int{1}, "1 learned on port 1: forward there only"},
		{1, mac(2), []int{2}, "2 learned on port 2 by the reply"},
		{3, wire.BroadcastMAC, []int{1, 2, 4}, "broadcast floods"},
		{4, wire.MAC{0x01, 0x00, 0x5e, 0, 0, 1}, []int{1, 2, 3}, "multicast floods"},
		{4, mac(3), []int{3}, "3 learned from its broadcast"},
		{1, mac(9), []int{2, 3, 4}, "unknown unicast floods"},
	}
	for _, s := range steps {
		f := l.send(t, s.from, s.dst)
		if got := l.receivers(t, f); !slices.Equal(got, s.want) {
			t.Errorf("%d -> %v: received by %v, want %v (%s)", s.from, s.dst, got, s.want, s.why)
		}
	}
	fdb := l.sw.FDB()
	if len(fdb) != 4 {
		t.Fatalf("FDB has %d entries, want 4: %v", len(fdb), fdb)
	}
	for i, e := range fdb {
		if e.MAC != mac(byte(i+1)) || e.Port != l.ports[i+1] {
			t.Errorf("FDB[%d] = %v on %v, want %v on %v", i, e.MAC, e.Port, mac(byte(i+1)), l.ports[i+1])
		}
	}
	// Port counters: host 1 sent 3 frames and received 3 (one forwarded,
	// the broadcast and the multicast flooded).
	p1 := &l.ports[1].Stats
	if p1.TxFrames.Load() != 3 || p1.RxFrames.Load() != 3 || p1.Flooded.Load() != 2 {
		t.Errorf("port 1: tx %d rx %d flooded %d, want 3, 3, 2",
			p1.TxFrames.Load(), p1.RxFrames.Load(), p1.Flooded.Load())
	}
}

func TestSwitchNeverHairpins(t *testing.T) {
	l := newLAN(t, 3, SwitchConfig{})
	l.send(t, 1, wire.BroadcastMAC) // learn mac(1) on port 1
	l.drain()
	// A frame from port 1 to an address learned on port 1 (say, a second
	// host behind it) is filtered, not sent back out.
	f := ether(mac(1), mac(7), 64, 0)
	l.ports[1].Transmit(l.pool.Copy(pkt.MaxHeaderLen, f))
	if who := l.receivers(t, f); len(who) != 0 {
		t.Errorf("frame for port 1's address from port 1 reached %v, want nobody", who)
	}
	if n := l.ports[1].Stats.Filtered.Load(); n != 1 {
		t.Errorf("port 1 Filtered = %d, want 1", n)
	}
	// Floods never return to the ingress port either.
	for i := 1; i <= 3; i++ {
		f := l.send(t, i, wire.BroadcastMAC)
		if who := l.receivers(t, f); slices.Contains(who, i) {
			t.Errorf("host %d's broadcast came back to it", i)
		}
	}
}

func TestSwitchAgesEntries(t *testing.T) {
	l := newLAN(t, 3, SwitchConfig{AgeingTime: 10 * time.Second})
	l.send(t, 1, wire.BroadcastMAC)
	l.drain()
	l.clk.Advance(9 * time.Second)
	if p := l.sw.Lookup(mac(1)); p != l.ports[1] {
		t.Fatalf("Lookup after 9s = %v, want port1", p)
	}
	f := l.send(t, 2, mac(1))
	if who := l.receivers(t, f); !slices.Equal(who, []int{1}) {
		t.Errorf("before ageing, frame to 1 reached %v, want [1]", who)
	}
	l.clk.Advance(time.Second)
	if p := l.sw.Lookup(mac(1)); p != nil {
		t.Fatalf("Lookup after 10s = %v, want nil (aged out)", p)
	}
	f = l.send(t, 2, mac(1))
	if who := l.receivers(t, f); !slices.Equal(who, []int{1, 3}) {
		t.Errorf("after ageing, frame to 1 reached %v, want a flood to [1 3]", who)
	}
	// Host 2 was refreshed by its last send; host 1 is gone.
	if fdb := l.sw.FDB(); len(fdb) != 1 || fdb[0].MAC != mac(2) || fdb[0].Age != 0 {
		t.Errorf("FDB = %v, want just 2, age 0", fdb)
	}
	// Learning a new address sweeps aged entries out of the table.
	l.clk.Advance(time.Minute)
	l.send(t, 3, wire.BroadcastMAC)
	l.sw.mu.Lock()
	n := len(l.sw.fdb)
	l.sw.mu.Unlock()
	if n != 1 {
		t.Errorf("table holds %d entries after a sweep, want 1", n)
	}
}

func TestSwitchStationMoves(t *testing.T) {
	l := newLAN(t, 3, SwitchConfig{})
	l.send(t, 1, wire.BroadcastMAC)
	// mac(1) now appears behind port 3.
	l.ports[3].Transmit(l.pool.Copy(pkt.MaxHeaderLen, ether(wire.BroadcastMAC, mac(1), 64, 0)))
	if p := l.sw.Lookup(mac(1)); p != l.ports[3] {
		t.Errorf("after the move, mac(1) is on %v, want port3", p)
	}
}

func TestSwitchPortCloseForgetsAndStopsFlooding(t *testing.T) {
	l := newLAN(t, 3, SwitchConfig{})
	l.send(t, 1, wire.BroadcastMAC)
	l.send(t, 2, wire.BroadcastMAC)
	l.drain()
	l.ports[2].Close()
	if p := l.sw.Lookup(mac(2)); p != nil {
		t.Errorf("a closed port's address is still in the table, on %v", p)
	}
	if n := len(l.sw.Ports()); n != 2 {
		t.Errorf("switch has %d ports after one closed, want 2", n)
	}
	f := l.send(t, 1, wire.BroadcastMAC)
	if who := l.receivers(t, f); !slices.Equal(who, []int{3}) {
		t.Errorf("broadcast after port 2 closed reached %v, want [3]", who)
	}
	if l.ports[2].Stats.RxDropped.Load() != 0 {
		t.Error("flooding still tried the closed port")
	}
}

func TestSwitchDropsRunts(t *testing.T) {
	l := newLAN(t, 2, SwitchConfig{})
	l.ports[1].Transmit(l.pool.Copy(0, make([]byte, 13)))
	if n := l.ports[1].Stats.TxDropped.Load(); n != 1 {
		t.Errorf("TxDropped = %d for a 13-byte frame, want 1", n)
	}
	if l.hosts[2].n() != 0 {
		t.Error("a runt was forwarded")
	}
}

func TestSwitchFloodClonesWithoutCopying(t *testing.T) {
	l := newLAN(t, 8, SwitchConfig{})
	b := l.pool.Copy(pkt.MaxHeaderLen, ether(wire.BroadcastMAC, mac(1), 1514, 0))
	before := l.pool.Allocated()
	l.ports[1].Transmit(b)
	if n := l.pool.Allocated() - before; n != 0 {
		t.Errorf("flooding to 7 ports made %d chunks, want 0 (clones share the payload)", n)
	}
	for i := 2; i <= 8; i++ {
		if l.hosts[i].n() != 1 {
			t.Errorf("host %d got %d copies, want 1", i, l.hosts[i].n())
		}
	}
}

func TestSwitchSteadyStateAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under -race")
	}
	pool := pkt.NewPool(pkt.Options{})
	sw := NewSwitch(SwitchConfig{Clock: clock.NewManual(epoch)})
	defer sw.Close()
	var ports []*End
	for i := 1; i <= 4; i++ {
		p := sw.Port(Config{MAC: mac(byte(i))})
		p.Start(sink{pool})
		ports = append(ports, p)
	}
	uni := ether(mac(2), mac(1), 1514, 0)
	reply := ether(mac(1), mac(2), 1514, 0)
	ports[1].Transmit(pool.Copy(pkt.MaxHeaderLen, reply)) // learn both
	ports[0].Transmit(pool.Copy(pkt.MaxHeaderLen, uni))
	if a := testing.AllocsPerRun(1000, func() { ports[0].Transmit(pool.Copy(pkt.MaxHeaderLen, uni)) }); a != 0 {
		t.Errorf("known unicast through the switch allocates %v times per frame, want 0", a)
	}
	bcast := ether(wire.BroadcastMAC, mac(1), 1514, 0)
	if a := testing.AllocsPerRun(1000, func() { ports[0].Transmit(pool.Copy(pkt.MaxHeaderLen, bcast)) }); a != 0 {
		t.Errorf("a flood to 3 ports allocates %v times per frame, want 0", a)
	}
}

func TestSwitchPortImpairment(t *testing.T) {
	l := newLAN(t, 2, SwitchConfig{})
	p := l.sw.Port(Config{MAC: mac(3), Impair: fault.Impair{Delay: time.Millisecond}, Clock: l.clk})
	p.Start(&host{pool: l.pool})
	f := ether(mac(1), mac(3), 64, 0)
	p.Transmit(l.pool.Copy(pkt.MaxHeaderLen, f))
	if who := l.receivers(t, f); len(who) != 0 {
		t.Fatalf("delayed frame reached %v before the clock moved", who)
	}
	l.clk.Advance(time.Millisecond)
	if who := l.receivers(t, f); !slices.Equal(who, []int{1, 2}) {
		t.Errorf("delayed frame reached %v, want a flood to [1 2]", who)
	}
}

func TestSwitchPortNamesAndOffload(t *testing.T) {
	sw := NewSwitch(SwitchConfig{NoChecksumOffload: true})
	defer sw.Close()
	p1, p2 := sw.Port(Config{}), sw.Port(Config{Name: "uplink"})
	if fmt.Sprint(p1, " ", p2) != "port1 uplink" {
		t.Errorf("port names %v %v, want port1 uplink", p1, p2)
	}
	if p1.Caps().ChecksumOffload {
		t.Error("port reports checksum offload on a NoChecksumOffload switch")
	}
	if p1.Switch() != sw || p1.Peer() != nil {
		t.Error("a port's Switch()/Peer() are wrong")
	}
	sw.Close()
	if p1.Transmit(pkt.NewPool(pkt.Options{}).Get(0, 60)) != ErrClosed {
		t.Error("Transmit on a port of a closed switch did not fail with ErrClosed")
	}
	if sw.Port(Config{}) != nil {
		t.Error("Port on a closed switch returned a port")
	}
}

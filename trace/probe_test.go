package trace

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"ustack/clock"
	"ustack/wire"
)

func TestCommaPatterns(t *testing.T) {
	tr := New(nil)
	send, drop, recv := tr.Probe("tcp", "send"), tr.Probe("ip", "drop"), tr.Probe("ip", "receive")
	n := 0
	cancel := tr.Subscribe("tcp:::send, ip:::drop,tcp:::*", func(*Event) { n++ })
	defer cancel()
	if !send.Enabled() || !drop.Enabled() || recv.Enabled() {
		t.Fatalf("enabled: send %v drop %v receive %v; want true true false", send.Enabled(), drop.Enabled(), recv.Enabled())
	}
	send.Fire(&Event{})
	drop.Fire(&Event{})
	if n != 2 {
		t.Errorf("listener called %d times for two events, want 2 (once per event, though tcp:::send matches twice)", n)
	}
}

func TestWantsPayload(t *testing.T) {
	tr := New(nil)
	p := tr.Probe("tcp", "send")
	c1 := tr.Subscribe("tcp:::*", func(*Event) {})
	if p.WantsPayload() {
		t.Fatal("WantsPayload without WithPayload")
	}
	c2 := tr.Subscribe("tcp:::send", func(*Event) {}, WithPayload())
	if !p.WantsPayload() {
		t.Fatal("WantsPayload false with a WithPayload subscriber")
	}
	c2()
	if p.WantsPayload() || !p.Enabled() {
		t.Fatalf("after the payload subscriber left: WantsPayload %v Enabled %v; want false, true", p.WantsPayload(), p.Enabled())
	}
	c1()
	if p.WantsPayload() || p.Enabled() {
		t.Fatal("still enabled after every cancel")
	}
}

func TestPacketIDsUnique(t *testing.T) {
	a, b := New(nil), New(nil)
	seen := map[uint64]bool{}
	for range 100 {
		for _, id := range []uint64{a.NextPacketID(), b.NextPacketID()} {
			if id == 0 || seen[id] {
				t.Fatalf("packet id %d given twice (or zero)", id)
			}
			seen[id] = true
		}
	}
}

func TestEventString(t *testing.T) {
	tr := New(nil)
	a, b := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
	for _, tc := range []struct {
		probe string
		e     Event
		want  string
	}{
		{"tcp:::send", Event{Src: a, Dst: b, SrcPort: 80, DstPort: 5000, Segment: true, Seq: 1, Ack: 1,
			Flags: wire.TCPFlagACK | wire.TCPFlagPSH, Window: 502 << 7, WScale: 7, Len: 100, Detail: "ignored"},
			"tcp:::send 10.0.0.1:80 -> 10.0.0.2:5000 seq 1 ack 1 flags PSH|ACK win 502 len 100"},
		{"tcp:::state-change", Event{Src: a, SrcPort: 80, DstPort: 0, OldState: "LISTEN", NewState: "SYN_RCVD"},
			"tcp:::state-change 10.0.0.1:80 -> *:0 LISTEN -> SYN_RCVD"},
		{"tcp:::cwnd", Event{Src: a, Dst: b, SrcPort: 1, DstPort: 2, CWnd: 14480, Ssthresh: 7240, SRTT: 1234567 * time.Nanosecond, RTTVar: time.Millisecond, Reason: "rto"},
			"tcp:::cwnd 10.0.0.1:1 -> 10.0.0.2:2 cwnd 14480 ssthresh 7240 srtt 1.235ms rttvar 1ms reason: rto"},
		{"ip:::drop", Event{Dev: "eth0", Src: a, Dst: b, Len: 84, Reason: "bad header checksum"},
			"ip:::drop eth0 10.0.0.1 -> 10.0.0.2 len 84 reason: bad header checksum"},
		{"arp:::resolved", Event{Dev: "eth0", Dst: b, Detail: "10.0.0.2 is-at 02:00:00:00:00:02"},
			"arp:::resolved eth0 10.0.0.2 (10.0.0.2 is-at 02:00:00:00:00:02)"},
		{"netdev:::receive", Event{Dev: "eth0", Len: 60}, "netdev:::receive eth0 len 60"},
		{"ether:::receive", Event{Dev: "eth0", Len: 98, SrcMAC: wire.MAC{2, 0, 0, 0, 0, 1}, DstMAC: wire.BroadcastMAC, EtherType: wire.EtherTypeARP, Detail: "broadcast"},
			"ether:::receive eth0 02:00:00:00:00:01 > ff:ff:ff:ff:ff:ff type ARP len 98 (broadcast)"},
		{"ip:::send", Event{Dev: "eth0", Src: a, Dst: b, Len: 84, Proto: 1, TTL: 64, IPID: 7, Detail: ""},
			"ip:::send eth0 10.0.0.1 -> 10.0.0.2 ttl 64 id 7 len 84"},
		{"ip:::forward", Event{Dev: "eth1", Src: a, Dst: b, Len: 84, TTL: 63, IPID: 7, Detail: "eth0 -> eth1 via 10.0.0.2"},
			"ip:::forward eth1 10.0.0.1 -> 10.0.0.2 ttl 63 id 7 len 84 (eth0 -> eth1 via 10.0.0.2)"},
		{"ip:::fragment", Event{Src: a, Dst: b, Len: 1500, IPID: 5, FragOffset: 0, MoreFrags: true},
			"ip:::fragment 10.0.0.1 -> 10.0.0.2 id 5 offset 0 len 1500 mf"},
		{"ip:::fragment", Event{Src: a, Dst: b, Len: 60, IPID: 5, FragOffset: 2960},
			"ip:::fragment 10.0.0.1 -> 10.0.0.2 id 5 offset 2960 len 60"},
		{"ip:::reassembled", Event{Src: a, Dst: b, Len: 3020, IPID: 5, Frags: 3},
			"ip:::reassembled 10.0.0.1 -> 10.0.0.2 id 5 len 3020 from 3 fragments"},
	} {
		prov, name, _ := strings.Cut(tc.probe, ":::")
		tc.e.Probe = tr.Probe(prov, name)
		if got := tc.e.String(); got != tc.want {
			t.Errorf("String() =\n%q, want\n%q", got, tc.want)
		}
	}
}

func TestWalker(t *testing.T) {
	tr := New(nil)
	t0 := time.Unix(1000, 0)
	rx, ip, drop := tr.Probe("netdev", "receive"), tr.Probe("ip", "receive"), tr.Probe("ip", "drop")
	var got []*Walk
	w := NewWalker(time.Second, func(wk *Walk) { got = append(got, wk) })
	ev := func(p *Probe, id uint64, at time.Duration) {
		w.Add(&Event{Probe: p, PktID: id, Time: t0.Add(at), Payload: []byte("x")})
	}
	ev(rx, 1, 0)
	ev(rx, 2, 10*time.Microsecond)
	ev(rx, 0, 15*time.Microsecond) // no id: ignored
	ev(ip, 1, 20*time.Microsecond)
	ev(ip, 2, 30*time.Microsecond)
	ev(drop, 2, 35*time.Microsecond) // ends walk 2 at once
	if len(got) != 1 || got[0].PktID != 2 || len(got[0].Steps) != 3 {
		t.Fatalf("after packet 2's drop: walks %v, want packet 2's, 3 stages", got)
	}
	if s := got[0].Spent(0); s != 20*time.Microsecond {
		t.Errorf("packet 2 spent %v in netdev:::receive, want 20µs", s)
	}
	if got[0].Steps[0].Payload != nil {
		t.Error("a walk keeps payloads")
	}
	w.Expire(t0.Add(500 * time.Millisecond))
	if len(got) != 1 {
		t.Fatalf("Expire before the idle time ended %d walks", len(got)-1)
	}
	w.Expire(t0.Add(2 * time.Second))
	if len(got) != 2 || got[1].PktID != 1 || got[1].Duration() != 20*time.Microsecond {
		t.Fatalf("Expire after the idle time: %v, want packet 1's walk of 20µs", got)
	}
	want := "packet 1: 2 stages in 20µs\n" +
		"         +0s       20µs  netdev:::receive\n" +
		"       +20µs          -  ip:::receive\n"
	if s := got[1].String(); s != want {
		t.Errorf("String() =\n%s\nwant\n%s", s, want)
	}

	// Past MaxOpenWalks the oldest ends; past MaxWalkSteps a walk is
	// truncated.
	got = nil
	for i := range MaxOpenWalks + 1 {
		ev(rx, uint64(100+i), time.Duration(i))
	}
	if len(got) != 1 || got[0].PktID != 100 {
		t.Fatalf("one walk over the limit: %d ended, want packet 100's", len(got))
	}
	for range MaxWalkSteps + 5 {
		ev(ip, 101, time.Hour)
	}
	w.Flush()
	i := slices.IndexFunc(got, func(wk *Walk) bool { return wk.PktID == 101 })
	if len(got) != MaxOpenWalks+1 || i < 0 || !got[i].Truncated || len(got[i].Steps) != MaxWalkSteps {
		t.Fatalf("Flush ended %d walks, want %d, packet 101's truncated at %d steps", len(got), MaxOpenWalks+1, MaxWalkSteps)
	}
	if !slices.IsSortedFunc(got[1:], func(a, b *Walk) int { return a.Steps[0].Time.Compare(b.Steps[0].Time) }) {
		t.Error("Flush ended walks out of order")
	}
}

// BenchmarkEnabledProbe is the cost of one event fired to one trivial
// listener: building the event, stamping it, calling the listener.
func BenchmarkEnabledProbe(b *testing.B) {
	tr := New(clock.Real())
	p := tr.Probe("tcp", "send")
	n := 0
	cancel := tr.Subscribe("tcp:::send", func(*Event) { n++ })
	defer cancel()
	src, dst := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if p.Enabled() {
			p.Fire(&Event{PktID: uint64(i), Len: 1448, Proto: 6, Src: src, Dst: dst, SrcPort: 80, DstPort: 5000,
				Segment: true, Seq: uint32(i), Ack: 1, Flags: wire.TCPFlagACK, Window: 65535})
		}
	}
	if n == 0 {
		b.Fatal("listener never called")
	}
}

// An enabled probe allocates nothing: the event a probe site builds stays
// on its stack, and listeners are lent a pooled copy.
func TestEnabledProbeAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop items at random")
	}
	tr := New(nil)
	p := tr.Probe("tcp", "send")
	var seen uint32
	defer tr.Subscribe("tcp:::*", func(e *Event) { seen = e.Seq })()
	src := netip.MustParseAddr("10.0.0.1")
	i := uint32(0)
	allocs := testing.AllocsPerRun(1000, func() {
		i++
		if p.Enabled() {
			p.Fire(&Event{Src: src, Segment: true, Seq: i, Reason: "x"})
		}
	})
	if allocs != 0 {
		t.Errorf("enabled probe: %v allocations per event, want 0", allocs)
	}
	if seen != i {
		t.Errorf("listener saw seq %d, want %d", seen, i)
	}
}

package pcap

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"

	"ustack/clock"
	"ustack/drivers/loopback"
	"ustack/netdev"
	"ustack/pcapng"
	"ustack/pkt"
	"ustack/wire"
)

var (
	ownMAC   = wire.MAC{2, 0, 0, 0, 0, 1}
	otherMAC = wire.MAC{2, 0, 0, 0, 0, 2}
)

func ethFrame(pool *pkt.Pool, dst wire.MAC, payload string) *pkt.Buf {
	f := make([]byte, wire.EthernetHeaderLen+len(payload))
	copy(f, dst[:])
	copy(f[6:], otherMAC[:])
	f[12], f[13] = 0x88, 0xb5 // local experimental EtherType
	copy(f[wire.EthernetHeaderLen:], payload)
	return pool.Copy(pkt.MaxHeaderLen, f)
}

// A full queue drops and counts, without copying; a stopped capture
// ignores frames; each frame is a copy, stamped, classified and cut to
// the snapshot length.
func TestRecord(t *testing.T) {
	pool := pkt.NewPool(pkt.Options{Checked: true})
	clk := clock.NewManual(time.Unix(1000, 0))
	c := New(Options{Queue: 4, SnapLen: 20, Clock: clk})
	i := c.AddInterface("eth0", netdev.Caps{Link: netdev.LinkEthernet, MTU: 1500, MAC: ownMAC})
	if i.ID() != 0 || i.Name() != "eth0" || i.LinkType() != pcapng.LinkEthernet {
		t.Fatalf("interface %d %s %v", i.ID(), i.Name(), i.LinkType())
	}
	cases := []struct {
		dst  wire.MAC
		dir  netdev.Direction
		want pcapng.Reception
	}{
		{ownMAC, netdev.Inbound, pcapng.RxUnicast},
		{wire.BroadcastMAC, netdev.Inbound, pcapng.RxBroadcast},
		{wire.MAC{1, 0, 0x5e, 0, 0, 1}, netdev.Inbound, pcapng.RxMulticast},
		{otherMAC, netdev.Inbound, pcapng.RxPromiscuous},
		{otherMAC, netdev.Outbound, pcapng.RxUnspecified}, // dropped: queue full
		{otherMAC, netdev.Outbound, pcapng.RxUnspecified}, // dropped
	}
	for k, tc := range cases {
		b := ethFrame(pool, tc.dst, strings.Repeat(string(rune('a'+k)), 10))
		b.ID = uint64(k + 1)
		i.Record(b, tc.dir)
		b.Free()
		clk.Advance(time.Millisecond)
	}
	if s := c.Stats(); s != (Stats{Captured: 4, Dropped: 2}) {
		t.Errorf("Stats = %+v, want 4 captured, 2 dropped", s)
	}
	for k := range 4 {
		f := <-c.Frames()
		tc := cases[k]
		if f.Iface != 0 || f.Dir != tc.dir || f.Reception != tc.want || f.PktID != uint64(k+1) || f.Len != 24 || len(f.Data) != 20 ||
			!f.Time.Equal(time.Unix(1000, int64(k)*int64(time.Millisecond))) || f.Data[19] != byte('a'+k) {
			t.Errorf("frame %d = %+v", k, f)
		}
		f.Release()
	}
	c.Stop()
	b := ethFrame(pool, ownMAC, "late")
	i.Record(b, netdev.Inbound)
	b.Free()
	if s := c.Stats(); s != (Stats{Captured: 4, Dropped: 2}) || len(c.Frames()) != 0 {
		t.Errorf("after Stop: Stats = %+v, %d queued; want nothing more", s, len(c.Frames()))
	}
	if n := pool.Live(); n != 0 {
		t.Errorf("%d buffers live: the capture kept a frame it was lent", n)
	}
}

// Attach taps a running device in both directions; Stop takes the tap
// off. A frame larger than the pooled buffers is captured whole.
func TestAttach(t *testing.T) {
	pool := pkt.NewPool(pkt.Options{Checked: true})
	r := netdev.NewRegistry(netdev.Config{Pool: pool})
	defer r.Close()
	lo, err := r.Register("lo", loopback.New())
	if err != nil {
		t.Fatal(err)
	}
	r.SetUp(lo, true)
	c := New(Options{})
	i := c.Attach(lo)
	if i.LinkType() != pcapng.LinkRaw || i.Description().Name != "lo" {
		t.Errorf("lo described as %+v", i.Description())
	}
	send := func(n int) {
		b := pool.Get(pkt.MaxHeaderLen, 0)
		p := make([]byte, n)
		p[0] = 0x45
		b.AppendBytes(p)
		lo.Transmit(b)
	}
	send(100)
	send(5000) // bigger than a pooled buffer
	var got []string
	for range 4 {
		select {
		case f := <-c.Frames():
			got = append(got, f.Dir.String()+" "+string(rune('0'+len(f.Data)/1000)))
			f.Release()
		case <-time.After(5 * time.Second):
			t.Fatalf("frames so far %q, want 4", got)
		}
	}
	slices.Sort(got) // inbound frames come through softnet, later
	if strings.Join(got, ",") != "in 0,in 5,out 0,out 5" {
		t.Errorf("frames %q, want out and in of each", got)
	}
	c.Stop()
	send(100)
	time.Sleep(50 * time.Millisecond)
	if s := c.Stats(); s.Captured != 4 || len(c.Frames()) != 0 {
		t.Errorf("after Stop: %+v, %d queued", s, len(c.Frames()))
	}
}

// The Writer describes every interface, frames or none, writes the frames
// with their metadata, and ends with each interface's counts.
func TestWriter(t *testing.T) {
	pool := pkt.NewPool(pkt.Options{})
	c := New(Options{Queue: 2, Clock: clock.NewManual(time.Unix(5, 0))})
	eth := c.AddInterface("eth0", netdev.Caps{Link: netdev.LinkEthernet, MTU: 1500, MAC: ownMAC, ChecksumOffload: true})
	var file bytes.Buffer
	w, err := NewWriter(&file, c)
	if err != nil {
		t.Fatal(err)
	}
	tun := c.AddInterface("tun0", netdev.Caps{Link: netdev.LinkIP, MTU: 1400})
	c.AddInterface("idle0", netdev.Caps{Link: netdev.LinkEthernet, MTU: 9000})
	b := ethFrame(pool, ownMAC, "to eth0")
	b.ID = 42
	eth.Record(b, netdev.Inbound)
	b.Free()
	for range 50 { // enough to overflow a queue of 2 now and then
		b = pool.Copy(pkt.MaxHeaderLen, []byte{0x45, 0, 0, 20})
		tun.Record(b, netdev.Outbound)
		b.Free()
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}

	r, err := pcapng.NewReader(&file)
	if err != nil {
		t.Fatal(err)
	}
	if s := r.Section(); s.UserAppl != "ustack" {
		t.Errorf("section %+v", s)
	}
	var n [2]int
	for {
		p, err := r.Next()
		if err != nil {
			break
		}
		n[p.Interface]++
		if p.Interface == 0 && (p.PacketID != 42 || p.Direction != pcapng.DirInbound || p.Reception != pcapng.RxUnicast || string(p.Data[14:]) != "to eth0") {
			t.Errorf("eth0 packet %+v", p)
		}
		if p.Interface == 1 && (p.Direction != pcapng.DirOutbound || len(p.Data) != 4 || !p.Time.Equal(time.Unix(5, 0))) {
			t.Errorf("tun0 packet %+v", p)
		}
	}
	ifs := r.Interfaces()
	if len(ifs) != 3 || ifs[0].Name != "eth0" || ifs[0].MAC != [6]byte(ownMAC) || ifs[1].LinkType != pcapng.LinkRaw || ifs[2].Name != "idle0" ||
		!strings.Contains(ifs[0].Description, "checksum offload") || !strings.Contains(ifs[2].Description, "MTU 9000") {
		t.Errorf("interfaces %+v", ifs)
	}
	st := r.Stats()
	ts := tun.Stats()
	if len(st) != 3 || st[1].Received != 50 || st[1].Dropped != ts.Dropped || int(ts.Captured) != n[1] || n[0] != 1 || st[2].Received != 0 {
		t.Errorf("stats %+v; tun0 %+v, packets per interface %v", st, ts, n)
	}
}

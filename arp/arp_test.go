package arp

import (
	"net/netip"
	"sync"
	"testing"
	"time"

	"ustack/clock"
	"ustack/ifaddr"
	"ustack/neigh"
	"ustack/netdev"
	"ustack/pkt"
	"ustack/stats"
	"ustack/wire"
)

// cable is a minimal in-test wire: what one end transmits, the other
// receives. Frames can be dropped by a filter.
type cable struct {
	caps netdev.Caps
	rx   netdev.Receiver
	peer *cable
	mu   sync.Mutex
	drop func(b []byte) bool
	sent []wire.ARPHeader
}

func (c *cable) Caps() netdev.Caps              { return c.caps }
func (c *cable) Start(rx netdev.Receiver) error { c.rx = rx; return nil }
func (c *cable) Close() error                   { return nil }
func (c *cable) Transmit(b *pkt.Buf) error {
	data := b.Bytes()
	var eth wire.EthernetHeader
	eth.Parse(data)
	c.mu.Lock()
	if eth.EtherType == wire.EtherTypeARP {
		var a wire.ARPHeader
		a.Parse(data[wire.EthernetHeaderLen:])
		c.sent = append(c.sent, a)
	}
	drop := c.drop != nil && c.drop(data)
	c.mu.Unlock()
	if drop || c.peer == nil || c.peer.rx == nil {
		b.Free()
		return nil
	}
	c.peer.rx.Receive(c.peer.rx.Pool().Copy(pkt.MaxHeaderLen, data))
	b.Free()
	return nil
}

func (c *cable) arps() []wire.ARPHeader {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]wire.ARPHeader(nil), c.sent...)
}

type host struct {
	reg   *netdev.Registry
	addrs *ifaddr.Table
	cache *neigh.Table
	arp   *Proto
	stats *stats.ARP
	dev   *netdev.Device
	wire  *cable
	pool  *pkt.Pool
	mu    sync.Mutex
	got   []string // IPv4 payloads delivered
	unrch int
}

func newHost(t *testing.T, clk clock.Clock, mac wire.MAC, addr string, cfg neigh.Config) *host {
	h := &host{stats: new(stats.ARP), pool: pkt.NewPool(pkt.Options{Checked: true})}
	h.reg = netdev.NewRegistry(netdev.Config{Clock: clk, Pool: h.pool})
	h.addrs = ifaddr.New(h.reg)
	h.cache = neigh.New(cfg, clk, h.stats, h.reg.Tracer())
	h.arp = New(h.reg, h.addrs, h.cache, h.stats)
	h.cache.SetUnreachable(func(dev *netdev.Device, b *pkt.Buf) {
		h.mu.Lock()
		h.unrch++
		h.mu.Unlock()
		b.Free()
	})
	h.reg.RegisterHandler(wire.EtherTypeIPv4, func(dev *netdev.Device, b *pkt.Buf) {
		h.mu.Lock()
		h.got = append(h.got, string(b.Bytes()))
		h.mu.Unlock()
		b.Free()
	})
	h.wire = &cable{caps: netdev.Caps{Link: netdev.LinkEthernet, MTU: 1500, MAC: mac}}
	var err error
	if h.dev, err = h.reg.Register("eth0", h.wire); err != nil {
		t.Fatal(err)
	}
	h.reg.SetUp(h.dev, true)
	if err := h.addrs.Add(h.dev, netip.MustParsePrefix(addr)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		h.reg.Close()
		h.cache.Close()
		if n := h.pool.Live(); n != 0 {
			t.Errorf("%v: pool.Live() = %d, want 0", mac, n)
		}
	})
	return h
}

func (h *host) delivered() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.got...)
}

func (h *host) send(to string, payload string) {
	h.cache.Output(h.dev, netip.MustParseAddr(to), h.pool.Copy(pkt.MaxHeaderLen, []byte(payload)))
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

var (
	macA = wire.MAC{2, 0, 0, 0, 0, 0xa}
	macB = wire.MAC{2, 0, 0, 0, 0, 0xb}
)

func pair(t *testing.T, cfg neigh.Config) (*clock.Manual, *host, *host) {
	clk := clock.NewManual(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	a := newHost(t, clk, macA, "10.0.0.1/24", cfg)
	b := newHost(t, clk, macB, "10.0.0.2/24", cfg)
	a.wire.peer, b.wire.peer = b.wire, a.wire
	return clk, a, b
}

func TestResolveQueueAndDeliver(t *testing.T) {
	_, a, b := pair(t, neigh.Config{})
	a.send("10.0.0.2", "one")
	a.send("10.0.0.2", "two")
	eventually(t, "both packets at B", func() bool { return len(b.delivered()) == 2 })
	if got := b.delivered(); got[0] != "one" || got[1] != "two" {
		t.Fatalf("B got %q, want [one two] in order", got)
	}
	mac, st, ok := a.cache.Lookup(a.dev.Index(), netip.MustParseAddr("10.0.0.2"))
	if !ok || mac != macB || st != neigh.Reachable {
		t.Fatalf("A's entry for B = %v %v %v, want %v REACHABLE", mac, st, ok, macB)
	}
	// B learnt A from the request addressed to it (RFC 826), as STALE.
	if mac, st, ok := b.cache.Lookup(b.dev.Index(), netip.MustParseAddr("10.0.0.1")); !ok || mac != macA || st != neigh.Stale {
		t.Fatalf("B's entry for A = %v %v %v, want %v STALE", mac, st, ok, macA)
	}
	if a.stats.OutRequests.Load() != 1 || a.stats.Resolved.Load() != 1 || b.stats.OutReplies.Load() != 1 {
		t.Fatalf("OutRequests=%d Resolved=%d (A), OutReplies=%d (B); want 1 each",
			a.stats.OutRequests.Load(), a.stats.Resolved.Load(), b.stats.OutReplies.Load())
	}
	// Now known: the next packet goes out with no new request.
	a.send("10.0.0.2", "three")
	eventually(t, "third packet", func() bool { return len(b.delivered()) == 3 })
	if a.stats.OutRequests.Load() != 1 {
		t.Fatalf("OutRequests = %d after the entry was known, want 1", a.stats.OutRequests.Load())
	}
}

func TestResolutionFailsAfterRetries(t *testing.T) {
	clk, a, _ := pair(t, neigh.Config{QueueLen: 2})
	a.send("10.0.0.99", "x")
	a.send("10.0.0.99", "y")
	a.send("10.0.0.99", "z") // the queue holds 2: the oldest makes room
	if n := a.stats.UnresolvedDiscards.Load(); n != 1 {
		t.Fatalf("UnresolvedDiscards = %d after overflowing the queue, want 1", n)
	}
	for i := 0; i < 3; i++ {
		clk.Advance(time.Second)
	}
	eventually(t, "failure", func() bool { return a.stats.ResFailed.Load() == 1 })
	if n := a.stats.OutRequests.Load(); n != 3 {
		t.Fatalf("requests sent = %d, want 3 (mcast_solicit)", n)
	}
	a.mu.Lock()
	unrch := a.unrch
	a.mu.Unlock()
	if unrch != 2 {
		t.Fatalf("unreachable handler got %d packets, want 2", unrch)
	}
	if _, st, _ := a.cache.Lookup(a.dev.Index(), netip.MustParseAddr("10.0.0.99")); st != neigh.Failed {
		t.Fatalf("state = %v, want FAILED", st)
	}
	// While FAILED lingers, new packets are refused at once.
	a.send("10.0.0.99", "w")
	if n := a.stats.OutRequests.Load(); n != 3 {
		t.Fatalf("a packet to a FAILED neighbour sent a request")
	}
}

func TestUnsolicitedReplyCreatesNoEntry(t *testing.T) {
	_, a, b := pair(t, neigh.Config{})
	// B sends a reply nobody asked for.
	b.arp.send(b.dev, wire.ARPReply, macB, netip.MustParseAddr("10.0.0.2"), macA, netip.MustParseAddr("10.0.0.1"), macA)
	eventually(t, "reply counted", func() bool { return a.stats.InReplies.Load() == 1 })
	if a.stats.InUnsolicited.Load() != 1 {
		t.Fatalf("InUnsolicited = %d, want 1", a.stats.InUnsolicited.Load())
	}
	if a.cache.Exists(a.dev.Index(), netip.MustParseAddr("10.0.0.2")) {
		t.Fatal("an unsolicited reply created a cache entry")
	}
}

func TestGratuitousOnAddressAddAndConflictIgnored(t *testing.T) {
	_, a, b := pair(t, neigh.Config{})
	a.send("10.0.0.2", "hello")
	eventually(t, "resolution", func() bool { return len(b.delivered()) == 1 })
	// B gets a second address: it is announced.
	before := len(b.wire.arps())
	if err := b.addrs.Add(b.dev, netip.MustParsePrefix("10.0.0.3/24")); err != nil {
		t.Fatal(err)
	}
	arps := b.wire.arps()[before:]
	if len(arps) != 1 || arps[0].SenderIP != arps[0].TargetIP || arps[0].SenderIP != netip.MustParseAddr("10.0.0.3") {
		t.Fatalf("announcement = %+v, want one gratuitous request for 10.0.0.3", arps)
	}
	if b.stats.OutGratuitous.Load() != 2 { // the first address was announced too
		t.Fatalf("OutGratuitous = %d, want 2", b.stats.OutGratuitous.Load())
	}
	// A claims B's address: B must not put A in its cache under its own address.
	a.arp.send(a.dev, wire.ARPRequest, macA, netip.MustParseAddr("10.0.0.2"), wire.MAC{}, netip.MustParseAddr("10.0.0.2"), wire.BroadcastMAC)
	eventually(t, "conflict counted", func() bool { return b.stats.InBadSender.Load() == 1 })
}

func TestStaticEntryAndProbeLifecycle(t *testing.T) {
	clk, a, b := pair(t, neigh.Config{})
	if err := a.cache.SetStatic(a.dev, netip.MustParseAddr("10.0.0.7"), macB); err != nil {
		t.Fatal(err)
	}
	a.send("10.0.0.7", "static")
	eventually(t, "static delivery", func() bool { return len(b.delivered()) == 1 })
	if a.stats.OutRequests.Load() != 0 {
		t.Fatal("a permanent entry caused a request")
	}
	// Resolve B, then let reachability lapse: the next use probes by
	// unicast; with B silent (its replies dropped) the entry fails.
	a.send("10.0.0.2", "x")
	eventually(t, "resolve", func() bool { return len(b.delivered()) == 2 })
	b.wire.mu.Lock()
	b.wire.drop = func([]byte) bool { return true }
	b.wire.mu.Unlock()
	clk.Advance(31 * time.Second)
	a.send("10.0.0.2", "y") // REACHABLE lapsed → DELAY
	if _, st, _ := a.cache.Lookup(a.dev.Index(), netip.MustParseAddr("10.0.0.2")); st != neigh.Delay {
		t.Fatalf("state after lapse = %v, want DELAY", st)
	}
	clk.Advance(5 * time.Second) // → PROBE, first unicast probe
	for i := 0; i < 3; i++ {
		clk.Advance(time.Second)
	}
	if _, st, _ := a.cache.Lookup(a.dev.Index(), netip.MustParseAddr("10.0.0.2")); st != neigh.Failed {
		t.Fatalf("state after unanswered probes = %v, want FAILED", st)
	}
	var unicast int
	for _, r := range a.wire.arps() {
		if r.Op == wire.ARPRequest && r.TargetIP == netip.MustParseAddr("10.0.0.2") {
			unicast++
		}
	}
	if unicast != 4 { // 1 broadcast request + 3 unicast probes
		t.Fatalf("requests for B = %d, want 4", unicast)
	}
}

func TestTableBoundEvicts(t *testing.T) {
	_, a, _ := pair(t, neigh.Config{MaxEntries: 4})
	for i := 0; i < 4; i++ {
		a.cache.SetStatic(a.dev, netip.AddrFrom4([4]byte{10, 0, 0, byte(100 + i)}), macB)
	}
	// Every slot permanent: no room, counted.
	a.send("10.0.0.50", "x")
	if a.stats.TableFulls.Load() != 1 {
		t.Fatalf("TableFulls = %d, want 1", a.stats.TableFulls.Load())
	}
	a.cache.Delete(a.dev.Index(), netip.MustParseAddr("10.0.0.100"))
	a.send("10.0.0.51", "y")
	if got := len(a.cache.Entries()); got != 4 {
		t.Fatalf("entries = %d, want 4", got)
	}
}

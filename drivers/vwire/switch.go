// A learning switch, like a Linux bridge (net/bridge: br_handle_frame,
// br_fdb_update, br_forward, br_flood). Read IEEE 802.1D §7-8 (the
// forwarding process and the filtering database) before editing.
//
// Each port learns the source addresses of the frames that enter it; an
// entry not refreshed within the ageing time is forgotten. A frame to a
// known unicast address goes out of that one port; a frame to an unknown,
// broadcast or multicast address is flooded to every other port, each copy
// a Clone. No frame leaves by the port it came in by.
package vwire

import (
	"bytes"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"ustack/clock"
	"ustack/pkt"
	"ustack/wire"
)

// DefaultAgeingTime is how long a learned address lives unrefreshed, as in
// 802.1D and Linux's bridge (300s).
const DefaultAgeingTime = 300 * time.Second

// SwitchConfig configures a Switch.
type SwitchConfig struct {
	// Clock ages the forwarding table (nil: clock.Real()).
	Clock clock.Clock
	// AgeingTime is how long a learned address lives (0: 300s).
	AgeingTime time.Duration
	// NoChecksumOffload makes every port report no checksum offload:
	// set it when some port corrupts frames.
	NoChecksumOffload bool
}

// FDBEntry is one learned address, as `bridge fdb show` lists it.
type FDBEntry struct {
	MAC  wire.MAC
	Port *End
	// Age is the time since a frame from MAC was last seen.
	Age time.Duration
}

// Switch is a learning Ethernet switch. Its ports are Ends: plug a host
// into one by registering the End as the host's device driver.
//
// Lock order: Switch.mu, then nothing; no lock is held while delivering.
type Switch struct {
	clk       clock.Clock
	ageing    time.Duration
	noOffload bool
	ports     atomic.Pointer[[]*End] // copy on write, under mu

	mu        sync.Mutex
	fdb       map[wire.MAC]fdbEntry
	lastSweep time.Time
	nports    int
	closed    bool
}

type fdbEntry struct {
	port *End
	seen time.Time
}

// NewSwitch returns a switch with no ports.
func NewSwitch(cfg SwitchConfig) *Switch {
	if cfg.Clock == nil {
		cfg.Clock = clock.Real()
	}
	if cfg.AgeingTime <= 0 {
		cfg.AgeingTime = DefaultAgeingTime
	}
	s := &Switch{clk: cfg.Clock, ageing: cfg.AgeingTime, noOffload: cfg.NoChecksumOffload,
		fdb: make(map[wire.MAC]fdbEntry)}
	s.ports.Store(new([]*End))
	return s
}

// Port adds a port and returns its host side, configured by cfg; cfg's
// Impair applies to the frames the host sends into the switch (cf.
// br_add_if). It returns nil if the switch is closed. Context: process.
func (s *Switch) Port(cfg Config) *End {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.nports++
	if cfg.Name == "" {
		cfg.Name = "port" + strconv.Itoa(s.nports)
	}
	cfg.NoChecksumOffload = cfg.NoChecksumOffload || s.noOffload
	e := newEnd(cfg, streamPort+uint64(s.nports), false)
	e.sw = s
	ports := append(slices.Clone(*s.ports.Load()), e)
	s.ports.Store(&ports)
	return e
}

// Ports returns the switch's ports, in the order they were added.
func (s *Switch) Ports() []*End { return slices.Clone(*s.ports.Load()) }

// Lookup returns the port on which mac was learned, or nil if it is
// unknown or aged out.
func (s *Switch) Lookup(mac wire.MAC) *End {
	now := s.clk.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.fdb[mac]; ok && now.Sub(e.seen) < s.ageing {
		return e.port
	}
	return nil
}

// FDB returns the live forwarding table, sorted by address.
func (s *Switch) FDB() []FDBEntry {
	now := s.clk.Now()
	s.mu.Lock()
	out := make([]FDBEntry, 0, len(s.fdb))
	for mac, e := range s.fdb {
		if age := now.Sub(e.seen); age < s.ageing {
			out = append(out, FDBEntry{MAC: mac, Port: e.port, Age: age})
		}
	}
	s.mu.Unlock()
	slices.SortFunc(out, func(a, b FDBEntry) int { return bytes.Compare(a.MAC[:], b.MAC[:]) })
	return out
}

// Close closes every port. Context: process.
func (s *Switch) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	for _, p := range *s.ports.Load() {
		p.Close()
	}
	return nil
}

// removePort takes a closed port out of the switch and forgets the
// addresses learned on it (cf. br_fdb_delete_by_port).
func (s *Switch) removePort(e *End) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ports := slices.DeleteFunc(slices.Clone(*s.ports.Load()), func(p *End) bool { return p == e })
	s.ports.Store(&ports)
	for mac, f := range s.fdb {
		if f.port == e {
			delete(s.fdb, mac)
		}
	}
}

// input is a frame entering the switch by port in, taking ownership (cf.
// br_handle_frame_finish): learn its source, then forward or flood it.
// Context: any (the sending host's, or an impairment timer's).
func (s *Switch) input(in *End, b *pkt.Buf) {
	h := b.Peek(wire.EthernetHeaderLen)
	if h == nil {
		in.Stats.TxDropped.Inc()
		b.Free()
		return
	}
	eth, _ := wire.ParseEthernetView(h) // length checked by Peek
	dst, src := eth.Dst(), eth.Src()
	now := s.clk.Now()
	var out *End
	s.mu.Lock()
	if !src.IsMulticast() && !src.IsZero() && !in.closed.Load() {
		s.learnLocked(in, src, now)
	}
	if !dst.IsMulticast() {
		if f, ok := s.fdb[dst]; ok && now.Sub(f.seen) < s.ageing {
			out = f.port
		}
	}
	s.mu.Unlock()
	switch {
	case out == in:
		in.Stats.Filtered.Inc()
		b.Free()
	case out != nil:
		out.deliver(b, false)
	default:
		s.flood(in, b)
	}
}

// learnLocked records that src is reachable by port in (cf. br_fdb_update).
func (s *Switch) learnLocked(in *End, src wire.MAC, now time.Time) {
	if f, ok := s.fdb[src]; ok {
		f.port, f.seen = in, now // refresh, or the station moved
		s.fdb[src] = f
		return
	}
	if now.Sub(s.lastSweep) >= s.ageing/2 {
		s.sweepLocked(now)
	}
	s.fdb[src] = fdbEntry{port: in, seen: now}
}

// sweepLocked forgets aged entries (cf. br_fdb_cleanup), lazily: it runs
// when a new address is learned, at most twice per ageing time.
func (s *Switch) sweepLocked(now time.Time) {
	s.lastSweep = now
	for mac, f := range s.fdb {
		if now.Sub(f.seen) >= s.ageing {
			delete(s.fdb, mac)
		}
	}
}

// flood sends b out of every running port but in (cf. br_flood): Clones
// to all but the last, which gets b itself.
func (s *Switch) flood(in *End, b *pkt.Buf) {
	var last *End
	for _, p := range *s.ports.Load() {
		if p == in || !p.running() {
			continue
		}
		if last != nil {
			last.deliver(b.Clone(), true)
		}
		last = p
	}
	if last == nil {
		b.Free()
		return
	}
	last.deliver(b, true)
}

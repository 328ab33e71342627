// Package neigh is the neighbour cache: the map from a next-hop IPv4
// address on a device to a link-layer address, with the resolution state
// machine and the bounded queue of packets waiting for an answer (cf.
// Linux net/core/neighbour.c). ARP (package arp) is the protocol that
// feeds it; IP output calls Output.
//
// States follow Linux's NUD_*: INCOMPLETE (asking), REACHABLE (confirmed
// recently), STALE (usable, unconfirmed), DELAY and PROBE (used while
// stale: confirm by unicast probes), FAILED, PERMANENT (static).
//
// Read before editing: RFC 826; RFC 1122 §2.3.2 (ARP cache validation,
// flooding limits, queueing); RFC 4861 §7.3 for the state machine Linux
// applies to ARP as well.
package neigh

import (
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"sync"
	"time"

	"ustack/clock"
	"ustack/netdev"
	"ustack/pkt"
	"ustack/stats"
	"ustack/trace"
	"ustack/wire"
)

// State is a neighbour entry's state.
type State uint8

const (
	Incomplete State = iota + 1
	Reachable
	Stale
	Delay
	Probe
	Failed
	Permanent
)

func (s State) String() string {
	switch s {
	case Incomplete:
		return "INCOMPLETE"
	case Reachable:
		return "REACHABLE"
	case Stale:
		return "STALE"
	case Delay:
		return "DELAY"
	case Probe:
		return "PROBE"
	case Failed:
		return "FAILED"
	case Permanent:
		return "PERMANENT"
	}
	return "NUD?"
}

// Errors of the neighbour cache.
var (
	ErrTableFull = errors.New("neigh: table full")
	ErrNotFound  = errors.New("neigh: no such entry")
)

// Config tunes a Table; zero fields take Linux's defaults.
type Config struct {
	ReachableTime time.Duration // 30s (base_reachable_time)
	RetransTime   time.Duration // 1s between solicitations
	DelayTime     time.Duration // 5s (delay_first_probe_time)
	MaxMulticast  int           // 3 broadcast requests (mcast_solicit)
	MaxUnicast    int           // 3 unicast probes (ucast_solicit)
	QueueLen      int           // 101 packets waiting per entry (unres_qlen)
	MaxEntries    int           // 1024 (gc_thresh3)
	StaleTime     time.Duration // 60s: unused stale entries are collected
	GCInterval    time.Duration // 30s
	FailedLingers time.Duration // 3s a failed entry answers "unreachable" at once
}

func (c *Config) defaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.ReachableTime, 30*time.Second)
	def(&c.RetransTime, time.Second)
	def(&c.DelayTime, 5*time.Second)
	def(&c.StaleTime, 60*time.Second)
	def(&c.GCInterval, 30*time.Second)
	def(&c.FailedLingers, 3*time.Second)
	if c.MaxMulticast <= 0 {
		c.MaxMulticast = 3
	}
	if c.MaxUnicast <= 0 {
		c.MaxUnicast = 3
	}
	if c.QueueLen <= 0 {
		c.QueueLen = 101
	}
	if c.MaxEntries <= 0 {
		c.MaxEntries = 1024
	}
}

// Solicitor sends resolution requests: ARP implements it. A zero dst MAC
// means broadcast. Context: any.
type Solicitor interface {
	Solicit(dev *netdev.Device, target netip.Addr, unicast wire.MAC, hasUnicast bool)
}

// UnreachableFunc is called, taking ownership of b, for each packet that
// waited for an answer that never came; IP sends ICMP host unreachable.
type UnreachableFunc func(dev *netdev.Device, b *pkt.Buf)

type key struct {
	dev  int
	addr netip.Addr
}

type entry struct {
	key       key
	dev       *netdev.Device
	state     State
	mac       wire.MAC
	confirmed time.Time // last confirmation of reachability
	used      time.Time // last packet sent through it
	updated   time.Time // last state change
	probes    int
	queue     pkt.Queue
	timer     clock.Timer
	gen       uint64 // bumped on every state change, to ignore stale timers
}

// Entry is a snapshot of one cache entry, for display (`ip neigh`).
type Entry struct {
	Dev   int
	Addr  netip.Addr
	MAC   wire.MAC
	State State
	Age   time.Duration // since the last state change
	Queue int           // packets waiting
}

// Table is one stack's neighbour cache. The lock guards every entry; it is
// never held while calling out (Solicitor, Transmit, UnreachableFunc).
type Table struct {
	cfg    Config
	clk    clock.Clock
	stats  *stats.ARP
	sol    Solicitor
	unrch  UnreachableFunc
	probes struct{ resolved, failed, queue, drop *trace.Probe }

	mu      sync.Mutex
	entries map[key]*entry
	gc      clock.Timer
	closed  bool
}

// New returns an empty cache. The Solicitor and UnreachableFunc are set
// later with SetSolicitor and SetUnreachable, when ARP and IP register.
func New(cfg Config, clk clock.Clock, st *stats.ARP, tr *trace.Tracer) *Table {
	cfg.defaults()
	t := &Table{cfg: cfg, clk: clk, stats: st, entries: make(map[key]*entry)}
	t.probes.resolved = tr.Probe("arp", "resolved")
	t.probes.failed = tr.Probe("arp", "failed")
	t.probes.queue = tr.Probe("arp", "queue")
	t.probes.drop = tr.Probe("arp", "drop")
	t.gc = clk.AfterFunc(cfg.GCInterval, t.collect)
	return t
}

// Config returns the table's effective configuration.
func (t *Table) Config() Config { return t.cfg }

// SetSolicitor installs the protocol that sends requests.
func (t *Table) SetSolicitor(s Solicitor) { t.sol = s }

// SetUnreachable installs the handler for packets whose resolution failed.
func (t *Table) SetUnreachable(f UnreachableFunc) { t.unrch = f }

// Output sends b, a network-layer IPv4 packet, to nextHop on dev, taking
// ownership: at once when the neighbour's MAC is known, else after
// resolving it (cf. neigh_resolve_output). Context: any.
func (t *Table) Output(dev *netdev.Device, nextHop netip.Addr, b *pkt.Buf) error {
	k := key{dev.Index(), nextHop}
	t.mu.Lock()
	e := t.entries[k]
	if e != nil {
		switch e.state {
		case Reachable, Permanent, Delay, Probe:
			mac := e.mac
			if e.state == Reachable {
				now := t.clk.Now()
				e.used = now
				if now.Sub(e.confirmed) > t.cfg.ReachableTime {
					// Reachability has lapsed: use it, but confirm soon.
					t.setStateLocked(e, Delay, now)
					e.timer = t.armLocked(e, t.cfg.DelayTime)
				}
			}
			t.mu.Unlock()
			return dev.SendEthernet(b, mac, wire.EtherTypeIPv4)
		case Stale:
			now := t.clk.Now()
			mac := e.mac
			e.used = now
			t.setStateLocked(e, Delay, now)
			e.timer = t.armLocked(e, t.cfg.DelayTime)
			t.mu.Unlock()
			return dev.SendEthernet(b, mac, wire.EtherTypeIPv4)
		case Incomplete:
			id, n := b.ID, b.Len() // b is the queue's once pushed
			if !e.queue.Push(b) {
				// Like Linux, the oldest waiting packet makes room.
				old := e.queue.Pop()
				e.queue.Push(b)
				t.mu.Unlock()
				t.queueProbe(dev, nextHop, id, n)
				t.stats.UnresolvedDiscards.Inc()
				t.dropProbe(dev, nextHop, old, "resolution queue full")
				old.Free()
				return nil
			}
			t.mu.Unlock()
			t.queueProbe(dev, nextHop, id, n)
			return nil
		case Failed:
			if t.clk.Now().Sub(e.updated) < t.cfg.FailedLingers {
				t.mu.Unlock()
				t.stats.UnresolvedDiscards.Inc()
				t.unreachable(dev, b)
				return nil
			}
			// Try again from the start.
		}
	} else {
		var err error
		if e, err = t.newEntryLocked(k, dev); err != nil {
			t.mu.Unlock()
			t.stats.TableFulls.Inc()
			t.stats.UnresolvedDiscards.Inc()
			t.dropProbe(dev, nextHop, b, "neighbour table full")
			b.Free()
			return err
		}
	}
	now := t.clk.Now()
	t.setStateLocked(e, Incomplete, now)
	e.probes = 1
	id, n := b.ID, b.Len() // b is the queue's once pushed
	e.queue.Push(b)
	e.timer = t.armLocked(e, t.cfg.RetransTime)
	t.mu.Unlock()
	t.queueProbe(dev, nextHop, id, n)
	t.stats.OutRequests.Inc()
	t.sol.Solicit(dev, nextHop, wire.MAC{}, false)
	return nil
}

// Lookup returns the MAC for addr on dev when it is usable.
func (t *Table) Lookup(dev int, addr netip.Addr) (wire.MAC, State, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.entries[key{dev, addr}]
	if e == nil {
		return wire.MAC{}, 0, false
	}
	usable := e.state != Incomplete && e.state != Failed
	return e.mac, e.state, usable
}

// Update records what an ARP packet said: addr on dev is at mac.
// solicited is true for a reply (or a request addressed to us, whose
// sender will surely be talked to); create allows making a new entry.
// Queued packets are sent. Context: softnet.
func (t *Table) Update(dev *netdev.Device, addr netip.Addr, mac wire.MAC, solicited, create bool) {
	k := key{dev.Index(), addr}
	t.mu.Lock()
	e := t.entries[k]
	if e == nil {
		if !create {
			t.mu.Unlock()
			return
		}
		var err error
		if e, err = t.newEntryLocked(k, dev); err != nil {
			t.mu.Unlock()
			t.stats.TableFulls.Inc()
			return
		}
		e.mac = mac
		t.setStateLocked(e, Stale, t.clk.Now())
		t.mu.Unlock()
		return
	}
	if e.state == Permanent {
		t.mu.Unlock()
		return
	}
	now := t.clk.Now()
	wasIncomplete := e.state == Incomplete
	changed := e.mac != mac
	e.mac = mac
	switch {
	case solicited:
		e.confirmed = now
		t.setStateLocked(e, Reachable, now)
	case wasIncomplete || changed:
		// Learnt from a request or an unsolicited packet: usable, not
		// confirmed (Linux uses STALE for anything but a unicast reply).
		t.setStateLocked(e, Stale, now)
	}
	var waiting []*pkt.Buf
	for b := e.queue.Pop(); b != nil; b = e.queue.Pop() {
		waiting = append(waiting, b)
	}
	t.mu.Unlock()
	if wasIncomplete {
		t.stats.Resolved.Inc()
		if p := t.probes.resolved; p.Enabled() {
			p.Fire(&trace.Event{Dev: dev.Name(), Dst: addr, DstMAC: mac, Detail: fmt.Sprintf("%v is-at %v", addr, mac)})
		}
	}
	for _, b := range waiting {
		dev.SendEthernet(b, mac, wire.EtherTypeIPv4)
	}
}

// Exists reports whether there is an entry (in any state) for addr on dev.
func (t *Table) Exists(dev int, addr netip.Addr) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.entries[key{dev, addr}] != nil
}

// SetStatic adds a permanent entry (`ip neigh add ... nud permanent`).
func (t *Table) SetStatic(dev *netdev.Device, addr netip.Addr, mac wire.MAC) error {
	k := key{dev.Index(), addr}
	t.mu.Lock()
	e := t.entries[k]
	if e == nil {
		var err error
		if e, err = t.newEntryLocked(k, dev); err != nil {
			t.mu.Unlock()
			return err
		}
	}
	e.mac = mac
	t.setStateLocked(e, Permanent, t.clk.Now())
	var waiting []*pkt.Buf
	for b := e.queue.Pop(); b != nil; b = e.queue.Pop() {
		waiting = append(waiting, b)
	}
	t.mu.Unlock()
	for _, b := range waiting {
		dev.SendEthernet(b, mac, wire.EtherTypeIPv4)
	}
	return nil
}

// Delete removes the entry for addr on dev, freeing what waits on it.
func (t *Table) Delete(dev int, addr netip.Addr) error {
	t.mu.Lock()
	e := t.entries[key{dev, addr}]
	if e == nil {
		t.mu.Unlock()
		return ErrNotFound
	}
	t.removeLocked(e)
	t.mu.Unlock()
	return nil
}

// FlushDev removes every non-permanent entry of a device (it went down).
func (t *Table) FlushDev(dev int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, e := range t.entries {
		if e.key.dev == dev && e.state != Permanent {
			t.removeLocked(e)
		}
	}
}

// Entries returns a snapshot of the cache, by device and address.
func (t *Table) Entries() []Entry {
	t.mu.Lock()
	now := t.clk.Now()
	out := make([]Entry, 0, len(t.entries))
	for _, e := range t.entries {
		st := e.state
		if st == Reachable && now.Sub(e.confirmed) > t.cfg.ReachableTime {
			st = Stale
		}
		out = append(out, Entry{Dev: e.key.dev, Addr: e.key.addr, MAC: e.mac, State: st, Age: now.Sub(e.updated), Queue: e.queue.Len()})
	}
	t.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if out[i].Dev != out[j].Dev {
			return out[i].Dev < out[j].Dev
		}
		return out[i].Addr.Less(out[j].Addr)
	})
	return out
}

// Close stops every timer and frees every waiting packet.
func (t *Table) Close() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.closed = true
	t.gc.Stop()
	for _, e := range t.entries {
		t.removeLocked(e)
	}
}

func (t *Table) newEntryLocked(k key, dev *netdev.Device) (*entry, error) {
	if len(t.entries) >= t.cfg.MaxEntries && !t.evictLocked() {
		return nil, ErrTableFull
	}
	e := &entry{key: k, dev: dev, queue: pkt.Queue{Limit: t.cfg.QueueLen}}
	t.entries[k] = e
	t.stats.Entries.Add(1)
	return e, nil
}

// evictLocked removes the least recently updated entry that is not
// permanent and has nothing waiting (cf. neigh_forced_gc).
func (t *Table) evictLocked() bool {
	var victim *entry
	for _, e := range t.entries {
		if e.state == Permanent || e.queue.Len() > 0 {
			continue
		}
		if victim == nil || e.updated.Before(victim.updated) {
			victim = e
		}
	}
	if victim == nil {
		return false
	}
	t.removeLocked(victim)
	return true
}

func (t *Table) removeLocked(e *entry) {
	if e.timer != nil {
		e.timer.Stop()
	}
	e.gen++
	t.stats.UnresolvedDiscards.Add(uint64(e.queue.Flush()))
	delete(t.entries, e.key)
	t.stats.Entries.Add(-1)
}

func (t *Table) setStateLocked(e *entry, s State, now time.Time) {
	if e.timer != nil {
		e.timer.Stop()
		e.timer = nil
	}
	e.gen++
	e.state = s
	e.updated = now
}

// armLocked schedules the entry's timer for the current generation.
func (t *Table) armLocked(e *entry, d time.Duration) clock.Timer {
	gen := e.gen
	return t.clk.AfterFunc(d, func() { t.timeout(e, gen) })
}

// timeout advances an entry's state machine (cf. neigh_timer_handler).
// Context: timer.
func (t *Table) timeout(e *entry, gen uint64) {
	t.mu.Lock()
	if t.closed || e.gen != gen || t.entries[e.key] != e {
		t.mu.Unlock()
		return
	}
	now := t.clk.Now()
	dev, target := e.dev, e.key.addr
	switch e.state {
	case Incomplete:
		if e.probes < t.cfg.MaxMulticast {
			e.probes++
			e.timer = t.armLocked(e, t.cfg.RetransTime)
			t.mu.Unlock()
			t.stats.OutRequests.Inc()
			t.sol.Solicit(dev, target, wire.MAC{}, false)
			return
		}
		t.fail(e, now) // unlocks
		return
	case Delay:
		if now.Sub(e.confirmed) <= t.cfg.ReachableTime && !e.confirmed.IsZero() {
			t.setStateLocked(e, Reachable, now)
			t.mu.Unlock()
			return
		}
		t.setStateLocked(e, Probe, now)
		e.probes = 1
		mac := e.mac
		e.timer = t.armLocked(e, t.cfg.RetransTime)
		t.mu.Unlock()
		t.stats.OutRequests.Inc()
		t.sol.Solicit(dev, target, mac, true)
		return
	case Probe:
		if e.probes < t.cfg.MaxUnicast {
			e.probes++
			mac := e.mac
			e.timer = t.armLocked(e, t.cfg.RetransTime)
			t.mu.Unlock()
			t.stats.OutRequests.Inc()
			t.sol.Solicit(dev, target, mac, true)
			return
		}
		t.fail(e, now)
		return
	}
	t.mu.Unlock()
}

// fail marks e FAILED and hands its queue to the unreachable handler.
// Called locked; returns unlocked.
func (t *Table) fail(e *entry, now time.Time) {
	t.setStateLocked(e, Failed, now)
	var waiting []*pkt.Buf
	for b := e.queue.Pop(); b != nil; b = e.queue.Pop() {
		waiting = append(waiting, b)
	}
	dev, target := e.dev, e.key.addr
	t.mu.Unlock()
	t.stats.ResFailed.Inc()
	t.stats.UnresolvedDiscards.Add(uint64(len(waiting)))
	if p := t.probes.failed; p.Enabled() {
		p.Fire(&trace.Event{Dev: dev.Name(), Dst: target, Reason: "no reply", Detail: fmt.Sprintf("%d packets waiting", len(waiting))})
	}
	for _, b := range waiting {
		t.unreachable(dev, b)
	}
}

func (t *Table) unreachable(dev *netdev.Device, b *pkt.Buf) {
	if t.unrch != nil {
		t.unrch(dev, b)
		return
	}
	b.Free()
}

// collect removes failed entries and stale ones unused for StaleTime
// (cf. neigh_periodic_work). Context: timer.
func (t *Table) collect() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return
	}
	now := t.clk.Now()
	for _, e := range t.entries {
		switch e.state {
		case Failed:
			if now.Sub(e.updated) >= t.cfg.FailedLingers {
				t.removeLocked(e)
			}
		case Stale, Reachable:
			last := e.used
			if e.updated.After(last) {
				last = e.updated
			}
			if e.confirmed.After(last) {
				last = e.confirmed
			}
			if now.Sub(last) >= t.cfg.StaleTime {
				t.removeLocked(e)
			}
		}
	}
	t.gc = t.clk.AfterFunc(t.cfg.GCInterval, t.collect)
}

// queueProbe fires arp:::queue for packet id, n bytes, which now waits
// for nextHop to resolve (cf. the entry's arp_queue in Linux): a packet
// walk shows the wait as this stage's time. It takes the id and length,
// read before the packet was queued, not the packet: once queued, a
// resolution may send and free it at any moment.
func (t *Table) queueProbe(dev *netdev.Device, nextHop netip.Addr, id uint64, n int) {
	if p := t.probes.queue; p.Enabled() {
		p.Fire(&trace.Event{PktID: id, Dev: dev.Name(), Dst: nextHop, Len: n, Reason: "unresolved"})
	}
}

// dropProbe fires arp:::drop for b, a packet that will never be sent for
// want of its next hop's address.
func (t *Table) dropProbe(dev *netdev.Device, nextHop netip.Addr, b *pkt.Buf, reason string) {
	if p := t.probes.drop; p.Enabled() {
		p.Fire(&trace.Event{PktID: b.ID, Dev: dev.Name(), Dst: nextHop, Len: b.Len(), Reason: reason})
	}
}

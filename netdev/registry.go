package netdev

import (
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"sync"
	"sync/atomic"

	"ustack/clock"
	"ustack/pkt"
	"ustack/stats"
	"ustack/trace"
	"ustack/wire"
)

// Handler receives a network-layer packet from the demultiplexer, taking
// ownership. The link header has been pulled and marked; b.Type says to
// whom the frame was addressed. Context: softnet.
type Handler func(dev *Device, b *pkt.Buf)

// EventKind names a notifier-chain event (cf. NETDEV_UP, NETDEV_DOWN).
type EventKind uint8

const (
	EventRegister EventKind = iota + 1
	EventUnregister
	EventUp
	EventDown
	EventAddrAdd // an IPv4 address was added to the device
	EventAddrDel
	EventMTU
)

func (k EventKind) String() string {
	return [...]string{"?", "register", "unregister", "up", "down", "addr-add", "addr-del", "mtu"}[k]
}

// Event is what the notifier chain delivers.
type Event struct {
	Kind EventKind
	Dev  *Device
	Addr netip.Prefix // EventAddrAdd, EventAddrDel
}

// Config configures a Registry.
type Config struct {
	Clock  clock.Clock
	Pool   *pkt.Pool
	Tracer *trace.Tracer
	Stats  *stats.Ether
	// RxRing and TxQueue bound each device's rings (0: defaults).
	RxRing, TxQueue int
	// Weight is how many frames one device may deliver per poll (NAPI
	// weight, 0: 64); Budget how many one softnet round may (0: 300).
	Weight, Budget int
	// NoTimestamps skips stamping received frames with the clock.
	NoTimestamps bool
}

// Registry holds a stack's devices, its EtherType table, its notifier
// chain and its softnet poll loop.
type Registry struct {
	clk        clock.Clock
	clockStamp bool
	pool       *pkt.Pool
	tracer     *trace.Tracer
	stats      *stats.Ether
	cfg        Config
	probes     probes

	mu       sync.Mutex
	devs     map[int]*Device
	byIndex  atomic.Pointer[[]*Device] // ifindex → device, read per packet without the lock
	byName   map[string]*Device
	next     int
	handlers atomic.Pointer[map[wire.EtherType]Handler]
	notify   []func(Event)

	sn softnet
}

type probes struct {
	receive, transmit, drop *trace.Probe
	etherReceive, etherSend *trace.Probe
}

// NewRegistry returns an empty registry and starts its softnet loop.
func NewRegistry(c Config) *Registry {
	if c.Clock == nil {
		c.Clock = clock.Real()
	}
	if c.Pool == nil {
		c.Pool = pkt.NewPool(pkt.Options{})
	}
	if c.Tracer == nil {
		c.Tracer = trace.New(c.Clock)
	}
	if c.Stats == nil {
		c.Stats = new(stats.Ether)
	}
	if c.RxRing <= 0 {
		c.RxRing = DefaultRxRing
	}
	if c.TxQueue <= 0 {
		c.TxQueue = DefaultTxQueue
	}
	if c.Weight <= 0 {
		c.Weight = 64
	}
	if c.Budget <= 0 {
		c.Budget = 300
	}
	r := &Registry{
		clk: c.Clock, clockStamp: !c.NoTimestamps, pool: c.Pool, tracer: c.Tracer, stats: c.Stats, cfg: c,
		devs: make(map[int]*Device), byName: make(map[string]*Device), next: 1,
	}
	r.probes = probes{
		receive:      c.Tracer.Probe("netdev", "receive"),
		transmit:     c.Tracer.Probe("netdev", "transmit"),
		drop:         c.Tracer.Probe("netdev", "drop"),
		etherReceive: c.Tracer.Probe("ether", "receive"),
		etherSend:    c.Tracer.Probe("ether", "send"),
	}
	empty := map[wire.EtherType]Handler{}
	r.handlers.Store(&empty)
	r.sn.start(r)
	return r
}

// Pool returns the registry's packet pool.
func (r *Registry) Pool() *pkt.Pool { return r.pool }

// Clock returns the registry's clock.
func (r *Registry) Clock() clock.Clock { return r.clk }

// Tracer returns the registry's tracer.
func (r *Registry) Tracer() *trace.Tracer { return r.tracer }

// NextPacketID returns a fresh packet id for probes.
func (r *Registry) NextPacketID() uint64 { return r.tracer.NextPacketID() }

// RegisterHandler installs h for frames of EtherType t (cf. dev_add_pack).
// Layers call it at start-up.
func (r *Registry) RegisterHandler(t wire.EtherType, h Handler) {
	r.mu.Lock()
	defer r.mu.Unlock()
	next := make(map[wire.EtherType]Handler)
	for k, v := range *r.handlers.Load() {
		next[k] = v
	}
	next[t] = h
	r.handlers.Store(&next)
}

// Subscribe adds fn to the notifier chain. It is called synchronously,
// under no registry lock, in the order subscribed.
func (r *Registry) Subscribe(fn func(Event)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.notify = append(r.notify, fn)
}

// Notify delivers e to every subscriber. Layers that own state the chain
// announces (IPv4 addresses) call it.
func (r *Registry) Notify(e Event) {
	r.mu.Lock()
	subs := slices.Clone(r.notify)
	r.mu.Unlock()
	for _, fn := range subs {
		fn(e)
	}
}

// Register adds a device driven by drv under name (empty: "ethN" or
// "ipN"), starts its driver and returns it, down. Bring it up with SetUp.
func (r *Registry) Register(name string, drv Driver) (*Device, error) {
	caps := drv.Caps()
	if caps.MTU <= 0 {
		return nil, fmt.Errorf("netdev: driver reports MTU %d", caps.MTU)
	}
	if caps.Link == 0 {
		caps.Link = LinkEthernet
	}
	batch := caps.TxBatch
	if batch <= 0 {
		batch = 32
	}
	r.mu.Lock()
	if name == "" {
		prefix := "eth"
		if caps.Loopback {
			prefix = "lo"
		} else if caps.Link == LinkIP {
			prefix = "tun"
		}
		for i := 0; ; i++ {
			cand := fmt.Sprintf("%s%d", prefix, i)
			if caps.Loopback && i == 0 {
				cand = "lo"
			}
			if _, taken := r.byName[cand]; !taken {
				name = cand
				break
			}
		}
	}
	if _, taken := r.byName[name]; taken {
		r.mu.Unlock()
		return nil, fmt.Errorf("%w: %s", ErrNameInUse, name)
	}
	d := &Device{
		index: r.next, name: name, drv: drv, caps: caps, reg: r,
		rx:      make(chan *pkt.Buf, r.cfg.RxRing),
		txq:     pkt.Queue{Limit: r.cfg.TxQueue},
		txBatch: make([]*pkt.Buf, 0, batch),
	}
	d.mtu.Store(int32(caps.MTU))
	var f Flags
	if caps.Link == LinkEthernet {
		f |= FlagBroadcast
	}
	if caps.Loopback {
		f |= FlagLoopback
	}
	d.flags.Store(uint32(f))
	r.next++
	r.devs[d.index] = d
	r.byName[name] = d
	r.publishLocked()
	r.mu.Unlock()
	if err := drv.Start(d); err != nil {
		r.mu.Lock()
		delete(r.devs, d.index)
		delete(r.byName, name)
		r.publishLocked()
		r.mu.Unlock()
		return nil, err
	}
	r.Notify(Event{Kind: EventRegister, Dev: d})
	return d, nil
}

// Unregister takes the device down, stops its driver and removes it.
func (r *Registry) Unregister(d *Device) error {
	r.SetUp(d, false)
	err := d.drv.Close()
	r.mu.Lock()
	delete(r.devs, d.index)
	delete(r.byName, d.name)
	r.publishLocked()
	r.mu.Unlock()
	r.Notify(Event{Kind: EventUnregister, Dev: d})
	for {
		select {
		case b := <-d.rx:
			d.Stats.RxDropped.Inc() // received, never processed
			b.Free()
			continue
		default:
		}
		break
	}
	d.txMu.Lock()
	d.Stats.TxDropped.Add(uint64(d.txq.Flush()))
	d.txMu.Unlock()
	return err
}

// SetUp brings the device up or down, announcing it on the notifier chain.
func (r *Registry) SetUp(d *Device, up bool) {
	for {
		old := d.flags.Load()
		nf := old &^ uint32(FlagUp|FlagRunning)
		if up {
			nf |= uint32(FlagUp | FlagRunning)
		}
		if old == nf {
			return
		}
		if d.flags.CompareAndSwap(old, nf) {
			break
		}
	}
	if up {
		r.Notify(Event{Kind: EventUp, Dev: d})
	} else {
		r.Notify(Event{Kind: EventDown, Dev: d})
	}
}

// SetPromisc sets or clears promiscuous mode.
func (r *Registry) SetPromisc(d *Device, on bool) {
	for {
		old := d.flags.Load()
		nf := old &^ uint32(FlagPromisc)
		if on {
			nf |= uint32(FlagPromisc)
		}
		if d.flags.CompareAndSwap(old, nf) {
			return
		}
	}
}

// SetMTU changes the device MTU (never above what the driver can carry).
func (r *Registry) SetMTU(d *Device, mtu int) error {
	if mtu < 68 || mtu > d.caps.MTU {
		return fmt.Errorf("netdev: MTU %d out of range 68..%d", mtu, d.caps.MTU)
	}
	d.mtu.Store(int32(mtu))
	r.Notify(Event{Kind: EventMTU, Dev: d})
	return nil
}

// Device returns the device with the given ifindex. It takes no lock:
// routing calls it for every packet.
func (r *Registry) Device(index int) *Device {
	if t := r.byIndex.Load(); t != nil && index >= 0 && index < len(*t) {
		return (*t)[index]
	}
	return nil
}

// publishLocked rebuilds the ifindex table Device reads.
func (r *Registry) publishLocked() {
	t := make([]*Device, r.next)
	for i, d := range r.devs {
		t[i] = d
	}
	r.byIndex.Store(&t)
}

// ByName returns the device with the given name.
func (r *Registry) ByName(name string) *Device {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.byName[name]
}

// Devices lists the devices by ifindex.
func (r *Registry) Devices() []*Device {
	r.mu.Lock()
	out := make([]*Device, 0, len(r.devs))
	for _, d := range r.devs {
		out = append(out, d)
	}
	r.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].index < out[j].index })
	return out
}

// Close stops the softnet loop and unregisters every device.
func (r *Registry) Close() error {
	var first error
	for _, d := range r.Devices() {
		if err := r.Unregister(d); err != nil && first == nil {
			first = err
		}
	}
	r.sn.stop()
	return first
}

func (r *Registry) dropProbe(d *Device, b *pkt.Buf, reason string) {
	if p := r.probes.drop; p.Enabled() {
		p.Fire(&trace.Event{PktID: b.ID, Dev: d.name, Len: b.Len(), Reason: reason})
	}
}

package gvisor

import (
	"errors"
	"sync"
	"sync/atomic"

	"gvisor.dev/gvisor/pkg/buffer"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	gstack "gvisor.dev/gvisor/pkg/tcpip/stack"

	"ustack/drivers/vwire"
	"ustack/netdev"
	"ustack/pkt"
	"ustack/stats"
)

// DefaultRxQueue is how many received frames a Link holds for its gVisor
// stack before it drops (the length of its receive ring).
const DefaultRxQueue = 1024

// rxBatch is how many frames the receive goroutine takes off the queue
// per lock acquisition (a NAPI weight).
const rxBatch = 64

// LinkOptions configure a Link.
type LinkOptions struct {
	// RxQueue bounds the frames waiting for the gVisor stack (0:
	// DefaultRxQueue). A frame arriving at a full queue is dropped and
	// counted in RxDropped, as a full NIC ring drops.
	RxQueue int
	// TrustChecksums makes the Link report RX checksum offload, so that
	// gVisor skips verifying the checksums of what it receives. Off by
	// default: the point of the harness is that each implementation
	// checks the other's checksums.
	TrustChecksums bool
}

// LinkCounters are a Link's counters, from the gVisor stack's side.
type LinkCounters struct {
	TxFrames, TxBytes stats.Counter
	// TxErrors counts frames the driver refused (closed, no carrier,
	// too big); they are lost, as on a cable with nobody at the end.
	TxErrors          stats.Counter
	RxFrames, RxBytes stats.Counter
	// RxDropped counts frames dropped because the receive queue was full
	// or no gVisor NIC was attached.
	RxDropped stats.Counter
	// RxErrors counts frames too short for an Ethernet header.
	RxErrors stats.Counter
}

// Link is a gVisor stack.LinkEndpoint (Ethernet, with ARP) over a ustack
// netdev.Driver. Outbound PacketBuffers are copied into pkt.Bufs from the
// Link's own pool and transmitted on the driver; frames the driver
// receives are queued (Receive never blocks, as netdev.Receiver requires)
// and a goroutine of the Link copies them into PacketBuffers and delivers
// them to gVisor, as gVisor's fdbased endpoint's dispatch loop does for a
// socket. The copies keep the two buffer disciplines apart: ustack's
// single-owner Bufs never meet gVisor's reference-counted PacketBuffers.
//
// Link.mu is innermost: Receive takes it inside the driver's own locks
// (vwire calls Receive holding its end's lock), and nothing — driver,
// gVisor, callback — is called with it held.
type Link struct {
	drv  netdev.Driver
	caps netdev.Caps
	opts LinkOptions
	pool *pkt.Pool
	mtu  atomic.Uint32

	mu      sync.Mutex
	d       gstack.NetworkDispatcher // nil while detached
	addr    tcpip.LinkAddress
	q       pkt.Queue
	started bool
	closed  bool
	onClose func()

	wake chan struct{} // a frame was queued (capacity 1)
	done chan struct{} // closed by Close
	exit chan struct{} // closed when the receive goroutine returns

	// Stats are the Link's counters.
	Stats LinkCounters
}

var (
	_ gstack.LinkEndpoint = (*Link)(nil)
	_ netdev.Receiver     = (*Link)(nil)
)

// ErrNotEthernet is returned by NewLink for a driver whose frames are not
// Ethernet.
var ErrNotEthernet = errors.New("gvisor: driver link type is not Ethernet")

// NewLink returns a Link over drv. The driver is started when a gVisor
// NIC attaches (stack.CreateNIC) and closed with the Link.
func NewLink(drv netdev.Driver, o LinkOptions) (*Link, error) {
	caps := drv.Caps()
	if caps.Link != netdev.LinkEthernet {
		return nil, ErrNotEthernet
	}
	if o.RxQueue <= 0 {
		o.RxQueue = DefaultRxQueue
	}
	l := &Link{
		drv:  drv,
		caps: caps,
		opts: o,
		pool: pkt.NewPool(pkt.Options{}),
		addr: tcpip.LinkAddress(caps.MAC[:]),
		wake: make(chan struct{}, 1),
		done: make(chan struct{}),
		exit: make(chan struct{}),
	}
	l.q.Limit = o.RxQueue
	l.mtu.Store(uint32(caps.MTU))
	return l, nil
}

// NewPair returns the two ends of a new vwire pair, the first for a ustack
// stack (a netdev.Driver for stack.AddNIC) and the second already wrapped
// as a Link for gVisor (for stack.CreateNIC). Both ends verify checksums.
func NewPair(ustackEnd, gvisorEnd vwire.Config, o LinkOptions) (*vwire.End, *Link) {
	ustackEnd.NoChecksumOffload = true
	a, b := vwire.NewPair(ustackEnd, gvisorEnd)
	l, err := NewLink(b, o)
	if err != nil {
		panic(err) // a vwire End is Ethernet
	}
	return a, l
}

// Pool returns the pool outbound Bufs come from; once the Link is closed
// and its peer has drained, Live is 0 unless a Buf leaked.
func (l *Link) Pool() *pkt.Pool { return l.pool }

// Driver returns the driver under the Link.
func (l *Link) Driver() netdev.Driver { return l.drv }

// MTU implements stack.LinkEndpoint.
func (l *Link) MTU() uint32 { return l.mtu.Load() }

// SetMTU implements stack.LinkEndpoint.
func (l *Link) SetMTU(mtu uint32) { l.mtu.Store(mtu) }

// MaxHeaderLength implements stack.LinkEndpoint.
func (l *Link) MaxHeaderLength() uint16 { return header.EthernetMinimumSize }

// LinkAddress implements stack.LinkEndpoint.
func (l *Link) LinkAddress() tcpip.LinkAddress {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.addr
}

// SetLinkAddress implements stack.LinkEndpoint. It changes only the
// address gVisor uses; the driver keeps the one it was made with.
func (l *Link) SetLinkAddress(a tcpip.LinkAddress) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.addr = a
}

// Capabilities implements stack.LinkEndpoint.
func (l *Link) Capabilities() gstack.LinkEndpointCapabilities {
	c := gstack.CapabilityResolutionRequired
	if l.opts.TrustChecksums {
		c |= gstack.CapabilityRXChecksumOffload
	}
	return c
}

// ARPHardwareType implements stack.LinkEndpoint.
func (l *Link) ARPHardwareType() header.ARPHardwareType { return header.ARPHardwareEther }

// AddHeader implements stack.LinkEndpoint: it pushes the Ethernet header.
func (l *Link) AddHeader(p *gstack.PacketBuffer) {
	eth := header.Ethernet(p.LinkHeader().Push(header.EthernetMinimumSize))
	eth.Encode(&header.EthernetFields{
		SrcAddr: p.EgressRoute.LocalLinkAddress,
		DstAddr: p.EgressRoute.RemoteLinkAddress,
		Type:    p.NetworkProtocolNumber,
	})
}

// ParseHeader implements stack.LinkEndpoint.
func (l *Link) ParseHeader(p *gstack.PacketBuffer) bool {
	_, ok := p.LinkHeader().Consume(header.EthernetMinimumSize)
	return ok
}

// SetOnCloseAction implements stack.LinkEndpoint.
func (l *Link) SetOnCloseAction(f func()) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.onClose = f
}

// IsAttached implements stack.LinkEndpoint.
func (l *Link) IsAttached() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.d != nil
}

// Attach implements stack.LinkEndpoint. The first attachment starts the
// driver and the receive goroutine; Attach(nil) (NIC removal) makes the
// Link drop what it receives until the next attachment.
// Context: process (gVisor may hold its stack lock).
func (l *Link) Attach(d gstack.NetworkDispatcher) {
	l.mu.Lock()
	l.d = d
	start := d != nil && !l.started && !l.closed
	if start {
		l.started = true
	}
	l.mu.Unlock()
	if !start {
		return
	}
	go l.rxLoop()
	if err := l.drv.Start(l); err != nil {
		// A driver that cannot start delivers nothing; the Link then
		// behaves as a cable with no carrier.
		l.Stats.RxErrors.Inc()
	}
}

// WritePackets implements stack.LinkWriter: each packet (link header
// already pushed by AddHeader) is copied into a Buf and transmitted,
// which takes ownership of it. Context: any gVisor goroutine.
func (l *Link) WritePackets(pkts gstack.PacketBufferList) (int, tcpip.Error) {
	n := 0
	for _, p := range pkts.AsSlice() {
		size := p.Size()
		b := l.pool.Get(0, size)
		dst := b.View(0)
		off := 0
		for _, s := range p.AsSlices() {
			off += copy(dst[off:], s)
		}
		l.Stats.TxFrames.Inc()
		l.Stats.TxBytes.Add(uint64(size))
		if err := l.drv.Transmit(b); err != nil {
			l.Stats.TxErrors.Inc()
			if errors.Is(err, vwire.ErrClosed) {
				if n == 0 {
					return 0, &tcpip.ErrClosedForSend{}
				}
				return n, nil
			}
		}
		n++
	}
	return n, nil
}

// Receive implements netdev.Receiver, taking ownership of b: it queues the
// frame for the receive goroutine, or drops it when the queue is full.
// Context: driver (for vwire, the sending stack's goroutine).
func (l *Link) Receive(b *pkt.Buf) {
	l.mu.Lock()
	if l.closed || l.d == nil || !l.q.Push(b) {
		l.mu.Unlock()
		l.Stats.RxDropped.Inc()
		b.Free()
		return
	}
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// rxLoop delivers queued frames to gVisor until Close.
// Context: the Link's receive goroutine.
func (l *Link) rxLoop() {
	defer close(l.exit)
	var batch [rxBatch]*pkt.Buf
	for {
		select {
		case <-l.done:
			return
		case <-l.wake:
		}
		for {
			l.mu.Lock()
			d := l.d
			n := 0
			for n < len(batch) {
				b := l.q.Pop()
				if b == nil {
					break
				}
				batch[n] = b
				n++
			}
			l.mu.Unlock()
			if n == 0 {
				break
			}
			for i := range n {
				l.deliver(d, batch[i])
				batch[i] = nil
			}
		}
	}
}

// deliver hands one frame to gVisor, taking ownership of b (cf. the
// dispatch loop of gVisor's fdbased endpoint and ethernet.Endpoint).
func (l *Link) deliver(d gstack.NetworkDispatcher, b *pkt.Buf) {
	size := b.Len()
	if d == nil {
		l.Stats.RxDropped.Inc()
		b.Free()
		return
	}
	if size < header.EthernetMinimumSize {
		l.Stats.RxErrors.Inc()
		b.Free()
		return
	}
	v := buffer.NewView(size)
	for i := range b.NumViews() {
		v.Write(b.View(i))
	}
	b.Free()
	l.Stats.RxFrames.Inc()
	l.Stats.RxBytes.Add(uint64(size))
	p := gstack.NewPacketBuffer(gstack.PacketBufferOptions{Payload: buffer.MakeWithView(v)})
	defer p.DecRef()
	if !l.ParseHeader(p) {
		l.Stats.RxErrors.Inc()
		return
	}
	eth := header.Ethernet(p.LinkHeader().Slice())
	switch dst := eth.DestinationAddress(); {
	case dst == header.EthernetBroadcastAddress:
		p.PktType = tcpip.PacketBroadcast
	case header.IsMulticastEthernetAddress(dst):
		p.PktType = tcpip.PacketMulticast
	case dst == l.LinkAddress():
		p.PktType = tcpip.PacketHost
	default:
		p.PktType = tcpip.PacketOtherHost
	}
	d.DeliverNetworkPacket(eth.Type(), p)
}

// Close implements stack.LinkEndpoint: it closes the driver (after which
// nothing more is received), stops the receive goroutine and waits for it,
// and frees what was still queued. gVisor calls it after removing the NIC,
// outside its stack lock. Context: process.
func (l *Link) Close() {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return
	}
	l.closed = true
	started := l.started
	onClose := l.onClose
	l.mu.Unlock()
	if onClose != nil {
		onClose()
	}
	l.drv.Close()
	close(l.done)
	if started {
		<-l.exit
	}
	l.mu.Lock()
	l.q.Flush()
	l.mu.Unlock()
}

// Wait implements stack.LinkEndpoint: once the Link is closed it returns
// when the receive goroutine has; before, it returns at once (gVisor calls
// it with its stack lock held, which the goroutine may be waiting for).
func (l *Link) Wait() {
	l.mu.Lock()
	closed, started := l.closed, l.started
	l.mu.Unlock()
	if closed && started {
		<-l.exit
	}
}

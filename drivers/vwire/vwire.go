// Package vwire is ustack's in-memory Ethernet: a virtual wire with two ends,
// like a Linux veth pair (drivers/net/veth.c), and a learning switch, like a
// Linux bridge (net/bridge), whose ports are wire ends. Stacks, hosts and
// routers in one process are cabled together with them; each End is a
// netdev.Driver for the host plugged into it.
//
// Frames cross without being copied: the Buf a host transmits is the Buf
// its peer receives (it keeps its pool), as veth hands the skb across. A
// switch floods with Clones, which share the payload. With no impairment
// the path allocates nothing per frame.
//
// Each end may impair the frames it sends, as netem on a veth's egress
// would, through the fault package's Pipe.
//
// A pair whose ends both declare GSO (Config.GSO) carries TCP GSO
// super-packets whole, longer than the MTU, as veth does with TSO: one
// Buf for a 64 KiB write instead of ~45.
package vwire

import (
	"crypto/rand"
	"errors"
	mrand "math/rand/v2"
	"sync"
	"sync/atomic"

	"ustack/clock"
	"ustack/drivers/fault"
	"ustack/netdev"
	"ustack/pkt"
	"ustack/stats"
	"ustack/wire"
)

// DefaultMTU is an End's MTU when its Config gives none.
const DefaultMTU = wire.EthernetMTU

// Errors of the virtual wire.
var (
	ErrClosed    = errors.New("vwire: end closed")
	ErrStarted   = errors.New("vwire: end already started")
	ErrNoCarrier = errors.New("vwire: peer not running")
	ErrTooBig    = errors.New("vwire: frame exceeds the receiver's MTU")
)

// Config configures one End. The zero value is an end with a random MAC
// and a 1500-byte MTU.
type Config struct {
	// Name labels the end in String (default "a"/"b" for a pair, "portN"
	// on a switch).
	Name string
	// MAC is the end's address (zero: a random locally administered one,
	// from crypto/rand; use SeededMAC for reproducible addresses).
	MAC wire.MAC
	// MTU is the largest payload the end carries (0: 1500). Frames longer
	// than MTU plus the Ethernet header are dropped on receipt.
	MTU int
	// TxBatch is reported in Caps (0: the device's default).
	TxBatch int
	// NoChecksumOffload makes the end report no checksum offload, so that
	// its stack verifies every checksum. It is implied for an end whose
	// peer corrupts frames; set it on switch ports that may receive
	// frames another port corrupts.
	NoChecksumOffload bool
	// GSO declares that the host on this end of a pair sends and takes
	// TCP GSO super-packets whole (up to netdev.GSOMaxSize bytes, above
	// the MTU), as veth does with NETIF_F_TSO: one Buf crosses instead of
	// one per wire segment. Set it only when the hosts on both ends are
	// ustack stacks (which hand Bufs across by reference and read
	// Buf.GSOSize); an adapter that copies frames out for another stack
	// must leave it off. It takes effect only when both ends of a pair
	// set it and neither impairs its frames (impairments act on wire
	// frames); a GSO pair's ends then share one checksum-offload
	// setting, off if either sets NoChecksumOffload, so that what one
	// end's stack leaves unchecksummed the other trusts. Switch ports
	// ignore it. Off by default.
	GSO bool
	// Impair impairs the frames this end sends (netem on its egress).
	Impair fault.Impair
	// Seed seeds Impair's random choices.
	Seed int64
	// Clock times Impair's delays and rates (nil: clock.Real()).
	Clock clock.Clock
}

// Counters are an End's counters, from the host's side, as `ip -s link`
// shows a veth's. On a switch port TxFrames are the frames the switch
// received on the port and RxFrames those it sent out of it.
type Counters struct {
	TxFrames, TxBytes stats.Counter
	RxFrames, RxBytes stats.Counter

	// TxDropped counts frames the host sent that went nowhere: the end
	// was closed, or (on a switch) the frame was shorter than an
	// Ethernet header.
	TxDropped stats.Counter
	// RxDropped counts frames for the host that could not be delivered:
	// it had not started or had closed, or the frame exceeded its MTU.
	RxDropped stats.Counter
	// Flooded counts the RxFrames a switch flooded (unknown unicast,
	// broadcast, multicast) rather than forwarded to this port alone.
	Flooded stats.Counter
	// Filtered counts frames a switch discarded because their
	// destination was learned on the port they came in by.
	Filtered stats.Counter
}

// End is one end of a wire, or one port of a switch: a netdev.Driver for
// the host plugged into it.
type End struct {
	name     string
	caps     netdev.Caps
	maxFrame int
	peer     *End        // the other end of a pair
	sw       *Switch     // the switch this is a port of
	pipe     *fault.Pipe // egress impairment; nil without
	closed   atomic.Bool

	// maxGSOFrame is the longest GSO super-packet frame the end takes
	// whole (0: it takes none).
	maxGSOFrame int

	// mu guards rx and down. deliver holds it for reading while it calls
	// Receive, so that Close, which takes it for writing, returns only
	// once no Receive is in progress. Hence a host must not Close its end
	// from within Receive, nor (while a Close may be pending) transmit
	// from within Receive in a way that comes straight back to itself;
	// netdev.Device.Receive only queues, so stacks never do either.
	mu   sync.RWMutex
	rx   netdev.Receiver
	down bool

	// Stats are the end's counters.
	Stats Counters
}

// Pair streams keep the two ends' impairments independent when their
// seeds are equal.
const (
	streamA    = 0xa
	streamB    = 0xb
	streamPort = 0x100 // + port number
)

// NewPair returns the two ends of a new wire, configured by a and b: what
// one end transmits, the other receives (cf. veth_newlink).
func NewPair(a, b Config) (*End, *End) {
	if a.Name == "" {
		a.Name = "a"
	}
	if b.Name == "" {
		b.Name = "b"
	}
	ea := newEnd(a, streamA, b.Impair.Corrupt > 0)
	eb := newEnd(b, streamB, a.Impair.Corrupt > 0)
	ea.peer, eb.peer = eb, ea
	if a.GSO && b.GSO && a.Impair.IsZero() && b.Impair.IsZero() {
		offload := !a.NoChecksumOffload && !b.NoChecksumOffload
		for _, e := range []*End{ea, eb} {
			e.caps.GSOMaxSize = netdev.GSOMaxSize
			e.caps.ChecksumOffload = offload
			e.maxGSOFrame = netdev.GSOMaxSize + wire.EthernetHeaderLen
		}
	}
	return ea, eb
}

// newEnd builds an End; peerCorrupts says whether frames arriving at it may
// have been corrupted on the way.
func newEnd(cfg Config, stream uint64, peerCorrupts bool) *End {
	if cfg.MTU <= 0 {
		cfg.MTU = DefaultMTU
	}
	if cfg.MAC.IsZero() {
		cfg.MAC = RandomMAC()
	}
	e := &End{
		name: cfg.Name,
		caps: netdev.Caps{
			Link:            netdev.LinkEthernet,
			MTU:             cfg.MTU,
			MAC:             cfg.MAC,
			ChecksumOffload: !cfg.NoChecksumOffload && !peerCorrupts,
			TxBatch:         cfg.TxBatch,
		},
		maxFrame: cfg.MTU + wire.EthernetHeaderLen,
	}
	if !cfg.Impair.IsZero() {
		e.pipe = fault.NewPipe(fault.PipeConfig{
			Impair: cfg.Impair, Seed: cfg.Seed, Stream: stream, Clock: cfg.Clock,
		}, e.forward)
	}
	return e
}

// String returns the end's name.
func (e *End) String() string { return e.name }

// MAC returns the end's address.
func (e *End) MAC() wire.MAC { return e.caps.MAC }

// Peer returns the other end of a pair (nil for a switch port).
func (e *End) Peer() *End { return e.peer }

// Switch returns the switch this end is a port of (nil for a pair).
func (e *End) Switch() *Switch { return e.sw }

// Impairment returns the egress impairment counters (zero without one).
func (e *End) Impairment() fault.Counts {
	if e.pipe == nil {
		return fault.Counts{}
	}
	return e.pipe.Stats()
}

// Caps implements netdev.Driver.
func (e *End) Caps() netdev.Caps { return e.caps }

// Start implements netdev.Driver: from now on frames for this end go to
// rx. Context: process.
func (e *End) Start(rx netdev.Receiver) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	switch {
	case e.down:
		return ErrClosed
	case e.rx != nil:
		return ErrStarted
	}
	e.rx = rx
	return nil
}

// Transmit implements netdev.Driver, taking ownership of b: it puts b on
// the wire, through the impairment if there is one. A frame the peer
// cannot take is dropped, counted, and reported as ErrNoCarrier or
// ErrTooBig; one lost to impairment counts as sent. Context: any.
func (e *End) Transmit(b *pkt.Buf) error {
	if e.closed.Load() {
		e.Stats.TxDropped.Inc()
		b.Free()
		return ErrClosed
	}
	e.Stats.TxFrames.Inc()
	e.Stats.TxBytes.Add(uint64(b.Len()))
	if e.pipe != nil {
		return e.pipe.Send(b)
	}
	return e.forward(b)
}

// forward carries b from this end to whatever is across the wire.
// Context: any (the sender's, or an impairment timer's).
func (e *End) forward(b *pkt.Buf) error {
	if e.sw != nil {
		e.sw.input(e, b)
		return nil
	}
	return e.peer.deliver(b, false)
}

// deliver hands b to this end's host, taking ownership (cf. veth_forward_skb
// and is_skb_forwardable). Context: any.
func (e *End) deliver(b *pkt.Buf, flooded bool) error {
	n := b.Len()
	e.mu.RLock()
	if e.rx == nil || e.down {
		e.mu.RUnlock()
		e.Stats.RxDropped.Inc()
		b.Free()
		return ErrNoCarrier
	}
	if n > e.maxFrame && (b.GSOSize == 0 || n > e.maxGSOFrame) {
		e.mu.RUnlock()
		e.Stats.RxDropped.Inc()
		b.Free()
		return ErrTooBig
	}
	e.Stats.RxFrames.Inc()
	e.Stats.RxBytes.Add(uint64(n))
	if flooded {
		e.Stats.Flooded.Inc()
	}
	e.rx.Receive(b)
	e.mu.RUnlock()
	return nil
}

// running reports whether the end has a host to deliver to.
func (e *End) running() bool {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.rx != nil && !e.down
}

// Close implements netdev.Driver: the end stops receiving and
// transmitting, its impairment's held frames are freed, and a switch port
// leaves its switch (cf. br_del_if). When it returns, Receive is not
// called again. It must not be called from within the host's Receive.
// Context: process.
func (e *End) Close() error {
	if e.closed.Swap(true) {
		return nil
	}
	e.mu.Lock()
	e.down = true
	e.rx = nil
	e.mu.Unlock()
	if e.pipe != nil {
		e.pipe.Close()
	}
	if e.sw != nil {
		e.sw.removePort(e)
	}
	return nil
}

// RandomMAC returns a random locally administered unicast address, from
// crypto/rand.
func RandomMAC() wire.MAC {
	var m wire.MAC
	rand.Read(m[:])
	return localUnicast(m)
}

// SeededMAC returns a locally administered unicast address determined by
// seed and n: the same arguments always give the same address, and a test
// numbering its hosts 1, 2, 3... under one seed gets distinct ones.
func SeededMAC(seed int64, n uint64) wire.MAC {
	r := mrand.NewPCG(uint64(seed), n)
	v := r.Uint64()
	var m wire.MAC
	for i := range m {
		m[i] = byte(v >> (8 * i))
	}
	return localUnicast(m)
}

// localUnicast sets the locally administered bit and clears the group bit
// (RFC 7042 §2.1).
func localUnicast(m wire.MAC) wire.MAC {
	m[0] = m[0]&^0x01 | 0x02
	return m
}

package ipv4

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"ustack/pkt"
	"ustack/wire"
)

// EchoReply is what a Pinger hears back for one request: a reply, or an
// ICMP error about the request (Err set).
type EchoReply struct {
	From netip.Addr
	Seq  uint16
	TTL  uint8
	Len  int // payload bytes
	RTT  time.Duration
	Err  *ICMPError
}

func (r EchoReply) String() string {
	if r.Err != nil {
		return fmt.Sprintf("From %v icmp_seq=%d %s", r.Err.From, r.Seq, PingErrorText(r.Err.Type, r.Err.Code, r.Err.MTU))
	}
	return fmt.Sprintf("%d bytes from %v: icmp_seq=%d ttl=%d time=%.3f ms", r.Len+wire.ICMPv4HeaderLen, r.From, r.Seq, r.TTL, float64(r.RTT.Microseconds())/1000)
}

// PingErrorText words an ICMP error as iputils ping prints it (cf. its
// pr_icmph): "Destination Host Unreachable", "Frag needed and DF set
// (mtu = 1400)" (mtu 0: not known). ustack ping prints the same.
func PingErrorText(typ wire.ICMPv4Type, code uint8, mtu int) string {
	switch typ {
	case wire.ICMPv4DestUnreach:
		switch code {
		case 0:
			return "Destination Net Unreachable"
		case 1:
			return "Destination Host Unreachable"
		case 2:
			return "Destination Protocol Unreachable"
		case 3:
			return "Destination Port Unreachable"
		case 4:
			if mtu > 0 {
				return fmt.Sprintf("Frag needed and DF set (mtu = %d)", mtu)
			}
			return "Frag needed and DF set"
		case 5:
			return "Source Route Failed"
		case 9, 10:
			return "Destination Host Prohibited"
		case 13:
			return "Communication administratively prohibited"
		}
		return fmt.Sprintf("Dest Unreachable, Bad Code: %d", code)
	case wire.ICMPv4TimeExceeded:
		if code == 1 {
			return "Frag reassembly time exceeded"
		}
		return "Time to live exceeded"
	case wire.ICMPv4ParamProblem:
		return "Parameter problem"
	case wire.ICMPv4Redirect:
		return "Redirect"
	}
	return fmt.Sprintf("Bad ICMP type: %d", typ)
}

// pingTable demultiplexes echo replies to Pingers by identifier, like
// Linux's ping sockets.
type pingTable struct {
	mu     sync.Mutex
	byID   map[uint16]*Pinger
	nextID uint16
}

func (t *pingTable) init() { t.byID = make(map[uint16]*Pinger); t.nextID = 0x5500 }

// Pinger sends echo requests with one identifier and receives the replies.
type Pinger struct {
	p       *Proto
	id      uint16
	replies chan EchoReply
	mu      sync.Mutex
	sent    map[uint16]time.Time
	closed  bool
	ttl     uint8
	df      bool
}

// SetDontFragment sets DF on the requests, like ping -M do.
func (pg *Pinger) SetDontFragment(on bool) {
	pg.mu.Lock()
	pg.df = on
	pg.mu.Unlock()
}

// SetTTL sets the TTL of the requests (0: the default), like ping -t.
func (pg *Pinger) SetTTL(ttl uint8) {
	pg.mu.Lock()
	pg.ttl = ttl
	pg.mu.Unlock()
}

// ErrPingerClosed is returned by a closed Pinger.
var ErrPingerClosed = errors.New("ipv4: pinger closed")

// NewPinger returns a Pinger with a fresh identifier.
func (p *Proto) NewPinger() *Pinger {
	t := &p.pings
	t.mu.Lock()
	defer t.mu.Unlock()
	for {
		t.nextID++
		if _, used := t.byID[t.nextID]; !used && t.nextID != 0 {
			break
		}
	}
	pg := &Pinger{p: p, id: t.nextID, replies: make(chan EchoReply, 64), sent: make(map[uint16]time.Time)}
	t.byID[pg.id] = pg
	return pg
}

// ID returns the echo identifier.
func (pg *Pinger) ID() uint16 { return pg.id }

// Replies delivers replies and errors; it is closed by Close.
func (pg *Pinger) Replies() <-chan EchoReply { return pg.replies }

// Send sends echo request seq with size bytes of payload to dst.
// Context: process.
func (pg *Pinger) Send(dst netip.Addr, seq uint16, size int) error {
	p := pg.p
	rt, err := p.RouteOutput(dst, netip.Addr{})
	if err != nil {
		return err
	}
	b := p.pool.Get(pkt.MaxHeaderLen, wire.ICMPv4HeaderLen+size)
	msg := b.View(0)
	msg[0], msg[1], msg[2], msg[3] = byte(wire.ICMPv4Echo), 0, 0, 0
	binary.BigEndian.PutUint16(msg[4:], pg.id)
	binary.BigEndian.PutUint16(msg[6:], seq)
	for i := range size {
		msg[wire.ICMPv4HeaderLen+i] = byte(i)
	}
	binary.BigEndian.PutUint16(msg[2:], ^wire.Fold(wire.Checksum(msg, 0)))
	pg.mu.Lock()
	if pg.closed {
		pg.mu.Unlock()
		b.Free()
		return ErrPingerClosed
	}
	pg.sent[seq] = p.clk.Now()
	ttl, df := pg.ttl, pg.df
	pg.mu.Unlock()
	p.icmp.OutMsgs.Inc()
	p.icmp.OutEchos.Inc()
	b.ID = p.reg.NextPacketID()
	p.icmpSendProbe(b, &rt, msg)
	return p.Output(b, &rt, protoICMP, SendOptions{TTL: ttl, DF: df})
}

// Close stops delivery and frees the identifier.
func (pg *Pinger) Close() {
	t := &pg.p.pings
	t.mu.Lock()
	delete(t.byID, pg.id)
	t.mu.Unlock()
	pg.mu.Lock()
	if !pg.closed {
		pg.closed = true
		close(pg.replies)
	}
	pg.mu.Unlock()
}

func (t *pingTable) lookup(id uint16) *Pinger {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.byID[id]
}

func (t *pingTable) deliver(id, seq uint16, from netip.Addr, ttl uint8, n int, now time.Time) {
	if pg := t.lookup(id); pg != nil {
		pg.push(EchoReply{From: from, Seq: seq, TTL: ttl, Len: n}, now)
	}
}

func (t *pingTable) deliverError(id, seq uint16, e ICMPError) {
	if pg := t.lookup(id); pg != nil {
		e.Transport = nil // the quoted bytes are not ours to keep
		pg.push(EchoReply{From: e.From, Seq: seq, Err: &e}, time.Time{})
	}
}

func (t *pingTable) closeAll() {
	t.mu.Lock()
	var all []*Pinger
	for _, pg := range t.byID {
		all = append(all, pg)
	}
	t.mu.Unlock()
	for _, pg := range all {
		pg.Close()
	}
}

func (pg *Pinger) push(r EchoReply, now time.Time) {
	pg.mu.Lock()
	defer pg.mu.Unlock()
	if pg.closed {
		return
	}
	if at, ok := pg.sent[r.Seq]; ok {
		if !now.IsZero() {
			r.RTT = now.Sub(at)
		}
		delete(pg.sent, r.Seq)
	} else if r.Err == nil {
		return // a reply to nothing we sent, or a duplicate
	}
	select {
	case pg.replies <- r:
	default:
		// The reader is too slow: like a full socket buffer, drop it,
		// and count it where Linux counts undeliverable ICMP.
		pg.p.icmp.InErrors.Inc()
	}
}

// PingOptions configure Ping.
type PingOptions struct {
	Count    int           // requests to send (0: 4)
	Size     int           // payload bytes (0: 56)
	Interval time.Duration // between requests (0: 1s)
	// Timeout is how long to wait for the last reply. 0 waits as
	// iputils ping does: twice the longest round trip seen, at least a
	// second, or, with no reply yet, 10 s (its linger time) — long
	// enough for the host unreachable that ARP's failure brings (3 s).
	Timeout time.Duration
	TTL     uint8 // of the requests (0: the default)
	DF      bool  // set don't-fragment (ping -M do)
}

// PingSummary is what `ping` prints at the end.
type PingSummary struct {
	Sent, Received, Errors int
	Min, Avg, Max          time.Duration
}

func (s PingSummary) String() string {
	loss := 0.0
	if s.Sent > 0 {
		loss = 100 * float64(s.Sent-s.Received) / float64(s.Sent)
	}
	out := fmt.Sprintf("%d packets transmitted, %d received, %.0f%% packet loss", s.Sent, s.Received, loss)
	if s.Errors > 0 {
		out += fmt.Sprintf(", %d errors", s.Errors)
	}
	if s.Received > 0 {
		out += fmt.Sprintf("\nrtt min/avg/max = %.3f/%.3f/%.3f ms",
			float64(s.Min.Microseconds())/1000, float64(s.Avg.Microseconds())/1000, float64(s.Max.Microseconds())/1000)
	}
	return out
}

// Ping sends o.Count echo requests to dst, calling onReply (if not nil)
// for each reply or error as it comes, and returns the summary. It waits
// on the stack's clock, so it runs on virtual time under a manual clock.
func (p *Proto) Ping(ctx context.Context, dst netip.Addr, o PingOptions, onReply func(EchoReply)) (PingSummary, error) {
	if o.Count <= 0 {
		o.Count = 4
	}
	if o.Size <= 0 {
		o.Size = 56
	}
	if o.Interval <= 0 {
		o.Interval = time.Second
	}
	pg := p.NewPinger()
	defer pg.Close()
	pg.SetTTL(o.TTL)
	pg.SetDontFragment(o.DF)
	var sum PingSummary
	var total time.Duration
	tick := make(chan struct{}, 1)
	fire := func() {
		select {
		case tick <- struct{}{}:
		default:
		}
	}
	record := func(r EchoReply) {
		if r.Err != nil {
			sum.Errors++
		} else {
			sum.Received++
			total += r.RTT
			if sum.Min == 0 || r.RTT < sum.Min {
				sum.Min = r.RTT
			}
			if r.RTT > sum.Max {
				sum.Max = r.RTT
			}
		}
		if onReply != nil {
			onReply(r)
		}
	}
	for seq := 1; seq <= o.Count; seq++ {
		if err := pg.Send(dst, uint16(seq), o.Size); err != nil {
			return sum, err
		}
		sum.Sent++
		wait := o.Interval
		if seq == o.Count {
			wait = lastWait(o.Timeout, sum)
		}
		t := p.clk.AfterFunc(wait, fire)
	waiting:
		for {
			select {
			case r, ok := <-pg.replies:
				if !ok {
					t.Stop() // the stack closed under us
					return sum, ErrPingerClosed
				}
				record(r)
				if seq == o.Count && sum.Received+sum.Errors >= sum.Sent {
					t.Stop()
					break waiting
				}
			case <-tick:
				break waiting
			case <-ctx.Done():
				t.Stop()
				return sum, ctx.Err()
			}
		}
	}
	if sum.Received > 0 {
		sum.Avg = total / time.Duration(sum.Received)
	}
	return sum, nil
}

// pingLinger is how long ping waits for the last reply when none came
// back at all (iputils' MAXWAIT).
const pingLinger = 10 * time.Second

// lastWait is how long Ping waits after its last request: timeout if
// set, else as iputils ping (twice the longest round trip, at least a
// second; pingLinger without a reply).
func lastWait(timeout time.Duration, sum PingSummary) time.Duration {
	switch {
	case timeout > 0:
		return timeout
	case sum.Received > 0:
		return max(2*sum.Max, time.Second)
	}
	return pingLinger
}

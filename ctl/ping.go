package ctl

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"time"

	"ustack/ipv4"
	"ustack/wire"
)

// MaxPingSize is the largest echo payload: an IPv4 datagram of 65,535
// bytes less the IP and ICMP headers, as ping(8) allows.
const MaxPingSize = 65535 - 20 - wire.ICMPv4HeaderLen

// PingArgs are the arguments of method "ping".
type PingArgs struct {
	Addr netip.Addr `json:"addr"`
	// Count is how many requests to send: 0 means 4 (ipv4.PingOptions'
	// default), a negative count means until cancelled, as ping(8)
	// without -c.
	Count int `json:"count,omitempty"`
	// Size is the payload length in bytes (0: 56).
	Size int `json:"size,omitempty"`
	// Interval is the time between requests (0: 1s).
	Interval Duration `json:"interval,omitempty"`
	// Timeout is how long to wait for the last reply (0: as ping does;
	// see ipv4.PingOptions).
	Timeout Duration `json:"timeout,omitempty"`
}

// PingReply is one "reply" event: an echo reply, or an ICMP error about
// an echo request (ICMPType set).
type PingReply struct {
	From  netip.Addr `json:"from"`
	Seq   int        `json:"seq"`
	TTL   int        `json:"ttl,omitempty"`
	Bytes int        `json:"bytes,omitempty"` // ICMP message length, as ping(8) counts
	RTT   Duration   `json:"rtt,omitempty"`
	// ICMPType and ICMPCode are set when the answer is an ICMP error.
	ICMPType int `json:"icmp_type,omitempty"`
	ICMPCode int `json:"icmp_code,omitempty"`
	// MTU is the next-hop MTU a fragmentation-needed error gives.
	MTU int `json:"mtu,omitempty"`
}

// IsError reports whether r is an ICMP error rather than a reply.
func (r PingReply) IsError() bool { return r.ICMPType != 0 }

// String formats r as iputils ping prints it:
//
//	64 bytes from 10.0.0.1: icmp_seq=1 ttl=64 time=0.123 ms
//	From 10.0.0.254 icmp_seq=2 Destination Host Unreachable
func (r PingReply) String() string {
	if r.IsError() {
		return fmt.Sprintf("From %v icmp_seq=%d %s", r.From, r.Seq, ipv4.PingErrorText(wire.ICMPv4Type(r.ICMPType), uint8(r.ICMPCode), r.MTU))
	}
	return fmt.Sprintf("%d bytes from %v: icmp_seq=%d ttl=%d time=%s ms", r.Bytes, r.From, r.Seq, r.TTL, ms(r.RTT.D()))
}

// PingSummary is the result of method "ping": ping(8)'s statistics.
type PingSummary struct {
	Addr     netip.Addr `json:"addr"`
	Sent     int        `json:"sent"`
	Received int        `json:"received"`
	Errors   int        `json:"errors,omitempty"`
	Min      Duration   `json:"min"`
	Avg      Duration   `json:"avg"`
	Max      Duration   `json:"max"`
	Mdev     Duration   `json:"mdev"`
	Time     Duration   `json:"time"` // from the first request to the end
}

// String formats s as iputils ping's statistics block.
func (s PingSummary) String() string {
	// As iputils computes and prints it: a float, with %g.
	var loss float32
	if s.Sent > 0 {
		loss = float32(float64(s.Sent-s.Received) * 100 / float64(s.Sent))
	}
	out := fmt.Sprintf("--- %v ping statistics ---\n%d packets transmitted, %d received", s.Addr, s.Sent, s.Received)
	if s.Errors > 0 {
		out += fmt.Sprintf(", +%d errors", s.Errors)
	}
	out += fmt.Sprintf(", %g%% packet loss, time %dms", loss, s.Time.D().Milliseconds())
	if s.Received > 0 {
		out += fmt.Sprintf("\nrtt min/avg/max/mdev = %s/%s/%s/%s ms", ms(s.Min.D()), ms(s.Avg.D()), ms(s.Max.D()), ms(s.Mdev.D()))
	}
	return out
}

func ms(d time.Duration) string { return fmt.Sprintf("%.3f", float64(d)/float64(time.Millisecond)) }

// rttStats accumulates what PingSummary reports (cf. iputils' tsum and
// tsum2, from which mdev is sqrt(E[x²] - E[x]²)).
type rttStats struct {
	n             int
	min, max      time.Duration
	sum, sumSq    float64
	errors        int
	first, latest time.Time
}

func (t *rttStats) add(r ipv4.EchoReply) {
	if r.Err != nil {
		t.errors++
		return
	}
	t.n++
	if t.n == 1 || r.RTT < t.min {
		t.min = r.RTT
	}
	if r.RTT > t.max {
		t.max = r.RTT
	}
	x := float64(r.RTT)
	t.sum += x
	t.sumSq += x * x
}

func (t *rttStats) summary(addr netip.Addr, sent int, elapsed time.Duration) PingSummary {
	s := PingSummary{Addr: addr, Sent: sent, Received: t.n, Errors: t.errors, Time: Duration(elapsed)}
	if t.n > 0 {
		mean := t.sum / float64(t.n)
		s.Min, s.Max, s.Avg = Duration(t.min), Duration(t.max), Duration(mean)
		if v := t.sumSq/float64(t.n) - mean*mean; v > 0 {
			s.Mdev = Duration(math.Sqrt(v))
		}
	}
	return s
}

// ping serves method "ping". When the client cancels, the statistics so
// far are the result, as ping(8) prints them on ^C.
func (s *Server) ping(ctx context.Context, raw json.RawMessage, st *Stream) (any, error) {
	var a PingArgs
	if err := decodeArgs(raw, &a); err != nil {
		return nil, err
	}
	switch {
	case !a.Addr.IsValid():
		return nil, argsError("ping: missing destination address")
	case !a.Addr.Unmap().Is4():
		return nil, argsError("ping: %v is not an IPv4 address", a.Addr)
	case a.Size < 0 || a.Size > MaxPingSize:
		return nil, argsError("ping: size %d out of range 0..%d", a.Size, MaxPingSize)
	case a.Interval < 0 || a.Timeout < 0:
		return nil, argsError("ping: negative interval or timeout")
	}
	addr := a.Addr.Unmap()
	o := ipv4.PingOptions{Count: a.Count, Size: a.Size, Interval: a.Interval.D(), Timeout: a.Timeout.D()}
	if a.Count < 0 {
		o.Count = math.MaxInt32
	}
	clk := s.st.Clock()
	start := clk.Now()
	var t rttStats
	sum, err := s.st.Ping(ctx, addr, o, func(r ipv4.EchoReply) {
		t.add(r)
		ev := PingReply{From: r.From, Seq: int(r.Seq), TTL: int(r.TTL), Bytes: r.Len + wire.ICMPv4HeaderLen, RTT: Duration(r.RTT)}
		if r.Err != nil {
			ev = PingReply{From: r.Err.From, Seq: int(r.Seq), ICMPType: int(r.Err.Type), ICMPCode: int(r.Err.Code), MTU: r.Err.MTU}
		}
		st.Send("reply", ev)
	})
	res := t.summary(addr, sum.Sent, clk.Now().Sub(start))
	if err != nil {
		if errors.Is(context.Cause(ctx), errCancelled) {
			return res, nil
		}
		if ctx.Err() != nil {
			return nil, context.Cause(ctx)
		}
		return nil, err
	}
	return res, nil
}

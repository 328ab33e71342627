package ctl

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/netip"
	"os"
	"sync"
	"time"
)

// DefaultUDPWait is how long method "udp" waits for replies after sending
// when UDPArgs.Timeout is 0.
const DefaultUDPWait = 2 * time.Second

// UDPArgs are the arguments of method "udp". It works in one of two
// modes, like nc -u and nc -u -l:
//
// Send (Listen false): from a socket bound to Local (zero: any address,
// an ephemeral port) and connected to Addr, send each element of Data as
// one datagram, then report the datagrams that come back (the connected
// socket accepts them only from Addr, and reports an ICMP port
// unreachable as ECONNREFUSED).
//
// Listen: bind Local (its port must be set; the address may be 0.0.0.0,
// and must be given: on the wire "0.0.0.0:53", not ":53") and report
// every datagram that arrives.
//
// Either way the request ends after Count datagrams received (0: no
// limit), after Timeout without one (0: DefaultUDPWait when sending, no
// limit when listening), after Duration in all (0: no limit), or when
// cancelled.
type UDPArgs struct {
	Listen   bool           `json:"listen,omitempty"`
	Addr     netip.AddrPort `json:"addr"`
	Local    netip.AddrPort `json:"local"`
	Data     [][]byte       `json:"data,omitempty"`
	SendOnly bool           `json:"send_only,omitempty"` // send, do not wait for replies
	Count    int            `json:"count,omitempty"`
	Timeout  Duration       `json:"timeout,omitempty"`
	Duration Duration       `json:"duration,omitempty"`
}

// Datagram is one "datagram" event: a datagram the socket received.
type Datagram struct {
	From netip.AddrPort `json:"from"`
	Data []byte         `json:"data"`
}

// UDPResult is the result of method "udp".
type UDPResult struct {
	Local         netip.AddrPort `json:"local"` // the socket's bound address
	Sent          int            `json:"sent"`
	SentBytes     int            `json:"sent_bytes"`
	Received      int            `json:"received"`
	ReceivedBytes int            `json:"received_bytes"`
}

// maxDatagram is the largest UDP payload over IPv4.
const maxDatagram = 65535 - 20 - 8

// udp serves method "udp". When the client cancels, the counts so far are
// the result.
func (s *Server) udp(ctx context.Context, raw json.RawMessage, st *Stream) (any, error) {
	var a UDPArgs
	if err := decodeArgs(raw, &a); err != nil {
		return nil, err
	}
	if a.Count < 0 || a.Timeout < 0 || a.Duration < 0 {
		return nil, argsError("udp: negative count, timeout or duration")
	}
	var (
		pc   net.PacketConn
		conn net.Conn // send mode: pc, connected to a.Addr
	)
	if a.Listen {
		if a.Local.Port() == 0 {
			return nil, argsError("udp: listen needs a port")
		}
		local := a.Local
		if !local.Addr().IsValid() {
			local = netip.AddrPortFrom(netip.IPv4Unspecified(), local.Port())
		}
		c, err := s.st.ListenPacket("udp", local.String())
		if err != nil {
			return nil, err
		}
		pc = c
	} else {
		if !a.Addr.IsValid() || a.Addr.Port() == 0 {
			return nil, argsError("udp: destination must be ADDR:PORT with a port other than 0")
		}
		c, err := s.st.DialFrom(ctx, "udp", a.Local, a.Addr.String())
		if err != nil {
			return nil, err
		}
		conn, pc = c, c.(net.PacketConn)
	}
	defer pc.Close()
	res := UDPResult{}
	if ua, ok := pc.LocalAddr().(*net.UDPAddr); ok {
		res.Local = ua.AddrPort()
	}
	if !a.Listen {
		for _, d := range a.Data {
			if len(d) > maxDatagram {
				return nil, argsError("udp: datagram of %d bytes exceeds %d", len(d), maxDatagram)
			}
			if _, err := conn.Write(d); err != nil {
				return nil, err
			}
			res.Sent++
			res.SentBytes += len(d)
		}
		if a.SendOnly {
			return res, nil
		}
	}

	// Reads end at a deadline; cancellation moves it to the past. The
	// lock orders the two so that a cancel is never overwritten by the
	// loop setting the next deadline.
	var mu sync.Mutex
	stop := context.AfterFunc(ctx, func() {
		mu.Lock()
		pc.SetReadDeadline(time.Unix(1, 0))
		mu.Unlock()
	})
	defer stop()
	idle := a.Timeout.D()
	if idle == 0 && !a.Listen {
		idle = DefaultUDPWait
	}
	clk := s.st.Clock()
	var end time.Time
	if a.Duration > 0 {
		end = clk.Now().Add(a.Duration.D())
	}
	buf := make([]byte, maxDatagram+1)
	for a.Count == 0 || res.Received < a.Count {
		var dl time.Time
		if idle > 0 {
			dl = clk.Now().Add(idle)
		}
		if !end.IsZero() && (dl.IsZero() || end.Before(dl)) {
			dl = end
		}
		mu.Lock()
		if ctx.Err() != nil {
			mu.Unlock()
			break
		}
		pc.SetReadDeadline(dl)
		mu.Unlock()
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return res, nil
			}
			return nil, err
		}
		res.Received++
		res.ReceivedBytes += n
		d := Datagram{Data: buf[:n]}
		if ua, ok := from.(*net.UDPAddr); ok {
			d.From = ua.AddrPort()
		}
		st.Send("datagram", d)
	}
	if ctx.Err() != nil && !errors.Is(context.Cause(ctx), errCancelled) {
		return nil, context.Cause(ctx)
	}
	return res, nil
}

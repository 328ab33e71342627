package gvisor

import (
	"bytes"
	"context"
	"net/netip"
	"testing"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/transport/icmp"
	"gvisor.dev/gvisor/pkg/waiter"

	uipv4 "ustack/ipv4"
)

// TestPingUstackToGVisor: ustack resolves gVisor's MAC with ARP and pings
// it; gVisor answers. The large sizes make both sides fragment and
// reassemble the other's echo.
func TestPingUstackToGVisor(t *testing.T) {
	p := newPair(t, 0)
	for _, size := range []int{56, 1472, 1473, 4000} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		var bad []uipv4.EchoReply
		sum, err := p.us.Ping(ctx, gvAddr, uipv4.PingOptions{Count: 3, Size: size, Interval: 10 * time.Millisecond, Timeout: 2 * time.Second},
			func(r uipv4.EchoReply) {
				if r.Err != nil || r.From != gvAddr || r.Len != size {
					bad = append(bad, r)
				}
			})
		cancel()
		if err != nil || sum.Received != 3 || len(bad) > 0 {
			t.Errorf("size %d: Ping(%v) = %v, %v; bad replies %v; want 3 of 3", size, gvAddr, sum, err, bad)
		}
	}
	us, gs := p.us.Stats(), p.gv.Stats()
	if us.ARP.OutRequests.Load() == 0 || us.ARP.Resolved.Load() == 0 {
		t.Errorf("ustack ARP OutRequests = %d, Resolved = %d, want > 0", us.ARP.OutRequests.Load(), us.ARP.Resolved.Load())
	}
	if gs.ARP.RequestsReceived.Value() == 0 || gs.ARP.OutgoingRepliesSent.Value() == 0 {
		t.Errorf("gVisor ARP RequestsReceived = %d, OutgoingRepliesSent = %d, want > 0",
			gs.ARP.RequestsReceived.Value(), gs.ARP.OutgoingRepliesSent.Value())
	}
	if got := gs.ICMP.V4.PacketsReceived.EchoRequest.Value(); got != 12 {
		t.Errorf("gVisor echo requests received = %d, want 12", got)
	}
	if got := us.IP.ReasmOKs.Load(); got != 6 {
		t.Errorf("ustack IP ReasmOKs = %d, want 6 (the 1473- and 4000-byte replies)", got)
	}
}

// TestPingGVisorToUstack: gVisor resolves ustack's MAC with ARP and sends
// echo requests from a ping socket; ustack answers.
func TestPingGVisorToUstack(t *testing.T) {
	p := newPair(t, 0)
	var wq waiter.Queue
	ep, terr := p.gv.NewEndpoint(icmp.ProtocolNumber4, ipv4.ProtocolNumber, &wq)
	if terr != nil {
		t.Fatalf("gVisor NewEndpoint(icmp) = %s", terr)
	}
	if terr := ep.Connect(FullAddr(netip.AddrPortFrom(usAddr, 0))); terr != nil {
		ep.Close()
		t.Fatalf("gVisor icmp Connect = %s", terr)
	}
	c := gonet.NewUDPConn(&wq, ep)
	defer c.Close()

	seq := uint16(0)
	for _, size := range []int{56, 1472, 1473, 4000} {
		for range 3 {
			seq++
			req := make([]byte, header.ICMPv4MinimumSize+size)
			h := header.ICMPv4(req)
			h.SetType(header.ICMPv4Echo)
			h.SetSequence(seq)
			for i := range size {
				req[header.ICMPv4MinimumSize+i] = byte(i) ^ byte(seq)
			}
			// gVisor sets the ident (the socket's port) and checksum.
			if _, err := c.Write(req); err != nil {
				t.Fatalf("gVisor ping Write(size %d) = %v", size, err)
			}
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			rep := make([]byte, 65536)
			n, err := c.Read(rep)
			if err != nil {
				t.Fatalf("gVisor ping Read (seq %d, size %d) = %v", seq, size, err)
			}
			r := header.ICMPv4(rep[:n])
			if n != len(req) || r.Type() != header.ICMPv4EchoReply || r.Sequence() != seq ||
				!bytes.Equal(r.Payload(), req[header.ICMPv4MinimumSize:]) {
				t.Errorf("reply to seq %d size %d: type %d seq %d len %d, want echo reply seq %d len %d with the same payload",
					seq, size, r.Type(), r.Sequence(), n, seq, len(req))
			}
		}
	}
	us, gs := p.us.Stats(), p.gv.Stats()
	if gs.ARP.OutgoingRequestsSent.Value() == 0 || gs.ARP.RepliesReceived.Value() == 0 {
		t.Errorf("gVisor ARP OutgoingRequestsSent = %d, RepliesReceived = %d, want > 0",
			gs.ARP.OutgoingRequestsSent.Value(), gs.ARP.RepliesReceived.Value())
	}
	if us.ARP.InRequests.Load() == 0 || us.ARP.OutReplies.Load() == 0 {
		t.Errorf("ustack ARP InRequests = %d, OutReplies = %d, want > 0", us.ARP.InRequests.Load(), us.ARP.OutReplies.Load())
	}
	if got := us.ICMP.OutEchoReps.Load(); got != 12 {
		t.Errorf("ustack ICMP OutEchoReps = %d, want 12", got)
	}
	if got := us.IP.ReasmOKs.Load(); got != 6 {
		t.Errorf("ustack IP ReasmOKs = %d, want 6 (the 1473- and 4000-byte requests)", got)
	}
}

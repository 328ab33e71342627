package ctl_test

import (
	"io"
	"net"
	"net/netip"
	"slices"
	"testing"
	"time"

	"ustack/ctl"
)

// TestSockets lists a's sockets through the control socket: a listener,
// an established connection with its TCP numbers, and UDP sockets
// connected and not.
func TestSockets(t *testing.T) {
	n := newTestNet(t)
	c := n.dial(t)
	ctx := testContext(t)

	l, err := n.a.Listen("tcp", ":80")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		sc, err := l.Accept()
		if err != nil {
			close(accepted)
			return
		}
		accepted <- sc
	}()
	conn, err := n.b.DialContext(ctx, "tcp", "10.0.0.1:80")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	sc := <-accepted
	if sc == nil {
		t.Fatal("Accept failed")
	}
	defer sc.Close()
	// Data both ways: the RTT is measured, and 3 bytes wait unread at a.
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := sc.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(conn, make([]byte, 4)); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Write([]byte("abc")); err != nil {
		t.Fatal(err)
	}
	unconnected, err := n.a.ListenPacket("udp", ":5353")
	if err != nil {
		t.Fatal(err)
	}
	defer unconnected.Close()
	connected, err := n.a.DialContext(ctx, "udp", "10.0.0.2:7")
	if err != nil {
		t.Fatal(err)
	}
	defer connected.Close()
	peer := netip.MustParseAddrPort(conn.LocalAddr().String())

	var all []ctl.Socket
	deadline := time.Now().Add(5 * time.Second)
	for {
		if all, err = c.Sockets(ctx, ctl.SocketsArgs{All: true}); err != nil {
			t.Fatalf("Sockets(all): %v", err)
		}
		if i := slices.IndexFunc(all, func(s ctl.Socket) bool { return s.Remote == peer }); i >= 0 && all[i].RecvQ == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Sockets(all) = %+v, want the connection from %v with 3 bytes queued", all, peer)
		}
		time.Sleep(5 * time.Millisecond)
	}
	find := func(proto, state string, local netip.AddrPort) *ctl.Socket {
		for i := range all {
			if all[i].Proto == proto && all[i].State == state && all[i].Local == local {
				return &all[i]
			}
		}
		t.Errorf("no %s %s socket on %v in %+v", proto, state, local, all)
		return nil
	}
	if s := find("tcp", "LISTEN", netip.MustParseAddrPort("0.0.0.0:80")); s != nil {
		if s.Remote.IsValid() || s.TCP == nil || s.TCP.Backlog == 0 || s.SendQ != s.TCP.Backlog || s.RecvQ != 0 {
			t.Errorf("listener = %+v (tcp %+v), want no peer, Send-Q = backlog > 0, Recv-Q 0", s, s.TCP)
		}
	}
	if s := find("tcp", "ESTABLISHED", netip.MustParseAddrPort("10.0.0.1:80")); s != nil {
		in := s.TCP
		switch {
		case s.Remote != peer || s.RecvQ != 3:
			t.Errorf("connection = %+v, want peer %v and Recv-Q 3", s, peer)
		case in == nil || in.MSS <= 0 || in.AdvMSS <= 0 || in.Cwnd <= 0 || in.SRTT <= 0 || in.RTO <= 0 || in.Congestion == "":
			t.Errorf("connection's TCP info = %+v, want MSS, cwnd, srtt, rto and congestion control", in)
		case in.SndWScale < 0 || !in.Timestamps || !in.SACK:
			t.Errorf("connection's options = %+v, want window scaling, timestamps and SACK (ustack to ustack)", in)
		case in.TotalRetrans != 0 || in.Retransmits != 0:
			t.Errorf("connection's retransmissions = %d/%d on a clean wire", in.Retransmits, in.TotalRetrans)
		}
	}
	if s := find("udp", "UNCONN", netip.MustParseAddrPort("0.0.0.0:5353")); s != nil && (s.Remote.IsValid() || s.TCP != nil) {
		t.Errorf("unconnected UDP socket = %+v", s)
	}
	udpLocal := netip.MustParseAddrPort(connected.LocalAddr().String())
	if s := find("udp", "ESTAB", udpLocal); s != nil && s.Remote != netip.MustParseAddrPort("10.0.0.2:7") {
		t.Errorf("connected UDP socket = %+v, want peer 10.0.0.2:7", s)
	}

	// The filters, as ss takes them.
	for _, tc := range []struct {
		name  string
		args  ctl.SocketsArgs
		check func(s ctl.Socket) bool
	}{
		{"connections", ctl.SocketsArgs{}, func(s ctl.Socket) bool { return s.State == "ESTABLISHED" || s.State == "ESTAB" }},
		{"listening", ctl.SocketsArgs{Listening: true}, func(s ctl.Socket) bool { return s.State == "LISTEN" || s.State == "UNCONN" }},
		{"tcp", ctl.SocketsArgs{TCP: true, All: true}, func(s ctl.Socket) bool { return s.Proto == "tcp" }},
		{"udp listening", ctl.SocketsArgs{UDP: true, Listening: true}, func(s ctl.Socket) bool { return s.State == "UNCONN" }},
	} {
		got, err := c.Sockets(ctx, tc.args)
		if err != nil {
			t.Fatalf("Sockets(%+v): %v", tc.args, err)
		}
		if len(got) == 0 {
			t.Errorf("%s: Sockets(%+v) is empty", tc.name, tc.args)
		}
		for _, s := range got {
			if !tc.check(s) {
				t.Errorf("%s: Sockets(%+v) has %+v", tc.name, tc.args, s)
			}
		}
	}
	// The library gives the same table to a caller holding the stack.
	if direct := ctl.Sockets(n.a, ctl.SocketsArgs{All: true}); len(direct) != len(all) {
		t.Errorf("ctl.Sockets = %d sockets, the method %d", len(direct), len(all))
	}
}

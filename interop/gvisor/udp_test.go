package gvisor

import (
	"bytes"
	"context"
	"errors"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"
	"gvisor.dev/gvisor/pkg/waiter"
)

// udpSizes are the payload sizes each UDP test sends: empty, small, the
// largest that fits one 1500-byte frame, one byte more (two fragments),
// several fragments, and the largest IPv4 UDP datagram (45 fragments).
var udpSizes = []int{0, 1, 64, 1472, 1473, 8000, 65507}

// payload returns n bytes that differ per size and sequence number.
func payload(n, seq int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + seq*13 + n)
	}
	return b
}

// TestUDPUstackClientGVisorServer: a ustack net.Conn sends to a gVisor
// gonet UDP socket, which echoes each datagram back.
func TestUDPUstackClientGVisorServer(t *testing.T) {
	p := newPair(t, 0)
	srv, err := gonet.DialUDP(p.gv.Stack, ptr(FullAddr(netip.AddrPortFrom(gvAddr, 7))), nil, ipv4.ProtocolNumber)
	if err != nil {
		t.Fatalf("gonet.DialUDP(listen :7) = %v", err)
	}
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cli, err := p.us.DialContext(ctx, "udp", netip.AddrPortFrom(gvAddr, 7).String())
	if err != nil {
		t.Fatalf("ustack Dial = %v", err)
	}
	defer cli.Close()

	buf := make([]byte, 65536)
	for seq, size := range udpSizes {
		want := payload(size, seq)
		if n, err := cli.Write(want); err != nil || n != size {
			t.Fatalf("ustack Write(%d bytes) = %d, %v", size, n, err)
		}
		srv.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, from, err := srv.ReadFrom(buf)
		if err != nil {
			t.Fatalf("gVisor ReadFrom (size %d) = %v", size, err)
		}
		if !bytes.Equal(buf[:n], want) {
			t.Errorf("gVisor got %d bytes, want %d (content differs: %v)", n, size, n == size)
		}
		if from.String() != cli.LocalAddr().String() {
			t.Errorf("gVisor ReadFrom source = %v, want ustack's %v", from, cli.LocalAddr())
		}
		if _, err := srv.WriteTo(buf[:n], from); err != nil {
			t.Fatalf("gVisor WriteTo(%d bytes) = %v", n, err)
		}
		cli.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, err = cli.Read(buf)
		if err != nil {
			t.Fatalf("ustack Read (size %d) = %v", size, err)
		}
		if !bytes.Equal(buf[:n], want) {
			t.Errorf("ustack got %d bytes back, want %d (content differs: %v)", n, size, n == size)
		}
	}
	checkFragmented(t, p)
}

// TestUDPGVisorClientUstackServer: a gVisor gonet UDP conn sends to a
// ustack net.PacketConn, which echoes each datagram back.
func TestUDPGVisorClientUstackServer(t *testing.T) {
	p := newPair(t, 0)
	srv, err := p.us.ListenPacket("udp", ":7")
	if err != nil {
		t.Fatalf("ustack ListenPacket(:7) = %v", err)
	}
	defer srv.Close()
	cli, err := gonet.DialUDP(p.gv.Stack, nil, ptr(FullAddr(netip.AddrPortFrom(usAddr, 7))), ipv4.ProtocolNumber)
	if err != nil {
		t.Fatalf("gonet.DialUDP(%v:7) = %v", usAddr, err)
	}
	defer cli.Close()

	buf := make([]byte, 65536)
	for seq, size := range udpSizes {
		want := payload(size, seq)
		if n, err := cli.Write(want); err != nil || n != size {
			t.Fatalf("gVisor Write(%d bytes) = %d, %v", size, n, err)
		}
		srv.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, from, err := srv.ReadFrom(buf)
		if err != nil {
			t.Fatalf("ustack ReadFrom (size %d) = %v", size, err)
		}
		if !bytes.Equal(buf[:n], want) {
			t.Errorf("ustack got %d bytes, want %d (content differs: %v)", n, size, n == size)
		}
		if from.String() != cli.LocalAddr().String() {
			t.Errorf("ustack ReadFrom source = %v, want gVisor's %v", from, cli.LocalAddr())
		}
		if _, err := srv.WriteTo(buf[:n], from); err != nil {
			t.Fatalf("ustack WriteTo(%d bytes) = %v", n, err)
		}
		cli.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, err = cli.Read(buf)
		if err != nil {
			t.Fatalf("gVisor Read (size %d) = %v", size, err)
		}
		if !bytes.Equal(buf[:n], want) {
			t.Errorf("gVisor got %d bytes back, want %d (content differs: %v)", n, size, n == size)
		}
	}
	checkFragmented(t, p)
}

// TestUDPNoPort: a datagram to a port nobody listens on draws an ICMP port
// unreachable in both directions, which the sender's connected socket
// reports as ECONNREFUSED (Linux and gVisor both do).
func TestUDPNoPort(t *testing.T) {
	p := newPair(t, 0)
	// gonet's Read waits for readable events only and never sees the
	// error, so wait for EventErr on the endpoint itself.
	var wq waiter.Queue
	ep, terr := p.gv.NewEndpoint(udp.ProtocolNumber, ipv4.ProtocolNumber, &wq)
	if terr != nil {
		t.Fatalf("gVisor NewEndpoint(udp) = %s", terr)
	}
	if terr := ep.Connect(FullAddr(netip.AddrPortFrom(usAddr, 9))); terr != nil {
		ep.Close()
		t.Fatalf("gVisor Connect = %s", terr)
	}
	gcli := gonet.NewUDPConn(&wq, ep)
	defer gcli.Close()
	we, errCh := waiter.NewChannelEntry(waiter.EventErr)
	wq.EventRegister(&we)
	defer wq.EventUnregister(&we)
	gcli.Write([]byte("anyone?"))
	select {
	case <-errCh:
		if _, ok := ep.LastError().(*tcpip.ErrConnectionRefused); !ok {
			t.Errorf("gVisor socket error after sending to a closed ustack port = %v, want connection refused", ep.LastError())
		}
	case <-time.After(5 * time.Second):
		t.Errorf("gVisor socket saw no error 5s after sending to a closed ustack port, want connection refused")
	}
	if got := p.us.Stats().UDP.NoPorts.Load(); got != 1 {
		t.Errorf("ustack UDP NoPorts = %d, want 1", got)
	}
	if got := p.us.Stats().ICMP.OutDestUnreachs.Load(); got != 1 {
		t.Errorf("ustack ICMP OutDestUnreachs = %d, want 1", got)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ucli, err := p.us.DialContext(ctx, "udp", netip.AddrPortFrom(gvAddr, 9).String())
	if err != nil {
		t.Fatalf("ustack Dial = %v", err)
	}
	defer ucli.Close()
	ucli.Write([]byte("anyone?"))
	ucli.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := ucli.Read(make([]byte, 16)); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("ustack Read after sending to a closed gVisor port = %v, want connection refused", err)
	}
	if got := p.us.Stats().ICMP.InDestUnreachs.Load(); got != 1 {
		t.Errorf("ustack ICMP InDestUnreachs = %d, want 1", got)
	}
}

// checkFragmented checks that the large datagrams were fragmented and
// reassembled on both sides: 1473 (2), 8000 (6) and 65507 (45 fragments)
// each way.
func checkFragmented(t *testing.T, p *pair) {
	t.Helper()
	st := p.us.Stats()
	if got := st.IP.ReasmOKs.Load(); got != 3 {
		t.Errorf("ustack IP ReasmOKs = %d, want 3", got)
	}
	if got := st.IP.FragOKs.Load(); got != 3 {
		t.Errorf("ustack IP FragOKs = %d, want 3", got)
	}
	if got := st.IP.FragCreates.Load(); got != 2+6+45 {
		t.Errorf("ustack IP FragCreates = %d, want %d", got, 2+6+45)
	}
	if got := st.IP.ReasmReqds.Load(); got != 2+6+45 {
		t.Errorf("ustack IP ReasmReqds = %d, want %d (fragments received from gVisor)", got, 2+6+45)
	}
}

func ptr[T any](v T) *T { return &v }

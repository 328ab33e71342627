package stack

import (
	"net"
	"net/netip"
	"runtime"
	"testing"
	"time"

	"ustack/wire"
)

// FuzzStackInput feeds arbitrary frames to a live stack that has open
// sockets (a bound UDP socket, a connected one, a pending ping) and checks
// that nothing panics, that the stack still works afterwards, and that
// after Close every packet buffer is back in the pool.
//
// The first byte picks what the rest is: 0, a whole Ethernet frame; 1, an
// IPv4 packet behind a valid Ethernet header; 2, a UDP datagram and 3 an
// ICMP message behind valid Ethernet and IPv4 headers; 4, an IPv4
// fragment (offset and MF from the next bytes) of a UDP datagram.
func FuzzStackInput(f *testing.F) {
	f.Add([]byte{0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 2, 0x08, 0x06})
	f.Add(append([]byte{1}, ipFrame(ipSpec{src: peerIP, dst: ourIP, proto: wire.ProtoUDP, payload: udpPayload(peerIP, ourIP, 1, 7, []byte("x"))})[14:]...))
	f.Add(append([]byte{2}, udpPayload(peerIP, ourIP, 1, 7, []byte("hello"))...))
	f.Add(append([]byte{3}, echoRequest(1, 1, []byte("abc"))...))
	f.Add([]byte{3, 3, 3, 0, 0, 0, 0, 0, 0, 0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, 0, 7, 0, 9, 0, 8, 0, 0})
	f.Add([]byte{4, 0x20, 0x00, 1, 2, 3, 4, 5, 6, 7, 8})
	f.Add([]byte{4, 0x00, 0x03, 9, 9, 9, 9, 9, 9, 9, 9})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 || len(data) > 9000 {
			return
		}
		s := New(Options{CheckedBuffers: true})
		nic := newProbeNIC(ourMAC)
		dev, err := s.AddNIC("eth0", nic)
		if err != nil {
			t.Fatal(err)
		}
		s.AddAddress("eth0", netip.MustParsePrefix("10.0.0.1/24"))
		s.Neigh().SetStatic(dev, peerIP, peerMAC)
		srv, err := s.ListenPacket("udp", ":7")
		if err != nil {
			t.Fatal(err)
		}
		conn, err := s.DialFrom(t.Context(), "udp", netip.AddrPortFrom(ourIP, 9), "10.0.0.2:7")
		if err != nil {
			t.Fatal(err)
		}
		pg := s.IP().NewPinger()
		pg.Send(peerIP, 1, 8)

		var frame []byte
		mode, body := data[0]%5, data[1:]
		switch mode {
		case 0:
			frame = body
		case 1:
			frame = append(ethHeader(), body...)
		case 2:
			frame = ipFrame(ipSpec{src: peerIP, dst: ourIP, proto: wire.ProtoUDP, payload: body})
		case 3:
			frame = ipFrame(ipSpec{src: peerIP, dst: ourIP, proto: wire.ProtoICMP, payload: body})
		case 4:
			var off uint16
			var flags wire.IPv4Flags
			if len(body) >= 2 {
				off = (uint16(body[0])<<8 | uint16(body[1])) & 0x1fff * 8
				flags = wire.IPv4Flags(body[0]>>5) & wire.IPv4MoreFragments
				body = body[2:]
			}
			frame = ipFrame(ipSpec{src: peerIP, dst: ourIP, proto: wire.ProtoUDP, id: 99, fragOff: off, flags: flags, payload: body})
		}
		nic.inject(frame)
		// A sentinel datagram behind it: when it reaches the socket, the
		// fuzzed frame has been fully processed (one softnet, FIFO ring).
		nic.inject(ipFrame(ipSpec{src: peerIP, dst: ourIP, proto: wire.ProtoUDP, id: 1, payload: udpPayload(peerIP, ourIP, 4242, 7, []byte("sentinel"))}))
		buf := make([]byte, 9000)
		srv.SetReadDeadline(time.Now().Add(5 * time.Second))
		for {
			n, from, err := srv.ReadFrom(buf)
			if err != nil {
				t.Fatalf("the stack stopped delivering after the fuzzed frame: %v", err)
			}
			if from.(*net.UDPAddr).Port == 4242 && string(buf[:n]) == "sentinel" {
				break
			}
		}
		pg.Close()
		conn.Close()
		srv.Close()
		s.Close()
		if live := s.Pool().Live(); live != 0 {
			t.Fatalf("%d packet buffers leaked", live)
		}
	})
}

func ethHeader() []byte {
	b := make([]byte, wire.EthernetHeaderLen)
	h := wire.EthernetHeader{Dst: ourMAC, Src: peerMAC, EtherType: wire.EtherTypeIPv4}
	h.Encode(b)
	return b
}

// TestCloseReclaimsEverything: Close stops every goroutine the stack
// started and frees every buffer, with sockets open, a ping pending,
// packets queued on an unresolved neighbour and a fragment held.
func TestCloseReclaimsEverything(t *testing.T) {
	before := runtime.NumGoroutine()
	for i := 0; i < 5; i++ {
		s := New(Options{CheckedBuffers: true})
		nic := newProbeNIC(ourMAC)
		s.AddNIC("eth0", nic)
		s.AddAddress("eth0", netip.MustParsePrefix("10.0.0.1/24"))
		pc, _ := s.ListenPacket("udp", ":7")
		c, _ := s.DialContext(t.Context(), "udp", "10.0.0.3:7") // unresolved: queued
		c.Write([]byte("waiting for ARP"))
		go pc.ReadFrom(make([]byte, 10)) // a reader blocked in the stack
		nic.inject(ipFrame(ipSpec{src: peerIP, dst: ourIP, proto: wire.ProtoUDP, id: 5, flags: wire.IPv4MoreFragments, payload: make([]byte, 64)}))
		deadline := time.Now().Add(5 * time.Second)
		for s.Stats().IP.ReasmReqds.Load() == 0 && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		pc.Close()
		c.Close()
		if live := s.Pool().Live(); live != 0 {
			t.Fatalf("%d buffers held after Close", live)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("goroutines: %d before, %d after Close:\n%s", before, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(5 * time.Millisecond)
	}
}

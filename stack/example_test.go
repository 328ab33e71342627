package stack_test

import (
	"context"
	"fmt"

	"ustack/stack"
)

// A stack alone has its loopback device: UDP over it with the net-shaped
// API (net.PacketConn and net.Conn).
func Example() {
	s := stack.New(stack.Options{})
	defer s.Close()
	srv, _ := s.ListenPacket("udp", "127.0.0.1:7")
	defer srv.Close()
	c, _ := s.DialContext(context.Background(), "udp", "127.0.0.1:7")
	defer c.Close()

	c.Write([]byte("hello"))
	buf := make([]byte, 64)
	n, from, _ := srv.ReadFrom(buf)
	srv.WriteTo(buf[:n], from) // echo
	n, _ = c.Read(buf)
	fmt.Printf("%s (server saw a client on %s)\n", buf[:n], from.Network())
	// Output:
	// hello (server saw a client on udp)
}

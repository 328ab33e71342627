package udp_test

import (
	"fmt"
	"net/netip"

	"ustack/stack"
)

// Endpoints are the sockets under the net-shaped API: bind, send, receive.
func Example() {
	s := stack.New(stack.Options{})
	defer s.Close()
	srv, _ := s.UDP().Bind(netip.MustParseAddrPort("127.0.0.1:5353"))
	defer srv.Close()
	cli, _ := s.UDP().Bind(netip.AddrPort{})
	defer cli.Close()
	cli.SendTo([]byte("query"), srv.LocalAddr())
	buf := make([]byte, 16)
	n, _, _ := srv.Recv(buf)
	fmt.Printf("%s to %v\n", buf[:n], srv.LocalAddr())
	// Output:
	// query to 127.0.0.1:5353
}

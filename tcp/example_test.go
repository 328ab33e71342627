package tcp_test

import (
	"context"
	"fmt"
	"io"

	"ustack/netsim"
)

// Two in-process hosts: a TCP server on one, a client on the other,
// through the net.Listener and net.Conn that ustack's stacks hand out.
func Example() {
	n := netsim.New(netsim.Options{Seed: 1})
	defer n.Close()
	a, b := n.Host("a"), n.Host("b")
	n.MustLink(a, "10.0.0.1/24", b, "10.0.0.2/24", netsim.LinkOptions{})

	ln, _ := b.Listen("tcp", ":7")
	go func() {
		c, _ := ln.Accept()
		io.Copy(c, c) // echo until the client's FIN
		c.Close()
	}()
	c, err := a.DialContext(context.Background(), "tcp", "10.0.0.2:7")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Fprint(c, "hello over ustack TCP")
	c.(interface{ CloseWrite() error }).CloseWrite()
	reply, _ := io.ReadAll(c)
	fmt.Println(string(reply))
	c.Close()
	ln.Close()

	_, err = a.DialContext(context.Background(), "tcp", "10.0.0.2:8")
	fmt.Println(err)
	// Output:
	// hello over ustack TCP
	// dial tcp 10.0.0.2:8: connect: connection refused
}

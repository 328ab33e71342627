package ctl_test

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"time"

	"ustack/ctl"
	"ustack/stack"
)

// A stack serving its control socket, and a client pinging through it:
// what `ustack up` and `ustack ping` do, in one process.
func ExampleClient_Ping() {
	st := stack.New(stack.Options{})
	defer st.Close()
	dir, _ := os.MkdirTemp("", "ctl-example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "ustack.sock")

	l, err := ctl.Listen(path)
	if err != nil {
		fmt.Println(err)
		return
	}
	srv := ctl.NewServer(st)
	go srv.Serve(l)
	defer srv.Close()

	c, err := ctl.Dial(path)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	args := ctl.PingArgs{Addr: netip.MustParseAddr("127.0.0.1"), Count: 2, Interval: ctl.Duration(10 * time.Millisecond)}
	sum, err := c.Ping(context.Background(), args, func(r ctl.PingReply) {
		fmt.Printf("%d bytes from %v: icmp_seq=%d\n", r.Bytes, r.From, r.Seq)
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%d transmitted, %d received\n", sum.Sent, sum.Received)
	// Output:
	// 64 bytes from 127.0.0.1: icmp_seq=1
	// 64 bytes from 127.0.0.1: icmp_seq=2
	// 2 transmitted, 2 received
}

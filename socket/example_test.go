package socket_test

import (
	"errors"
	"fmt"
	"syscall"

	"ustack/socket"
)

// OpError shapes errors as package net does, so errors.Is sees the errno.
func ExampleOpError() {
	err := socket.OpError("dial", "udp", nil, nil, syscall.ECONNREFUSED)
	fmt.Println(err)
	fmt.Println(errors.Is(err, syscall.ECONNREFUSED))
	// Output:
	// dial udp: connect: connection refused
	// true
}

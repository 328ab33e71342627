package gonet_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"ustack/stack"
)

// Deadlines behave as in package net: a read past its deadline fails
// with an error matching os.ErrDeadlineExceeded whose Timeout is true.
func Example_deadline() {
	s := stack.New(stack.Options{})
	defer s.Close()
	c, _ := s.DialContext(context.Background(), "udp", "127.0.0.1:9")
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
	_, err := c.Read(make([]byte, 10))
	var te interface{ Timeout() bool }
	fmt.Println(errors.Is(err, os.ErrDeadlineExceeded), errors.As(err, &te) && te.Timeout())
	// Output:
	// true true
}

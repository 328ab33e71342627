package socket

import (
	"errors"
	"net"
	"os"
	"syscall"
)

// OpError wraps err the way package net does, so callers can test it with
// errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, net.ErrClosed) or
// errors.Is(err, os.ErrDeadlineExceeded), and it prints like package
// net's errors ("read udp 10.0.0.1:5000->10.0.0.2:7: connection refused").
func OpError(op, network string, source, addr net.Addr, err error) error {
	if err == nil {
		return nil
	}
	var se error = err
	if errno, ok := err.(syscall.Errno); ok {
		se = os.NewSyscallError(syscallName(op), errno)
	}
	return &net.OpError{Op: op, Net: network, Source: source, Addr: addr, Err: se}
}

func syscallName(op string) string {
	switch op {
	case "dial":
		return "connect"
	case "listen":
		return "bind"
	}
	return op
}

// Errors the socket layer hands out; each maps to what package net returns.
var (
	ErrClosed           = net.ErrClosed
	ErrDeadlineExceeded = os.ErrDeadlineExceeded
)

// IsTimeout reports whether err is a deadline error.
func IsTimeout(err error) bool { return errors.Is(err, os.ErrDeadlineExceeded) }

package ipv4

import (
	"fmt"
	"syscall"
	"testing"

	"ustack/wire"
)

func TestICMPErrorErrnoAndFatal(t *testing.T) {
	cases := []struct {
		tc    wire.ICMPv4TypeCode
		errno syscall.Errno
		fatal bool
	}{
		{wire.ICMPv4NetUnreachable, syscall.ENETUNREACH, false},
		{wire.ICMPv4HostUnreachable, syscall.EHOSTUNREACH, false},
		{wire.ICMPv4ProtoUnreachable, syscall.ENOPROTOOPT, true},
		{wire.ICMPv4PortUnreachable, syscall.ECONNREFUSED, true},
		{wire.ICMPv4FragmentationNeeded, syscall.EMSGSIZE, false},
		{wire.ICMPv4HostProhibited, syscall.EHOSTUNREACH, true},
		{wire.ICMPv4TTLExceeded, syscall.EHOSTUNREACH, false},
		{wire.ICMPv4PointerIndicates, syscall.EPROTO, false},
	}
	for _, c := range cases {
		e := &ICMPError{Type: c.tc.Type(), Code: c.tc.Code()}
		if got := e.Errno(); got != c.errno {
			t.Errorf("(%v).Errno() = %v, want %v", c.tc, got, c.errno)
		}
		if got := e.Fatal(); got != c.fatal {
			t.Errorf("(%v).Fatal() = %v, want %v", c.tc, got, c.fatal)
		}
	}
	for _, c := range []struct {
		in   error
		want error
	}{{ErrNoRoute, syscall.ENETUNREACH}, {fmt.Errorf("x: %w", ErrNetDown), syscall.ENETDOWN},
		{ErrNoSource, syscall.EADDRNOTAVAIL}, {ErrMessageSize, syscall.EMSGSIZE}, {syscall.EPIPE, syscall.EPIPE}} {
		if got := Errno(c.in); got != c.want {
			t.Errorf("Errno(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}

package ipv4

import (
	"errors"
	"syscall"

	"ustack/wire"
)

// Errno maps the IP layer's errors to the errno a socket call returns
// (other errors pass through). Transports share it.
func Errno(err error) error {
	switch {
	case errors.Is(err, ErrNoRoute):
		return syscall.ENETUNREACH
	case errors.Is(err, ErrNetDown):
		return syscall.ENETDOWN
	case errors.Is(err, ErrNotAvailable), errors.Is(err, ErrNoSource):
		return syscall.EADDRNOTAVAIL
	case errors.Is(err, ErrMessageSize):
		return syscall.EMSGSIZE
	}
	return err
}

// Errno maps an ICMP error to what a socket reports (cf. Linux's
// icmp_err_convert).
func (e *ICMPError) Errno() syscall.Errno {
	switch e.Type {
	case wire.ICMPv4DestUnreach:
		switch wire.NewICMPv4TypeCode(e.Type, e.Code) {
		case wire.ICMPv4NetUnreachable:
			return syscall.ENETUNREACH
		case wire.ICMPv4ProtoUnreachable:
			return syscall.ENOPROTOOPT
		case wire.ICMPv4PortUnreachable:
			return syscall.ECONNREFUSED
		case wire.ICMPv4FragmentationNeeded:
			return syscall.EMSGSIZE
		}
		return syscall.EHOSTUNREACH
	case wire.ICMPv4ParamProblem:
		return syscall.EPROTO
	}
	return syscall.EHOSTUNREACH
}

// Fatal reports whether the error is a hard one, reported to a socket at
// once (the fatal column of icmp_err_convert): protocol and port
// unreachable, administratively prohibited, source route failed. Net or
// host unreachable and time exceeded are transient (RFC 1122 §4.1.3.3).
func (e *ICMPError) Fatal() bool {
	if e.Type != wire.ICMPv4DestUnreach {
		return false
	}
	switch wire.NewICMPv4TypeCode(e.Type, e.Code) {
	case wire.ICMPv4ProtoUnreachable, wire.ICMPv4PortUnreachable, wire.ICMPv4SourceRouteFailed,
		wire.ICMPv4NetProhibited, wire.ICMPv4HostProhibited, wire.ICMPv4CommProhibited:
		return true
	}
	return false
}

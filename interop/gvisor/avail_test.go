package gvisor

import (
	"context"
	"errors"
	"net"
	"testing"
)

// The fakes below stand for the shapes ustack's stack.Stack may take while
// TCP lands; TestTCPAvailable checks that only the "no TCP at all" shapes
// make the TCP tests skip.

var errUnknownTCP = &net.OpError{Op: "dial", Net: "tcp", Err: net.UnknownNetworkError("tcp")}

// noTCP is today's stack: UDP only.
type noTCP struct{}

func (noTCP) DialContext(context.Context, string, string) (net.Conn, error) {
	return nil, errUnknownTCP
}

// listenUnknown has a Listen, but not for tcp yet.
type listenUnknown struct{ noTCP }

func (listenUnknown) Listen(string, string) (net.Listener, error) { return nil, errUnknownTCP }

// listenWorks has TCP.
type listenWorks struct{ noTCP }

func (listenWorks) Listen(string, string) (net.Listener, error) { return fakeListener{}, nil }

// listenBroken has a Listen for tcp that fails.
type listenBroken struct{ noTCP }

func (listenBroken) Listen(string, string) (net.Listener, error) {
	return nil, errors.New("tcp: not implemented")
}

// listenOtherShape has a Listen the harness does not know.
type listenOtherShape struct{ noTCP }

func (listenOtherShape) Listen(string, string, int) (net.Listener, error) { return fakeListener{}, nil }

// dialOnly dials tcp (somehow) but has no Listen.
type dialOnly struct{}

func (dialOnly) DialContext(context.Context, string, string) (net.Conn, error) {
	return nil, errors.New("connection refused")
}

type fakeListener struct{ net.Listener }

func (fakeListener) Close() error { return nil }

func TestTCPAvailable(t *testing.T) {
	for _, tc := range []struct {
		name    string
		s       dialer
		want    bool
		wantErr bool
	}{
		{"no TCP", noTCP{}, false, false},
		{"Listen answers unknown network", listenUnknown{}, false, false},
		{"Listen works", listenWorks{}, true, false},
		{"Listen fails otherwise", listenBroken{}, false, true},
		{"Listen of another shape", listenOtherShape{}, false, true},
		{"dial without Listen", dialOnly{}, false, true},
	} {
		got, err := tcpAvailable(tc.s)
		if got != tc.want || (err != nil) != tc.wantErr {
			t.Errorf("%s: tcpAvailable = %v, %v; want %v, error %v", tc.name, got, err, tc.want, tc.wantErr)
		}
	}
}

package gvisor

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"reflect"
	"testing"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"

	"ustack/drivers/vwire"
	ustack "ustack/stack"
)

// side is one stack of a topology, seen through the net-shaped calls both
// implementations offer, so that one test or benchmark body runs on
// ustack↔gVisor, gVisor↔ustack, ustack↔ustack and gVisor↔gVisor alike.
type side interface {
	Name() string
	Addr() netip.Addr
	ListenUDP(port uint16) (net.PacketConn, error)
	DialUDP(ctx context.Context, to netip.AddrPort) (net.Conn, error)
	ListenTCP(port uint16) (net.Listener, error)
	DialTCP(ctx context.Context, to netip.AddrPort) (net.Conn, error)
}

// tcpStack is the TCP API ustack's stack.Stack is to gain: Listen as
// net.Listen, and DialContext (already there for UDP) accepting "tcp".
type tcpStack interface {
	Listen(network, address string) (net.Listener, error)
}

// usSide is a ustack stack.
type usSide struct {
	s    *ustack.Stack
	addr netip.Addr
}

func (u usSide) Name() string     { return "ustack" }
func (u usSide) Addr() netip.Addr { return u.addr }

func (u usSide) ListenUDP(port uint16) (net.PacketConn, error) {
	return u.s.ListenPacket("udp", netip.AddrPortFrom(u.addr, port).String())
}

func (u usSide) DialUDP(ctx context.Context, to netip.AddrPort) (net.Conn, error) {
	return u.s.DialContext(ctx, "udp", to.String())
}

// ListenTCP needs requireTCP to have passed first.
func (u usSide) ListenTCP(port uint16) (net.Listener, error) {
	ts, ok := any(u.s).(tcpStack)
	if !ok {
		return nil, errors.New("ustack has no Listen")
	}
	return ts.Listen("tcp", netip.AddrPortFrom(u.addr, port).String())
}

func (u usSide) DialTCP(ctx context.Context, to netip.AddrPort) (net.Conn, error) {
	return u.s.DialContext(ctx, "tcp", to.String())
}

// gvSide is a gVisor stack.
type gvSide struct{ h *Host }

func (g gvSide) Name() string     { return "gvisor" }
func (g gvSide) Addr() netip.Addr { return g.h.Addr }

func (g gvSide) ListenUDP(port uint16) (net.PacketConn, error) {
	return gonet.DialUDP(g.h.Stack, ptr(FullAddr(netip.AddrPortFrom(g.h.Addr, port))), nil, ipv4.ProtocolNumber)
}

func (g gvSide) DialUDP(ctx context.Context, to netip.AddrPort) (net.Conn, error) {
	return gonet.DialUDP(g.h.Stack, nil, ptr(FullAddr(to)), ipv4.ProtocolNumber)
}

func (g gvSide) ListenTCP(port uint16) (net.Listener, error) {
	return gonet.ListenTCP(g.h.Stack, FullAddr(netip.AddrPortFrom(g.h.Addr, port)), ipv4.ProtocolNumber)
}

func (g gvSide) DialTCP(ctx context.Context, to netip.AddrPort) (net.Conn, error) {
	return gonet.DialContextTCP(ctx, g.h.Stack, FullAddr(to), ipv4.ProtocolNumber)
}

// sides returns the pair's two stacks: ustack, then gVisor.
func (p *pair) sides() (side, side) {
	return usSide{p.us, usAddr}, gvSide{p.gv}
}

// newUstackPair cables two ustack stacks (10.0.0.1, 10.0.0.2) with a
// vwire, both verifying checksums as the gVisor side of a mixed pair does.
// The wire passes TCP GSO super-packets whole, as a link between two
// ustack stacks allows (both ends hand Bufs across by reference); vwire
// turns that off when o impairs the wire, since impairments act on frames.
func newUstackPair(tb testing.TB, o wireOptions) (side, side) {
	tb.Helper()
	a, b := vwire.NewPair(
		vwire.Config{Name: "a", MAC: vwire.SeededMAC(2, 1), NoChecksumOffload: true, GSO: true, MTU: o.MTU, Impair: o.Impair, Seed: o.Seed},
		vwire.Config{Name: "b", MAC: vwire.SeededMAC(2, 2), NoChecksumOffload: true, GSO: true, MTU: o.MTU, Impair: o.Impair, Seed: o.Seed})
	mk := func(end *vwire.End, p netip.Prefix, seed uint64) *ustack.Stack {
		s := ustack.New(ustack.Options{CheckedBuffers: !o.FastBuffers, Seed: seed})
		if _, err := s.AddNIC("eth0", end); err != nil {
			tb.Fatalf("ustack AddNIC = %v", err)
		}
		if err := s.AddAddress("eth0", p); err != nil {
			tb.Fatalf("ustack AddAddress = %v", err)
		}
		tb.Cleanup(func() {
			if err := s.Close(); err != nil {
				tb.Errorf("ustack Close = %v", err)
			}
		})
		return s
	}
	var sa, sb *ustack.Stack
	tb.Cleanup(func() { // runs after both Closes
		for _, s := range []*ustack.Stack{sa, sb} {
			if s != nil && s.Pool().Live() != 0 {
				tb.Errorf("ustack pool: %d buffers still held after Close (leak)", s.Pool().Live())
			}
		}
	})
	sa, sb = mk(a, usPrefix, 1), mk(b, gvPrefix, 2)
	return usSide{sa, usAddr}, usSide{sb, gvAddr}
}

// newGVisorPair cables two gVisor stacks (10.0.0.1, 10.0.0.2) with a
// vwire, a Link on each end.
func newGVisorPair(tb testing.TB, o wireOptions) (side, side) {
	tb.Helper()
	a, b := vwire.NewPair(
		vwire.Config{Name: "a", MAC: vwire.SeededMAC(3, 1), MTU: o.MTU, Impair: o.Impair, Seed: o.Seed},
		vwire.Config{Name: "b", MAC: vwire.SeededMAC(3, 2), MTU: o.MTU, Impair: o.Impair, Seed: o.Seed})
	mk := func(end *vwire.End, p netip.Prefix) *Host {
		l, err := NewLink(end, LinkOptions{})
		if err != nil {
			tb.Fatalf("NewLink = %v", err)
		}
		h, err := NewHost(l, p)
		if err != nil {
			tb.Fatalf("NewHost = %v", err)
		}
		tb.Cleanup(h.Close)
		return h
	}
	return gvSide{mk(a, usPrefix)}, gvSide{mk(b, gvPrefix)}
}

// requireTCP skips tb when, and only when, ustack has no TCP at all; see
// tcpAvailable.
func requireTCP(tb testing.TB, s *ustack.Stack) {
	tb.Helper()
	ok, err := tcpAvailable(s)
	if err != nil {
		tb.Fatal(err)
	}
	if !ok {
		tb.Skip("ustack TCP not available yet")
	}
}

// dialer is the part of ustack's stack.Stack tcpAvailable probes besides
// Listen.
type dialer interface {
	DialContext(ctx context.Context, network, address string) (net.Conn, error)
}

// tcpAvailable reports whether s has TCP. It reports false, nil only when
// s has no Listen method (or one that answers "unknown network" for tcp)
// and a DialContext that answers "unknown network" for tcp. Any other
// state — a Listen of another shape, a dial that does something else
// without a Listen, a Listen that fails differently — is an error, so that
// a half-landed or broken TCP can never pass as "not there yet". True
// means only that a listener opened: the tests proper judge the rest.
func tcpAvailable(s dialer) (bool, error) {
	listen := "no Listen method"
	if ts, ok := s.(tcpStack); ok {
		ln, err := ts.Listen("tcp", "127.0.0.1:0")
		if err == nil {
			ln.Close()
			return true, nil
		}
		if !isUnknownNetwork(err) {
			return false, fmt.Errorf("ustack Listen(tcp, 127.0.0.1:0) = %v, want a listener (or an unknown-network error while TCP is absent)", err)
		}
		listen = "Listen(tcp) = " + err.Error()
	} else if m, found := reflect.TypeOf(s).MethodByName("Listen"); found {
		return false, fmt.Errorf("ustack has Listen of type %v, not func(network, address string) (net.Listener, error): update tcpStack in sides_test.go", m.Type)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	c, err := s.DialContext(ctx, "tcp", "127.0.0.1:9")
	if c != nil {
		c.Close()
	}
	if !isUnknownNetwork(err) {
		return false, fmt.Errorf("ustack has %s, but DialContext(tcp) = %v (not an unknown-network error): TCP half there?", listen, err)
	}
	return false, nil
}

func isUnknownNetwork(err error) bool {
	var u net.UnknownNetworkError
	return errors.As(err, &u)
}

package vwire

import (
	"errors"
	"testing"
	"time"

	"ustack/clock"
	"ustack/drivers/fault"
	"ustack/netdev"
	"ustack/pkt"
)

// TestPairGSOCaps: GSO takes effect only when both ends declare it and
// nothing impairs the wire, and a GSO pair shares one offload setting.
func TestPairGSOCaps(t *testing.T) {
	loss := fault.Impair{Loss: 0.1}
	for _, tc := range []struct {
		name       string
		a, b       Config
		gso        bool
		offA, offB bool
	}{
		{"off by default", Config{}, Config{}, false, true, true},
		{"one end only", Config{GSO: true}, Config{}, false, true, true},
		{"both ends", Config{GSO: true}, Config{GSO: true}, true, true, true},
		{"impaired", Config{GSO: true, Impair: loss}, Config{GSO: true}, false, true, true},
		{"impaired the other way", Config{GSO: true}, Config{GSO: true, Impair: loss}, false, true, true},
		{"one end verifies checksums", Config{GSO: true, NoChecksumOffload: true}, Config{GSO: true}, true, false, false},
		{"without GSO offload stays per end", Config{NoChecksumOffload: true}, Config{}, false, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := NewPair(tc.a, tc.b)
			defer a.Close()
			defer b.Close()
			want := 0
			if tc.gso {
				want = netdev.GSOMaxSize
			}
			ca, cb := a.Caps(), b.Caps()
			if ca.GSOMaxSize != want || cb.GSOMaxSize != want {
				t.Errorf("GSOMaxSize = %d, %d, want %d", ca.GSOMaxSize, cb.GSOMaxSize, want)
			}
			if ca.ChecksumOffload != tc.offA || cb.ChecksumOffload != tc.offB {
				t.Errorf("ChecksumOffload = %v, %v, want %v, %v", ca.ChecksumOffload, cb.ChecksumOffload, tc.offA, tc.offB)
			}
		})
	}
	s := NewSwitch(SwitchConfig{})
	defer s.Close()
	if p := s.Port(Config{GSO: true}); p.Caps().GSOMaxSize != 0 {
		t.Errorf("switch port GSOMaxSize = %d, want 0", p.Caps().GSOMaxSize)
	}
	w := fault.Wrap(&End{caps: netdev.Caps{GSOMaxSize: netdev.GSOMaxSize}}, fault.Config{Tx: fault.Impair{Delay: time.Millisecond}, Clock: clock.NewManual(epoch)})
	defer w.Close()
	if w.Caps().GSOMaxSize != 0 {
		t.Errorf("fault.Wrap with a transmit impairment keeps GSOMaxSize %d, want 0", w.Caps().GSOMaxSize)
	}
}

// TestPairGSOFrames: a GSO pair carries a super-packet longer than the MTU
// whole, with its GSOSize; an ordinary frame that long is still refused,
// as is a super-packet on a pair without GSO.
func TestPairGSOFrames(t *testing.T) {
	pool := checkedPool(t)
	for _, tc := range []struct {
		name    string
		gso     bool
		size    uint16
		n       int
		wantErr error
	}{
		{"GSO pair, super-packet", true, 1448, 14 + 20000, nil},
		{"GSO pair, largest", true, 1448, 14 + netdev.GSOMaxSize, nil},
		{"GSO pair, beyond the largest", true, 1448, 14 + netdev.GSOMaxSize + 1, ErrTooBig},
		{"GSO pair, ordinary frame over the MTU", true, 0, 14 + 1501, ErrTooBig},
		{"plain pair, super-packet", false, 1448, 14 + 20000, ErrTooBig},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, _, _, hb := startPair(t, pool, Config{MAC: mac(1), GSO: tc.gso}, Config{MAC: mac(2), GSO: tc.gso})
			b := pool.Copy(pkt.MaxHeaderLen, ether(mac(2), mac(1), tc.n, 0))
			b.GSOSize = tc.size
			if err := a.Transmit(b); !errors.Is(err, tc.wantErr) {
				t.Fatalf("Transmit(%d bytes, GSO size %d) = %v, want %v", tc.n, tc.size, err, tc.wantErr)
			}
			want := 1
			if tc.wantErr != nil {
				want = 0
			}
			if got := hb.take(); len(got) != want || want == 1 && len(got[0]) != tc.n {
				t.Errorf("peer got %d frames, want %d of %d bytes", len(got), want, tc.n)
			}
		})
	}
}

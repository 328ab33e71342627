//go:build linux

package tap

import (
	"bytes"
	"encoding/binary"
	"sync/atomic"
	"testing"

	"golang.org/x/sys/unix"

	"ustack/internal/testenv"
	"ustack/pkt"
)

// fakeRx is a netdev.Receiver that copies each frame to a channel and
// frees it, dropping (and counting) frames when the channel is full.
type fakeRx struct {
	pool    *pkt.Pool
	frames  chan []byte
	got     atomic.Int64
	dropped atomic.Int64
	views   atomic.Int64 // frames that were not in one view
}

func newFakeRx(n int) *fakeRx {
	return &fakeRx{pool: pkt.NewPool(pkt.Options{Checked: true}), frames: make(chan []byte, n)}
}

func (r *fakeRx) Pool() *pkt.Pool { return r.pool }

func (r *fakeRx) Receive(b *pkt.Buf) {
	if b.NumViews() != 1 {
		r.views.Add(1)
	}
	f := bytes.Clone(b.Bytes())
	b.Free()
	r.got.Add(1)
	select {
	case r.frames <- f:
	default:
		r.dropped.Add(1)
	}
}

// openMoved opens a new TAP (or TUN) interface with a unique name, moves
// its kernel side into a fresh namespace and returns the device, the
// namespace and the name. The device is closed, then the namespace
// deleted, in Cleanup.
func openMoved(t *testing.T, opts Options) (*Device, string) {
	t.Helper()
	ns := testenv.NewNetns(t)
	name := testenv.UniqueName(t, "ut")
	opts.Create = true
	d, err := Open(name, opts)
	if err != nil {
		t.Fatalf("Open(%q, %+v) = %v", name, opts, err)
	}
	t.Cleanup(func() { d.Close() })
	testenv.Run(t, "ip", "link", "set", "dev", name, "netns", ns)
	return d, ns
}

// linkExists reports whether namespace ns ("" for the test's own) has an
// interface called name.
func linkExists(t *testing.T, ns, name string) bool {
	t.Helper()
	check := func() (ok bool) {
		ctl, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			panic(err)
		}
		defer unix.Close(ctl)
		return ifExists(ctl, name)
	}
	if ns == "" {
		return check()
	}
	var ok bool
	testenv.InNetns(t, ns, func() { ok = check() })
	return ok
}

// csum is the Internet checksum (RFC 1071), written here independently of
// package wire.
func csum(b []byte) uint16 {
	var s uint32
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		s += uint32(b[len(b)-1]) << 8
	}
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return ^uint16(s)
}

var be = binary.BigEndian

//go:build linux

package tap

import (
	"errors"
	"net/netip"
	"os"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"ustack/internal/testenv"
	"ustack/pkt"
)

func TestOpenNameTooLong(t *testing.T) {
	const name = "abcdefghijklmnop" // 16 bytes
	d, err := Open(name, Options{Create: true})
	if err == nil {
		d.Close()
		t.Fatalf("Open(%q) = nil error, want ErrNameTooLong", name)
	}
	if !errors.Is(err, ErrNameTooLong) {
		t.Errorf("Open(%q) = %v, want ErrNameTooLong", name, err)
	}
	if want := "tap: open " + name + ": interface name longer than 15 bytes"; err.Error() != want {
		t.Errorf("Open(%q) = %q, want %q", name, err, want)
	}
}

func TestRandomMAC(t *testing.T) {
	for range 100 {
		m := RandomMAC()
		if m[0]&1 != 0 || m[0]&2 == 0 {
			t.Fatalf("RandomMAC() = %v, want unicast and locally administered", m)
		}
	}
}

// TestOpenErrors checks the errors a user meets most: a missing interface
// without Create, a busy one, one of the other kind; and attaching to a
// persistent interface, which outlives the Device. All inside a
// namespace, through InNetns.
func TestOpenErrors(t *testing.T) {
	ns := testenv.NewNetns(t)
	missing := testenv.UniqueName(t, "um")
	busy := testenv.UniqueName(t, "ub")
	persist := testenv.UniqueName(t, "up")
	testenv.NetnsRun(t, ns, "ip", "tuntap", "add", "mode", "tap", "name", persist)

	var errMissing, errBusy, errKind, errAttach error
	var attached *Device
	testenv.InNetns(t, ns, func() {
		_, errMissing = Open(missing, Options{})
		d, err := Open(busy, Options{Create: true})
		if err != nil {
			errBusy = err
			return
		}
		defer d.Close()
		_, errBusy = Open(busy, Options{Create: true})
		_, errKind = Open(persist, Options{TUN: true})
		attached, errAttach = Open(persist, Options{SetUp: true})
	})

	if !errors.Is(errMissing, syscall.ENODEV) || !errors.Is(errMissing, ErrNoDevice) {
		t.Errorf("Open(missing, Create false) = %v, want ENODEV", errMissing)
	}
	if !errors.Is(errBusy, syscall.EBUSY) || !strings.HasPrefix(errBusy.Error(), "tap: open "+busy+": device or resource busy") {
		t.Errorf("second Open(%s) = %v, want EBUSY", busy, errBusy)
	}
	if !errors.Is(errKind, syscall.EINVAL) || !strings.Contains(errKind.Error(), "not a TUN") {
		t.Errorf("Open(TAP %s as TUN) = %v, want EINVAL with a hint", persist, errKind)
	}
	if errAttach != nil {
		t.Fatalf("Open(existing %s) = %v", persist, errAttach)
	}
	if attached.Created() {
		t.Errorf("Created() = true for an existing interface")
	}
	if err := attached.Close(); err != nil {
		t.Errorf("Close = %v", err)
	}
	out := testenv.NetnsRun(t, ns, "ip", "link", "show", "dev", persist)
	if !strings.Contains(out, ",UP") {
		t.Errorf("SetUp: kernel side not up: %s", out)
	}
	if !linkExists(t, ns, persist) {
		t.Errorf("persistent %s vanished on Close", persist)
	}
	if linkExists(t, ns, busy) {
		t.Errorf("created %s still exists after Close", busy)
	}
}

// TestOpenNotPermitted opens from a thread whose effective uid is not
// root: the error must say so and match os.ErrPermission.
func TestOpenNotPermitted(t *testing.T) {
	testenv.RequirePrivileged(t)
	name := testenv.UniqueName(t, "un")
	errc := make(chan error, 1)
	go func() {
		// The thread's credentials change for good: never unlock it, so
		// that the runtime destroys it afterwards.
		runtime.LockOSThread()
		// A raw setresuid changes this thread only (the libc and
		// syscall wrappers change every thread). The saved uid stays 0.
		if _, _, e := unix.RawSyscall(unix.SYS_SETRESUID, ^uintptr(0), 65534, ^uintptr(0)); e != 0 {
			errc <- e
			return
		}
		d, err := Open(name, Options{Create: true})
		if err == nil {
			d.Close()
		}
		errc <- err
	}()
	err := <-errc
	if !errors.Is(err, os.ErrPermission) || !strings.HasPrefix(err.Error(), "tap: open "+name+": ") {
		t.Errorf("Open as uid 65534 = %v, want a permission error", err)
	}
	t.Logf("Open as uid 65534: %v", err)
}

// settleGoroutines waits until at most n goroutines remain.
func settleGoroutines(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > n {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines, want <= %d:\n%s", runtime.NumGoroutine(), n, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestCloseIdle closes a device whose reader is parked in the poller, on
// an interface whose name the kernel chose.
func TestCloseIdle(t *testing.T) {
	ns := testenv.NewNetns(t)
	before := runtime.NumGoroutine()
	var d *Device
	var err error
	testenv.InNetns(t, ns, func() { d, err = Open("", Options{Create: true, SetUp: true}) })
	if err != nil {
		t.Fatalf(`Open("") = %v`, err)
	}
	if !strings.HasPrefix(d.Name(), "tap") || !d.Created() {
		t.Errorf(`Open(""): Name() = %q, Created() = %v; want tapN, true`, d.Name(), d.Created())
	}
	if !linkExists(t, ns, d.Name()) {
		t.Fatalf("%s not found after Open", d.Name())
	}
	rx := newFakeRx(1)
	if err := d.Start(rx); err != nil {
		t.Fatalf("Start = %v", err)
	}
	if err := d.Start(rx); err == nil {
		t.Errorf("second Start = nil, want an error")
	}
	time.Sleep(50 * time.Millisecond) // let the reader park
	closeAndCheck(t, d, ns, before)
	if err := d.Start(rx); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Start after Close = %v, want os.ErrClosed", err)
	}
	b := rx.pool.Get(pkt.MaxHeaderLen, 60)
	if err := d.Transmit(b); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Transmit after Close = %v, want os.ErrClosed", err)
	}
	if n := rx.pool.Live(); n != 0 {
		t.Errorf("pool.Live() = %d, want 0 (Transmit must free)", n)
	}
}

// TestCloseBusy closes a device while the kernel floods it with pings.
func TestCloseBusy(t *testing.T) {
	testenv.RequirePrivileged(t)
	testenv.RequireCommand(t, "ping")
	before := runtime.NumGoroutine()
	d, ns := openMoved(t, Options{})
	kernel := testenv.Subnet(t).Addr().Next()
	ours := kernel.Next()
	testenv.NetnsRun(t, ns, "ip", "addr", "add", netip.PrefixFrom(kernel, 24).String(), "dev", d.Name())
	testenv.NetnsRun(t, ns, "ip", "link", "set", "dev", d.Name(), "up")
	testenv.NetnsRun(t, ns, "ip", "neigh", "add", ours.String(), "lladdr", d.Caps().MAC.String(), "dev", d.Name(), "nud", "permanent")

	rx := newFakeRx(8) // mostly full: Receive drops, as a busy stack would
	if err := d.Start(rx); err != nil {
		t.Fatalf("Start = %v", err)
	}
	testenv.NetnsStart(t, ns, "ping", "-f", "-l", "64", ours.String())
	deadline := time.Now().Add(5 * time.Second)
	for rx.got.Load() < 64 {
		if time.Now().After(deadline) {
			t.Fatalf("received %d frames, want 64", rx.got.Load())
		}
		time.Sleep(5 * time.Millisecond)
	}
	// The ping process's output goroutines are still running: allow for
	// them in the count (they end when Cleanup kills it).
	closeAndCheck(t, d, ns, before+3)
	if n := rx.pool.Live(); n != 0 {
		t.Errorf("pool.Live() = %d after Close, want 0", n)
	}
}

// closeAndCheck closes d and checks that Close was prompt and idempotent,
// the reader is gone, goroutines settle to at most before, and the
// interface vanished from ns.
func closeAndCheck(t *testing.T, d *Device, ns string, before int) {
	t.Helper()
	start := time.Now()
	if err := d.Close(); err != nil {
		t.Errorf("Close = %v", err)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("Close took %v, want < 1s", took)
	}
	select {
	case <-d.done:
	default:
		t.Errorf("reader still running after Close")
	}
	if err := d.Close(); err != nil {
		t.Errorf("second Close = %v, want nil", err)
	}
	settleGoroutines(t, before)
	// The kernel unregisters the interface as the descriptor closes;
	// allow it a moment.
	deadline := time.Now().Add(2 * time.Second)
	for linkExists(t, ns, d.Name()) {
		if time.Now().After(deadline) {
			t.Fatalf("%s still exists after Close", d.Name())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestTransmitAllocs holds Transmit's fast paths to zero allocations:
// write for one view, writev for several. The frames are addressed to
// ustack's own MAC, so the kernel side (in its namespace) drops them.
func TestTransmitAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under the race detector")
	}
	for _, vnet := range []bool{false, true} {
		d, ns := openMoved(t, Options{VnetHdr: vnet})
		b := pkt.NewPool(pkt.Options{}).Get(pkt.MaxHeaderLen, 14)
		if err := d.Transmit(b); !errors.Is(err, syscall.EIO) {
			t.Errorf("Transmit on a down interface = %v, want EIO", err)
		}
		testenv.NetnsRun(t, ns, "ip", "link", "set", "dev", d.Name(), "up")
		pool := pkt.NewPool(pkt.Options{})
		mac := d.Caps().MAC
		frame := func() *pkt.Buf {
			b := pool.Get(pkt.MaxHeaderLen, 14)
			h := b.View(0)
			copy(h[0:6], mac[:])
			copy(h[6:12], mac[:])
			h[12], h[13] = 0x88, 0xb5 // IEEE 802 local experimental EtherType
			return b
		}
		payload := make([]byte, 100)
		for _, tc := range []struct {
			name  string
			views int
		}{{"write", 1}, {"writev", 3}} {
			allocs := testing.AllocsPerRun(200, func() {
				b := frame()
				for range tc.views - 1 {
					p := pool.Get(0, len(payload))
					copy(p.View(0), payload)
					b.Append(p)
				}
				if err := d.Transmit(b); err != nil {
					t.Fatalf("Transmit = %v", err)
				}
			})
			if allocs != 0 {
				t.Errorf("vnet %v: Transmit (%s) allocates %v times, want 0", vnet, tc.name, allocs)
			}
		}
		if n := d.Stats.TxErrors.Load(); n != 1 {
			t.Errorf("TxErrors = %d, want 1 (the write while down)", n)
		}
	}
}

// TestInterfaceDeleted deletes the kernel side under a running device:
// the reader must notice (EBADFD) and end rather than spin, Transmit must
// fail, and Close must still succeed.
func TestInterfaceDeleted(t *testing.T) {
	d, ns := openMoved(t, Options{})
	rx := newFakeRx(8)
	if err := d.Start(rx); err != nil {
		t.Fatalf("Start = %v", err)
	}
	testenv.NetnsRun(t, ns, "ip", "link", "del", "dev", d.Name())
	select {
	case <-d.done:
	case <-time.After(5 * time.Second):
		t.Fatalf("reader still running 5s after the interface was deleted")
	}
	if n := d.Stats.RxErrors.Load(); n != 1 {
		t.Errorf("RxErrors = %d, want 1", n)
	}
	err := d.Transmit(rx.pool.Get(pkt.MaxHeaderLen, 60))
	if !errors.Is(err, unix.EBADFD) {
		t.Errorf("Transmit after deletion = %v, want EBADFD", err)
	}
	if err := d.Close(); err != nil {
		t.Errorf("Close = %v", err)
	}
	if n := rx.pool.Live(); n != 0 {
		t.Errorf("pool.Live() = %d, want 0", n)
	}
}

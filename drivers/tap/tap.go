//go:build linux

package tap

import (
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	"ustack/netdev"
	"ustack/pkt"
	"ustack/stats"
	"ustack/wire"
)

// DevicePath is the clone device through which TAP/TUN interfaces are
// made.
const DevicePath = "/dev/net/tun"

// MaxNameLen is the longest interface name Linux accepts (IFNAMSIZ-1).
const MaxNameLen = unix.IFNAMSIZ - 1

// Defaults.
const (
	// DefaultTxBatch is the TxBatch reported in Caps.
	DefaultTxBatch = 64
	// rxBudget is how many frames the reader takes per wakeup before it
	// lets go of the descriptor, so that Close is never kept waiting by
	// a flood (cf. NAPI's weight).
	rxBudget = 64
	// vlanLen is room for one 802.1Q tag on top of an Ethernet header.
	vlanLen = 4
	// vnetHdrLen is sizeof(struct virtio_net_hdr), the kernel's default
	// TUNSETVNETHDRSZ.
	vnetHdrLen = 10
)

// ErrNameTooLong is returned, wrapped, by Open for a name longer than
// MaxNameLen. Like os.ErrNotExist it is always wrapped in an error that
// names the package and the interface ("tap: open NAME: ...").
var ErrNameTooLong = errors.New("interface name longer than 15 bytes")

// ErrNoDevice is returned, wrapped, by Open when Create is false and no
// interface of that name exists. It matches syscall.ENODEV under
// errors.Is.
var ErrNoDevice = fmt.Errorf("no such interface and Options.Create is false (%w)", syscall.ENODEV)

// Options configure Open.
type Options struct {
	// TUN opens a TUN interface (bare IP packets) instead of a TAP
	// (Ethernet frames).
	TUN bool
	// Create makes the interface if it does not exist; it is then
	// non-persistent and vanishes when the Device is closed. An existing
	// interface (e.g. from `ip tuntap add`) is attached to either way;
	// with Create false it must exist.
	Create bool
	// MTU, if positive, is set on the kernel side and reported in Caps;
	// if zero, the kernel side's MTU is read and reported.
	MTU int
	// MAC is ustack's own address on a TAP link (not the kernel side's).
	// Zero means a random locally administered unicast address.
	MAC wire.MAC
	// SetUp brings the kernel side up (IFF_UP).
	SetUp bool
	// VnetHdr asks for a virtio_net_hdr before each frame (IFF_VNET_HDR).
	// No offloads are enabled, so the header carries nothing the stack
	// needs; the driver strips it on receive and writes a zero one on
	// transmit. It exists for offloads to be added later.
	VnetHdr bool
}

// Stats count what the driver saw, below the device layer's counters.
type Stats struct {
	RxFrames    stats.Counter
	RxBytes     stats.Counter
	RxErrors    stats.Counter // read system call failed
	RxTruncated stats.Counter // frame longer than the receive buffer: dropped
	RxBadVnet   stats.Counter // vnet header asks for GSO or is too short: dropped
	TxFrames    stats.Counter
	TxBytes     stats.Counter
	TxErrors    stats.Counter // write system call failed or was short
}

// Device is an open TAP or TUN interface. It implements netdev.Driver.
//
// Lock order: mu, then the descriptor's own locks (inside os.File).
type Device struct {
	name    string
	caps    netdev.Caps
	created bool // Open made the interface, so it vanishes on Close
	vnet    bool
	file    *os.File
	rc      syscall.RawConn

	// Stats are the driver's counters.
	Stats Stats

	mu      sync.Mutex
	started bool
	closed  bool
	done    chan struct{} // closed when the reader has returned

	// Reader state, touched only by the reader goroutine.
	rx    netdev.Receiver
	rxLen int      // receive buffer size: vnet header + frame
	rxb   *pkt.Buf // spare receive buffer, kept across wakeups
	rxEnd bool     // the interface is gone: stop reading
	read  func(fd uintptr) bool

	// Transmit state, guarded by txMu.
	txMu  sync.Mutex
	txb   *pkt.Buf
	txErr error
	iov   []unix.Iovec
	write func(fd uintptr) bool
}

var _ netdev.Driver = (*Device)(nil)

// Open attaches to the TAP (or, with opts.TUN, TUN) interface name,
// creating it if opts.Create allows, configures the kernel side as opts
// say, and returns the Device; Start it to receive. An empty name lets the
// kernel choose one (tap0, tap1, ...): see Name.
//
// Errors are one line, name the interface and wrap the cause, so that
// errors.Is(err, syscall.EPERM) and the like work:
//
//	tap: open tap0: operation not permitted (needs CAP_NET_ADMIN)
//	tap: open tap0: /dev/net/tun: no such file or directory
//	tap: open tap0: device or resource busy (another process has it open)
//
// Context: process.
func Open(name string, opts Options) (*Device, error) {
	if len(name) > MaxNameLen {
		return nil, openError(name, ErrNameTooLong)
	}
	fd, err := unix.Open(DevicePath, unix.O_RDWR|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("tap: open %s: %s: %w", display(name), DevicePath, err)
	}
	d, err := setup(fd, name, opts)
	if err != nil {
		unix.Close(fd)
		return nil, err
	}
	// The descriptor is non-blocking, so os.NewFile registers it with
	// the runtime poller: reads park the goroutine, and Close wakes it.
	// Never call d.file.Fd(): it would make the descriptor blocking.
	d.file = os.NewFile(uintptr(fd), DevicePath)
	if d.rc, err = d.file.SyscallConn(); err != nil {
		d.file.Close()
		return nil, openError(d.name, err)
	}
	return d, nil
}

// setup turns the open clone descriptor into the interface and configures
// it. cf. tun_set_iff.
func setup(fd int, name string, opts Options) (*Device, error) {
	ctl, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, openError(name, fmt.Errorf("control socket: %w", err))
	}
	defer unix.Close(ctl)

	existed := false
	if name != "" {
		existed = ifExists(ctl, name)
		if !existed && !opts.Create {
			return nil, openError(name, ErrNoDevice)
		}
	}
	flags := uint16(unix.IFF_TAP | unix.IFF_NO_PI)
	if opts.TUN {
		flags = unix.IFF_TUN | unix.IFF_NO_PI
	}
	if opts.VnetHdr {
		flags |= unix.IFF_VNET_HDR
	}
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		return nil, openError(name, err)
	}
	ifr.SetUint16(flags)
	if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
		return nil, openError(name, hint(err, existed, opts.TUN))
	}
	name = ifr.Name()

	d := &Device{
		name:    name,
		created: !existed,
		vnet:    opts.VnetHdr,
		done:    make(chan struct{}),
	}
	d.read = d.readFrames
	d.write = d.writeFrame
	if opts.MTU > 0 {
		ifr, _ := unix.NewIfreq(name)
		ifr.SetUint32(uint32(opts.MTU))
		if err := unix.IoctlIfreq(ctl, unix.SIOCSIFMTU, ifr); err != nil {
			return nil, openError(name, fmt.Errorf("set MTU %d: %w", opts.MTU, err))
		}
	}
	ifr, _ = unix.NewIfreq(name)
	if err := unix.IoctlIfreq(ctl, unix.SIOCGIFMTU, ifr); err != nil {
		return nil, openError(name, fmt.Errorf("get MTU: %w", err))
	}
	mtu := int(ifr.Uint32())
	if opts.SetUp {
		ifr, _ := unix.NewIfreq(name)
		if err := unix.IoctlIfreq(ctl, unix.SIOCGIFFLAGS, ifr); err != nil {
			return nil, openError(name, fmt.Errorf("get flags: %w", err))
		}
		ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
		if err := unix.IoctlIfreq(ctl, unix.SIOCSIFFLAGS, ifr); err != nil {
			return nil, openError(name, fmt.Errorf("set up: %w", err))
		}
	}

	d.caps = netdev.Caps{MTU: mtu, TxBatch: DefaultTxBatch}
	d.rxLen = mtu
	if opts.TUN {
		d.caps.Link = netdev.LinkIP
	} else {
		d.caps.Link = netdev.LinkEthernet
		d.caps.MAC = opts.MAC
		if d.caps.MAC.IsZero() {
			d.caps.MAC = RandomMAC()
		}
		d.rxLen += wire.EthernetHeaderLen + vlanLen
	}
	if d.vnet {
		d.rxLen += vnetHdrLen
	}
	return d, nil
}

// ifExists reports whether an interface of that name exists in the
// caller's namespace.
func ifExists(ctl int, name string) bool {
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		return false
	}
	return unix.IoctlIfreq(ctl, unix.SIOCGIFINDEX, ifr) == nil
}

// hint adds the likely reason to a TUNSETIFF error, keeping the errno
// wrapped.
func hint(err error, existed, tun bool) error {
	kind, other := "TAP", "TUN"
	if tun {
		kind, other = other, kind
	}
	switch {
	case errors.Is(err, unix.EPERM):
		return fmt.Errorf("%w (needs CAP_NET_ADMIN)", err)
	case errors.Is(err, unix.EBUSY):
		return fmt.Errorf("%w (another process has it open)", err)
	case errors.Is(err, unix.EINVAL) && existed:
		return fmt.Errorf("%w (exists but is not a %s interface; a %s, or not TUN/TAP at all?)", err, kind, other)
	}
	return err
}

func display(name string) string {
	if name == "" {
		return `""`
	}
	return name
}

func openError(name string, err error) error {
	return fmt.Errorf("tap: open %s: %w", display(name), err)
}

// RandomMAC returns a random locally administered unicast MAC address
// (RFC 7042 §2.1: the U/L bit set, the I/G bit clear).
func RandomMAC() wire.MAC {
	var m wire.MAC
	rand.Read(m[:])
	m[0] = m[0]&^0x01 | 0x02
	return m
}

// Name returns the interface's name (chosen by the kernel if Open was
// given "").
func (d *Device) Name() string { return d.name }

// Created reports whether Open made the interface, in which case it
// vanishes when the Device is closed.
func (d *Device) Created() bool { return d.created }

// Caps implements netdev.Driver.
func (d *Device) Caps() netdev.Caps { return d.caps }

// Start implements netdev.Driver: it starts the reader goroutine, which
// delivers every received frame to rx until Close. Context: process.
func (d *Device) Start(rx netdev.Receiver) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case d.closed:
		return fmt.Errorf("tap: start %s: %w", d.name, os.ErrClosed)
	case d.started:
		return fmt.Errorf("tap: start %s: already started", d.name)
	}
	d.started = true
	d.rx = rx
	go d.reader()
	return nil
}

func (d *Device) isClosed() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.closed
}

// Close implements netdev.Driver: it wakes and ends the reader, waits for
// it, and closes the descriptor, which removes an interface Open created.
// Receive is not called after Close returns. Context: process.
func (d *Device) Close() error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil
	}
	d.closed = true
	started := d.started
	d.mu.Unlock()

	// os.File.Close evicts the descriptor from the poller, which wakes a
	// parked reader with an error, and returns only once the last user
	// has let go and close(2) has run.
	err := d.file.Close()
	if started {
		<-d.done
	}
	if err != nil {
		return fmt.Errorf("tap: close %s: %w", d.name, err)
	}
	return nil
}

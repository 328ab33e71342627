//go:build linux

package tap

import (
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"

	"ustack/pkt"
)

// reader delivers received frames until Close. Context: driver (its own
// goroutine).
func (d *Device) reader() {
	defer close(d.done)
	defer func() {
		if d.rxb != nil {
			d.rxb.Free()
			d.rxb = nil
		}
	}()
	for !d.rxEnd {
		// RawConn.Read calls d.read with the descriptor held; when it
		// returns false the goroutine parks in the poller until the
		// descriptor is readable again, or fails once it is closed.
		if err := d.rc.Read(d.read); err != nil {
			return
		}
	}
}

// readFrames reads up to rxBudget frames and hands each to the receiver.
// It returns false, to wait for readability, when the kernel has no more
// (EAGAIN), and true after the budget, so that the reader lets go of the
// descriptor between batches. One wakeup of the poller thus drains all
// that is queued, one read(2) per frame: the tun driver offers no batch
// read. Context: driver.
func (d *Device) readFrames(fd uintptr) bool {
	for range rxBudget {
		if d.rxb == nil {
			d.rxb = d.rx.Pool().Get(pkt.MaxHeaderLen, d.rxLen)
		}
		b := d.rxb
		n, err := unix.Read(int(fd), b.View(0))
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN:
			return false
		case err == unix.EBADFD:
			// The interface was deleted under us (tun_chr_read_iter
			// finds no tun): nothing more will ever arrive.
			d.Stats.RxErrors.Inc()
			d.rxEnd = true
			return true
		case err != nil:
			d.Stats.RxErrors.Inc()
			return false
		case n > d.rxLen:
			// tun_put_user returns the frame's full length even when
			// it copied only what fit: the frame is truncated.
			d.Stats.RxTruncated.Inc()
			continue
		}
		b.Trim(n)
		if d.vnet && !stripVnetHdr(b) {
			d.Stats.RxBadVnet.Inc()
			b.Free()
			d.rxb = nil
			continue
		}
		d.rxb = nil
		d.Stats.RxFrames.Inc()
		d.Stats.RxBytes.Add(uint64(b.Len()))
		d.rx.Receive(b)
	}
	return true
}

// virtio_net_hdr (include/uapi/linux/virtio_net.h), in host byte order:
//
//	flags(1) gso_type(1) hdr_len(2) gso_size(2) csum_start(2) csum_offset(2)
const (
	vnetFlags   = 0
	vnetGSOType = 1

	vnetNeedsCsum = 1 // VIRTIO_NET_HDR_F_NEEDS_CSUM
	vnetGSONone   = 0 // VIRTIO_NET_HDR_GSO_NONE
)

// uioMaxIov is Linux's UIO_MAXIOV, the most iovecs one writev takes.
const uioMaxIov = 1024

// stripVnetHdr removes the virtio_net_hdr from a received frame. It
// reports false for a header the driver cannot honour: segmentation
// (GSO) or a partial checksum left to the receiver, which the kernel
// sends only if offloads were enabled with TUNSETOFFLOAD (they are not).
func stripVnetHdr(b *pkt.Buf) bool {
	h := b.Pull(vnetHdrLen)
	return h != nil && h[vnetGSOType] == vnetGSONone && h[vnetFlags]&vnetNeedsCsum == 0
}

// zeroVnetHdr is the header written before each transmitted frame: no
// checksum offload, no segmentation.
var zeroVnetHdr [vnetHdrLen]byte

// Transmit implements netdev.Driver: it writes one frame, taking
// ownership of b, which it frees. A frame in one view and without a vnet
// header goes out with write(2), anything else with writev(2) straight
// from the views, without copying. Context: any (calls are serialised).
func (d *Device) Transmit(b *pkt.Buf) error {
	d.txMu.Lock()
	d.txb = b
	d.txErr = nil
	err := d.rc.Write(d.write)
	if err == nil {
		err = d.txErr
	}
	d.txb = nil
	d.txMu.Unlock()

	n := b.Len()
	b.Free()
	if err != nil {
		d.Stats.TxErrors.Inc()
		switch {
		case d.isClosed():
			// The poller's own "use of closed file" is not os.ErrClosed.
			err = os.ErrClosed
		case err == unix.EIO:
			// tun_get_user refuses frames while the interface is down.
			err = fmt.Errorf("%w (kernel side is down)", err)
		}
		return fmt.Errorf("tap: write %s: %w", d.name, err)
	}
	d.Stats.TxFrames.Inc()
	d.Stats.TxBytes.Add(uint64(n))
	return nil
}

// writeFrame writes d.txb, setting d.txErr; it returns false to wait for
// writability on EAGAIN (in practice the tun driver never refuses a
// write: it drops inside the kernel instead). Context: under txMu.
func (d *Device) writeFrame(fd uintptr) bool {
	b := d.txb
	var n, want int
	var err error
	if b.NumViews() == 1 && !d.vnet {
		want = b.Len()
		n, err = unix.Write(int(fd), b.View(0))
	} else {
		n, want, err = d.writev(fd, b)
	}
	switch {
	case err == unix.EAGAIN:
		return false
	case err == unix.EINTR:
		return d.writeFrame(fd)
	case err != nil:
		d.txErr = err
	case n != want:
		d.txErr = io.ErrShortWrite
	}
	return true
}

// writev gathers the vnet header, if any, and b's views into one
// writev(2). The iovec slice is reused across calls (under txMu), so the
// fast path does not allocate. cf. tun_get_user's iov_iter.
func (d *Device) writev(fd uintptr, b *pkt.Buf) (n, want int, err error) {
	iov := d.iov[:0]
	if d.vnet {
		iov = appendIovec(iov, zeroVnetHdr[:])
		want += vnetHdrLen
	}
	for i := range b.NumViews() {
		v := b.View(i)
		if len(v) == 0 {
			continue
		}
		iov = appendIovec(iov, v)
		want += len(v)
	}
	d.iov = iov
	if len(iov) > uioMaxIov {
		return 0, want, errors.New("too many views for writev")
	}
	var p unsafe.Pointer
	if len(iov) > 0 {
		p = unsafe.Pointer(&iov[0])
	}
	r, _, e := unix.Syscall(unix.SYS_WRITEV, fd, uintptr(p), uintptr(len(iov)))
	// The iovecs point into Go memory that b keeps alive; clear them so
	// that the scratch slice does not pin freed chunks.
	clear(iov)
	if e != 0 {
		return 0, want, syscall.Errno(e)
	}
	return int(r), want, nil
}

func appendIovec(iov []unix.Iovec, p []byte) []unix.Iovec {
	v := unix.Iovec{Base: &p[0]}
	v.SetLen(len(p))
	return append(iov, v)
}

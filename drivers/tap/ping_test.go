//go:build linux

package tap

import (
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"ustack/internal/testenv"
	"ustack/pkt"
	"ustack/wire"
)

// responder stands in for the stack: it answers, by hand, ARP requests
// for its address and ICMP echo requests to it. Echo replies go out as two
// views (headers, then the ICMP message), so that Transmit's writev path
// carries them.
type responder struct {
	t    *testing.T
	d    *Device
	rx   *fakeRx
	ip   [4]byte
	mac  wire.MAC
	link int // link header length: 14 on a TAP, 0 on a TUN

	arpRequests  atomic.Int64
	echoRequests atomic.Int64

	stop chan struct{}
	wg   sync.WaitGroup
}

func startResponder(t *testing.T, d *Device, ip netip.Addr) *responder {
	r := &responder{t: t, d: d, rx: newFakeRx(256), ip: ip.As4(), mac: d.Caps().MAC, stop: make(chan struct{})}
	if !d.Caps().MAC.IsZero() {
		r.link = 14
	}
	if err := d.Start(r.rx); err != nil {
		t.Fatalf("Start = %v", err)
	}
	r.wg.Add(1)
	go r.run()
	t.Cleanup(r.halt)
	return r
}

func (r *responder) halt() {
	select {
	case <-r.stop:
	default:
		close(r.stop)
	}
	r.wg.Wait()
}

func (r *responder) run() {
	defer r.wg.Done()
	for {
		select {
		case <-r.stop:
			return
		case f := <-r.rx.frames:
			r.handle(f)
		}
	}
}

func (r *responder) send(b *pkt.Buf) {
	if err := r.d.Transmit(b); err != nil {
		r.t.Errorf("Transmit = %v", err)
	}
}

func (r *responder) handle(f []byte) {
	if r.link == 14 {
		if len(f) < 14 {
			r.t.Errorf("runt frame % x", f)
			return
		}
		switch be.Uint16(f[12:14]) {
		case 0x0806:
			r.arp(f)
		case 0x0800:
			r.icmp(f)
		}
		return
	}
	if len(f) > 0 && f[0]>>4 == 4 {
		r.icmp(f)
	}
}

// arp answers a request for r.ip (RFC 826).
func (r *responder) arp(f []byte) {
	a := f[14:]
	if len(a) < 28 || be.Uint16(a[0:2]) != 1 || be.Uint16(a[2:4]) != 0x0800 ||
		a[4] != 6 || a[5] != 4 || be.Uint16(a[6:8]) != 1 || [4]byte(a[24:28]) != r.ip {
		return
	}
	r.arpRequests.Add(1)
	senderMAC, senderIP := a[8:14], a[14:18]
	out := make([]byte, 0, 42)
	out = append(out, senderMAC...)        // destination
	out = append(out, r.mac[:]...)         // source
	out = append(out, 0x08, 0x06)          // EtherType ARP
	out = append(out, 0, 1, 0x08, 0, 6, 4) // Ethernet, IPv4, hlen, plen
	out = append(out, 0, 2)                // op: reply
	out = append(out, r.mac[:]...)         // sender hardware address
	out = append(out, r.ip[:]...)          // sender protocol address
	out = append(out, senderMAC...)        // target hardware address
	out = append(out, senderIP...)         // target protocol address
	r.send(r.rx.pool.Copy(pkt.MaxHeaderLen, out))
}

// icmp answers an ICMP echo request to r.ip (RFC 792) with an echo
// reply: addresses swapped, type 0, checksums recomputed.
func (r *responder) icmp(f []byte) {
	ip := f[r.link:]
	if len(ip) < 20 || ip[0]>>4 != 4 || ip[9] != 1 || [4]byte(ip[16:20]) != r.ip {
		return
	}
	ihl, total := int(ip[0]&0xf)*4, int(be.Uint16(ip[2:4]))
	if ihl < 20 || total < ihl+8 || total > len(ip) {
		r.t.Errorf("bad IPv4 packet % x", ip)
		return
	}
	if csum(ip[:ihl]) != 0 || csum(ip[ihl:total]) != 0 {
		r.t.Errorf("bad checksum in % x", ip)
		return
	}
	msg := ip[ihl:total]
	if msg[0] != 8 || msg[1] != 0 {
		return
	}
	r.echoRequests.Add(1)

	hdr := make([]byte, r.link+ihl)
	if r.link == 14 {
		copy(hdr[0:6], f[6:12]) // to the requester
		copy(hdr[6:12], r.mac[:])
		copy(hdr[12:14], f[12:14])
	}
	h := hdr[r.link:]
	copy(h, ip[:ihl])
	copy(h[12:16], ip[16:20]) // source: us
	copy(h[16:20], ip[12:16]) // destination: the requester
	h[8] = 64                 // TTL
	h[10], h[11] = 0, 0
	be.PutUint16(h[10:12], csum(h))

	reply := append([]byte(nil), msg...)
	reply[0] = 0 // echo reply
	reply[2], reply[3] = 0, 0
	be.PutUint16(reply[2:4], csum(reply))

	b := r.rx.pool.Copy(pkt.MaxHeaderLen, hdr)
	b.Append(r.rx.pool.Copy(0, reply))
	if b.NumViews() != 2 {
		r.t.Errorf("echo reply in %d views, want 2", b.NumViews())
	}
	r.send(b)
}

// ping pings addr twice from namespace ns and fails the test unless both
// echo requests are answered.
func ping(t *testing.T, ns string, addr netip.Addr) {
	t.Helper()
	out := testenv.NetnsRun(t, ns, "ping", "-c", "2", "-W", "1", addr.String())
	if !strings.Contains(out, "2 received") {
		t.Fatalf("ping %v: want 2 replies, got:\n%s", addr, out)
	}
}

// TestTAPPingFromNetns moves a TAP's kernel side into a namespace, pings
// ustack's side from there, and answers ARP and ICMP by hand through the
// descriptor: receive, transmit (write and writev) and the descriptor's
// life after the move, in one.
func TestTAPPingFromNetns(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts Options
	}{
		{"plain", Options{}},
		{"vnethdr", Options{VnetHdr: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			testenv.RequirePrivileged(t)
			testenv.RequireCommand(t, "ping")
			d, ns := openMoved(t, tc.opts)
			subnet := testenv.Subnet(t)
			kernel := subnet.Addr().Next()
			ours := kernel.Next()
			testenv.NetnsRun(t, ns, "ip", "addr", "add", netip.PrefixFrom(kernel, 24).String(), "dev", d.Name())
			testenv.NetnsRun(t, ns, "ip", "link", "set", "dev", d.Name(), "up")

			r := startResponder(t, d, ours)
			ping(t, ns, ours)
			r.halt()

			if n := r.arpRequests.Load(); n < 1 {
				t.Errorf("ARP requests = %d, want >= 1", n)
			}
			if n := r.echoRequests.Load(); n != 2 {
				t.Errorf("echo requests = %d, want 2", n)
			}
			if n := d.Stats.TxFrames.Load(); n < 3 {
				t.Errorf("TxFrames = %d, want >= 3 (ARP reply, 2 echo replies)", n)
			}
			if n := d.Stats.RxFrames.Load(); n < 3 {
				t.Errorf("RxFrames = %d, want >= 3", n)
			}
			for name, c := range map[string]uint64{
				"TxErrors": d.Stats.TxErrors.Load(), "RxErrors": d.Stats.RxErrors.Load(),
				"RxTruncated": d.Stats.RxTruncated.Load(), "RxBadVnet": d.Stats.RxBadVnet.Load(),
				"multi-view receives": uint64(r.rx.views.Load()),
			} {
				if c != 0 {
					t.Errorf("%s = %d, want 0", name, c)
				}
			}
			if err := d.Close(); err != nil {
				t.Errorf("Close = %v", err)
			}
			if n := r.rx.pool.Live(); n != 0 {
				t.Errorf("pool.Live() = %d after Close, want 0", n)
			}
		})
	}
}

// TestTUNPingFromNetns is TestTAPPingFromNetns for a TUN: a
// point-to-point /30, bare IP packets, no ARP.
func TestTUNPingFromNetns(t *testing.T) {
	testenv.RequirePrivileged(t)
	testenv.RequireCommand(t, "ping")
	d, ns := openMoved(t, Options{TUN: true, MTU: 1400})
	if c := d.Caps(); c.Link.String() != "ip" || c.MTU != 1400 || !c.MAC.IsZero() {
		t.Errorf("Caps() = %+v, want Link ip, MTU 1400, no MAC", c)
	}
	subnet := testenv.Subnet(t)
	kernel := subnet.Addr().Next()
	peer := kernel.Next()
	testenv.NetnsRun(t, ns, "ip", "addr", "add", kernel.String(), "peer", netip.PrefixFrom(peer, 30).String(), "dev", d.Name())
	testenv.NetnsRun(t, ns, "ip", "link", "set", "dev", d.Name(), "up")
	if out := testenv.NetnsRun(t, ns, "ip", "link", "show", "dev", d.Name()); !strings.Contains(out, "mtu 1400") {
		t.Errorf("kernel side: want mtu 1400, got %s", out)
	}

	r := startResponder(t, d, peer)
	ping(t, ns, peer)
	r.halt()

	if n := r.echoRequests.Load(); n != 2 {
		t.Errorf("echo requests = %d, want 2", n)
	}
	if n := d.Stats.TxFrames.Load(); n != 2 {
		t.Errorf("TxFrames = %d, want 2", n)
	}
	if n := d.Stats.TxErrors.Load(); n != 0 {
		t.Errorf("TxErrors = %d, want 0", n)
	}
}

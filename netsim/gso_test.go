package netsim

import (
	"bytes"
	"crypto/sha256"
	"io"
	"math/rand/v2"
	"net/netip"
	"sync"
	"testing"
	"time"

	"ustack/ipv4/fib"
	"ustack/neigh"
	"ustack/wire"
)

// gsoTopo is client 10.0.1.2 — router — server 10.0.2.2, the client's link
// with GSO at MTU left, the server's an ordinary one at MTU right with a
// tap on it; the router's route to the server has MTU pathMTU (0: the
// link's).
type gsoTopo struct {
	n                      *Network
	client, router, server *Host
	left                   *Link

	mu     sync.Mutex
	frames []Frame // what the router sent the server
}

func newGSOTopo(t *testing.T, left, right, pathMTU int) *gsoTopo {
	t.Helper()
	n := New(Options{Seed: 7, CheckedBuffers: true, Neigh: neigh.Config{RetransTime: 50 * time.Millisecond}})
	tp := &gsoTopo{n: n, client: n.Host("client"), router: n.Router("router"), server: n.Host("server")}
	tp.left = n.MustLink(tp.client, "10.0.1.2/24", tp.router, "10.0.1.1/24", LinkOptions{MTU: left, GSO: true})
	rl, err := n.TapLink(tp.router, "10.0.2.1/24", tp.server, "10.0.2.2/24", LinkOptions{MTU: right}, func(f Frame) {
		if f.Host == "router" {
			tp.mu.Lock()
			tp.frames = append(tp.frames, f)
			tp.mu.Unlock()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if pathMTU > 0 {
		r := fib.Route{Dst: netip.MustParsePrefix("10.0.2.2/32"), Dev: rl.DevA.Index(), MTU: pathMTU}
		if err := tp.router.AddRoute(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := tp.client.DefaultRoute("10.0.1.1"); err != nil {
		t.Fatal(err)
	}
	if err := tp.server.DefaultRoute("10.0.2.1"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		n.Close()
		for _, h := range []*Host{tp.client, tp.router, tp.server} {
			if live := h.Pool().Live(); live != 0 {
				t.Errorf("%s: %d packet buffers still held after Close (leak)", h.Name, live)
			}
		}
	})
	return tp
}

// send streams data from the client to the server over TCP and returns
// the SHA-256 of what the server read.
func (tp *gsoTopo) send(t *testing.T, data []byte) []byte {
	t.Helper()
	ln, err := tp.server.Listen("tcp", ":9000")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	sum := make(chan []byte, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			sum <- nil
			return
		}
		defer c.Close()
		h := sha256.New()
		io.Copy(h, c)
		sum <- h.Sum(nil)
	}()
	c, err := tp.client.DialContext(ctx(t), "tcp", "10.0.2.2:9000")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write(data); err != nil {
		t.Fatal(err)
	}
	c.Close()
	select {
	case s := <-sum:
		return s
	case <-time.After(20 * time.Second):
		t.Fatal("the server did not read everything in 20s")
		return nil
	}
}

// TestGSOForwardedToPlainLink: the client's super-segments cross the GSO
// link whole; the router, forwarding them onto a link without GSO, cuts
// each into MTU-sized frames (not ICMP fragmentation-needed), every one a
// valid IPv4/TCP packet; the bytes arrive exact. When the segments
// themselves do not fit the path (MTU 9000 links, a 1500-byte route
// between), the router answers fragmentation needed, and the client's TCP
// goes on at the smaller MSS, still with GSO.
func TestGSOForwardedToPlainLink(t *testing.T) {
	for _, tc := range []struct {
		name                 string
		left, right, pathMTU int
		pmtu                 bool // the client must learn the path MTU
	}{
		{"segments fit", 1500, 1500, 0, false},
		{"segments too big", 9000, 9000, 1500, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tp := newGSOTopo(t, tc.left, tc.right, tc.pathMTU)
			data := make([]byte, 3<<20)
			r := rand.New(rand.NewPCG(3, 4))
			for i := range data {
				data[i] = byte(r.Uint32())
			}
			want := sha256.Sum256(data)
			if got := tp.send(t, data); !bytes.Equal(got, want[:]) {
				t.Fatalf("server read data with SHA-256 %x, want %x", got, want)
			}

			cs, rs, ss := tp.client.Stats(), tp.router.Stats(), tp.server.Stats()
			if f, segs := tp.left.EndA.Stats.TxFrames.Load(), cs.TCP.OutSegs.Load(); f*4 > segs {
				t.Errorf("client sent %d frames for %d TCP segments: GSO unused?", f, segs)
			}
			gsoPkts, gsoSegs := rs.Ether.OutGSOPackets.Load(), rs.Ether.OutGSOSegs.Load()
			if gsoPkts == 0 || gsoSegs < uint64(len(data)/1460/2) {
				t.Errorf("router segmented %d GSO packets into %d segments, want most of the ~%d segments", gsoPkts, gsoSegs, len(data)/1460)
			}
			if n := rs.IP.FragCreates.Load(); n != 0 {
				t.Errorf("router FragCreates = %d, want 0 (TCP is never fragmented)", n)
			}
			if n := ss.TCP.InErrs.Load(); n != 0 {
				t.Errorf("server TCP InErrs = %d, want 0", n)
			}
			fragNeeded := rs.ICMP.OutDestUnreachs.Load()
			if tc.pmtu && (fragNeeded == 0 || cs.TCP.PMTUUpdates.Load() == 0) {
				t.Errorf("router sent %d ICMP errors, client PMTUUpdates %d: want fragmentation needed, and the MSS lowered",
					fragNeeded, cs.TCP.PMTUUpdates.Load())
			}
			if !tc.pmtu && fragNeeded != 0 {
				t.Errorf("router sent %d ICMP errors, want none", fragNeeded)
			}

			// Every frame the router sent the server: at most MTU 1500,
			// valid IPv4 and TCP checksums.
			tp.mu.Lock()
			frames := tp.frames
			tp.mu.Unlock()
			data2 := 0
			ids := map[uint16]bool{} // Output reserved one IP ID per segment
			for i, f := range frames {
				if len(f.Data) > 1500+wire.EthernetHeaderLen {
					t.Fatalf("frame %d: %d bytes, over the MTU", i, len(f.Data))
				}
				eth, err := wire.ParseEthernetView(f.Data)
				if err != nil || eth.EtherType() != wire.EtherTypeIPv4 {
					continue // ARP
				}
				ip, err := wire.ParseIPv4View(f.Data[wire.EthernetHeaderLen:])
				if err != nil {
					t.Fatalf("frame %d: ParseIPv4View = %v", i, err)
				}
				if !ip.IsValidChecksum() {
					t.Fatalf("frame %d: bad IP header checksum", i)
				}
				if ip.Protocol() != wire.ProtoTCP {
					continue
				}
				tcp, err := wire.ParseTCPView(ip.Payload())
				if err != nil {
					t.Fatalf("frame %d: ParseTCPView = %v", i, err)
				}
				if !tcp.IsValidChecksum(wire.PseudoHeaderSum(ip.Src(), ip.Dst(), wire.ProtoTCP, uint16(len(ip.Payload())))) {
					t.Fatalf("frame %d: bad TCP checksum (seq %d, %d bytes)", i, tcp.Seq(), len(tcp.Payload()))
				}
				data2 += len(tcp.Payload())
				if ids[ip.ID()] {
					t.Fatalf("frame %d: IP ID %d used twice", i, ip.ID())
				}
				ids[ip.ID()] = true
			}
			if data2 < len(data) {
				t.Errorf("the router's frames carried %d bytes of TCP payload, want ≥ %d", data2, len(data))
			}
		})
	}
}

// TestTCPGSOPathAllocatesNothing guards the steady state of a bulk TCP
// stream over a GSO link: 64 KiB writes, each one or two super-segments
// down the sender's layers, across the wire whole, up the receiver's, and
// read out.
func TestTCPGSOPathAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop items on purpose")
	}
	n := New(Options{Seed: 1})
	defer n.Close()
	a, b := n.Host("a"), n.Host("b")
	n.MustLink(a, "10.0.0.1/24", b, "10.0.0.2/24", LinkOptions{GSO: true})
	ln, err := b.Listen("tcp", ":9000")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		buf := make([]byte, 256<<10)
		for {
			if _, err := c.Read(buf); err != nil {
				return
			}
		}
	}()
	c, err := a.DialContext(ctx(t), "tcp", "10.0.0.2:9000")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 64<<10)
	write := func() {
		if _, err := c.Write(buf); err != nil {
			t.Fatal(err)
		}
	}
	for range 2000 { // warm the pools, let the windows and buffers grow
		write()
	}
	if allocs := testing.AllocsPerRun(500, write); allocs != 0 {
		t.Fatalf("allocations per 64 KiB write = %v, want 0", allocs)
	}
	if st := a.Stats(); st.TCP.OutSegs.Load() < 2000*45 {
		t.Fatalf("OutSegs = %d after 2,500 writes of 64 KiB, want ≥ %d", st.TCP.OutSegs.Load(), 2000*45)
	}
}

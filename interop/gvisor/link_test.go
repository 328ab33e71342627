package gvisor

import (
	"context"
	"errors"
	"net/netip"
	"runtime"
	"testing"
	"time"

	"ustack/drivers/loopback"
	"ustack/drivers/vwire"
	uipv4 "ustack/ipv4"
	"ustack/pkt"
)

func TestNewLinkRejectsNonEthernet(t *testing.T) {
	if _, err := NewLink(loopback.New(), LinkOptions{}); !errors.Is(err, ErrNotEthernet) {
		t.Errorf("NewLink(loopback) = %v, want ErrNotEthernet", err)
	}
}

// TestLinkDropsWhileDetached: a frame arriving before any gVisor NIC is
// attached is freed and counted, not queued.
func TestLinkDropsWhileDetached(t *testing.T) {
	_, b := vwire.NewPair(vwire.Config{}, vwire.Config{})
	l, err := NewLink(b, LinkOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	pool := pkt.NewPool(pkt.Options{Checked: true})
	l.Receive(pool.Copy(0, make([]byte, 60)))
	if got := l.Stats.RxDropped.Load(); got != 1 {
		t.Errorf("RxDropped = %d, want 1", got)
	}
	if got := pool.Live(); got != 0 {
		t.Errorf("pool.Live = %d after the drop, want 0 (freed)", got)
	}
}

// TestLinkCounters: the Link counts what crosses it, and its counters
// agree with the vwire end under it.
func TestLinkCounters(t *testing.T) {
	p := newPair(t, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := p.us.Ping(ctx, gvAddr, uipv4.PingOptions{Count: 2, Interval: time.Millisecond}, nil); err != nil {
		t.Fatalf("Ping = %v", err)
	}
	l, end := p.gv.Link, p.gv.Link.Driver().(*vwire.End)
	if l.Stats.RxFrames.Load() != end.Stats.RxFrames.Load() || l.Stats.RxFrames.Load() < 3 {
		t.Errorf("Link RxFrames = %d, vwire end RxFrames = %d; want equal and >= 3 (ARP + 2 echoes)",
			l.Stats.RxFrames.Load(), end.Stats.RxFrames.Load())
	}
	if l.Stats.TxFrames.Load() != end.Stats.TxFrames.Load() || l.Stats.TxFrames.Load() < 3 {
		t.Errorf("Link TxFrames = %d, vwire end TxFrames = %d; want equal and >= 3",
			l.Stats.TxFrames.Load(), end.Stats.TxFrames.Load())
	}
	if l.Stats.RxDropped.Load() != 0 || l.Stats.TxErrors.Load() != 0 {
		t.Errorf("Link RxDropped = %d, TxErrors = %d; want 0", l.Stats.RxDropped.Load(), l.Stats.TxErrors.Load())
	}
}

// TestCloseReclaimsGoroutines: closing both stacks of a pair that carried
// traffic, with connections still open, leaves no goroutine behind
// (Link's receive goroutine, ustack's poll loops and timers, gVisor's
// workers).
func TestCloseReclaimsGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	t.Run("pair", func(t *testing.T) {
		p := newPair(t, 0)
		us, gv := p.sides()
		pc, err := gv.ListenUDP(7)
		if err != nil {
			t.Fatal(err)
		}
		defer pc.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := p.us.Ping(ctx, gvAddr, uipv4.PingOptions{Count: 1}, nil); err != nil {
			t.Fatalf("Ping = %v", err)
		}
		c, err := us.DialUDP(ctx, netip.AddrPortFrom(gvAddr, 7))
		if err != nil {
			t.Fatal(err)
		}
		c.Write([]byte("x"))
		c.Close()
		// With TCP, leave a connection established each way: Close must
		// reclaim those too.
		if ok, _ := tcpAvailable(p.us); ok {
			for _, sd := range [][2]side{{us, gv}, {gv, us}} {
				srv, cli := sd[0], sd[1]
				ln, err := srv.ListenTCP(tcpPort)
				if err != nil {
					t.Fatalf("%s ListenTCP = %v", srv.Name(), err)
				}
				defer ln.Close()
				dial(t, cli, netip.AddrPortFrom(srv.Addr(), tcpPort)).Write([]byte("open"))
			}
		}
	})
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if after := runtime.NumGoroutine(); after > before {
		buf := make([]byte, 1<<16)
		t.Errorf("%d goroutines before the pair, %d after closing it; stacks:\n%s", before, after, buf[:runtime.Stack(buf, true)])
	}
}

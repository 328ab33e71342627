package netsim

import (
	"context"
	"errors"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"ustack/drivers/fault"
	"ustack/tcp"
)

// Options.TCP reaches every stack: with one SYN retry a connect over a
// dead link fails with ETIMEDOUT after about 1s + 2s instead of Linux's
// default six retries (over two minutes).
func TestTCPConfigReachesStacks(t *testing.T) {
	n := New(Options{Seed: 7, CheckedBuffers: true, TCP: tcp.Config{SynRetries: 1}})
	defer n.Close()
	a, b := n.Host("a"), n.Host("b")
	dead := fault.Impair{Loss: 1}
	n.MustLink(a, "10.0.0.1/24", b, "10.0.0.2/24", LinkOptions{AtoB: &dead})
	b.Neigh().SetStatic(b.Devices().ByName("eth0"), clientAddr(), a.Devices().ByName("eth0").MAC())
	a.Neigh().SetStatic(a.Devices().ByName("eth0"), serverAddr(), b.Devices().ByName("eth0").MAC())
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	start := time.Now()
	_, err := a.DialContext(ctx, "tcp", "10.0.0.2:80")
	if !errors.Is(err, syscall.ETIMEDOUT) {
		t.Fatalf("connect over a dead link = %v, want ETIMEDOUT", err)
	}
	if el := time.Since(start); el < 2500*time.Millisecond || el > 10*time.Second {
		t.Fatalf("gave up after %v, want about 3s (one retry)", el)
	}
}

func clientAddr() netip.Addr { return netip.MustParseAddr("10.0.0.1") }
func serverAddr() netip.Addr { return netip.MustParseAddr("10.0.0.2") }

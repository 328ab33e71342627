package tcp_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"ustack/drivers/fault"
	"ustack/gonet"
	"ustack/netsim"
	"ustack/stats"
	"ustack/tcp"
)

// transferSeeds is how many seeds each impaired-link transfer runs; -short
// and the race detector run shortSeeds. USTACK_TCP_SEEDS overrides both.
const (
	transferSeeds = 50
	shortSeeds    = 3
)

func seedCount() int64 {
	if v, err := strconv.Atoi(os.Getenv("USTACK_TCP_SEEDS")); err == nil && v > 0 {
		return int64(v)
	}
	if testing.Short() || raceEnabled {
		return shortSeeds
	}
	return transferSeeds
}

// pair is two hosts joined by one link: a 10.0.0.1, b 10.0.0.2.
type pair struct {
	n    *netsim.Network
	a, b *netsim.Host
	link *netsim.Link
}

func newPair(t testing.TB, seed int64, lo netsim.LinkOptions) *pair {
	t.Helper()
	n := netsim.New(netsim.Options{Seed: seed})
	p := &pair{n: n, a: n.Host("a"), b: n.Host("b")}
	p.link = n.MustLink(p.a, "10.0.0.1/24", p.b, "10.0.0.2/24", lo)
	t.Cleanup(func() {
		n.Close()
		for _, h := range []*netsim.Host{p.a, p.b} {
			if live := h.Pool().Live(); live != 0 {
				t.Errorf("%s: %d packet buffers still held after Close (leak)", h.Name, live)
			}
		}
	})
	return p
}

func payload(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 7))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// exchange sends want in both directions at once over a connection
// between p.a (client) and p.b (server) and checks SHA-256 on each side.
func exchange(t *testing.T, p *pair, size int, limit time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	ln, err := p.b.Listen("tcp", "10.0.0.2:9000")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	up, down := payload(1, size), payload(2, size)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	var connMu sync.Mutex
	var conns []*gonet.TCPConn
	run := func(c net.Conn, send, want []byte, who string) {
		defer wg.Done()
		connMu.Lock()
		conns = append(conns, c.(*gonet.TCPConn))
		connMu.Unlock()
		var inner sync.WaitGroup
		inner.Add(1)
		go func() {
			defer inner.Done()
			if _, err := c.Write(send); err != nil {
				errs <- fmt.Errorf("%s write: %w", who, err)
				return
			}
			if err := c.(interface{ CloseWrite() error }).CloseWrite(); err != nil {
				errs <- fmt.Errorf("%s CloseWrite: %w", who, err)
			}
		}()
		h := sha256.New()
		n, err := io.Copy(h, c)
		if err != nil {
			errs <- fmt.Errorf("%s read after %d bytes: %w", who, n, err)
		} else if !bytes.Equal(h.Sum(nil), sha(want)) {
			errs <- fmt.Errorf("%s received %d bytes with the wrong SHA-256 (want %d bytes)", who, n, len(want))
		}
		inner.Wait()
		c.Close()
	}
	wg.Add(2)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			errs <- err
			wg.Done()
			return
		}
		run(c, down, up, "server")
	}()
	go func() {
		c, err := p.a.DialContext(ctx, "tcp", "10.0.0.2:9000")
		if err != nil {
			errs <- err
			wg.Done()
			return
		}
		run(c, up, down, "client")
	}()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		connMu.Lock()
		for _, c := range conns {
			t.Logf("%v->%v: %+v", c.LocalAddr(), c.RemoteAddr(), c.Endpoint().Info())
		}
		connMu.Unlock()
		logCounters(t, p)
		t.Fatalf("transfer of %d bytes each way did not finish in %v", size, limit)
	}
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	// Both ends must finish the close handshake: CLOSED or TIME_WAIT.
	for _, c := range conns {
		ep := c.Endpoint()
		for end := time.Now().Add(limit / 2); ; time.Sleep(5 * time.Millisecond) {
			st := ep.State()
			if st == tcp.Closed || st == tcp.TimeWait {
				break
			}
			if time.Now().After(end) {
				t.Errorf("%v->%v still %v after the transfer", c.LocalAddr(), c.RemoteAddr(), st)
				break
			}
		}
	}
}

func sha(b []byte) []byte { s := sha256.Sum256(b); return s[:] }

func logCounters(t *testing.T, p *pair) {
	for _, h := range []*netsim.Host{p.a, p.b} {
		s := stats.Snapshot(&h.Stats().TCP)
		t.Logf("%s: InSegs %d OutSegs %d RetransSegs %d FastRetrans %d Timeouts %d OFOQueue %d InCsumErrors %d InDuplicates %d",
			h.Name, s["InSegs"], s["OutSegs"], s["RetransSegs"], s["FastRetrans"], s["Timeouts"], s["OFOQueue"], s["InCsumErrors"], s["InDuplicates"])
	}
}

func TestTransferClean(t *testing.T) {
	p := newPair(t, 1, netsim.LinkOptions{})
	start := time.Now()
	exchange(t, p, 4<<20, 30*time.Second)
	t.Logf("4 MiB each way in %v", time.Since(start))
	logCounters(t, p)
}

// impairments are the links of TestTransferImpaired: each runs for
// seedCount() seeds, size bytes each way at once.
var impairments = []struct {
	name string
	im   fault.Impair
	size int
}{
	{"loss5", fault.Impair{Loss: 0.05}, 4 << 20},
	{"reorder", fault.Impair{Reorder: 0.05, ReorderGap: 3}, 4 << 20},
	{"duplicate", fault.Impair{Duplicate: 0.05}, 4 << 20},
	{"corrupt", fault.Impair{Corrupt: 0.02}, 4 << 20},
	{"all", fault.Impair{Loss: 0.02, Duplicate: 0.02, Corrupt: 0.01, Reorder: 0.02, Delay: 2 * time.Millisecond, Jitter: time.Millisecond}, 2 << 20},
	{"rate", fault.Impair{Rate: 50e6, QueueLimit: 16}, 3 << 20},
}

// TestTransferImpaired moves data both ways at once over each impaired
// link for every seed, checks every byte by hash and the close handshake,
// and prints the loss recovery counters summed over the seeds of each
// link (both hosts). USTACK_TCP_COUNTERS=FILE also writes the sums to
// FILE, to compare recovery before and after a change:
//
//	USTACK_TCP_COUNTERS=/tmp/after go test ./tcp/ -run TransferImpaired
func TestTransferImpaired(t *testing.T) {
	var mu sync.Mutex
	sums := map[string]map[string]int64{}
	t.Cleanup(func() {
		var b strings.Builder
		for _, c := range impairments {
			fmt.Fprintf(&b, "%-9s %d seeds:", c.name, seedCount())
			for _, k := range recoveryCounters {
				fmt.Fprintf(&b, " %s=%d", k, sums[c.name][k])
			}
			b.WriteString("\n")
		}
		t.Log("loss recovery, summed over seeds and both hosts:\n" + b.String())
		if out := os.Getenv("USTACK_TCP_COUNTERS"); out != "" {
			if err := os.WriteFile(out, []byte(b.String()), 0o644); err != nil {
				t.Error(err)
			}
		}
	})
	for _, c := range impairments {
		sums[c.name] = map[string]int64{}
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			size := c.size
			if raceEnabled {
				size /= 8
			}
			// The runs wait on the simulated links more than they
			// compute: run several at once whatever -parallel says.
			seeds := make(chan int64)
			var wg sync.WaitGroup
			for range transferWorkers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for seed := range seeds {
						t.Run(fmt.Sprintf("seed%d", seed), func(t *testing.T) {
							p := newPair(t, seed, netsim.LinkOptions{Impair: c.im})
							start := time.Now()
							exchange(t, p, size, 60*time.Second)
							t.Logf("%d KiB each way in %v", size>>10, time.Since(start))
							logCounters(t, p)
							mu.Lock()
							defer mu.Unlock()
							for _, h := range []*netsim.Host{p.a, p.b} {
								for k, v := range stats.Snapshot(&h.Stats().TCP) {
									sums[c.name][k] += v
								}
							}
						})
					}
				}()
			}
			for seed := int64(1); seed <= seedCount(); seed++ {
				seeds <- seed
			}
			close(seeds)
			wg.Wait()
		})
	}
}

// transferWorkers is how many seeds of one link run at once.
const transferWorkers = 4

// recoveryCounters are the counters TestTransferImpaired sums.
var recoveryCounters = []string{"RetransSegs", "FastRetrans", "Timeouts", "SACKRecovery",
	"RenoRecovery", "SACKRescue", "LostRetransmit", "SlowStartRetrans", "DSACKRecv", "SpuriousRetrans", "DSACKUndo",
	"DSACKOldSent", "DSACKOfoSent", "OFOQueue", "InDuplicates", "InCsumErrors"}

func TestRecoveryCountersExist(t *testing.T) {
	s := stats.Snapshot(new(stats.TCP))
	for _, k := range recoveryCounters {
		if _, ok := s[k]; !ok {
			t.Errorf("TestTransferImpaired sums %q, which stats.TCP does not have", k)
		}
	}
}

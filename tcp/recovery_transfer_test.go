package tcp_test

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"ustack/drivers/fault"
	"ustack/netsim"
	"ustack/stats"
)

// TestTransferRecoveryCounters runs the lossy and reordering transfers of
// TestTransferImpaired for seedCount() seeds each and sums the TCP
// counters of both hosts per impairment, to compare loss recovery before
// and after a change (retransmissions, timeouts, recoveries, D-SACKs).
// It runs only when USTACK_TCP_COUNTERS is set, as the path of a file to
// write the sums to ("-" for the test log only):
//
//	USTACK_TCP_SEEDS=50 USTACK_TCP_COUNTERS=- go test ./tcp/ -run TransferRecoveryCounters -v
func TestTransferRecoveryCounters(t *testing.T) {
	out := os.Getenv("USTACK_TCP_COUNTERS")
	if out == "" {
		t.Skip("set USTACK_TCP_COUNTERS to run")
	}
	cases := []struct {
		name string
		im   fault.Impair
		size int
	}{
		{"loss5", fault.Impair{Loss: 0.05}, 2 << 20},
		{"reorder", fault.Impair{Reorder: 0.05, ReorderGap: 3}, 2 << 20},
		{"all", fault.Impair{Loss: 0.02, Duplicate: 0.02, Corrupt: 0.01, Reorder: 0.02, Delay: 2 * time.Millisecond, Jitter: time.Millisecond}, 1 << 20},
	}
	var mu sync.Mutex
	sums := map[string]map[string]int64{}
	t.Cleanup(func() {
		var b strings.Builder
		for _, c := range cases {
			s := sums[c.name]
			var names []string
			for k, v := range s {
				if v != 0 {
					names = append(names, k)
				}
			}
			sort.Strings(names)
			fmt.Fprintf(&b, "%s (%d seeds, both hosts):", c.name, seedCount())
			for _, k := range names {
				fmt.Fprintf(&b, " %s=%d", k, s[k])
			}
			b.WriteString("\n")
		}
		t.Log("\n" + b.String())
		if out != "-" {
			if err := os.WriteFile(out, []byte(b.String()), 0o644); err != nil {
				t.Error(err)
			}
		}
	})
	for _, c := range cases {
		sums[c.name] = map[string]int64{}
		for seed := int64(1); seed <= seedCount(); seed++ {
			t.Run(fmt.Sprintf("%s/seed%d", c.name, seed), func(t *testing.T) {
				t.Parallel()
				p := newPair(t, seed, netsim.LinkOptions{Impair: c.im})
				size := c.size
				if raceEnabled {
					size /= 8
				}
				exchange(t, p, size, 60*time.Second)
				mu.Lock()
				defer mu.Unlock()
				for _, h := range []*netsim.Host{p.a, p.b} {
					for k, v := range stats.Snapshot(&h.Stats().TCP) {
						sums[c.name][k] += v
					}
				}
			})
		}
	}
}

package ipv4

import (
	"sync"
	"time"

	"ustack/clock"
)

// tokenBucket limits ICMP errors (cf. Linux's icmp_msgs_per_sec and
// icmp_msgs_burst, RFC 1812 §4.3.2.8).
type tokenBucket struct {
	clk    clock.Clock
	mu     sync.Mutex
	rate   float64 // tokens per second
	burst  float64
	tokens float64
	last   time.Time
}

func (t *tokenBucket) init(clk clock.Clock, rate, burst int) {
	t.clk, t.rate, t.burst, t.tokens = clk, float64(rate), float64(burst), float64(burst)
	t.last = clk.Now()
}

func (t *tokenBucket) allow() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.clk.Now()
	t.tokens += now.Sub(t.last).Seconds() * t.rate
	if t.tokens > t.burst {
		t.tokens = t.burst
	}
	t.last = now
	if t.tokens < 1 {
		return false
	}
	t.tokens--
	return true
}

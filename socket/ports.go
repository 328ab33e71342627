package socket

import (
	"math/rand/v2"
	"net/netip"
	"sync"
	"syscall"
)

// Ephemeral port range, as Linux's ip_local_port_range default.
const (
	EphemeralLow  = 32768
	EphemeralHigh = 60999
)

// Ports tracks which local ports a protocol has bound, per address
// (cf. inet_bind_bucket). A wildcard bind (0.0.0.0) conflicts with every
// address on that port and the reverse, unless both set reuse.
type Ports struct {
	mu    sync.Mutex
	binds map[uint16][]binding
	rng   *rand.Rand
}

type binding struct {
	addr  netip.Addr
	reuse bool
	owner any
}

// NewPorts returns an empty table; seed randomises ephemeral choices.
func NewPorts(seed uint64) *Ports {
	return &Ports{binds: make(map[uint16][]binding), rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

// Bind reserves port on addr for owner (port 0: pick an ephemeral port)
// and returns the port, or EADDRINUSE.
func (p *Ports) Bind(addr netip.Addr, port uint16, reuse bool, owner any) (uint16, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if port != 0 {
		if !p.freeLocked(addr, port, reuse) {
			return 0, syscall.EADDRINUSE
		}
		p.binds[port] = append(p.binds[port], binding{addr, reuse, owner})
		return port, nil
	}
	n := EphemeralHigh - EphemeralLow + 1
	start := p.rng.IntN(n)
	for i := 0; i < n; i++ {
		cand := uint16(EphemeralLow + (start+i)%n)
		if len(p.binds[cand]) == 0 {
			p.binds[cand] = append(p.binds[cand], binding{addr, reuse, owner})
			return cand, nil
		}
	}
	return 0, syscall.EADDRINUSE
}

// Release gives back owner's reservation of port on addr.
func (p *Ports) Release(addr netip.Addr, port uint16, owner any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	bs := p.binds[port]
	for i, b := range bs {
		if b.addr == addr && b.owner == owner {
			bs = append(bs[:i:i], bs[i+1:]...)
			break
		}
	}
	if len(bs) == 0 {
		delete(p.binds, port)
	} else {
		p.binds[port] = bs
	}
}

// InUse returns how many ports are bound.
func (p *Ports) InUse() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.binds)
}

func (p *Ports) freeLocked(addr netip.Addr, port uint16, reuse bool) bool {
	for _, b := range p.binds[port] {
		if b.reuse && reuse {
			continue
		}
		if b.addr == addr || b.addr.IsUnspecified() || addr.IsUnspecified() {
			return false
		}
	}
	return true
}

package udp

// The socket table, for `ss -uan` and `netstat -an` (cf. udp_diag's dump
// of the UDP hash).

import (
	"cmp"
	"net/netip"
	"slices"
)

// SocketInfo is one socket of the table.
type SocketInfo struct {
	Local  netip.AddrPort // the bound address (0.0.0.0: every address)
	Remote netip.AddrPort // the connected peer; invalid when unconnected
	// Queued and QueuedBytes are the datagrams received and not yet read,
	// and their payload bytes (ss's Recv-Q).
	Queued, QueuedBytes int
}

// Sockets returns every open socket, sorted by local then remote
// address. Context: process.
func (u *Proto) Sockets() []SocketInfo {
	u.mu.RLock()
	var eps []*Endpoint
	for _, list := range u.bound {
		eps = append(eps, list...)
	}
	for _, ep := range u.connected {
		eps = append(eps, ep)
	}
	u.mu.RUnlock()
	out := make([]SocketInfo, 0, len(eps))
	for _, ep := range eps {
		ep.mu.Lock()
		s := SocketInfo{Local: ep.local, Remote: ep.remote}
		closed := ep.closed
		ep.mu.Unlock()
		if closed {
			continue
		}
		s.Queued, s.QueuedBytes = ep.Pending()
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b SocketInfo) int {
		return cmp.Or(a.Local.Compare(b.Local), a.Remote.Compare(b.Remote))
	})
	return out
}

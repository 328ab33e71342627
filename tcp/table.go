package tcp

// The socket table, for `ss -tani` and `netstat -an`: every connection
// and listener with the numbers of struct tcp_info (cf. inet_diag's
// dump of the established and listening hashes, and tcp_get_info).

import (
	"cmp"
	"net/netip"
	"slices"
	"time"

	"ustack/tcp/cc"
)

// SocketInfo is one socket of the table.
type SocketInfo struct {
	Local, Remote netip.AddrPort // Remote is invalid for a listener
	Info
	AdvMSS int // MSS we announced
	RcvMSS int // largest segment received: the peer's MSS, as we guess it
	// SndWScale and RcvWScale are the window scales (RFC 7323), -1 when
	// window scaling is off.
	SndWScale, RcvWScale int
	Timestamps, SACK     bool
	// Retransmits counts the RTO expiries since the data at SND.UNA was
	// first sent (tcpi_retransmits); Backoff is the RTO's exponent.
	Retransmits, Backoff int
	// TotalRetrans counts every segment retransmitted over the
	// connection's life (tcpi_total_retrans).
	TotalRetrans int
	// LastRecv is how long ago the last segment arrived (0: none yet).
	LastRecv time.Duration
	// Orphan: the user closed the socket; the connection finishes on its
	// own (FIN_WAIT, LAST_ACK, TIME_WAIT...).
	Orphan bool
	// Listeners: Backlog is the accept queue's limit, AcceptQueue the
	// connections established and not yet accepted, SynQueue the
	// handshakes under way.
	Backlog, AcceptQueue, SynQueue int
}

// SsthreshInfinite reports whether Ssthresh still has its initial,
// "arbitrarily high" value (RFC 5681 §3.1): no loss has lowered it.
func (s *SocketInfo) SsthreshInfinite() bool { return s.Ssthresh >= cc.InfiniteSsthresh }

// Sockets returns every socket in the table: listeners and connections,
// TIME_WAIT and orphans included, sorted by local then remote address.
// Each is read under its own lock after the table's is released (the lock
// order puts Endpoint.mu before Proto.mu), so the list is a series of
// consistent snapshots, not one atomic one; a socket that closes in
// between is left out. Context: process.
func (p *Proto) Sockets() []SocketInfo {
	p.mu.RLock()
	eps := make([]*Endpoint, 0, len(p.conns)+len(p.listeners))
	for _, ep := range p.conns {
		eps = append(eps, ep)
	}
	for _, l := range p.listeners {
		eps = append(eps, l...)
	}
	p.mu.RUnlock()
	now := p.clk.Now()
	out := make([]SocketInfo, 0, len(eps))
	for _, ep := range eps {
		ep.mu.Lock()
		if ep.state != Closed {
			out = append(out, ep.socketInfoLocked(now))
		}
		ep.mu.Unlock()
	}
	slices.SortFunc(out, func(a, b SocketInfo) int {
		return cmp.Or(a.Local.Compare(b.Local), a.Remote.Compare(b.Remote))
	})
	return out
}

// SocketInfo returns the socket's entry in the table. Context: process.
func (ep *Endpoint) SocketInfo() SocketInfo {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	return ep.socketInfoLocked(ep.p.clk.Now())
}

func (ep *Endpoint) socketInfoLocked(now time.Time) SocketInfo {
	s := SocketInfo{
		Local: ep.local, Remote: ep.remote, Info: ep.infoLocked(),
		AdvMSS: ep.advMSS, RcvMSS: ep.rcvMSS, SndWScale: -1, RcvWScale: -1,
		Timestamps: ep.tsOK, SACK: ep.sackOK,
		Retransmits: ep.retries, Backoff: int(ep.backoff), TotalRetrans: int(ep.totalRetrans),
		Orphan: ep.closed,
	}
	if ep.wsOK {
		s.SndWScale, s.RcvWScale = int(ep.snd.Shift), int(ep.rcv.Shift)
	}
	if !ep.lastRcv.IsZero() {
		s.LastRecv = max(now.Sub(ep.lastRcv), 0)
	}
	if l := ep.lst; l != nil {
		s.Remote = netip.AddrPort{}
		s.Backlog, s.AcceptQueue, s.SynQueue = l.backlog, len(l.accept), len(l.syn)
	}
	return s
}

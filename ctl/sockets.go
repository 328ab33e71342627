package ctl

// Method "sockets": the socket table, as `ss -tuani` and `netstat -an`
// show the kernel's (cf. inet_diag).

import (
	"context"
	"encoding/json"
	"net/netip"

	"ustack/stack"
	"ustack/tcp"
)

// SocketsArgs are the arguments of method "sockets". As ss(8): by default
// connections only (TCP not in LISTEN, connected UDP sockets); Listening
// asks for listeners only (TCP in LISTEN, unconnected UDP sockets), All
// for both. TCP and UDP choose the protocols; neither means both.
type SocketsArgs struct {
	TCP       bool `json:"tcp,omitempty"`
	UDP       bool `json:"udp,omitempty"`
	Listening bool `json:"listening,omitempty"`
	All       bool `json:"all,omitempty"`
}

// Socket is one socket, as `ss -tuani` shows it.
type Socket struct {
	Proto string `json:"proto"` // "tcp" or "udp"
	// State is the TCP state (LISTEN, ESTABLISHED, TIME_WAIT...); for
	// UDP, UNCONN or ESTAB (connected), as ss names them.
	State  string         `json:"state"`
	Local  netip.AddrPort `json:"local"`
	Remote netip.AddrPort `json:"remote,omitzero"` // unset for listeners and unconnected UDP
	// RecvQ and SendQ are ss's Recv-Q and Send-Q: for a connection the
	// bytes received and not yet read, and the bytes not yet
	// acknowledged (sent or not); for a listener the accept queue's
	// length and its limit (the backlog); for UDP the bytes queued to
	// read, and 0.
	RecvQ int `json:"recv_q"`
	SendQ int `json:"send_q"`
	// TCP holds the numbers of ss -i (struct tcp_info); nil for UDP.
	TCP *TCPInfo `json:"tcp,omitempty"`
	// Datagrams is how many datagrams RecvQ holds (UDP).
	Datagrams int `json:"datagrams,omitempty"`
}

// TCPInfo is one TCP socket's numbers, as `ss -ti` shows them.
type TCPInfo struct {
	Congestion string `json:"congestion,omitempty"` // "cubic", "reno"
	Orphan     bool   `json:"orphan,omitempty"`     // closed by its user, finishing alone
	Timestamps bool   `json:"timestamps,omitempty"` // RFC 7323 timestamps on
	SACK       bool   `json:"sack,omitempty"`       // SACK permitted (RFC 2018)
	// SndWScale and RcvWScale are the window scales; -1 when window
	// scaling is off.
	SndWScale int      `json:"snd_wscale"`
	RcvWScale int      `json:"rcv_wscale"`
	RTO       Duration `json:"rto"` // with backoff
	SRTT      Duration `json:"srtt"`
	RTTVar    Duration `json:"rttvar"`
	MSS       int      `json:"mss"`    // send MSS
	AdvMSS    int      `json:"advmss"` // MSS we announced
	RcvMSS    int      `json:"rcvmss"` // largest segment received
	// Cwnd and Ssthresh are in bytes; Ssthresh 0 means still infinite
	// (no loss yet).
	Cwnd         int    `json:"cwnd"`
	Ssthresh     int    `json:"ssthresh"`
	SndWnd       uint32 `json:"snd_wnd"` // the peer's window
	RcvWnd       uint32 `json:"rcv_wnd"` // the window we last advertised
	InFlight     int    `json:"inflight"`
	Unsent       int    `json:"unsent"`
	OOOQueued    int    `json:"ooo_queued"`    // bytes held out of order
	Retransmits  int    `json:"retransmits"`   // RTO expiries for the data at SND.UNA
	Backoff      int    `json:"backoff"`       // the RTO's exponent
	TotalRetrans int    `json:"total_retrans"` // segments retransmitted, ever
	// LastRecv is how long ago a segment last arrived (0: never).
	LastRecv Duration `json:"last_recv"`
	// Listeners: the accept queue's limit and the handshakes under way
	// (the accept queue's length is RecvQ).
	Backlog  int `json:"backlog,omitempty"`
	SynQueue int `json:"syn_queue,omitempty"`
}

// Sockets reads st's socket table, filtered by a: what method "sockets"
// answers, for a caller holding the stack itself.
func Sockets(st *stack.Stack, a SocketsArgs) []Socket {
	both := !a.TCP && !a.UDP
	keep := func(listening bool) bool { return a.All || listening == a.Listening }
	out := []Socket{}
	if a.TCP || both {
		for _, s := range st.TCP().Sockets() {
			if !keep(s.State == tcp.Listen) {
				continue
			}
			out = append(out, tcpSocket(&s))
		}
	}
	if a.UDP || both {
		for _, s := range st.UDP().Sockets() {
			connected := s.Remote.IsValid()
			if !keep(!connected) {
				continue
			}
			so := Socket{Proto: "udp", State: "UNCONN", Local: s.Local, Remote: s.Remote, RecvQ: s.QueuedBytes, Datagrams: s.Queued}
			if connected {
				so.State = "ESTAB"
			}
			out = append(out, so)
		}
	}
	return out
}

func tcpSocket(s *tcp.SocketInfo) Socket {
	so := Socket{Proto: "tcp", State: s.State.String(), Local: s.Local, Remote: s.Remote,
		RecvQ: s.RcvQueued, SendQ: s.InFlight + s.Unsent}
	in := &TCPInfo{
		Congestion: s.Congestion, Orphan: s.Orphan, Timestamps: s.Timestamps, SACK: s.SACK,
		SndWScale: s.SndWScale, RcvWScale: s.RcvWScale,
		RTO: Duration(s.RTO), SRTT: Duration(s.SRTT), RTTVar: Duration(s.RTTVar),
		MSS: s.MSS, AdvMSS: s.AdvMSS, RcvMSS: s.RcvMSS, Cwnd: s.Cwnd, Ssthresh: s.Ssthresh,
		SndWnd: s.SndWnd, RcvWnd: s.RcvWnd, InFlight: s.InFlight, Unsent: s.Unsent, OOOQueued: s.OOOQueued,
		Retransmits: s.Retransmits, Backoff: s.Backoff, TotalRetrans: s.TotalRetrans, LastRecv: Duration(s.LastRecv),
	}
	if s.SsthreshInfinite() {
		in.Ssthresh = 0
	}
	if s.State == tcp.Listen {
		so.RecvQ, so.SendQ = s.AcceptQueue, s.Backlog
		in.Backlog, in.SynQueue = s.Backlog, s.SynQueue
	}
	so.TCP = in
	return so
}

func (s *Server) sockets(_ context.Context, raw json.RawMessage, _ *Stream) (any, error) {
	var a SocketsArgs
	if err := decodeArgs(raw, &a); err != nil {
		return nil, err
	}
	return Sockets(s.st, a), nil
}

// Sockets returns the stack's socket table, filtered by a.
func (c *Client) Sockets(ctx context.Context, a SocketsArgs) ([]Socket, error) {
	var out []Socket
	if err := c.Call(ctx, "sockets", a, nil, &out); err != nil {
		return nil, err
	}
	return out, nil
}

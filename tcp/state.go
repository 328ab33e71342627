package tcp

// State is a connection state of RFC 9293 §3.3.2.
type State uint8

// The eleven states of RFC 9293 §3.3.2 (Figure 5), in Linux's naming.
const (
	Closed State = iota
	Listen
	SynSent
	SynRcvd
	Established
	FinWait1
	FinWait2
	CloseWait
	Closing
	LastAck
	TimeWait
)

var stateNames = [...]string{"CLOSED", "LISTEN", "SYN_SENT", "SYN_RCVD", "ESTABLISHED", "FIN_WAIT_1", "FIN_WAIT_2", "CLOSE_WAIT", "CLOSING", "LAST_ACK", "TIME_WAIT"}

func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "State?"
}

// synchronized reports whether the state is past the handshake (RFC 9293
// §3.5.3: "synchronized states").
func (s State) synchronized() bool { return s >= Established }

// counted reports whether the state counts in CurrEstab (RFC 4022:
// ESTABLISHED or CLOSE_WAIT).
func (s State) counted() bool { return s == Established || s == CloseWait }

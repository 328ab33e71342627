package ctl

// The "tcp" section of status: how many connections are in each state,
// as `ss -s` and `ss -tan state X | wc -l` tell of the kernel. It is
// counted from TCP's own socket table (tcp.Proto.Sockets), so it sees
// every connection, however old, and leaves no probe enabled behind it.

import "ustack/stack"

// tcpStateNames are the states counted, in RFC 9293's order and Linux's
// names (as tcp.State prints them). CLOSED is not counted: a connection
// there has left the table.
var tcpStateNames = [...]string{"LISTEN", "SYN_SENT", "SYN_RCVD", "ESTABLISHED", "FIN_WAIT_1", "FIN_WAIT_2", "CLOSE_WAIT", "CLOSING", "LAST_ACK", "TIME_WAIT"}

// statusTCP fills the "tcp" section: every state's count, in state
// order, zeros included.
func statusTCP(s *stack.Stack, st *Status) {
	n := make(map[string]int64, len(tcpStateNames))
	for _, so := range s.TCP().Sockets() {
		n[so.State.String()]++
	}
	st.TCPStates = make([]Counter, len(tcpStateNames))
	for i, name := range tcpStateNames {
		st.TCPStates[i] = Counter{Name: name, Value: n[name]}
	}
}

// TCPState returns the number of TCP connections in the state called
// name ("ESTABLISHED", "TIME_WAIT", ...) in the "tcp" section, and
// whether the section holds that state.
func (s *Status) TCPState(name string) (int64, bool) {
	for _, c := range s.TCPStates {
		if c.Name == name {
			return c.Value, true
		}
	}
	return 0, false
}

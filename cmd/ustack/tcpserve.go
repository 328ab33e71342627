package main

// TCP services of `ustack up --serve`: the accept loop, and inetd's
// internal echo (RFC 862), discard (RFC 863) and chargen (RFC 864).

import (
	"io"
	"net"
	"sync"
)

// connSet tracks a TCP service's open connections, so that stop can
// close them and wait for their goroutines.
type connSet struct {
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

// add records c; false if the set is already closed.
func (s *connSet) add(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	if s.conns == nil {
		s.conns = make(map[net.Conn]struct{})
	}
	s.conns[c] = struct{}{}
	s.wg.Add(1)
	return true
}

func (s *connSet) remove(c net.Conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	s.wg.Done()
}

// closeAll closes every connection, refuses new ones, and waits for the
// handlers to return.
func (s *connSet) closeAll() {
	s.mu.Lock()
	s.closed = true
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// serveTCP is the service's goroutine: it accepts until the listener is
// closed, then closes the connections and waits for their handlers.
func (r *runningService) serveTCP() {
	defer close(r.done)
	if r.srv != nil {
		r.srv.Serve(r.l)
		return
	}
	for {
		c, err := r.l.Accept()
		if err != nil {
			break // closed by stop
		}
		if !r.conns.add(c) {
			c.Close()
			break
		}
		r.stats.Connections.Inc()
		r.stats.ActiveConns.Add(1)
		go func() {
			defer r.conns.remove(c)
			defer r.stats.ActiveConns.Add(-1)
			defer c.Close()
			r.spec.svc.tcp(c, &r.stats)
		}()
	}
	r.conns.closeAll()
}

// echoTCP sends back what it reads until the peer closes its side, then
// closes its own.
func echoTCP(c net.Conn, st *serviceStats) {
	buf := make([]byte, 32<<10)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			st.InBytes.Add(uint64(n))
			m, werr := c.Write(buf[:n])
			st.OutBytes.Add(uint64(m))
			if werr != nil {
				st.OutErrors.Inc()
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// discardTCP reads and counts until the peer closes.
func discardTCP(c net.Conn, st *serviceStats) {
	buf := make([]byte, 32<<10)
	for {
		n, err := c.Read(buf)
		st.InBytes.Add(uint64(n))
		if err != nil {
			return
		}
	}
}

// chargenLineLen is RFC 864's line: 72 characters and CR LF.
const chargenLineLen = 72 + 2

// chargenRing is the pattern of RFC 864 as its example shows it: 72
// characters from the 95 printable ASCII ones, each line starting one
// further along; the first line starts at '!' and space comes last.
var chargenRing = func() []byte {
	var b []byte
	for c := byte('!'); c <= '~'; c++ {
		b = append(b, c)
	}
	return append(b, ' ')
}()

// chargenLines returns the 95 lines of one period, concatenated; line k
// starts at chargenRing[k].
func chargenLines() []byte {
	out := make([]byte, 0, len(chargenRing)*chargenLineLen)
	for k := range chargenRing {
		for j := range 72 {
			out = append(out, chargenRing[(k+j)%len(chargenRing)])
		}
		out = append(out, '\r', '\n')
	}
	return out
}

var chargenPeriod = chargenLines()

// chargenTCP sends lines until the peer closes (its FIN, seen by a reader
// goroutine, or a failed write) or the service stops. Whatever the peer
// sends is discarded.
func chargenTCP(c net.Conn, st *serviceStats) {
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		n, _ := io.Copy(io.Discard, c)
		st.InBytes.Add(uint64(n))
		c.Close() // ends the writer below
	}()
	for {
		n, err := c.Write(chargenPeriod)
		st.OutBytes.Add(uint64(n))
		if err != nil {
			break
		}
	}
	c.Close()
	<-readerDone
}

// chargenUDP answers each datagram with 6 lines (444 bytes, under RFC
// 864's 512), each reply starting one line further along.
func chargenUDP(pc net.PacketConn, _ []byte, from net.Addr, c *serviceStats) {
	const lines = 6
	k := int((c.OutDatagrams.Load() + c.OutErrors.Load()) % uint64(len(chargenRing)))
	p := make([]byte, 0, lines*chargenLineLen)
	for i := range lines {
		off := ((k + i) % len(chargenRing)) * chargenLineLen
		p = append(p, chargenPeriod[off:off+chargenLineLen]...)
	}
	if _, err := pc.WriteTo(p, from); err != nil {
		c.OutErrors.Inc()
		return
	}
	c.OutDatagrams.Inc()
	c.OutBytes.Add(uint64(len(p)))
}

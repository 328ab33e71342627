package main

// Built-in services for `ustack up --serve`, like inetd's internal ones
// (RFC 862 echo, RFC 863 discard, RFC 864 chargen), and a small HTTP
// server (http.go).
//
// Adding a service is one entry in the services table. A UDP service
// gives udp, a function called for each datagram; a TCP service gives
// tcp, a function called for each connection on its own goroutine (see
// tcpserve.go), or server, which takes the whole listener (http). A name
// may appear once per protocol: "--serve echo" then starts echo on every
// protocol that has it (udp and tcp, as inetd.conf usually lists both),
// "--serve echo/udp" on one.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"ustack/ctl"
	"ustack/stack"
	"ustack/stats"
)

// service is one entry of the table.
type service struct {
	name  string
	proto string // "udp" or "tcp"
	port  uint16 // well-known port, used when --serve gives none
	doc   string
	// arg, if not empty, names the optional argument after the port
	// (NAME:PORT:ARG), for the usage text; empty: the service takes none.
	arg string
	// udp handles one datagram p from from, received on pc. It runs on
	// the service's goroutine; p is reused after it returns.
	udp func(pc net.PacketConn, p []byte, from net.Addr, c *serviceStats)
	// tcp handles one accepted connection, on a goroutine of its own. It
	// returns when the peer is done or conn is closed under it (at
	// stop); the caller closes conn.
	tcp func(conn net.Conn, c *serviceStats)
	// server, instead of tcp, serves the whole listener.
	server func(r *runningService) (tcpServer, error)
}

// tcpServer is a service that takes a whole listener (http).
type tcpServer interface {
	// Serve accepts on l until Close; it returns once l is closed.
	Serve(l net.Listener) error
	// Close closes the listener and every connection, and returns once
	// every goroutine Serve started has ended.
	Close() error
}

var services = []service{
	{name: "echo", proto: "udp", port: 7, doc: "sends each datagram back (RFC 862)", udp: echoUDP},
	{name: "echo", proto: "tcp", port: 7, doc: "sends back what it receives (RFC 862)", tcp: echoTCP},
	{name: "discard", proto: "udp", port: 9, doc: "counts and drops every datagram (RFC 863)", udp: discardUDP},
	{name: "discard", proto: "tcp", port: 9, doc: "counts and drops what it receives (RFC 863)", tcp: discardTCP},
	{name: "chargen", proto: "udp", port: 19, doc: "answers each datagram with 6 lines (RFC 864)", udp: chargenUDP},
	{name: "chargen", proto: "tcp", port: 19, doc: "sends 72-character lines until closed (RFC 864)", tcp: chargenTCP},
	{name: "http", proto: "tcp", port: 80, arg: "DIR", doc: "status at /, /bytes?n=N, POST /sink; files of DIR", server: newHTTPService},
}

func echoUDP(pc net.PacketConn, p []byte, from net.Addr, c *serviceStats) {
	if _, err := pc.WriteTo(p, from); err != nil {
		c.OutErrors.Inc()
		return
	}
	c.OutDatagrams.Inc()
	c.OutBytes.Add(uint64(len(p)))
}

func discardUDP(net.PacketConn, []byte, net.Addr, *serviceStats) {}

// serviceNames lists the names in the table, for messages.
func serviceNames() string {
	var names []string
	for _, s := range services {
		names = append(names, s.name)
	}
	sort.Strings(names)
	return strings.Join(slices.Compact(names), ", ")
}

// serveSpec is one service to start: an entry of the table, a port and
// the service's argument (http's DIR).
type serveSpec struct {
	svc  *service
	port uint16
	arg  string
}

// serveList is the repeatable --serve NAME[/PROTO][:PORT[:ARG]][,...].
type serveList []serveSpec

func (l *serveList) String() string { return fmt.Sprint(*l) }

func (l *serveList) Set(v string) error {
	for item := range strings.SplitSeq(v, ",") {
		item = strings.TrimSpace(item)
		name, rest, hasPort := strings.Cut(item, ":")
		name, proto, _ := strings.Cut(name, "/")
		portStr, arg, hasArg := strings.Cut(rest, ":")
		if hasArg && arg == "" {
			return fmt.Errorf("service %s: empty argument after the port", name)
		}
		var port uint16
		if hasPort && !(hasArg && portStr == "") { // NAME::ARG keeps the default port
			p, err := parsePort(portStr)
			if err != nil {
				return fmt.Errorf("service %s: %v", name, err)
			}
			port = p
		}
		found := false
		for i := range services {
			s := &services[i]
			if s.name != name || (proto != "" && s.proto != proto) {
				continue
			}
			found = true
			if hasArg && s.arg == "" {
				return fmt.Errorf("service %s/%s takes no argument after the port", s.name, s.proto)
			}
			p := port
			if p == 0 {
				p = s.port
			}
			*l = append(*l, serveSpec{svc: s, port: p, arg: arg})
		}
		if !found {
			if proto != "" {
				return fmt.Errorf("unknown service %q (have %s)", name+"/"+proto, serviceNames())
			}
			return fmt.Errorf("unknown service %q (have %s)", name, serviceNames())
		}
	}
	return nil
}

// serviceStats count one running service's traffic. UDP services move
// the datagram counters, TCP services the connection ones, http also
// Requests; the bytes are payload (application data) both ways.
type serviceStats struct {
	InDatagrams  stats.Counter
	InBytes      stats.Counter
	OutDatagrams stats.Counter
	OutBytes     stats.Counter
	OutErrors    stats.Counter
	Connections  stats.Counter // accepted
	ActiveConns  stats.Gauge   // open now
	Requests     stats.Counter // HTTP requests
}

// runningService is a started service.
type runningService struct {
	spec    serveSpec
	stats   serviceStats
	st      *stack.Stack
	started time.Time
	pc      net.PacketConn // udp
	l       net.Listener   // tcp
	srv     tcpServer      // tcp with server
	conns   connSet        // tcp with tcp
	done    chan struct{}  // closed when the service's goroutine ends
}

func (r *runningService) String() string {
	return fmt.Sprintf("%s %s/%d", r.spec.svc.name, r.spec.svc.proto, r.spec.port)
}

// startService opens the service's socket on st and starts its
// goroutine.
func startService(st *stack.Stack, spec serveSpec) (*runningService, error) {
	r := &runningService{spec: spec, st: st, started: time.Now(), done: make(chan struct{})}
	switch spec.svc.proto {
	case "udp":
		pc, err := st.ListenPacket("udp", fmt.Sprintf(":%d", spec.port))
		if err != nil {
			return nil, fmt.Errorf("--serve %s: %w", r, err)
		}
		r.pc = pc
		go r.serveUDP()
	case "tcp":
		var srv tcpServer
		if spec.svc.server != nil {
			s, err := spec.svc.server(r)
			if err != nil {
				return nil, fmt.Errorf("--serve %s: %w", r, err)
			}
			srv = s
		}
		l, err := st.Listen("tcp", fmt.Sprintf(":%d", spec.port))
		if err != nil {
			return nil, fmt.Errorf("--serve %s: %w", r, err)
		}
		r.l, r.srv = l, srv
		go r.serveTCP()
	default:
		return nil, fmt.Errorf("--serve %s: protocol %s not supported yet", r, spec.svc.proto)
	}
	return r, nil
}

func (r *runningService) serveUDP() {
	defer close(r.done)
	buf := make([]byte, 65536)
	for {
		n, from, err := r.pc.ReadFrom(buf)
		if err != nil {
			var errno syscall.Errno
			if errors.As(err, &errno) {
				continue // an ICMP error reported on the socket
			}
			return // closed
		}
		r.stats.InDatagrams.Inc()
		r.stats.InBytes.Add(uint64(n))
		r.spec.svc.udp(r.pc, buf[:n], from, &r.stats)
	}
}

// stop closes the service's socket and connections and waits for its
// goroutines.
func (r *runningService) stop() {
	switch {
	case r.pc != nil:
		r.pc.Close()
	case r.srv != nil:
		r.srv.Close() // closes r.l too
	default:
		r.l.Close() // serveTCP then closes the connections
	}
	<-r.done
}

// serviceSet is every service of one `ustack up`.
type serviceSet struct {
	mu  sync.Mutex
	all []*runningService
}

func (s *serviceSet) start(st *stack.Stack, specs []serveSpec) error {
	for _, spec := range specs {
		r, err := startService(st, spec)
		if err != nil {
			return err
		}
		s.mu.Lock()
		s.all = append(s.all, r)
		s.mu.Unlock()
	}
	return nil
}

func (s *serviceSet) stop() {
	s.mu.Lock()
	all := s.all
	s.all = nil
	s.mu.Unlock()
	for _, r := range all {
		r.stop()
	}
}

func (s *serviceSet) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.all) == 0 {
		return "none"
	}
	var names []string
	for _, r := range s.all {
		names = append(names, r.String())
	}
	return strings.Join(names, ", ")
}

// ServiceInfo is one element of the control method "services".
type ServiceInfo struct {
	Name     string        `json:"name"`
	Proto    string        `json:"proto"`
	Port     uint16        `json:"port"`
	Counters []ctl.Counter `json:"counters"`
}

// handle answers the control method "services", which `ustack up` adds
// to its server.
func (s *serviceSet) handle(context.Context, json.RawMessage, *ctl.Stream) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []ServiceInfo{}
	for _, r := range s.all {
		info := ServiceInfo{Name: r.spec.svc.name, Proto: r.spec.svc.proto, Port: r.spec.port}
		stats.Walk(&r.stats, func(name string, v int64) { info.Counters = append(info.Counters, ctl.Counter{Name: name, Value: v}) })
		out = append(out, info)
	}
	return out, nil
}

package main

// Built-in services for `ustack up --serve`, like inetd's internal ones
// (RFC 862 echo, RFC 863 discard).
//
// Adding a service is one entry in the services table. A UDP service
// gives udp, a function called for each datagram; a TCP service (when the
// TCP layer lands) will give tcp, a function called for each connection,
// and startService will open a listener for it as it opens a packet
// socket for udp. A name may appear once per protocol: "--serve echo"
// then starts echo on every protocol that has it, "--serve echo/udp" on
// one.

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

	"ustack/ctl"
	"ustack/stack"
	"ustack/stats"
)

// service is one entry of the table.
type service struct {
	name  string
	proto string // "udp" (later "tcp")
	port  uint16 // well-known port, used when --serve gives none
	doc   string
	// udp handles one datagram p from from, received on pc. It runs on
	// the service's goroutine; p is reused after it returns.
	udp func(pc net.PacketConn, p []byte, from net.Addr, c *serviceStats)
}

var services = []service{
	{name: "echo", proto: "udp", port: 7, doc: "sends each datagram back (RFC 862)", udp: echoUDP},
	{name: "discard", proto: "udp", port: 9, doc: "counts and drops every datagram (RFC 863)", udp: discardUDP},
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

// serveSpec is one service to start: an entry of the table and a port.
type serveSpec struct {
	svc  *service
	port uint16
}

// serveList is the repeatable --serve NAME[/PROTO][:PORT][,...].
type serveList []serveSpec

func (l *serveList) String() string { return fmt.Sprint(*l) }

func (l *serveList) Set(v string) error {
	for item := range strings.SplitSeq(v, ",") {
		item = strings.TrimSpace(item)
		name, portStr, hasPort := strings.Cut(item, ":")
		name, proto, _ := strings.Cut(name, "/")
		var port uint16
		if hasPort {
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
			p := port
			if p == 0 {
				p = s.port
			}
			*l = append(*l, serveSpec{svc: s, port: p})
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

// serviceStats count one running service's traffic.
type serviceStats struct {
	InDatagrams  stats.Counter
	InBytes      stats.Counter
	OutDatagrams stats.Counter
	OutBytes     stats.Counter
	OutErrors    stats.Counter
}

// runningService is a started service.
type runningService struct {
	spec  serveSpec
	stats serviceStats
	pc    net.PacketConn
	done  chan struct{}
}

func (r *runningService) String() string {
	return fmt.Sprintf("%s %s/%d", r.spec.svc.name, r.spec.svc.proto, r.spec.port)
}

// startService opens the service's socket on st and starts its
// goroutine.
func startService(st *stack.Stack, spec serveSpec) (*runningService, error) {
	r := &runningService{spec: spec, done: make(chan struct{})}
	switch spec.svc.proto {
	case "udp":
		pc, err := st.ListenPacket("udp", fmt.Sprintf(":%d", spec.port))
		if err != nil {
			return nil, fmt.Errorf("--serve %s: %w", r, err)
		}
		r.pc = pc
		go r.serveUDP()
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

// stop closes the service's socket and waits for its goroutine.
func (r *runningService) stop() {
	r.pc.Close()
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

package ctl

import (
	"context"
	"encoding/json"
	"net/netip"
	"reflect"
	"slices"
	"sort"
	"strings"

	"ustack/ipv4/fib"
	"ustack/netdev"
	"ustack/stack"
	"ustack/stats"
)

// StatusArgs are the arguments of method "status".
type StatusArgs struct {
	// Sections to fill (see Sections); empty means all.
	Sections []string `json:"sections,omitempty"`
}

// Status is the result of method "status": a snapshot of the stack, one
// field per section. Sections not asked for are left empty.
type Status struct {
	Forwarding bool           `json:"forwarding"`
	Interfaces []Interface    `json:"interfaces,omitempty"` // section "interfaces" (ip -s link, ip addr)
	Routes     []Route        `json:"routes,omitempty"`     // section "routes" (ip route)
	Neighbors  []Neighbor     `json:"neighbors,omitempty"`  // section "neighbors" (ip neigh)
	Counters   []CounterGroup `json:"counters,omitempty"`   // section "counters" (netstat -s)
	// TCPStates counts TCP connections per state, listeners included
	// (section "tcp", ss -s; see tcpstates.go).
	TCPStates []Counter `json:"tcp_states,omitempty"`
}

// Interface is one device, as `ip -s addr` shows it.
type Interface struct {
	Index      int            `json:"index"`
	Name       string         `json:"name"`
	Link       string         `json:"link"` // "ether", "ip"
	MAC        string         `json:"mac,omitempty"`
	MTU        int            `json:"mtu"`
	Flags      []string       `json:"flags"` // UP, BROADCAST, LOOPBACK, PROMISC, RUNNING
	TxQueueLen int            `json:"txqueuelen"`
	Addrs      []netip.Prefix `json:"addrs,omitempty"`
	Stats      []Counter      `json:"stats"`
}

// Route is one routing table entry, as `ip route` shows it.
type Route struct {
	Dst     netip.Prefix `json:"dst"`
	Gateway netip.Addr   `json:"gateway,omitzero"`
	Dev     string       `json:"dev"`
	Src     netip.Addr   `json:"src,omitzero"`
	Metric  uint32       `json:"metric"`
	Proto   string       `json:"proto,omitempty"`
	Scope   string       `json:"scope,omitempty"`
	MTU     int          `json:"mtu,omitempty"`
	// Text is the route as `ip route` prints it.
	Text string `json:"text"`
}

func (r Route) String() string { return r.Text }

// Neighbor is one neighbour cache entry, as `ip neigh` shows it.
type Neighbor struct {
	Dev   string     `json:"dev"`
	Addr  netip.Addr `json:"addr"`
	MAC   string     `json:"mac,omitempty"`
	State string     `json:"state"`
	Age   Duration   `json:"age"`
	Queue int        `json:"queue,omitempty"` // packets waiting for resolution
}

// Counter is one named counter or gauge.
type Counter struct {
	Name  string `json:"name"`
	Value int64  `json:"value"`
}

// CounterGroup is one MIB's counters, in declaration order.
type CounterGroup struct {
	Name     string    `json:"name"`
	Counters []Counter `json:"counters"`
}

// Get returns the counter called name and whether it exists.
func (g CounterGroup) Get(name string) (int64, bool) {
	for _, c := range g.Counters {
		if c.Name == name {
			return c.Value, true
		}
	}
	return 0, false
}

// Group returns the counter group called name ("IP", "UDP", ...).
func (s *Status) Group(name string) (CounterGroup, bool) {
	for _, g := range s.Counters {
		if g.Name == name {
			return g, true
		}
	}
	return CounterGroup{}, false
}

// sections fill the parts of a Status; a new section is one entry here
// and one field in Status.
var sections = map[string]func(*stack.Stack, *Status){
	"interfaces": statusInterfaces,
	"routes":     statusRoutes,
	"neighbors":  statusNeighbors,
	"counters":   statusCounters,
	"tcp":        statusTCP,
}

// Sections lists the section names StatusArgs accepts.
func Sections() []string {
	names := make([]string, 0, len(sections))
	for n := range sections {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func (s *Server) status(ctx context.Context, raw json.RawMessage, _ *Stream) (any, error) {
	var a StatusArgs
	if err := decodeArgs(raw, &a); err != nil {
		return nil, err
	}
	st, err := Snapshot(s.st, a.Sections...)
	if err != nil {
		return nil, err
	}
	return st, nil
}

// Snapshot reads the sections named (all if none) of st's state: what
// method "status" answers, for a caller holding the stack itself.
func Snapshot(s *stack.Stack, names ...string) (*Status, error) {
	if len(names) == 0 {
		names = Sections()
	}
	names = slices.Compact(slices.Sorted(slices.Values(names)))
	for _, n := range names {
		if _, ok := sections[n]; !ok {
			return nil, argsError("status: unknown section %q (have %s)", n, strings.Join(Sections(), ", "))
		}
	}
	st := &Status{Forwarding: s.IP().Forwarding()}
	for _, n := range names {
		sections[n](s, st)
	}
	return st, nil
}

func flagNames(f netdev.Flags) []string {
	s := strings.Trim(f.String(), "<>")
	if s == "" {
		return []string{}
	}
	return strings.Split(s, ",")
}

func statusInterfaces(s *stack.Stack, st *Status) {
	addrs := s.Addrs().All()
	for _, d := range s.Devices().Devices() {
		in := Interface{
			Index: d.Index(), Name: d.Name(), Link: d.Link().String(), MTU: d.MTU(),
			Flags: flagNames(d.Flags()), TxQueueLen: d.TxQueueLen(), Stats: walk(&d.Stats),
		}
		if d.Caps().Loopback {
			in.Link = "loopback"
		}
		if d.Link() == netdev.LinkEthernet {
			in.MAC = d.MAC().String()
		}
		for _, a := range addrs {
			if a.Dev == d.Index() {
				in.Addrs = append(in.Addrs, a.Prefix)
			}
		}
		st.Interfaces = append(st.Interfaces, in)
	}
}

// devName returns a function naming devices by index, for display.
func devName(s *stack.Stack) func(int) string {
	return func(i int) string {
		if d := s.Devices().Device(i); d != nil {
			return d.Name()
		}
		return ""
	}
}

func statusRoutes(s *stack.Stack, st *Status) {
	name := devName(s)
	for _, r := range s.Routes() {
		out := Route{
			Dst: r.Dst, Gateway: r.Gateway, Dev: name(r.Dev), Src: r.Src, Metric: r.Metric, MTU: r.MTU,
			Text: r.Format(name),
		}
		if r.Proto != fib.ProtoUnspec {
			out.Proto = r.Proto.String()
		}
		if r.Scope != fib.ScopeUniverse {
			out.Scope = r.Scope.String()
		}
		st.Routes = append(st.Routes, out)
	}
}

func statusNeighbors(s *stack.Stack, st *Status) {
	name := devName(s)
	for _, e := range s.Neigh().Entries() {
		n := Neighbor{Dev: name(e.Dev), Addr: e.Addr, State: e.State.String(), Age: Duration(e.Age), Queue: e.Queue}
		if !e.MAC.IsZero() {
			n.MAC = e.MAC.String()
		}
		st.Neighbors = append(st.Neighbors, n)
	}
}

// statusCounters reports every MIB of stats.Stack, so that a MIB added
// there (TCP) appears without a change here.
func statusCounters(s *stack.Stack, st *Status) {
	v := reflect.ValueOf(s.Stats()).Elem()
	for i := range v.NumField() {
		f := v.Type().Field(i)
		if !f.IsExported() || f.Type.Kind() != reflect.Struct {
			continue
		}
		if cs := walk(v.Field(i).Addr().Interface()); len(cs) > 0 {
			st.Counters = append(st.Counters, CounterGroup{Name: f.Name, Counters: cs})
		}
	}
}

func walk(mib any) []Counter {
	var out []Counter
	stats.Walk(mib, func(name string, value int64) { out = append(out, Counter{name, value}) })
	return slices.Clip(out)
}

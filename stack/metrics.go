package stack

// Metrics: every counter of the stack in the Prometheus text exposition
// format, for `ustack up --metrics ADDR` and any program that serves its
// own /metrics.

import (
	"io"
	"reflect"

	"ustack/neigh"
	"ustack/stats"
	"ustack/tcp"
)

// Metrics adds the stack's metrics to e:
//
//   - every MIB of Stats() (Ether, ARP, IP, ICMP, UDP, TCP), named
//     ustack_<mib>_<counter> as stats.Exposition.MIB names them
//     (ustack_tcp_retrans_segs_total, ustack_tcp_curr_estab);
//   - every device's counters (ip -s link) as ustack_link_*_total with
//     an interface label, and its state as ustack_link_up and
//     ustack_link_mtu;
//   - gauges of the tables: ustack_tcp_connections{state} (every state
//     but CLOSED, listeners in LISTEN), ustack_udp_sockets,
//     ustack_ip_routes, ustack_neigh_entries{state}, and the packet
//     buffers in use, ustack_pkt_buffers_live.
//
// Context: process.
func (s *Stack) Metrics(e *stats.Exposition) {
	v := reflect.ValueOf(s.stats).Elem()
	for i := range v.NumField() {
		f := v.Type().Field(i)
		if f.IsExported() && f.Type.Kind() == reflect.Struct {
			e.MIB("ustack_"+stats.SnakeCase(f.Name), f.Name, v.Field(i).Addr().Interface())
		}
	}
	for _, d := range s.devs.Devices() {
		e.MIB("ustack_link", "Link", &d.Stats, stats.Label{Name: "interface", Value: d.Name()})
	}
	for _, d := range s.devs.Devices() {
		up := 0.0
		if d.IsUp() {
			up = 1
		}
		e.Gauge("ustack_link_up", "Whether the interface is up (1) or down (0).", up, stats.Label{Name: "interface", Value: d.Name()})
	}
	for _, d := range s.devs.Devices() {
		e.Gauge("ustack_link_mtu", "The interface's MTU in bytes.", float64(d.MTU()), stats.Label{Name: "interface", Value: d.Name()})
	}

	var states [tcp.TimeWait + 1]int
	for _, so := range s.tcp.Sockets() {
		if int(so.State) < len(states) {
			states[so.State]++
		}
	}
	for st := tcp.Listen; st <= tcp.TimeWait; st++ {
		e.Gauge("ustack_tcp_connections", "TCP sockets in each state, listeners included (ss -s).", float64(states[st]),
			stats.Label{Name: "state", Value: st.String()})
	}
	e.Gauge("ustack_udp_sockets", "Open UDP sockets.", float64(len(s.udp.Sockets())))
	e.Gauge("ustack_ip_routes", "Routes in the routing table.", float64(len(s.Routes())))
	nstates := map[neigh.State]int{}
	for _, n := range s.neigh.Entries() {
		nstates[n.State]++
	}
	for st := neigh.Incomplete; st <= neigh.Permanent; st++ {
		e.Gauge("ustack_neigh_entries", "Neighbour cache entries in each state (ip neigh).", float64(nstates[st]),
			stats.Label{Name: "state", Value: st.String()})
	}
	e.Gauge("ustack_pkt_buffers_live", "Packet buffers held by the stack and its sockets now.", float64(s.pool.Live()))
}

// WriteMetrics writes Metrics in the Prometheus text exposition format;
// serve it with Content-Type stats.PromContentType. Context: process.
func (s *Stack) WriteMetrics(w io.Writer) error {
	var e stats.Exposition
	s.Metrics(&e)
	_, err := e.WriteTo(w)
	return err
}

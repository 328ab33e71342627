// Read before editing: RFC 1812 §5.2.4 (route lookup: basic match, longest
// match, best metric) and RFC 1122 §3.3.1 (routing outbound datagrams, the
// local/remote decision, gateway selection and the route cache).

// Package fib is the IPv4 routing table — the forwarding information base —
// and the route cache in front of it.
//
// A Table holds Routes and answers Lookup with the route whose prefix is the
// longest match for a destination (RFC 1812 §5.2.4.3), ties broken by the
// lowest metric and then by insertion order. Lookups run on the packet path
// and take no lock: they read an immutable snapshot of the table — a
// path-compressed binary trie (trie.go) behind two directly indexed levels
// (dir.go) — through an atomic pointer, after a small direct-mapped cache of
// recent answers (RFC 1122 §3.3.1.3; cache.go). Changes are rare; each one
// publishes a new snapshot, sharing what it did not touch with the old, and
// so invalidates the whole cache at once.
//
// The table knows devices only by interface index and resolves nothing: a
// gateway is taken as given, and choosing a source address or an output
// device for it is the caller's business (cf. fib_lookup / ip_route_output
// in Linux, of which this is the fib_table_lookup half).
package fib

import (
	"errors"
	"net/netip"
	"strconv"
	"strings"
)

// Errors returned by Table methods.
var (
	ErrExists   = errors.New("fib: route exists")
	ErrNotFound = errors.New("fib: no such route")
	ErrNotIPv4  = errors.New("fib: not IPv4")
	ErrNoDevice = errors.New("fib: route has no device")
	ErrBadMTU   = errors.New("fib: negative MTU")
)

// Proto says who installed a route. The values are Linux's RTPROT_*, so
// that they map one to one onto rtnetlink and `ip route`.
type Proto uint8

const (
	ProtoUnspec   Proto = 0  // not said
	ProtoRedirect Proto = 1  // learnt from an ICMP redirect
	ProtoKernel   Proto = 2  // the connected route of a configured address
	ProtoBoot     Proto = 3  // installed during boot
	ProtoStatic   Proto = 4  // installed by the administrator
	ProtoDHCP     Proto = 16 // installed by the DHCP client
)

// String returns the name `ip route` prints after "proto".
func (p Proto) String() string {
	switch p {
	case ProtoUnspec:
		return "unspec"
	case ProtoRedirect:
		return "redirect"
	case ProtoKernel:
		return "kernel"
	case ProtoBoot:
		return "boot"
	case ProtoStatic:
		return "static"
	case ProtoDHCP:
		return "dhcp"
	}
	return strconv.Itoa(int(p))
}

// Scope is how far a route's destination is: on this host, on the attached
// link, or anywhere. The values are Linux's RT_SCOPE_*; the zero value is
// ScopeUniverse, the scope of routes through a gateway.
type Scope uint8

const (
	ScopeUniverse Scope = 0   // anywhere, possibly through a gateway
	ScopeSite     Scope = 200 // within the site
	ScopeLink     Scope = 253 // on the attached link (connected routes)
	ScopeHost     Scope = 254 // on this host (local addresses)
	ScopeNowhere  Scope = 255 // no destination
)

// String returns the name `ip route` prints after "scope".
func (s Scope) String() string {
	switch s {
	case ScopeUniverse:
		return "global"
	case ScopeSite:
		return "site"
	case ScopeLink:
		return "link"
	case ScopeHost:
		return "host"
	case ScopeNowhere:
		return "nowhere"
	}
	return strconv.Itoa(int(s))
}

// Route is one entry of the table.
type Route struct {
	Dst     netip.Prefix // destination; masked by Add (10.0.1.7/24 becomes 10.0.1.0/24)
	Gateway netip.Addr   // next hop; invalid (the zero Addr) for a directly connected route
	Dev     int          // output device, by interface index (> 0)
	Src     netip.Addr   // preferred source address; may be invalid
	Metric  uint32       // preference among routes of equal prefix length; lower wins
	Proto   Proto        // who installed it
	Scope   Scope        // how far Dst is
	MTU     int          // path MTU to use; 0 means the device's MTU
}

// String formats r as `ip route` prints it, with devices by index:
//
//	10.0.1.0/24 via 10.0.0.1 dev 2 metric 0
func (r Route) String() string { return r.Format(nil) }

// Format formats r as `ip route` prints it, naming devices with nameOf
// (which may be nil, or return "", to print the index):
//
//	default via 10.0.0.1 dev eth0 proto dhcp metric 100
//	10.0.0.0/24 dev eth0 proto kernel scope link src 10.0.0.5 metric 0
//	10.9.9.9 via 10.0.0.1 dev eth0 metric 0 mtu 1400
//
// As in `ip route`, a /32 destination is printed bare, 0.0.0.0/0 as
// "default", and proto and scope only when they are not the zero value;
// unlike it, the metric is always printed.
func (r Route) Format(nameOf func(ifindex int) string) string {
	var b strings.Builder
	b.Grow(64)
	switch {
	case r.Dst.IsValid() && r.Dst.Bits() == 0:
		b.WriteString("default")
	case r.Dst.IsValid() && r.Dst.Bits() == r.Dst.Addr().BitLen():
		b.WriteString(r.Dst.Addr().String())
	default:
		b.WriteString(r.Dst.String())
	}
	if r.Gateway.IsValid() {
		b.WriteString(" via ")
		b.WriteString(r.Gateway.String())
	}
	b.WriteString(" dev ")
	name := ""
	if nameOf != nil {
		name = nameOf(r.Dev)
	}
	if name == "" {
		name = strconv.Itoa(r.Dev)
	}
	b.WriteString(name)
	if r.Proto != ProtoUnspec {
		b.WriteString(" proto ")
		b.WriteString(r.Proto.String())
	}
	if r.Scope != ScopeUniverse {
		b.WriteString(" scope ")
		b.WriteString(r.Scope.String())
	}
	if r.Src.IsValid() {
		b.WriteString(" src ")
		b.WriteString(r.Src.String())
	}
	b.WriteString(" metric ")
	b.WriteString(strconv.FormatUint(uint64(r.Metric), 10))
	if r.MTU != 0 {
		b.WriteString(" mtu ")
		b.WriteString(strconv.Itoa(r.MTU))
	}
	return b.String()
}

// check validates r and returns it in the form the table stores: Dst
// masked, and an unspecified gateway (0.0.0.0) taken as none, as Linux
// does.
func (r Route) check() (Route, error) {
	if !r.Dst.IsValid() || !r.Dst.Addr().Is4() {
		return r, ErrNotIPv4
	}
	if r.Gateway.IsValid() && !r.Gateway.Is4() {
		return r, ErrNotIPv4
	}
	if r.Src.IsValid() && !r.Src.Is4() {
		return r, ErrNotIPv4
	}
	if r.Dev <= 0 {
		return r, ErrNoDevice
	}
	if r.MTU < 0 {
		return r, ErrBadMTU
	}
	r.Dst = r.Dst.Masked()
	if r.Gateway.IsValid() && r.Gateway.IsUnspecified() {
		r.Gateway = netip.Addr{}
	}
	return r, nil
}

// sameKey reports whether a and b are the same route for Add's duplicate
// check: equal Dst, Metric, Gateway and Dev (cf. the NLM_F_EXCL check in
// fib_table_insert).
func sameKey(a, b *Route) bool {
	return a.Dst == b.Dst && a.Metric == b.Metric && a.Gateway == b.Gateway && a.Dev == b.Dev
}

// matches reports whether r is selected by the pattern m given to Delete:
// the destinations are equal, and each field set in m (non-zero, or a
// valid address) is equal in r (cf. fib_table_delete).
func (m *Route) matches(r *Route) bool {
	return m.Dst == r.Dst &&
		(!m.Gateway.IsValid() || m.Gateway == r.Gateway) &&
		(m.Dev == 0 || m.Dev == r.Dev) &&
		(!m.Src.IsValid() || m.Src == r.Src) &&
		(m.Metric == 0 || m.Metric == r.Metric) &&
		(m.Proto == ProtoUnspec || m.Proto == r.Proto) &&
		(m.Scope == ScopeUniverse || m.Scope == r.Scope) &&
		(m.MTU == 0 || m.MTU == r.MTU)
}

package main

import (
	"flag"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"ustack/ctl"
)

// ifSpec is one --if: a TAP or TUN device and its addresses.
type ifSpec struct {
	name  string
	tun   bool
	addrs []netip.Prefix
}

func (s ifSpec) kind() string {
	if s.tun {
		return "tun"
	}
	return "tap"
}

// ifList is the repeatable --if [tap:|tun:]NAME=CIDR[,CIDR...].
type ifList []ifSpec

func (l *ifList) String() string { return fmt.Sprint(*l) }

func (l *ifList) Set(v string) error {
	var s ifSpec
	name, cidrs, ok := strings.Cut(v, "=")
	if !ok {
		return fmt.Errorf("want [tap:|tun:]NAME=CIDR, e.g. tap0=10.0.0.2/24")
	}
	if kind, n, ok := strings.Cut(name, ":"); ok {
		switch kind {
		case "tap":
		case "tun":
			s.tun = true
		default:
			return fmt.Errorf("unknown device kind %q (want tap or tun)", kind)
		}
		name = n
	}
	if name == "" {
		return fmt.Errorf("missing interface name before '='")
	}
	s.name = name
	for c := range strings.SplitSeq(cidrs, ",") {
		p, err := parseCIDR(c)
		if err != nil {
			return err
		}
		s.addrs = append(s.addrs, p)
	}
	for _, o := range *l {
		if o.name == s.name {
			return fmt.Errorf("interface %s given twice (list its addresses as NAME=CIDR,CIDR)", name)
		}
	}
	*l = append(*l, s)
	return nil
}

// parseCIDR reads an interface address with its prefix length.
func parseCIDR(c string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(c)
	if err != nil || !p.Addr().Is4() {
		return netip.Prefix{}, fmt.Errorf("malformed CIDR %q (want an IPv4 ADDR/LEN, e.g. 10.0.0.2/24)", c)
	}
	return p, nil
}

// durationValue is a duration flag that also takes a bare number of
// seconds ("-i 0.2"), as ping(8) does.
type durationValue time.Duration

func (d *durationValue) String() string { return time.Duration(*d).String() }

func (d *durationValue) Set(v string) error {
	x, err := ctl.ParseDuration(v)
	if err != nil {
		return err
	}
	*d = durationValue(x)
	return nil
}

// durationVar defines a duration flag under each of names.
func durationVar(fs *flag.FlagSet, p *time.Duration, value time.Duration, usage string, names ...string) {
	*p = value
	for _, n := range names {
		fs.Var((*durationValue)(p), n, usage)
	}
}

// intVar, stringVar and boolVar define a flag under each of names
// (a short and a long one: -c and --count).
func intVar(fs *flag.FlagSet, p *int, value int, usage string, names ...string) {
	for _, n := range names {
		fs.IntVar(p, n, value, usage)
	}
}

func stringVar(fs *flag.FlagSet, p *string, value, usage string, names ...string) {
	for _, n := range names {
		fs.StringVar(p, n, value, usage)
	}
}

func boolVar(fs *flag.FlagSet, p *bool, value bool, usage string, names ...string) {
	for _, n := range names {
		fs.BoolVar(p, n, value, usage)
	}
}

// parsePort reads a UDP/TCP port number, 1..65535.
func parsePort(s string) (uint16, error) {
	n, err := strconv.ParseUint(s, 10, 16)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("invalid port %q (want 1..65535)", s)
	}
	return uint16(n), nil
}

package main

// The table commands: ifconfig, route and arp show a running stack's
// interfaces, routing table and neighbour cache as the net-tools of the
// same names show the kernel's; netstat.go and ss.go show its counters
// and sockets. All read the control socket's "status" and "sockets"
// methods, and print the answer as JSON with --json.

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strings"
	"text/tabwriter"

	"ustack/ctl"
)

// expandShort splits grouped single-letter flags ("-tan") into separate
// ones ("-t", "-a", "-n") when every letter is one of letters, as
// netstat and ss take them; the flag package would read "-tan" as one
// flag. The argument after --ctl, and everything after "--", is left
// alone.
func expandShort(args []string, letters string) []string {
	var out []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			return append(out, args[i:]...)
		case a == "--ctl" || a == "-ctl":
			out = append(out, a)
			if i+1 < len(args) {
				i++
				out = append(out, args[i])
			}
			continue
		}
		if len(a) > 2 && a[0] == '-' && a[1] != '-' && strings.Trim(a[1:], letters) == "" {
			for _, c := range a[1:] {
				out = append(out, "-"+string(c))
			}
			continue
		}
		out = append(out, a)
	}
	return out
}

// tableCommand runs the common part of a table command: it parses args
// (with the flags fs already has, plus --ctl and --json), dials the
// control socket, and calls fetch, then print with the answer, or prints
// the answer as JSON.
func tableCommand(fs *flag.FlagSet, usage string, args []string, maxPos int,
	fetch func(ctx context.Context, c *ctl.Client, pos []string) (any, error),
	print func(w io.Writer, v any) error) error {
	var (
		ctlPath string
		asJSON  bool
	)
	fs.StringVar(&ctlPath, "ctl", "", "")
	fs.BoolVar(&asJSON, "json", false, "")
	pos, err := parseFlags(fs, usage, args)
	if err != nil {
		return err
	}
	if len(pos) > maxPos {
		return usageErrorf("unexpected argument %q", pos[maxPos])
	}
	c, err := dialCtl(ctlPath)
	if err != nil {
		return err
	}
	defer c.Close()
	ctx, stop := interruptContext()
	defer stop()
	v, err := fetch(ctx, c, pos)
	if err != nil {
		var ce *ctl.Error
		if errors.As(err, &ce) && ce.Code == ctl.CodeBadArgs {
			return usageErrorf("%v", err)
		}
		return fmt.Errorf("%s: %v", fs.Name(), err)
	}
	if asJSON {
		return printJSON(os.Stdout, v)
	}
	return print(os.Stdout, v)
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

const ifconfigUsage = `usage: ustack ifconfig [--ctl PATH] [--json] [IFACE]

Show a running stack's interfaces as ifconfig(8) shows the kernel's:
flags, MTU, addresses, hardware address and the counters of
'ip -s link' (packets, bytes, errors and drops each way).

Options:
  --json        print the interfaces as JSON
  --ctl PATH    control socket of the stack (default: see 'ustack help')
`

func runIfconfig(args []string) error {
	fs := flag.NewFlagSet("ifconfig", flag.ContinueOnError)
	return tableCommand(fs, ifconfigUsage, args, 1,
		func(ctx context.Context, c *ctl.Client, pos []string) (any, error) {
			st, err := c.Status(ctx, "interfaces")
			if err != nil {
				return nil, err
			}
			if len(pos) == 0 {
				return st.Interfaces, nil
			}
			for _, in := range st.Interfaces {
				if in.Name == pos[0] {
					return []ctl.Interface{in}, nil
				}
			}
			return nil, fmt.Errorf("%s: no such interface", pos[0])
		},
		func(w io.Writer, v any) error { printIfconfig(w, v.([]ctl.Interface)); return nil })
}

// printIfconfig prints interfaces as ifconfig(8) does, but for
// txqueuelen: the frames queued now are shown instead of the limit.
func printIfconfig(w io.Writer, ifs []ctl.Interface) {
	for i, in := range ifs {
		if i > 0 {
			fmt.Fprintln(w)
		}
		v := map[string]int64{}
		for _, c := range in.Stats {
			v[c.Name] = c.Value
		}
		fmt.Fprintf(w, "%s: flags=<%s>  mtu %d\n", in.Name, strings.Join(in.Flags, ","), in.MTU)
		for _, a := range in.Addrs {
			fmt.Fprintf(w, "        inet %v  netmask %v", a.Addr(), prefixMask(a))
			if a.Bits() < 31 && in.Link != "loopback" {
				fmt.Fprintf(w, "  broadcast %v", prefixBroadcast(a))
			}
			fmt.Fprintln(w)
		}
		switch {
		case in.MAC != "":
			fmt.Fprintf(w, "        ether %s  (Ethernet)\n", in.MAC)
		case in.Link == "loopback":
			fmt.Fprintf(w, "        loop  (Local Loopback)\n")
		default:
			fmt.Fprintf(w, "        unspec  (IP)\n")
		}
		fmt.Fprintf(w, "        RX packets %d  bytes %d (%s)\n", v["RxPackets"], v["RxBytes"], formatBytes(v["RxBytes"]))
		fmt.Fprintf(w, "        RX errors %d  dropped %d  multicast %d\n", v["RxErrors"], v["RxDropped"], v["Multicast"])
		fmt.Fprintf(w, "        TX packets %d  bytes %d (%s)\n", v["TxPackets"], v["TxBytes"], formatBytes(v["TxBytes"]))
		fmt.Fprintf(w, "        TX errors %d  dropped %d  queued %d\n", v["TxErrors"], v["TxDropped"], in.TxQueueLen)
	}
}

// prefixMask is the dotted netmask of p.
func prefixMask(p netip.Prefix) netip.Addr {
	var m [4]byte
	for i := range p.Bits() {
		m[i/8] |= 0x80 >> (i % 8)
	}
	return netip.AddrFrom4(m)
}

// prefixBroadcast is p's directed broadcast address.
func prefixBroadcast(p netip.Prefix) netip.Addr {
	a, m := p.Addr().As4(), prefixMask(p).As4()
	for i := range a {
		a[i] |= ^m[i]
	}
	return netip.AddrFrom4(a)
}

const routeUsage = `usage: ustack route [--ctl PATH] [--json]

Show a running stack's routing table as 'ip route' shows the kernel's.

Options:
  --json        print the routes as JSON
  --ctl PATH    control socket of the stack (default: see 'ustack help')
`

func runRoute(args []string) error {
	fs := flag.NewFlagSet("route", flag.ContinueOnError)
	return tableCommand(fs, routeUsage, args, 0,
		func(ctx context.Context, c *ctl.Client, _ []string) (any, error) {
			st, err := c.Status(ctx, "routes")
			if err != nil {
				return nil, err
			}
			return st.Routes, nil
		},
		func(w io.Writer, v any) error {
			for _, r := range v.([]ctl.Route) {
				fmt.Fprintln(w, r.Text)
			}
			return nil
		})
}

const arpUsage = `usage: ustack arp [--ctl PATH] [--json]

Show a running stack's neighbour (ARP) cache as arp -n and ip neigh show
the kernel's: each neighbour's address, hardware address, state (NUD
state: REACHABLE, STALE, INCOMPLETE...), interface, the time since its
state last changed, and the packets waiting for it to resolve.

Options:
  --json        print the entries as JSON
  --ctl PATH    control socket of the stack (default: see 'ustack help')
`

func runArp(args []string) error {
	fs := flag.NewFlagSet("arp", flag.ContinueOnError)
	return tableCommand(fs, arpUsage, args, 0,
		func(ctx context.Context, c *ctl.Client, _ []string) (any, error) {
			st, err := c.Status(ctx, "neighbors")
			if err != nil {
				return nil, err
			}
			if st.Neighbors == nil {
				return []ctl.Neighbor{}, nil
			}
			return st.Neighbors, nil
		},
		func(w io.Writer, v any) error { printArp(w, v.([]ctl.Neighbor)); return nil })
}

func printArp(w io.Writer, ns []ctl.Neighbor) {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "Address\tHWaddress\tState\tIface\tAge\tQueue")
	for _, n := range ns {
		mac := n.MAC
		if mac == "" {
			mac = "(incomplete)"
		}
		fmt.Fprintf(tw, "%v\t%s\t%s\t%s\t%v\t%d\n", n.Addr, mac, n.State, n.Dev, n.Age.D().Round(1e6), n.Queue)
	}
	tw.Flush()
}

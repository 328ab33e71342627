package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"ustack/ctl"
	"ustack/stack"
)

const statusUsage = `usage: ustack status [--ctl PATH] [-a] [--json] [SECTION...]

Show a running stack's state, as ip addr, ip route, ip neigh and
netstat -s show the kernel's. SECTIONs: %s (default: all).

Options:
  -a, --all     show counters that are zero too
  --json        print the control socket's answer as JSON
  --ctl PATH    control socket of the stack (default: see 'ustack help')
`

func statusUsageText() string {
	return fmt.Sprintf(statusUsage, strings.Join(ctl.Sections(), ", "))
}

func runStatus(args []string) error {
	fs := flag.NewFlagSet("status", flag.ContinueOnError)
	var (
		ctlPath string
		all     bool
		asJSON  bool
	)
	fs.StringVar(&ctlPath, "ctl", "", "")
	boolVar(fs, &all, false, "", "a", "all")
	fs.BoolVar(&asJSON, "json", false, "")
	sections, err := parseFlags(fs, statusUsageText(), args)
	if err != nil {
		return err
	}
	c, err := dialCtl(ctlPath)
	if err != nil {
		return err
	}
	defer c.Close()
	ctx, stop := interruptContext()
	defer stop()
	st, err := c.Status(ctx, sections...)
	if err != nil {
		var ce *ctl.Error
		if errors.As(err, &ce) && ce.Code == ctl.CodeBadArgs {
			return usageErrorf("%v", err)
		}
		return fmt.Errorf("status: %v", err)
	}
	// Services are known to `ustack up`, not to the stack: asked for
	// separately, and absent from a server that has no such method.
	var svcs []ServiceInfo
	if len(sections) == 0 {
		if err := c.Call(ctx, "services", nil, nil, &svcs); err != nil {
			svcs = nil
		}
	}
	if asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			*ctl.Status
			Services []ServiceInfo `json:"services,omitempty"`
		}{st, svcs})
	}
	w := os.Stdout
	if st.Interfaces != nil {
		fmt.Fprintln(w, "interfaces:")
		printInterfaces(w, st.Interfaces, true)
	}
	if st.Routes != nil {
		fmt.Fprintln(w, "routes:")
		printRoutes(w, st.Routes)
	}
	if st.Neighbors != nil || len(sections) == 0 {
		fmt.Fprintln(w, "neighbours:")
		tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
		for _, n := range st.Neighbors {
			mac := n.MAC
			if mac == "" {
				mac = "-"
			}
			fmt.Fprintf(tw, "  %v\tdev %s\tlladdr %s\t%s\t%s ago\n", n.Addr, n.Dev, mac, n.State, n.Age.D().Round(1e6))
		}
		tw.Flush()
	}
	if len(sections) == 0 {
		fmt.Fprintf(w, "forwarding: %s\n", onOff(st.Forwarding))
	}
	if svcs != nil {
		fmt.Fprintln(w, "services:")
		for _, s := range svcs {
			fmt.Fprintf(w, "  %s %s/%d:", s.Name, s.Proto, s.Port)
			printCounters(w, s.Counters, all)
		}
	}
	if st.Counters != nil {
		fmt.Fprintln(w, "counters:")
		for _, g := range st.Counters {
			fmt.Fprintf(w, "  %s:", g.Name)
			printCounters(w, g.Counters, all)
		}
	}
	return nil
}

// printCounters prints name=value pairs on one line (all, or the
// non-zero ones).
func printCounters(w io.Writer, cs []ctl.Counter, all bool) {
	n := 0
	for _, c := range cs {
		if c.Value != 0 || all {
			fmt.Fprintf(w, " %s=%d", c.Name, c.Value)
			n++
		}
	}
	if n == 0 {
		fmt.Fprint(w, " (all zero)")
	}
	fmt.Fprintln(w)
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// printInterfaces prints devices as `ip -s addr` does, more briefly.
func printInterfaces(w io.Writer, ifs []ctl.Interface, withStats bool) {
	for _, in := range ifs {
		link := "link/" + in.Link
		if in.MAC != "" {
			link += " " + in.MAC
		}
		fmt.Fprintf(w, "  %d: %s <%s> mtu %d %s\n", in.Index, in.Name, strings.Join(in.Flags, ","), in.MTU, link)
		for _, a := range in.Addrs {
			fmt.Fprintf(w, "      inet %v\n", a)
		}
		if withStats {
			v := map[string]int64{}
			for _, c := range in.Stats {
				v[c.Name] = c.Value
			}
			fmt.Fprintf(w, "      RX packets %d bytes %d errors %d dropped %d\n", v["RxPackets"], v["RxBytes"], v["RxErrors"], v["RxDropped"])
			fmt.Fprintf(w, "      TX packets %d bytes %d errors %d dropped %d\n", v["TxPackets"], v["TxBytes"], v["TxErrors"], v["TxDropped"])
		}
	}
}

func printRoutes(w io.Writer, rs []ctl.Route) {
	for _, r := range rs {
		fmt.Fprintf(w, "  %s\n", r.Text)
	}
}

// printUpSummary is what `ustack up` prints once it runs.
func printUpSummary(st *stack.Stack, svcs *serviceSet, ctlPath string) {
	snap, err := ctl.Snapshot(st, "interfaces", "routes")
	if err != nil {
		return
	}
	w := os.Stdout
	fmt.Fprintf(w, "ustack: up (pid %d)\n", os.Getpid())
	fmt.Fprintln(w, "interfaces:")
	printInterfaces(w, snap.Interfaces, false)
	fmt.Fprintln(w, "routes:")
	printRoutes(w, snap.Routes)
	fmt.Fprintf(w, "forwarding: %s\n", onOff(snap.Forwarding))
	fmt.Fprintf(w, "services: %s\n", svcs)
	fmt.Fprintf(w, "control: %s\n", ctlPath)
}

// dialCtl connects to the control socket, turning "nothing there" into
// the message that says what to do.
func dialCtl(path string) (*ctl.Client, error) {
	if path == "" {
		path = ctl.DefaultPath()
	}
	c, err := ctl.Dial(path)
	if err != nil {
		switch {
		case errors.Is(err, ctl.ErrNoStack):
			return nil, fmt.Errorf("no running stack at %s (start one with 'ustack up')", path)
		case errors.Is(err, os.ErrPermission):
			return nil, fmt.Errorf("permission denied on control socket %s (the stack runs as another user; try as root)", path)
		}
		return nil, err
	}
	return c, nil
}

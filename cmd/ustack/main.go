// Command ustack runs a ustack network stack on TAP/TUN devices and acts
// on a running one through its control socket, the way ip, ping and nc act
// on the kernel's stack through system calls.
//
//	ustack up --if tap0=10.0.0.2/24 --gw 10.0.0.1 --serve echo   # run a host
//	ustack ping -c 3 10.0.0.1                                   # from that host
//	ustack udp 10.0.0.1:7 hello                                 # nc -u
//	ustack status                                               # ip addr, ip route, ...
//	ustack ss -tani; ustack netstat -s                          # sockets, counters
//	ustack get -o f http://10.0.0.1/f                           # curl, over ustack's TCP
//
// Run `ustack help` for the full usage.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// A command is one subcommand: its usage text (the first line is the
// synopsis) and what runs it.
type command struct {
	name    string
	summary string
	usage   string
	run     func(args []string) error
}

// commands are listed by `ustack help` in this order. demo's run is
// provided by demo.go.
var commands []*command

func init() {
	commands = []*command{
		{name: "up", summary: "run a stack (host or router) on TAP/TUN devices", usage: upUsage, run: runUp},
		{name: "ping", summary: "send ICMP echo requests from a running stack", usage: pingUsage, run: runPing},
		{name: "udp", summary: "send or receive UDP datagrams through a running stack", usage: udpUsage, run: runUDP},
		{name: "status", summary: "show a running stack's interfaces, routes, neighbours and counters", usage: statusUsage, run: runStatus},
		{name: "netstat", summary: "show a running stack's sockets (-an) or counters (-s), as netstat", usage: netstatUsage, run: runNetstat},
		{name: "ss", summary: "show a running stack's sockets and TCP internals (-ti), as ss", usage: ssUsage, run: runSS},
		{name: "ifconfig", summary: "show a running stack's interfaces and their counters", usage: ifconfigUsage, run: runIfconfig},
		{name: "route", summary: "show a running stack's routing table", usage: routeUsage, run: runRoute},
		{name: "arp", summary: "show a running stack's neighbour (ARP) cache", usage: arpUsage, run: runArp},
		{name: "get", summary: "fetch an http:// URL over a running stack's TCP (curl)", usage: getUsage, run: runGet},
		{name: "trace", summary: "print a running stack's probe events as they fire (dtrace)", usage: traceUsage, run: runTrace},
		{name: "capture", summary: "write a running stack's frames to a pcapng file (tcpdump -w)", usage: captureUsage, run: runCapture},
		{name: "plot", summary: "draw a TCP time-sequence graph and cwnd/RTT from a JSON trace (tcptrace)", usage: plotUsage, run: runPlot},
		{name: "demo", summary: "watch a packet walk the layers: client, router, server in one process", usage: demoUsage, run: runDemo},
		{name: "help", summary: "show this help, or a command's ('ustack help ping')", run: runHelp},
	}
}

const mainUsage = `usage: ustack COMMAND [ARGS...]

ustack is a userspace TCP/IP stack. 'ustack up' runs one on TAP/TUN
devices; the other commands act on the running stack through its control
socket, as ip, ping and nc act on the kernel's.

Commands:
%s
The control socket is --ctl PATH, or by default $USTACK_CTL, else
$XDG_RUNTIME_DIR/ustack.sock, else /run/ustack.sock (root) or
/tmp/ustack-$UID.sock.

Run 'ustack COMMAND -h' for a command's usage.
`

func main() {
	os.Exit(runMain(os.Args[1:]))
}

// runMain runs the command line and returns the exit status: 0 success,
// 1 failure (or nothing answered), 2 bad usage.
func runMain(args []string) int {
	if len(args) == 0 {
		printMainUsage(os.Stderr)
		return 2
	}
	name := args[0]
	switch name {
	case "-h", "-help", "--help":
		name = "help"
	}
	for _, c := range commands {
		if c.name == name {
			return exitCode(c.name, c.run(args[1:]))
		}
	}
	fmt.Fprintf(os.Stderr, "ustack: unknown command %q (see 'ustack help')\n", name)
	return 2
}

func printMainUsage(w io.Writer) {
	var b strings.Builder
	for _, c := range commands {
		fmt.Fprintf(&b, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, mainUsage, b.String())
}

func runHelp(args []string) error {
	if len(args) == 0 {
		printMainUsage(os.Stdout)
		return nil
	}
	for _, c := range commands {
		if c.name == args[0] {
			if c.usage == "" {
				return c.run([]string{"-h"})
			}
			fmt.Fprint(os.Stdout, c.usage)
			return nil
		}
	}
	return usageErrorf("help: unknown command %q", args[0])
}

// Errors that choose the exit status.
type (
	// usageError is bad usage: exit 2 with a hint to -h.
	usageError struct{ msg string }
	// exitStatus ends the command with a status and no further message
	// (the command has said what there was to say).
	exitStatus int
)

func (e *usageError) Error() string { return e.msg }
func (e exitStatus) Error() string  { return fmt.Sprintf("exit status %d", int(e)) }

func usageErrorf(format string, a ...any) error {
	return &usageError{fmt.Sprintf(format, a...)}
}

// errHelp: -h was given and the usage printed.
var errHelp = errors.New("help printed")

// exitCode prints err as one line on stderr and returns the status.
func exitCode(cmd string, err error) int {
	var (
		ue *usageError
		es exitStatus
	)
	switch {
	case err == nil, errors.Is(err, errHelp):
		return 0
	case errors.As(err, &es):
		return int(es)
	case errors.As(err, &ue):
		fmt.Fprintf(os.Stderr, "ustack %s: %s (see 'ustack %s -h')\n", cmd, oneLine(ue.msg), cmd)
		return 2
	}
	fmt.Fprintf(os.Stderr, "ustack: %s\n", oneLine(err.Error()))
	return 1
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// parseFlags parses args with fs, allowing flags after positional
// arguments as ping(8) does ("ustack ping 10.0.0.1 -c 3"); everything
// after "--" is positional. It returns the positional arguments. -h
// prints usage to stdout and returns errHelp.
func parseFlags(fs *flag.FlagSet, usage string, args []string) ([]string, error) {
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	var pos []string
	for {
		err := fs.Parse(args)
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(os.Stdout, usage)
			return nil, errHelp
		}
		if err != nil {
			return nil, &usageError{err.Error()}
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if used := len(args) - len(rest); used > 0 && args[used-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

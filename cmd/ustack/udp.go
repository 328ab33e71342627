package main

import (
	"bufio"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strings"
	"syscall"
	"time"

	"ustack/ctl"
)

const udpUsage = `usage: ustack udp [OPTIONS] ADDR:PORT [MESSAGE...]     send, print the replies
       ustack udp -l [OPTIONS] [ADDR:]PORT               listen, print what arrives

Send UDP datagrams from a running stack and print what comes back, or
listen on one of its ports, as nc -u and nc -u -l do with the kernel's.

Sending: MESSAGE (its words joined by spaces, with a newline as echo adds
one) is one datagram; without MESSAGE each line of standard input is one.
They go from an ephemeral port (or -s/-p) of a socket connected to
ADDR:PORT, so only that peer's replies are printed, and an ICMP port
unreachable fails with "connection refused". 'ADDR PORT' also works.

Received payloads go to standard output as they are (-x: as hex dumps).
It ends after -c datagrams, after -w without one, after -d in all, or on
^C.

Options:
  -l, --listen         listen instead of sending
  -s, --source ADDR    local address to bind (default: any)
  -p, --port PORT      local port (sending: default ephemeral; listening:
                       the port, if not given as an argument)
  -c, --count N        stop after N datagrams received
  -w, --wait D         stop after D without a datagram (default 2s when
                       sending, never when listening)
  -d, --duration D     stop after D in all
  --send-only          send and exit without waiting for replies
  -n, --no-newline     do not add a newline to MESSAGE
  -x, --hex            print payloads as hex dumps
  -v, --verbose        report each datagram's sender and a summary on stderr
  --ctl PATH           control socket of the stack (default: see 'ustack help')

Durations are seconds ("0.5") or Go durations ("500ms").
Exit status: 0 if a datagram was received (or with --send-only), 1 if
none was, 2 on bad usage.
`

func runUDP(args []string) error {
	fs := flag.NewFlagSet("udp", flag.ContinueOnError)
	var (
		ctlPath, source, portStr string
		listen, sendOnly, noNL   bool
		hexOut, verbose          bool
		count                    int
		wait, duration           time.Duration
	)
	fs.StringVar(&ctlPath, "ctl", "", "")
	boolVar(fs, &listen, false, "", "l", "listen")
	stringVar(fs, &source, "", "", "s", "source")
	stringVar(fs, &portStr, "", "", "p", "port")
	intVar(fs, &count, 0, "", "c", "count")
	durationVar(fs, &wait, 0, "", "w", "wait")
	durationVar(fs, &duration, 0, "", "d", "duration")
	fs.BoolVar(&sendOnly, "send-only", false, "")
	boolVar(fs, &noNL, false, "", "n", "no-newline")
	boolVar(fs, &hexOut, false, "", "x", "hex")
	boolVar(fs, &verbose, false, "", "v", "verbose")
	pos, err := parseFlags(fs, udpUsage, args)
	if err != nil {
		return err
	}
	if count < 0 {
		return usageErrorf("bad count %d", count)
	}

	a := ctl.UDPArgs{Listen: listen, Count: count, Timeout: ctl.Duration(wait), Duration: ctl.Duration(duration), SendOnly: sendOnly}
	var local netip.Addr
	if source != "" {
		if local, err = netip.ParseAddr(source); err != nil || !local.Is4() {
			return usageErrorf("-s %q: not an IPv4 address", source)
		}
	}
	var port uint16
	if portStr != "" {
		if port, err = parsePort(portStr); err != nil {
			return usageErrorf("-p: %v", err)
		}
	}
	if listen {
		if sendOnly {
			return usageErrorf("--send-only does not go with -l")
		}
		switch len(pos) {
		case 0:
		case 1:
			ap, err := parseListenAddr(pos[0])
			if err != nil {
				return usageErrorf("%v", err)
			}
			if ap.Addr().IsValid() {
				if local.IsValid() && local != ap.Addr() {
					return usageErrorf("-s %v and %v disagree", local, ap)
				}
				local = ap.Addr()
			}
			if port != 0 && port != ap.Port() {
				return usageErrorf("-p %d and %v disagree", port, pos[0])
			}
			port = ap.Port()
		default:
			return usageErrorf("unexpected argument %q", pos[1])
		}
		if port == 0 {
			return usageErrorf("listen: which port? (ustack udp -l PORT)")
		}
	} else {
		if len(pos) == 0 {
			return usageErrorf("missing destination ADDR:PORT")
		}
		dst, rest, err := parseDest(pos)
		if err != nil {
			return usageErrorf("%v", err)
		}
		a.Addr = dst
		if len(rest) > 0 {
			msg := strings.Join(rest, " ")
			if !noNL {
				msg += "\n"
			}
			a.Data = [][]byte{[]byte(msg)}
		} else {
			if a.Data, err = readLines(os.Stdin); err != nil {
				return fmt.Errorf("udp: reading standard input: %v", err)
			}
			if len(a.Data) == 0 {
				return usageErrorf("nothing to send: give a MESSAGE, or lines on standard input")
			}
		}
	}
	if local.IsValid() || port != 0 {
		if !local.IsValid() {
			local = netip.IPv4Unspecified()
		}
		a.Local = netip.AddrPortFrom(local, port)
	}

	c, err := dialCtl(ctlPath)
	if err != nil {
		return err
	}
	defer c.Close()
	ctx, stop := interruptContext()
	defer stop()

	out := bufio.NewWriter(os.Stdout)
	res, err := c.UDP(ctx, a, func(d ctl.Datagram) {
		if verbose {
			out.Flush()
			fmt.Fprintf(os.Stderr, "%d bytes from %v\n", len(d.Data), d.From)
		}
		if hexOut {
			if !verbose {
				fmt.Fprintf(out, "%d bytes from %v:\n", len(d.Data), d.From)
			}
			out.WriteString(hex.Dump(d.Data))
		} else {
			out.Write(d.Data)
		}
		out.Flush()
	})
	out.Flush()
	if err != nil && ctx.Err() == nil {
		return udpError(a, err)
	}
	if verbose {
		if !listen {
			fmt.Fprintf(os.Stderr, "sent %d datagrams (%d bytes) from %v to %v\n", res.Sent, res.SentBytes, res.Local, a.Addr)
		}
		fmt.Fprintf(os.Stderr, "received %d datagrams (%d bytes) on %v\n", res.Received, res.ReceivedBytes, res.Local)
	}
	switch {
	case sendOnly || res.Received > 0:
		return nil
	case ctx.Err() != nil:
		return exitStatus(1)
	case listen:
		fmt.Fprintf(os.Stderr, "ustack: udp: nothing received on %v\n", res.Local)
	default:
		w := wait
		if w == 0 {
			w = ctl.DefaultUDPWait
		}
		fmt.Fprintf(os.Stderr, "ustack: udp: no reply from %v within %v\n", a.Addr, w)
	}
	return exitStatus(1)
}

// udpError says what failed, in the words of nc.
func udpError(a ctl.UDPArgs, err error) error {
	switch {
	case errors.Is(err, syscall.EADDRINUSE):
		what := "local address"
		if a.Listen {
			what = "port"
		}
		return fmt.Errorf("udp: %s %v: address already in use", what, a.Local)
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Errorf("udp: %v: connection refused (port unreachable)", a.Addr)
	case errors.Is(err, syscall.ENETUNREACH):
		return fmt.Errorf("udp: %v: network is unreachable (no route)", a.Addr)
	}
	return fmt.Errorf("udp: %v", err)
}

// parseDest reads "ADDR:PORT" or "ADDR PORT" from the start of pos and
// returns the rest.
func parseDest(pos []string) (netip.AddrPort, []string, error) {
	if ap, err := netip.ParseAddrPort(pos[0]); err == nil {
		if !ap.Addr().Is4() || ap.Port() == 0 {
			return ap, nil, fmt.Errorf("bad destination %q (want IPv4 ADDR:PORT, port 1..65535)", pos[0])
		}
		return ap, pos[1:], nil
	}
	addr, err := netip.ParseAddr(pos[0])
	if err != nil || !addr.Is4() {
		return netip.AddrPort{}, nil, fmt.Errorf("bad destination %q (want IPv4 ADDR:PORT; ustack resolves no names yet)", pos[0])
	}
	if len(pos) < 2 {
		return netip.AddrPort{}, nil, fmt.Errorf("destination %q has no port (want ADDR:PORT)", pos[0])
	}
	port, err := parsePort(pos[1])
	if err != nil {
		return netip.AddrPort{}, nil, fmt.Errorf("destination %s: %v", pos[0], err)
	}
	return netip.AddrPortFrom(addr, port), pos[2:], nil
}

// parseListenAddr reads "PORT", ":PORT" or "ADDR:PORT".
func parseListenAddr(s string) (netip.AddrPort, error) {
	if p, err := parsePort(strings.TrimPrefix(s, ":")); err == nil {
		return netip.AddrPortFrom(netip.Addr{}, p), nil
	}
	ap, err := netip.ParseAddrPort(s)
	if err != nil || !ap.Addr().Is4() || ap.Port() == 0 {
		return netip.AddrPort{}, fmt.Errorf("bad listen address %q (want PORT or IPv4 ADDR:PORT)", s)
	}
	return ap, nil
}

// readLines reads r to the end and returns each line, newline included,
// as nc -u sends what it reads line by line.
func readLines(r io.Reader) ([][]byte, error) {
	br := bufio.NewReader(r)
	var out [][]byte
	for {
		line, err := br.ReadBytes('\n')
		if len(line) > 0 {
			out = append(out, line)
		}
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
	}
}

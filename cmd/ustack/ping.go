package main

import (
	"context"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"os/signal"
	"syscall"
	"time"

	"ustack/ctl"
	"ustack/wire"
)

const pingUsage = `usage: ustack ping [--ctl PATH] [-c COUNT] [-s SIZE] [-i INTERVAL] [-W TIMEOUT]
                   [-w DEADLINE] [-q] ADDR

Send ICMP echo requests from a running stack to ADDR and print the
replies and statistics as ping(8) does. Without -c it pings until ^C.
Durations are seconds ("0.2") or Go durations ("200ms").

Options:
  -c, --count N       stop after N requests
  -s, --size N        payload bytes, 1 or more (default 56)
  -i, --interval D    time between requests (default 1s)
  -W, --timeout D     time to wait for the last reply (default: as ping,
                      twice the longest round trip, at least 1s, or 10s
                      when nothing came back)
  -w, --deadline D    stop after D in all
  -q, --quiet         print only the statistics
  --ctl PATH          control socket of the stack (default: see 'ustack help')

Exit status: 0 if any reply came back, 1 if none did, 2 on bad usage.
`

func runPing(args []string) error {
	fs := flag.NewFlagSet("ping", flag.ContinueOnError)
	var (
		ctlPath           string
		count, size       int
		interval, timeout time.Duration
		deadline          time.Duration
		quiet             bool
	)
	fs.StringVar(&ctlPath, "ctl", "", "")
	intVar(fs, &count, 0, "", "c", "count")
	intVar(fs, &size, 56, "", "s", "size")
	durationVar(fs, &interval, time.Second, "", "i", "interval")
	durationVar(fs, &timeout, 0, "", "W", "timeout")
	durationVar(fs, &deadline, 0, "", "w", "deadline")
	boolVar(fs, &quiet, false, "", "q", "quiet")
	pos, err := parseFlags(fs, pingUsage, args)
	if err != nil {
		return err
	}
	switch {
	case len(pos) == 0:
		return usageErrorf("missing destination address")
	case len(pos) > 1:
		return usageErrorf("unexpected argument %q", pos[1])
	case count < 0:
		return usageErrorf("bad count %d", count)
	case size < 1 || size > ctl.MaxPingSize:
		// 0 would be the stack's default (56), not an empty payload.
		return usageErrorf("size %d out of range 1..%d", size, ctl.MaxPingSize)
	case interval == 0:
		return usageErrorf("interval must be positive")
	}
	addr, err := netip.ParseAddr(pos[0])
	if err != nil || !addr.Unmap().Is4() {
		return usageErrorf("%q is not an IPv4 address (ustack resolves no names yet)", pos[0])
	}
	addr = addr.Unmap()
	a := ctl.PingArgs{Addr: addr, Count: count, Size: size, Interval: ctl.Duration(interval), Timeout: ctl.Duration(timeout)}
	if count == 0 {
		a.Count = -1 // until ^C or the deadline
	}

	c, err := dialCtl(ctlPath)
	if err != nil {
		return err
	}
	defer c.Close()
	ctx, stop := interruptContext()
	defer stop()
	if deadline > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, deadline)
		defer cancel()
	}

	fmt.Printf("PING %v (%v) %d(%d) bytes of data.\n", addr, addr, size, size+wire.ICMPv4HeaderLen+20)
	sum, err := c.Ping(ctx, a, func(r ctl.PingReply) {
		if !quiet || r.IsError() {
			fmt.Println(r)
		}
	})
	if err != nil && ctx.Err() == nil {
		return fmt.Errorf("ping %v: %v", addr, err)
	}
	fmt.Printf("\n%v\n", sum)
	if sum.Received == 0 {
		return exitStatus(1)
	}
	return nil
}

// interruptContext is cancelled by SIGINT or SIGTERM, so that a command
// can end its request and print what it has, as ping(8) does on ^C.
func interruptContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

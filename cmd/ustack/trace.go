package main

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"ustack/ctl"
	"ustack/trace"
)

const traceUsage = `usage: ustack trace [--ctl PATH] [--json] [--walk] [--payload] [-c COUNT]
                    PROBES [FILTER...]

Print a running stack's probe events as they fire, as dtrace(1) prints a
kernel's. PROBES are DTrace-style patterns, several separated by commas:
tcp:::send, tcp:::*, ip:::drop, *:::receive, udp (a whole provider).
FILTER (the remaining arguments, joined; quote it for the shell) selects
events by their arguments:

  port == 80 && flags & SYN          src == 10.0.0.0/24 && len > 1000
  state == ESTABLISHED               probe == "tcp:::*" && srtt > 10ms
  !(flags & ACK) || reason == "*checksum*"

Fields: src dst host (either) sport dport port (either) len proto dev
seq ack flags window wscale cwnd ssthresh srtt rttvar state oldstate
reason detail probe provider name pkt (the packet id) ttl ipid (or id)
fragoff frags type code ethertype. Values: numbers, durations (1.5ms), addresses and prefixes
(== on a prefix means within), "strings" (with * and ? as globs), TCP
flags (SYN ACK FIN RST PSH URG ECE CWR AE), and value names (proto == tcp,
type == echo). Operators, tightest first: ! | & == != < <= > >= && ||.

Each line gives the seconds since the trace began, the packet's id (the
same at every layer), the probe and its arguments. ^C ends the trace.

Options:
  --json          one JSON object a line (fields: see 'go doc ustack/ctl.TraceEvent')
  --walk          print packet walks: each packet's stages in order, with the
                  time spent in each (a packet is shown when any of its events
                  passes the filter)
  --payload       include TCP segment payloads: hex and ASCII under each line,
                  base64 in --json
  -c, --count N   stop after N events (walks with --walk)
  --ctl PATH      control socket of the stack (default: see 'ustack help')

Events the terminal cannot take fast enough are dropped by the stack (it
never waits for a tracer) and counted on standard error.
Exit status: 0 when ended by ^C or COUNT, 1 on failure, 2 on bad usage.
`

func runTrace(args []string) error {
	fs := flag.NewFlagSet("trace", flag.ContinueOnError)
	var (
		ctlPath               string
		asJSON, walk, payload bool
		count                 int
	)
	fs.StringVar(&ctlPath, "ctl", "", "")
	fs.BoolVar(&asJSON, "json", false, "")
	fs.BoolVar(&walk, "walk", false, "")
	fs.BoolVar(&payload, "payload", false, "")
	intVar(fs, &count, 0, "", "c", "count")
	pos, err := parseFlags(fs, traceUsage, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return usageErrorf("missing probes (e.g. 'tcp:::*')")
	}
	if count < 0 {
		return usageErrorf("bad count %d", count)
	}
	a := ctl.TraceArgs{Probes: strings.Split(pos[0], ","), Filter: strings.Join(pos[1:], " "), Walk: walk, Payload: payload, Count: count}
	if _, err := trace.ParseFilter(a.Filter); err != nil {
		return usageErrorf("%v", err)
	}

	c, err := dialCtl(ctlPath)
	if err != nil {
		return err
	}
	defer c.Close()
	ctx, stop := interruptContext()
	defer stop()

	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	// The column header goes out with the first event, so that a trace
	// the stack refuses (no such probe) prints only its error.
	p := tracePrinter{w: out, json: asJSON, header: !asJSON && !walk}
	res, err := c.Trace(ctx, a, ctl.TraceHandler{Event: p.event, Walk: p.walk, Lost: p.lost})
	out.Flush()
	if err != nil && ctx.Err() == nil {
		var ce *ctl.Error
		if errors.As(err, &ce) && ce.Code == ctl.CodeBadArgs {
			return usageErrorf("%s", strings.TrimPrefix(ce.Message, "trace: "))
		}
		return fmt.Errorf("trace: %v", err)
	}
	if res.Lost > 0 {
		fmt.Fprintf(os.Stderr, "ustack trace: %d events lost in all\n", res.Lost)
	}
	return nil
}

// tracePrinter writes what the stack streams, flushing each line so that
// a pipe sees events as they happen.
type tracePrinter struct {
	w      *bufio.Writer
	json   bool
	header bool // the column header is still to print
}

func (p *tracePrinter) event(t ctl.TraceEvent) {
	if p.json {
		p.writeJSON(t)
		return
	}
	if p.header {
		fmt.Fprintln(p.w, ctl.TraceHeader)
		p.header = false
	}
	fmt.Fprintln(p.w, t.String())
	if len(t.Payload) > 0 {
		// --payload: the bytes under the line, as tcpdump -X shows them.
		for line := range strings.Lines(hex.Dump(t.Payload)) {
			p.w.WriteString("        " + line)
		}
	}
	p.w.Flush()
}

func (p *tracePrinter) walk(w ctl.TraceWalk) {
	if p.json {
		p.writeJSON(w)
		return
	}
	fmt.Fprintln(p.w, w.Walk().String())
	p.w.Flush()
}

func (p *tracePrinter) writeJSON(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		return
	}
	p.w.Write(append(b, '\n'))
	p.w.Flush()
}

// lost tells of events the stack dropped for a slow reader: on standard
// error, and with --json in the stream too, as the {"lost","total"}
// object the stack sent, so that whoever reads the file (ustack plot)
// knows it has gaps.
func (p *tracePrinter) lost(l ctl.TraceLost) {
	if p.json {
		p.writeJSON(l)
	}
	p.w.Flush()
	fmt.Fprintf(os.Stderr, "ustack trace: %d events lost (reading too slowly; %d in all)\n", l.Lost, l.Total)
}

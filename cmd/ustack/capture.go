package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"syscall"
	"time"

	"ustack/ctl"
	"ustack/drivers/pcap"
	"ustack/netdev"
	"ustack/pcapng"
	"ustack/stack"
)

const captureUsage = `usage: ustack capture [--ctl PATH] -w FILE [-i IFACE[,IFACE...]] [-c COUNT]
                      [--duration D] [-s SNAPLEN]

Capture the frames a running stack's interfaces receive and send into a
pcapng file, as 'tcpdump -w' does, for Wireshark or tshark to read. Every
interface is captured unless -i names some. ^C, COUNT or the duration ends
the capture; then the counts are printed on standard error, as tcpdump
prints them.

Options:
  -w, --write FILE     the pcapng file to write ('-': standard output)
  -i, --interface LIST interfaces to capture on, by name (repeatable;
                       default: all)
  -c, --count N        stop after N frames
  --duration D         stop after D (e.g. 10s, 1m)
  -s, --snaplen N      keep at most N bytes of each frame (default: all)
  --ctl PATH           control socket of the stack (default: see 'ustack help')

The stack never waits for a capture: frames arriving faster than this
command writes them are dropped and counted ("packets dropped by stack").
On links that leave checksums to offload (frames between stacks in one
process), the captured frames have their checksums filled in. Capture a
stack from its start with 'ustack up --pcap FILE'.
Exit status: 0 when ended by ^C, COUNT or the duration, 1 on failure,
2 on bad usage.
`

// listValue is a repeatable flag taking comma-separated values.
type listValue []string

func (l *listValue) String() string { return strings.Join(*l, ",") }

func (l *listValue) Set(v string) error {
	for s := range strings.SplitSeq(v, ",") {
		if s = strings.TrimSpace(s); s == "" {
			return fmt.Errorf("empty name in %q", v)
		}
		*l = append(*l, s)
	}
	return nil
}

func runCapture(args []string) error {
	fs := flag.NewFlagSet("capture", flag.ContinueOnError)
	var (
		ctlPath, file  string
		ifaces         listValue
		count, snaplen int
		duration       time.Duration
	)
	fs.StringVar(&ctlPath, "ctl", "", "")
	stringVar(fs, &file, "", "", "w", "write")
	fs.Var(&ifaces, "i", "")
	fs.Var(&ifaces, "interface", "")
	intVar(fs, &count, 0, "", "c", "count")
	intVar(fs, &snaplen, 0, "", "s", "snaplen")
	durationVar(fs, &duration, 0, "", "duration")
	pos, err := parseFlags(fs, captureUsage, args)
	if err != nil {
		return err
	}
	switch {
	case len(pos) > 0:
		return usageErrorf("unexpected argument %q (filters are not supported; name interfaces with -i)", pos[0])
	case file == "":
		return usageErrorf("missing -w FILE (the pcapng file to write, or - for standard output)")
	case count < 0:
		return usageErrorf("bad count %d", count)
	case snaplen < 0 || snaplen > pcapng.DefaultSnapLen:
		return usageErrorf("snapshot length %d out of range 1..%d", snaplen, pcapng.DefaultSnapLen)
	}

	c, err := dialCtl(ctlPath)
	if err != nil {
		return err
	}
	defer c.Close()
	ctx, stop := interruptContext()
	defer stop()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var werr error // writing the file failed: the capture is cancelled
	fail := func(err error) {
		if err != nil && werr == nil {
			werr = err
			cancel()
		}
	}

	out := &captureFile{path: file}
	res, err := c.Capture(ctx, ctl.CaptureArgs{Interfaces: ifaces, SnapLen: snaplen, Count: count, Duration: ctl.Duration(duration)}, ctl.CaptureHandler{
		Interface: func(i ctl.CaptureInterface) {
			if werr == nil {
				fail(out.addInterface(i))
			}
			if werr != nil {
				return
			}
			fmt.Fprintf(os.Stderr, "listening on %s, link-type %v, snapshot length %d bytes\n", i.Name, pcapng.LinkType(i.LinkType), i.SnapLen)
		},
		Frame: func(f *ctl.CaptureFrame) {
			if werr == nil {
				fail(out.write(f))
			}
		},
	})
	if werr != nil {
		out.close(nil)
		return fmt.Errorf("capture: writing %s: %v", file, werr)
	}
	if err != nil && ctx.Err() == nil {
		out.close(nil)
		var ce *ctl.Error
		switch {
		case errors.Is(err, syscall.ENODEV):
			return fmt.Errorf("capture: %s (see 'ustack ifconfig')", strings.TrimPrefix(err.Error(), "capture: "))
		case errors.As(err, &ce) && ce.Code == ctl.CodeBadArgs:
			return usageErrorf("%s", strings.TrimPrefix(ce.Message, "capture: "))
		}
		return fmt.Errorf("capture: %v", err)
	}
	if err := out.close(&res); err != nil {
		return fmt.Errorf("capture: writing %s: %v", file, err)
	}
	fmt.Fprintf(os.Stderr, "%d packets captured\n%d packets received by the capture\n%d packets dropped by stack\n", res.Captured, res.Received, res.Dropped)
	return nil
}

// captureFile is the pcapng file being written, created with the first
// interface (so that a capture refused by the stack leaves no file).
type captureFile struct {
	path  string
	f     *os.File
	bw    *bufio.Writer
	pw    *pcapng.Writer
	n     int // interfaces described
	flush time.Time
}

// flushEvery bounds how stale the file is while the capture runs, for a
// reader following it (tshark -r - on a pipe).
const flushEvery = 200 * time.Millisecond

func (c *captureFile) addInterface(i ctl.CaptureInterface) error {
	if c.pw == nil {
		var w io.Writer = os.Stdout
		if c.path != "-" {
			f, err := os.Create(c.path)
			if err != nil {
				return err
			}
			c.f, w = f, f
		}
		c.bw = bufio.NewWriterSize(w, 64<<10)
		pw, err := pcapng.NewWriter(c.bw, pcap.Section())
		if err != nil {
			return err
		}
		c.pw = pw
	}
	if i.ID != c.n {
		return fmt.Errorf("interface %d described out of order", i.ID)
	}
	if _, err := c.pw.AddInterface(i.PcapngInterface()); err != nil {
		return err
	}
	c.n++
	return c.bw.Flush()
}

func (c *captureFile) write(f *ctl.CaptureFrame) error {
	if c.pw == nil {
		return errors.New("frame before any interface")
	}
	if err := c.pw.WritePacket(f.PcapngPacket()); err != nil {
		return err
	}
	if now := time.Now(); now.Sub(c.flush) >= flushEvery {
		c.flush = now
		return c.bw.Flush()
	}
	return nil
}

// close writes the statistics of res (nil: none), flushes and closes.
func (c *captureFile) close(res *ctl.CaptureResult) error {
	if c.pw == nil {
		return nil
	}
	var first error
	keep := func(err error) {
		if err != nil && first == nil {
			first = err
		}
	}
	if res != nil {
		for id, ic := range res.Interfaces {
			if id < c.n {
				keep(c.pw.WriteStats(pcapng.Stats{Interface: id, Time: res.End, Start: res.Start, End: res.End, Received: ic.Received, Dropped: ic.Dropped}))
			}
		}
	}
	keep(c.bw.Flush())
	if c.f != nil {
		keep(c.f.Close())
	}
	c.pw = nil
	return first
}

// pcapFlag is up's --pcap FILE[,IFACE].
type pcapFlag struct {
	path, iface string
}

func (p *pcapFlag) String() string {
	if p.iface == "" {
		return p.path
	}
	return p.path + "," + p.iface
}

func (p *pcapFlag) Set(v string) error {
	path, iface := v, ""
	if i := strings.LastIndexByte(v, ','); i >= 0 {
		path, iface = v[:i], v[i+1:]
		if iface == "" {
			return fmt.Errorf("missing interface after ',' (want FILE or FILE,IFACE)")
		}
	}
	if path == "" {
		return fmt.Errorf("missing file name (want FILE or FILE,IFACE)")
	}
	p.path, p.iface = path, iface
	return nil
}

// upCapture is up's --pcap: every interface, or the one named, captured
// from the moment it is registered until shutdown.
type upCapture struct {
	c    *pcap.Capture
	w    *pcap.Writer
	path string
}

// startUpCapture starts the capture of --pcap (nothing when spec has no
// path). It must run before the interfaces are added: it attaches to
// each as it is registered, before it has an address, so that the file
// holds the stack's first frames. ifs are the --if devices, for checking
// the interface name.
func startUpCapture(st *stack.Stack, spec pcapFlag, ifs ifList) (*upCapture, error) {
	if spec.path == "" {
		return nil, nil
	}
	if spec.iface != "" && spec.iface != "lo" && !slices.ContainsFunc(ifs, func(s ifSpec) bool { return s.name == spec.iface }) {
		return nil, usageErrorf("--pcap %s: no interface %s (want one given with --if, or lo)", spec.String(), spec.iface)
	}
	c := pcap.New(pcap.Options{Clock: st.Clock()})
	w, err := pcap.Create(spec.path, c)
	if err != nil {
		return nil, fmt.Errorf("--pcap: %v", err)
	}
	attach := func(d *netdev.Device) {
		if spec.iface == "" || d.Name() == spec.iface {
			c.Attach(d)
		}
	}
	st.Devices().Subscribe(func(e netdev.Event) {
		if e.Kind == netdev.EventRegister {
			attach(e.Dev)
		}
	})
	for _, d := range st.Devices().Devices() { // lo, made with the stack
		attach(d)
	}
	return &upCapture{c: c, w: w, path: spec.path}, nil
}

// close ends the capture and, if out is not nil, says what it wrote.
// Safe to call more than once, and on nil.
func (u *upCapture) close(out io.Writer) {
	if u == nil {
		return
	}
	err := u.w.Close()
	if out == nil {
		return
	}
	if err != nil {
		fmt.Fprintf(out, "pcap: writing %s: %v\n", u.path, err)
		return
	}
	var names []string
	for _, i := range u.c.Interfaces() {
		names = append(names, i.Name())
	}
	s := u.c.Stats()
	fmt.Fprintf(out, "pcap: %d packets captured on %s to %s, %d dropped\n", s.Captured, strings.Join(names, ","), u.path, s.Dropped)
}

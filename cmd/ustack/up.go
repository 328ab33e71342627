package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"os/signal"
	"syscall"
	"time"

	"ustack/ctl"
	"ustack/drivers/tap"
	"ustack/netdev"
	"ustack/stack"
	"ustack/tcp"
)

const upUsage = `usage: ustack up --if [tap:|tun:]NAME=CIDR[,CIDR...] [--if ...] [--gw ADDR]
                 [--forward] [--mtu N] [--serve NAME[/PROTO][:PORT[:DIR]][,...]]
                 [--ctl PATH] [--metrics ADDR] [--pcap FILE[,IFACE]]
                 [--impair SPEC] [--tcp-msl D]

Run a stack on TAP (or TUN) devices until SIGINT or SIGTERM: a host, or a
router with --forward and several interfaces. Each device is attached to
if it exists (e.g. made by 'ip tuntap add') and created otherwise, and
brought up; its kernel side is left without an address, for you to
configure (or to move into a network namespace).

Options:
  --if [tap:|tun:]NAME=CIDR[,CIDR...]
                  a device and the stack's addresses on it (repeatable);
                  e.g. --if tap0=10.0.0.2/24 --if tun:tun1=10.9.0.2/30
  --gw ADDR       default gateway (on a connected network)
  --forward       forward packets between interfaces (a router)
  --mtu N         MTU of every device (default: the device's, 1500)
  --serve LIST    built-in services, NAME[/PROTO][:PORT[:ARG]] separated
                  by commas (repeatable); without /PROTO a name starts on
                  every protocol listed for it (echo: udp and tcp); port
                  defaults to the well-known one; only http takes an ARG
                  (http:8080:/srv/www, or http::DIR on port 80):
%s  --ctl PATH      control socket (default: $USTACK_CTL, $XDG_RUNTIME_DIR/ustack.sock,
                  /run/ustack.sock for root, /tmp/ustack-$UID.sock otherwise)
  --metrics ADDR  serve every counter for Prometheus at http://ADDR/metrics,
                  over the stack's own TCP on its network; ADDR is
                  [IP]:PORT, e.g. :9100 (every address of the stack)
  --pcap FILE[,IFACE]
                  write the frames of every interface (or of IFACE only)
                  to the pcapng file FILE, from start to shutdown; see
                  'ustack capture' to capture a running stack

Testing options:
  --impair SPEC   impair every device's traffic, sent and received alike,
                  with the fault driver (netem on ustack's side of the
                  link); SPEC is KEY=VALUE,... with keys loss, duplicate,
                  corrupt, reorder (a fraction, 0.02, or a percentage, 2%%),
                  delay, jitter (durations) and seed (default 1); e.g.
                  --impair loss=2%%,seed=7. Frames lost are reported at exit.
  --tcp-msl D     TCP's maximum segment lifetime: TIME_WAIT lasts 2*D
                  (default 30s, Linux's 60s TIME_WAIT)

Needs root or CAP_NET_ADMIN to create devices. Example, with the kernel
side in its own namespace:

  ustack up --if tap0=10.0.0.2/24 --serve echo,discard,chargen,http &
  ip netns add peer && ip link set tap0 netns peer
  ip -n peer addr add 10.0.0.1/24 dev tap0 && ip -n peer link set tap0 up
  ip netns exec peer ping 10.0.0.2
  ustack ping 10.0.0.1
  ip netns exec peer curl http://10.0.0.2/
`

func upUsageText() string {
	s := ""
	for _, svc := range services {
		name := svc.name
		if svc.arg != "" {
			name += " [" + svc.arg + "]"
		}
		s += fmt.Sprintf("                    %-10s %s/%-5d %s\n", name, svc.proto, svc.port, svc.doc)
	}
	return fmt.Sprintf(upUsage, s)
}

func runUp(args []string) error {
	fs := flag.NewFlagSet("up", flag.ContinueOnError)
	var (
		ifs     ifList
		serve   serveList
		gw      string
		forward bool
		mtu     int
		ctlPath string
		impair  impairSpec
		msl     time.Duration
		metrics string
		pcapArg pcapFlag
	)
	fs.Var(&ifs, "if", "")
	fs.Var(&serve, "serve", "")
	fs.StringVar(&gw, "gw", "", "")
	fs.BoolVar(&forward, "forward", false, "")
	fs.IntVar(&mtu, "mtu", 0, "")
	fs.StringVar(&ctlPath, "ctl", "", "")
	fs.Var(&impair, "impair", "")
	durationVar(fs, &msl, 0, "", "tcp-msl")
	fs.StringVar(&metrics, "metrics", "", "")
	fs.Var(&pcapArg, "pcap", "")
	pos, err := parseFlags(fs, upUsageText(), args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageErrorf("unexpected argument %q", pos[0])
	}
	if len(ifs) == 0 {
		return usageErrorf("no interfaces: give at least one --if NAME=CIDR")
	}
	if mtu != 0 && (mtu < 68 || mtu > 65535) {
		return usageErrorf("--mtu %d out of range 68..65535", mtu)
	}
	var gwAddr netip.Addr
	if gw != "" {
		a, err := netip.ParseAddr(gw)
		if err != nil || !a.Is4() {
			return usageErrorf("--gw %q: not an IPv4 address", gw)
		}
		gwAddr = a
	}
	if ctlPath == "" {
		ctlPath = ctl.DefaultPath()
	}

	// Signals from now on end the command through ctx, so that even
	// during setup the control socket and devices are cleaned up.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	// The control socket first: a second `up` on the same path fails
	// before it touches any device.
	l, err := ctl.Listen(ctlPath)
	if err != nil {
		if errors.Is(err, ctl.ErrRunning) {
			return fmt.Errorf("a stack is already running at %s (stop it, or give another --ctl)", ctlPath)
		}
		return err
	}
	defer l.Close()

	st := stack.New(stack.Options{Forwarding: forward, TCP: tcp.Config{MSL: msl}})
	defer st.Close()
	capt, err := startUpCapture(st, pcapArg, ifs)
	if err != nil {
		return err
	}
	defer capt.close(nil)
	var imp impaired
	for _, s := range ifs {
		if err := addInterface(st, s, mtu, &impair, &imp); err != nil {
			return err
		}
	}
	if gwAddr.IsValid() {
		if err := st.SetDefaultGateway(gwAddr); err != nil {
			return fmt.Errorf("--gw %v: gateway is not on a connected network (the --if addresses' subnets)", gwAddr)
		}
	}
	// The control server before the services: it counts TCP
	// connections per state from the moment it is made, listeners
	// included.
	srv := ctl.NewServer(st)
	defer srv.Close()
	var svcs serviceSet
	defer svcs.stop()
	if err := svcs.start(st, serve); err != nil {
		return err
	}
	srv.Handle("services", svcs.handle)
	var ms *metricsServer
	if metrics != "" {
		if ms, err = startMetrics(st, metrics); err != nil {
			return err
		}
		defer ms.Close()
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()

	printUpSummary(st, &svcs, ctlPath)
	if ms != nil {
		fmt.Fprintf(os.Stdout, "metrics: http://%v/metrics\n", ms.Addr())
	}

	select {
	case <-ctx.Done():
	case err := <-served:
		srv.Close()
		return fmt.Errorf("control socket %s: %v", ctlPath, err)
	}
	stop()
	fmt.Fprintln(os.Stdout, "ustack: shutting down")
	srv.Close()
	<-served
	svcs.stop()
	if ms != nil {
		ms.Close()
	}
	imp.report(os.Stdout)
	capt.close(os.Stdout)
	if err := st.Close(); err != nil {
		return fmt.Errorf("shutting down: %v", err)
	}
	return nil
}

// addInterface opens one --if device, behind the impairment if there is
// one (noted in imp), and gives the stack its addresses.
func addInterface(st *stack.Stack, s ifSpec, mtu int, impair *impairSpec, imp *impaired) error {
	tapDrv, err := tap.Open(s.name, tap.Options{TUN: s.tun, Create: true, MTU: mtu, SetUp: true})
	if err != nil {
		return tapError(s, err)
	}
	var drv netdev.Driver = tapDrv
	if impair.active() {
		fd := impair.wrap(tapDrv)
		imp.add(s.name, fd)
		drv = fd
	}
	if _, err := st.AddNIC(s.name, drv); err != nil {
		drv.Close()
		return fmt.Errorf("--if %s: %v", s.name, err)
	}
	for _, p := range s.addrs {
		if err := st.AddAddress(s.name, p); err != nil {
			return fmt.Errorf("--if %s=%v: %v", s.name, p, err)
		}
	}
	return nil
}

// tapError turns tap.Open's error into what a user can act on.
func tapError(s ifSpec, err error) error {
	switch {
	case errors.Is(err, syscall.EPERM), errors.Is(err, syscall.EACCES):
		return fmt.Errorf("%s: permission denied opening %s for a %s device (run as root or with CAP_NET_ADMIN, or attach to a device made with 'ip tuntap add %s mode %s user %d')",
			s.name, tap.DevicePath, s.kind(), s.name, s.kind(), os.Getuid())
	case errors.Is(err, tap.ErrNameTooLong):
		return fmt.Errorf("%s: interface name longer than %d bytes", s.name, tap.MaxNameLen)
	case errors.Is(err, syscall.ENOENT):
		return fmt.Errorf("%s: %s does not exist (load the tun module: modprobe tun)", s.name, tap.DevicePath)
	case errors.Is(err, syscall.EBUSY):
		return fmt.Errorf("%s: device busy (another process has it open; is another ustack running?)", s.name)
	case errors.Is(err, syscall.ENODEV):
		return fmt.Errorf("%s: no such device", s.name)
	}
	return err
}

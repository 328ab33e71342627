package main

// ustack netstat: sockets (netstat -an) and counters (netstat -s), as
// net-tools' netstat shows the kernel's.

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"text/tabwriter"

	"ustack/ctl"
)

const netstatUsage = `usage: ustack netstat [--ctl PATH] [--json] [-s | [-a|-l] [-t] [-u] [-n]]

Show a running stack's sockets (netstat -an) or counters (netstat -s), as
netstat(8) shows the kernel's. Single-letter flags may be grouped: -an,
-tln.

Options:
  -s            every counter, grouped as netstat -s groups them (Ip,
                IpExt, Icmp, Tcp, TcpExt, Udp, and ustack's Ether and
                Arp); the MIB's own name follows each phrase
  -a            listeners too (default: connections only)
  -l            listeners only
  -t, -u        TCP, UDP sockets only
  -n            numeric addresses (always: accepted for habit's sake)
  --json        print the sockets or the counter groups as JSON
  --ctl PATH    control socket of the stack (default: see 'ustack help')
`

func runNetstat(args []string) error {
	fs := flag.NewFlagSet("netstat", flag.ContinueOnError)
	var stats, numeric bool
	var a ctl.SocketsArgs
	fs.BoolVar(&stats, "s", false, "")
	fs.BoolVar(&a.All, "a", false, "")
	fs.BoolVar(&a.Listening, "l", false, "")
	fs.BoolVar(&a.TCP, "t", false, "")
	fs.BoolVar(&a.UDP, "u", false, "")
	fs.BoolVar(&numeric, "n", false, "")
	return tableCommand(fs, netstatUsage, expandShort(args, "salutn"), 0,
		func(ctx context.Context, c *ctl.Client, _ []string) (any, error) {
			if stats {
				st, err := c.Status(ctx, "counters")
				if err != nil {
					return nil, err
				}
				return netstatGroups(st), nil
			}
			return c.Sockets(ctx, a)
		},
		func(w io.Writer, v any) error {
			if stats {
				printNetstatS(w, v.([]ctl.CounterGroup))
				return nil
			}
			printNetstatSockets(w, v.([]ctl.Socket), a)
			return nil
		})
}

// printNetstatSockets prints sockets as netstat -an does.
func printNetstatSockets(w io.Writer, socks []ctl.Socket, a ctl.SocketsArgs) {
	switch {
	case a.All:
		fmt.Fprintln(w, "Active Internet connections (servers and established)")
	case a.Listening:
		fmt.Fprintln(w, "Active Internet connections (only servers)")
	default:
		fmt.Fprintln(w, "Active Internet connections (w/o servers)")
	}
	tw := tabwriter.NewWriter(w, 0, 8, 1, ' ', 0)
	fmt.Fprintln(tw, "Proto\tRecv-Q\tSend-Q\tLocal Address\tForeign Address\tState")
	for _, s := range socks {
		state := netstatState(s.State)
		sendQ := s.SendQ
		switch {
		case s.Proto == "udp":
			state = ""
			if s.Remote.IsValid() {
				state = "ESTABLISHED"
			}
		case s.State == "LISTEN":
			sendQ = 0 // netstat reads /proc/net/tcp, where a listener's is 0 (ss shows the backlog)
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t%s\n", s.Proto, s.RecvQ, sendQ, addrPortString(s.Local), addrPortString(s.Remote), state)
	}
	tw.Flush()
}

// addrPortString prints an address as netstat -n does: "*" for what is
// unset.
func addrPortString(ap netip.AddrPort) string {
	if !ap.IsValid() {
		return "0.0.0.0:*"
	}
	port := strconv.Itoa(int(ap.Port()))
	if ap.Port() == 0 {
		port = "*"
	}
	return ap.Addr().String() + ":" + port
}

// netstatState is the state as netstat spells it.
func netstatState(s string) string {
	switch s {
	case "SYN_RCVD":
		return "SYN_RECV"
	case "FIN_WAIT_1":
		return "FIN_WAIT1"
	case "FIN_WAIT_2":
		return "FIN_WAIT2"
	}
	return s
}

// netstatGroup says which netstat -s group a counter goes in: the MIB's
// counters in the group netstat names after the MIB, the rest in the
// Linux extension group (IpExt, TcpExt), as /proc/net/snmp and
// /proc/net/netstat split them.
var netstatGroup = []struct {
	mib, group, ext string
	inGroup         map[string]bool // nil: all in group
}{
	{mib: "Ether", group: "Ether"},
	{mib: "ARP", group: "Arp"},
	{mib: "IP", group: "Ip", ext: "IpExt", inGroup: set("InReceives", "InHdrErrors", "InAddrErrors", "ForwDatagrams",
		"InUnknownProtos", "InDiscards", "InDelivers", "OutRequests", "OutDiscards", "OutNoRoutes", "ReasmTimeout",
		"ReasmReqds", "ReasmOKs", "ReasmFails", "FragOKs", "FragFails", "FragCreates")},
	{mib: "ICMP", group: "Icmp"},
	{mib: "TCP", group: "Tcp", ext: "TcpExt", inGroup: set("ActiveOpens", "PassiveOpens", "AttemptFails", "EstabResets",
		"CurrEstab", "InSegs", "OutSegs", "RetransSegs", "InErrs", "OutRsts", "InCsumErrors")},
	{mib: "UDP", group: "Udp"},
}

func set(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

// netstatGroups regroups the MIBs of a status answer as netstat -s
// groups them: Ip, Icmp, Tcp, Udp and the extension groups, ustack's
// Ether and Arp first. A MIB netstat does not know keeps its name, so
// that every counter is shown once.
func netstatGroups(st *ctl.Status) []ctl.CounterGroup {
	byMIB := map[string]ctl.CounterGroup{}
	for _, g := range st.Counters {
		byMIB[g.Name] = g
	}
	var out, ext []ctl.CounterGroup
	seen := map[string]bool{}
	for _, ng := range netstatGroup {
		g, ok := byMIB[ng.mib]
		if !ok {
			continue
		}
		seen[ng.mib] = true
		main := ctl.CounterGroup{Name: ng.group, Counters: []ctl.Counter{}}
		if ng.mib == "IP" {
			// RFC 4293's ipForwarding: forwarding(1), notForwarding(2).
			fwd := int64(2)
			if st.Forwarding {
				fwd = 1
			}
			main.Counters = append(main.Counters, ctl.Counter{Name: "Forwarding", Value: fwd})
		}
		extg := ctl.CounterGroup{Name: ng.ext}
		for _, c := range g.Counters {
			if ng.inGroup == nil || ng.inGroup[c.Name] {
				main.Counters = append(main.Counters, c)
			} else {
				extg.Counters = append(extg.Counters, c)
			}
		}
		out = append(out, main)
		if len(extg.Counters) > 0 {
			ext = append(ext, extg)
		}
	}
	for _, g := range st.Counters {
		if !seen[g.Name] {
			out = append(out, g)
		}
	}
	return append(out, ext...)
}

// netstatPhrases are the human phrases netstat -s prints for counters
// (from net-tools' statistics.c where it has one); a counter without one
// prints as "Name: N", as netstat prints the ones it does not know.
var netstatPhrases = map[string]map[string]string{
	"Ip": {
		"InReceives":      "total packets received",
		"InHdrErrors":     "with invalid headers",
		"InAddrErrors":    "with invalid addresses",
		"ForwDatagrams":   "forwarded",
		"InUnknownProtos": "with unknown protocol",
		"InDiscards":      "incoming packets discarded",
		"InDelivers":      "incoming packets delivered",
		"OutRequests":     "requests sent out",
		"OutDiscards":     "outgoing packets dropped",
		"OutNoRoutes":     "dropped because of missing route",
		"ReasmTimeout":    "fragments dropped after timeout",
		"ReasmReqds":      "reassemblies required",
		"ReasmOKs":        "packets reassembled ok",
		"ReasmFails":      "packet reassemblies failed",
		"FragOKs":         "datagrams fragmented ok",
		"FragFails":       "datagrams that could not be fragmented",
		"FragCreates":     "fragments created",
	},
	"Icmp": {
		"InMsgs":           "ICMP messages received",
		"InErrors":         "input ICMP message failed",
		"InDestUnreachs":   "destination unreachable messages received",
		"InTimeExcds":      "time exceeded messages received",
		"InParmProbs":      "parameter problem messages received",
		"InSrcQuenchs":     "source quench messages received",
		"InRedirects":      "redirects received",
		"InEchos":          "echo requests received",
		"InEchoReps":       "echo replies received",
		"InTimestamps":     "timestamp requests received",
		"OutMsgs":          "ICMP messages sent",
		"OutErrors":        "ICMP messages failed",
		"OutDestUnreachs":  "destination unreachable messages sent",
		"OutTimeExcds":     "time exceeded messages sent",
		"OutParmProbs":     "parameter problem messages sent",
		"OutEchos":         "echo requests sent",
		"OutEchoReps":      "echo replies sent",
		"OutRateLimited":   "ICMP errors suppressed by the rate limit",
		"ErrorsSuppressed": "ICMP errors not sent (about an error, a broadcast or a fragment)",
	},
	"Tcp": {
		"ActiveOpens":  "active connection openings",
		"PassiveOpens": "passive connection openings",
		"AttemptFails": "failed connection attempts",
		"EstabResets":  "connection resets received",
		"CurrEstab":    "connections established",
		"InSegs":       "segments received",
		"OutSegs":      "segments sent out",
		"RetransSegs":  "segments retransmitted",
		"InErrs":       "bad segments received",
		"OutRsts":      "resets sent",
	},
	"Udp": {
		"InDatagrams":  "packets received",
		"NoPorts":      "packets to unknown port received",
		"InErrors":     "packet receive errors",
		"OutDatagrams": "packets sent",
		"RcvbufErrors": "receive buffer errors",
		"SndbufErrors": "send buffer errors",
	},
	"TcpExt": {
		"FastRetrans":      "fast retransmits",
		"Timeouts":         "retransmission timeouts",
		"SynRetrans":       "SYN and SYN-ACK retransmits",
		"DelayedACKs":      "delayed acks sent",
		"ListenOverflows":  "times the listen queue of a socket overflowed",
		"ListenDrops":      "SYNs to LISTEN sockets dropped",
		"ChallengeACKs":    "challenge ACKs sent",
		"PAWSDrops":        "packets rejected in established connections because of timestamp",
		"OFOQueue":         "packets queued out of order",
		"InDuplicates":     "duplicate segments received",
		"AbortOnData":      "connections reset due to unexpected data",
		"AbortOnClose":     "connections reset due to early user close",
		"AbortOnTimeout":   "connections aborted due to timeout",
		"AbortOnLinger":    "connections aborted by a zero-linger close",
		"SACKRecovery":     "times recovered from packet loss by selective acknowledgements",
		"RenoRecovery":     "times recovered from packet loss due to fast retransmit",
		"SyncookiesSent":   "SYN cookies sent",
		"SyncookiesRecv":   "SYN cookies received",
		"SyncookiesFailed": "invalid SYN cookies received",
		"TimeWaitReuse":    "TIME_WAIT sockets reused",
		"TimeWaitExpired":  "TCP sockets finished time wait",
		"KeepAliveProbes":  "keepalive probes sent",
		"ZeroWindowProbes": "zero window probes sent",
		"InNoSocket":       "segments for no socket",
		"InDropped":        "segments dropped for other reasons",
	},
	"IpExt": {
		"InNoRoutes":      "packets with no route",
		"InTruncatedPkts": "truncated packets received",
		"InMartians":      "packets from martian sources",
		"ReasmOverlaps":   "datagrams with overlapping fragments",
		"ReasmDuplicates": "duplicate fragments dropped",
	},
}

// printNetstatS prints counter groups as netstat -s does: the group's
// name, then one counter a line, with its phrase where netstat has one
// and its MIB name in all cases.
func printNetstatS(w io.Writer, groups []ctl.CounterGroup) {
	for _, g := range groups {
		fmt.Fprintf(w, "%s:\n", g.Name)
		phrases := netstatPhrases[g.Name]
		for _, c := range g.Counters {
			if p, ok := phrases[c.Name]; ok {
				fmt.Fprintf(w, "    %d %s (%s)\n", c.Value, p, c.Name)
			} else {
				fmt.Fprintf(w, "    %s: %d\n", c.Name, c.Value)
			}
		}
	}
}

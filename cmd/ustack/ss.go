package main

// ustack ss: the socket table with TCP's internals, as ss(8) shows the
// kernel's.

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"ustack/ctl"
)

const ssUsage = `usage: ustack ss [--ctl PATH] [--json] [-t] [-u] [-a|-l] [-n] [-i]

Show a running stack's sockets as ss(8) shows the kernel's: state, queue
lengths, local and peer address, and with -i TCP's internals. Single-
letter flags may be grouped: -tani, -ti.

Options:
  -t, -u        TCP, UDP sockets only (default: both)
  -a            listeners too (default: connections only)
  -l            listeners only
  -i            TCP internals on a second line: ts sack (options on),
                congestion control, wscale:SND,RCV, rto (ms, with
                backoff), rtt:SRTT/RTTVAR (ms), mss, advmss, rcvmss,
                cwnd and ssthresh (segments of mss; ssthresh only once
                set), bytes in flight and not yet sent, retrans:NOW/TOTAL,
                backoff, lastrcv (ms ago), the send rate cwnd/srtt,
                snd_wnd and rcv_wnd (bytes); for listeners the SYN queue
  -n            numeric addresses (always: accepted for habit's sake)
  --json        print the sockets as JSON
  --ctl PATH    control socket of the stack (default: see 'ustack help')

Recv-Q and Send-Q are, for a connection, the bytes received and not yet
read and the bytes not yet acknowledged; for a listener, the accept
queue's length and its limit (the backlog).
`

func runSS(args []string) error {
	fs := flag.NewFlagSet("ss", flag.ContinueOnError)
	var info, numeric bool
	var a ctl.SocketsArgs
	fs.BoolVar(&a.TCP, "t", false, "")
	fs.BoolVar(&a.UDP, "u", false, "")
	fs.BoolVar(&a.All, "a", false, "")
	fs.BoolVar(&a.Listening, "l", false, "")
	fs.BoolVar(&info, "i", false, "")
	fs.BoolVar(&numeric, "n", false, "")
	return tableCommand(fs, ssUsage, expandShort(args, "tualin"), 0,
		func(ctx context.Context, c *ctl.Client, _ []string) (any, error) {
			return c.Sockets(ctx, a)
		},
		func(w io.Writer, v any) error {
			printSS(w, v.([]ctl.Socket), a.TCP == a.UDP, info)
			return nil
		})
}

// ssStates are ss's names for the states.
var ssStates = map[string]string{
	"LISTEN": "LISTEN", "SYN_SENT": "SYN-SENT", "SYN_RCVD": "SYN-RECV", "ESTABLISHED": "ESTAB",
	"FIN_WAIT_1": "FIN-WAIT-1", "FIN_WAIT_2": "FIN-WAIT-2", "CLOSE_WAIT": "CLOSE-WAIT",
	"CLOSING": "CLOSING", "LAST_ACK": "LAST-ACK", "TIME_WAIT": "TIME-WAIT", "UNCONN": "UNCONN", "ESTAB": "ESTAB",
}

// printSS prints sockets as ss does: a Netid column when both protocols
// are shown, and with info TCP's detail line under each TCP socket.
func printSS(w io.Writer, socks []ctl.Socket, netid, info bool) {
	// The columns first, sized over every row; the detail lines, which
	// are no part of them, go in between afterwards.
	var rows bytes.Buffer
	tw := tabwriter.NewWriter(&rows, 0, 8, 1, ' ', 0)
	if netid {
		fmt.Fprint(tw, "Netid\t")
	}
	fmt.Fprintln(tw, "State\tRecv-Q\tSend-Q\tLocal Address:Port\tPeer Address:Port")
	for _, s := range socks {
		if netid {
			fmt.Fprintf(tw, "%s\t", s.Proto)
		}
		state := ssStates[s.State]
		if state == "" {
			state = s.State
		}
		peer := "*:*"
		if s.Remote.IsValid() {
			peer = s.Remote.String()
		}
		local := s.Local.String()
		if s.Local.Addr().IsUnspecified() {
			local = fmt.Sprintf("*:%d", s.Local.Port())
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\n", state, s.RecvQ, s.SendQ, local, peer)
	}
	tw.Flush()
	lines := strings.SplitAfter(rows.String(), "\n")
	io.WriteString(w, lines[0])
	for i, s := range socks {
		io.WriteString(w, lines[i+1])
		if info && s.TCP != nil {
			fmt.Fprintf(w, "\t %s\n", ssInfo(s))
		}
	}
}

// ssInfo is the detail line of ss -ti for one TCP socket.
func ssInfo(s ctl.Socket) string {
	in := s.TCP
	var f []string
	if s.State == "LISTEN" {
		return fmt.Sprintf("syn_queue:%d backlog:%d", in.SynQueue, in.Backlog)
	}
	if in.Timestamps {
		f = append(f, "ts")
	}
	if in.SACK {
		f = append(f, "sack")
	}
	if in.Congestion != "" {
		f = append(f, in.Congestion)
	}
	if in.SndWScale >= 0 {
		f = append(f, fmt.Sprintf("wscale:%d,%d", in.SndWScale, in.RcvWScale))
	}
	f = append(f, fmt.Sprintf("rto:%s", ms(in.RTO.D(), 0)))
	if in.SRTT > 0 {
		f = append(f, fmt.Sprintf("rtt:%s/%s", ms(in.SRTT.D(), 3), ms(in.RTTVar.D(), 3)))
	}
	f = append(f, fmt.Sprintf("mss:%d", in.MSS), fmt.Sprintf("advmss:%d", in.AdvMSS))
	if in.RcvMSS > 0 {
		f = append(f, fmt.Sprintf("rcvmss:%d", in.RcvMSS))
	}
	if in.MSS > 0 && in.Cwnd > 0 {
		f = append(f, fmt.Sprintf("cwnd:%d", (in.Cwnd+in.MSS-1)/in.MSS))
		if in.Ssthresh > 0 {
			f = append(f, fmt.Sprintf("ssthresh:%d", (in.Ssthresh+in.MSS-1)/in.MSS))
		}
	}
	if in.InFlight > 0 {
		f = append(f, fmt.Sprintf("inflight:%d", in.InFlight))
	}
	if in.Unsent > 0 {
		f = append(f, fmt.Sprintf("notsent:%d", in.Unsent))
	}
	if in.OOOQueued > 0 {
		f = append(f, fmt.Sprintf("ofo:%d", in.OOOQueued))
	}
	if in.Retransmits > 0 || in.TotalRetrans > 0 {
		f = append(f, fmt.Sprintf("retrans:%d/%d", in.Retransmits, in.TotalRetrans))
	}
	if in.Backoff > 0 {
		f = append(f, fmt.Sprintf("backoff:%d", in.Backoff))
	}
	if in.LastRecv > 0 {
		f = append(f, fmt.Sprintf("lastrcv:%s", ms(in.LastRecv.D(), 0)))
	}
	if in.SRTT > 0 && in.Cwnd > 0 {
		f = append(f, "send "+bitRate(float64(in.Cwnd)*8/in.SRTT.D().Seconds()))
	}
	f = append(f, fmt.Sprintf("snd_wnd:%d", in.SndWnd), fmt.Sprintf("rcv_wnd:%d", in.RcvWnd))
	if in.Orphan {
		f = append(f, "orphan")
	}
	return strings.Join(f, " ")
}

// ms formats d in milliseconds with prec decimals, as ss does.
func ms(d time.Duration, prec int) string {
	return fmt.Sprintf("%.*f", prec, float64(d)/float64(time.Millisecond))
}

// bitRate formats bits per second as ss does ("231.7Mbps").
func bitRate(bps float64) string {
	switch {
	case bps >= 1e9:
		return fmt.Sprintf("%.1fGbps", bps/1e9)
	case bps >= 1e6:
		return fmt.Sprintf("%.1fMbps", bps/1e6)
	case bps >= 1e3:
		return fmt.Sprintf("%.1fKbps", bps/1e3)
	}
	return fmt.Sprintf("%.0fbps", bps)
}

package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"ustack/ctl"
	"ustack/netsim"
)

// traceNet is two hosts, with a control socket on b (10.0.0.2), which
// sends a datagram to a's port 9 every 10ms until the test ends.
func traceNet(t *testing.T) string {
	t.Helper()
	n := netsim.New(netsim.Options{Seed: 1})
	a, b := n.Host("a"), n.Host("b")
	n.MustLink(a, "10.0.0.1/24", b, "10.0.0.2/24", netsim.LinkOptions{})
	sink, err := a.ListenPacket("udp", ":9")
	if err != nil {
		t.Fatal(err)
	}
	c, err := b.DialContext(context.Background(), "udp", "10.0.0.1:9")
	if err != nil {
		t.Fatal(err)
	}
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for {
			c.Write([]byte("hello"))
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}()
	t.Cleanup(func() { close(stop); <-done; c.Close(); sink.Close(); n.Close() })
	return ctlOnHost(t, b)
}

var traceLineRE = regexp.MustCompile(`^ *\d+\.\d{6} +\d+  udp:::send +10\.0\.0\.2:\d+ -> 10\.0\.0\.1:9 len 5$`)

func TestTraceCommand(t *testing.T) {
	sock := traceNet(t)

	r := ustack(t, "trace", "--ctl", sock, "-c", "3", "udp:::send,ip:::send", "probe", "==", `"udp:::send"`, "&&", "dport == 9")
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if r.code != 0 || len(lines) != 4 || lines[0] != ctl.TraceHeader {
		t.Fatalf("exit %d, stdout:\n%s\nstderr: %s\nwant the header and 3 events", r.code, r.stdout, r.stderr)
	}
	for _, l := range lines[1:] {
		if !traceLineRE.MatchString(l) {
			t.Errorf("line %q, want it to match %v", l, traceLineRE)
		}
	}

	r = ustack(t, "trace", "--ctl", sock, "--json", "-c", "2", "udp:::send")
	lines = strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if r.code != 0 || len(lines) != 2 {
		t.Fatalf("--json: exit %d, stdout:\n%s\nstderr: %s\nwant 2 lines", r.code, r.stdout, r.stderr)
	}
	for _, l := range lines {
		var e ctl.TraceEvent
		if err := json.Unmarshal([]byte(l), &e); err != nil || e.Probe != "udp:::send" || e.DstPort != 9 || e.PktID == 0 {
			t.Errorf("--json line %q (%v), want a udp:::send event to port 9", l, err)
		}
	}

	r = ustack(t, "trace", "--ctl", sock, "--walk", "-c", "1", "*:::*", "dport == 9")
	if r.code != 0 || !regexp.MustCompile(`^packet \d+: 4 stages in `).MatchString(r.stdout) {
		t.Fatalf("--walk: exit %d, stdout:\n%s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	for _, p := range []string{"udp:::send", "ip:::send", "ether:::send", "netdev:::transmit"} {
		if !strings.Contains(r.stdout, p) {
			t.Errorf("--walk output lacks %s:\n%s", p, r.stdout)
		}
	}
}

func TestTraceUsage(t *testing.T) {
	sock := traceNet(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "missing probes"},
		{[]string{"tcp:::*", "port", "=", "80"}, "column 6: use == to compare"},
		{[]string{"tcp:::*", "flags & syn"}, "the TCP flag is written SYN"},
		{[]string{"nosuch:::probe"}, "no probe matches nosuch:::probe"},
		{[]string{"-c", "-1", "tcp"}, "bad count"},
	} {
		r := ustack(t, append([]string{"trace", "--ctl", sock}, tc.args...)...)
		if r.code != 2 {
			t.Errorf("trace %q: exit %d, want 2", tc.args, r.code)
		}
		checkOneLine(t, "trace "+strings.Join(tc.args, " "), r, tc.want)
	}
	r := ustack(t, "help", "trace")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "usage: ustack trace") {
		t.Errorf("help trace: exit %d, stdout %.40q", r.code, r.stdout)
	}
}

// ^C ends a trace with status 0.
func TestTraceInterrupt(t *testing.T) {
	sock := traceNet(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, ustackBin(t), "trace", "--ctl", sock, "udp:::send")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.WaitDelay = time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	for i := 0; i < 3 && sc.Scan(); i++ { // the header and two events
	}
	cmd.Process.Signal(syscall.SIGINT)
	for sc.Scan() {
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("after SIGINT: %v, stderr %q; want exit status 0", err, stderr.String())
	}
}

// With --json, events lost to a slow reader are in the stream too, as
// the object the stack sent, for a reader of the file to see the gap.
func TestTraceJSONLost(t *testing.T) {
	var out bytes.Buffer
	p := &tracePrinter{w: bufio.NewWriter(&out), json: true}
	p.event(ctl.TraceEvent{Probe: "tcp:::send"})
	p.lost(ctl.TraceLost{Lost: 3, Total: 5})
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 || lines[1] != `{"lost":3,"total":5}` {
		t.Errorf("--json output %q, want the event then {\"lost\":3,\"total\":5}", lines)
	}
}

// Human lines: the column header comes with the first event (a refused
// trace prints only its error), and --payload's bytes follow their
// event's line as hex and ASCII.
func TestTracePrinterHuman(t *testing.T) {
	var out bytes.Buffer
	p := &tracePrinter{w: bufio.NewWriter(&out), header: true}
	if out.Len() != 0 {
		t.Fatal("header before any event")
	}
	p.event(ctl.TraceEvent{Probe: "tcp:::send", Payload: []byte("GET / HTTP/1.1\r\n")})
	p.event(ctl.TraceEvent{Probe: "tcp:::send"})
	text := out.String()
	if strings.Count(text, ctl.TraceHeader) != 1 || !strings.HasPrefix(text, ctl.TraceHeader) {
		t.Errorf("header not printed once, first:\n%s", text)
	}
	if !strings.Contains(text, "47 45 54 20 2f 20 48 54  54 50 2f 31 2e 31 0d 0a  |GET / HTTP/1.1..|") {
		t.Errorf("payload not dumped under its line:\n%s", text)
	}
}

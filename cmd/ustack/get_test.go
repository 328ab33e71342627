package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"ustack/ctl"
	"ustack/drivers/fault"
	"ustack/internal/testenv"
	"ustack/netsim"
)

// ctlOnHost serves a control socket for host h's stack, in this process,
// and returns its path: what `ustack up` does, without a TAP device.
func ctlOnHost(t *testing.T, h *netsim.Host) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ustack.sock")
	l, err := ctl.Listen(path)
	if err != nil {
		t.Fatalf("ctl.Listen: %v", err)
	}
	srv := ctl.NewServer(h.Stack)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	t.Cleanup(func() { srv.Close(); <-served })
	return path
}

// patternBytes is the first n bytes of the /bytes body.
func patternBytes(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i % 251)
	}
	return b
}

// summaryRE is get's last line on stderr.
var summaryRE = regexp.MustCompile(`^(\d+) bytes in [0-9.]+(µs|ms|s|m[0-9.]+s) \([0-9.]+ MB/s\)$`)

// TestGetCommand runs `ustack get` against the http service of a
// netsim host, through a control socket served in this process: no root
// needed.
func TestGetCommand(t *testing.T) {
	b, _ := servicesOnNet(t, "http:80")
	sock := ctlOnHost(t, b)
	dir := t.TempDir()
	const big = 3_000_000
	for _, tc := range []struct {
		name     string
		args     []string
		code     int
		stdout   []byte // want exactly this on stdout (nil: nothing)
		file     string // want -o to have made this file ...
		fileData []byte // ... with this content
		noFile   string // want no such file
		stderr   string // want this in stderr's last line
		summary  int64  // want the summary line with this count (-1: none)
	}{
		{name: "to a file", args: []string{"-o", filepath.Join(dir, "big"), "http://10.0.0.1/bytes?n=3000000"},
			file: filepath.Join(dir, "big"), fileData: patternBytes(big), summary: big},
		{name: "to stdout", args: []string{"10.0.0.1/bytes?n=1000"}, stdout: patternBytes(1000), summary: 1000},
		{name: "empty body", args: []string{"http://10.0.0.1:80/bytes?n=0"}, summary: 0},
		{name: "not found", args: []string{"-o", filepath.Join(dir, "nf"), "http://10.0.0.1/nosuch"}, code: 1,
			noFile: filepath.Join(dir, "nf"), stderr: "404 Not Found", summary: -1},
		{name: "bad request", args: []string{"http://10.0.0.1/bytes?n=x"}, code: 1, stderr: "400 Bad Request", summary: -1},
		{name: "refused", args: []string{"http://10.0.0.1:81/"}, code: 1, stderr: "connection refused", summary: -1},
		{name: "host name", args: []string{"http://example.com/"}, code: 2, stderr: "host names are not resolved yet", summary: -1},
		{name: "https", args: []string{"https://10.0.0.1/"}, code: 2, stderr: "only http://", summary: -1},
		{name: "no URL", args: nil, code: 2, stderr: "missing URL", summary: -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := ustack(t, append([]string{"get", "--ctl", sock}, tc.args...)...)
			if r.code != tc.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", r.code, tc.code, r.stderr)
			}
			if !bytes.Equal([]byte(r.stdout), tc.stdout) {
				t.Errorf("stdout: %d bytes, want %d", len(r.stdout), len(tc.stdout))
			}
			lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
			if tc.summary >= 0 {
				if m := summaryRE.FindStringSubmatch(lines[len(lines)-1]); m == nil || m[1] != strconv.FormatInt(tc.summary, 10) {
					t.Errorf("stderr = %q, want a last line %q", r.stderr, strconv.FormatInt(tc.summary, 10)+" bytes in T (R MB/s)")
				}
			} else if !strings.Contains(lines[len(lines)-1], tc.stderr) || summaryRE.MatchString(lines[0]) {
				t.Errorf("stderr = %q, want one line with %q", r.stderr, tc.stderr)
			}
			if tc.file != "" {
				got, err := os.ReadFile(tc.file)
				if err != nil || !bytes.Equal(got, tc.fileData) {
					t.Errorf("-o %s: %d bytes (%v), want %d bytes of the pattern", tc.file, len(got), err, len(tc.fileData))
				}
			}
			if tc.noFile != "" {
				if _, err := os.Stat(tc.noFile); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("-o %s after a failure: %v, want no file", tc.noFile, err)
				}
			}
		})
	}
}

// ^C stops `ustack get`: it exits 1 saying so, with the summary, and the
// stack closes the connection (the http service's count of open
// connections goes back to zero).
func TestGetInterrupt(t *testing.T) {
	b, svcs := servicesOnNet(t, "http:80")
	sock := ctlOnHost(t, b)
	out := filepath.Join(t.TempDir(), "body")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, ustackBin(t), "get", "--ctl", sock, "-o", out, "http://10.0.0.1/bytes?n=1099511627776")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.WaitDelay = time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		if fi, err := os.Stat(out); err == nil && fi.Size() > 1<<20 {
			break
		}
		if i == 500 {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("no 1 MiB in %s after 10s; stderr %q", out, stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if v := counter(svcs, "http", "tcp", "ActiveConns"); v != 1 {
		t.Errorf("http ActiveConns during the transfer = %d, want 1", v)
	}
	cmd.Process.Signal(syscall.SIGINT)
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Errorf("after SIGINT: %v, want exit status 1", err)
	}
	lines := strings.Split(strings.TrimSuffix(stderr.String(), "\n"), "\n")
	if len(lines) != 2 || !summaryRE.MatchString(lines[0]) || !strings.Contains(lines[1], "interrupted") {
		t.Errorf("stderr = %q, want the summary, then \"interrupted\"", stderr.String())
	}
	for i := 0; counter(svcs, "http", "tcp", "ActiveConns") != 0; i++ {
		if i == 250 {
			t.Fatalf("http ActiveConns = %d 5s after the interrupt, want 0", counter(svcs, "http", "tcp", "ActiveConns"))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestProgressLine(t *testing.T) {
	for _, tc := range []struct {
		n, total int64
		rate     float64
		want     string
	}{
		{0, 1000, 0, "  0% [>                             ] 0 B / 1.0 kB  0 B/s"},
		{500, 1000, 100, " 50% [===============>              ] 500 B / 1.0 kB  100 B/s  ETA 5s"},
		{120_800_000, 268_435_456, 98_200_000, " 45% [=============>                ] 120.8 MB / 268.4 MB  98.2 MB/s  ETA 2s"},
		{1000, 1000, 5e6, "100% [==============================] 1.0 kB / 1.0 kB  5.0 MB/s"},
		{2000, 1000, 5e6, "100% [==============================] 2.0 kB / 1.0 kB  5.0 MB/s"},
		{0, 0, 0, "100% [==============================] 0 B / 0 B  0 B/s"},
		{1_500_000, -1, 750_000, "1.5 MB  750.0 kB/s"},
	} {
		if got := progressLine(tc.n, tc.total, tc.rate); got != tc.want {
			t.Errorf("progressLine(%d, %d, %v) =\n%q, want\n%q", tc.n, tc.total, tc.rate, got, tc.want)
		}
	}
}

func TestSummaryLine(t *testing.T) {
	for _, tc := range []struct {
		n    int64
		d    time.Duration
		want string
	}{
		{268435456, 2345678 * time.Microsecond, "268435456 bytes in 2.346s (114 MB/s)"},
		{1000000, time.Second, "1000000 bytes in 1s (1.00 MB/s)"},
		{50_000_000, 2 * time.Second, "50000000 bytes in 2s (25.0 MB/s)"},
		{1000, 1234567 * time.Nanosecond, "1000 bytes in 1.235ms (0.81 MB/s)"},
		{0, 0, "0 bytes in 0s (0.00 MB/s)"},
	} {
		if got := summaryLine(tc.n, tc.d); got != tc.want {
			t.Errorf("summaryLine(%d, %v) = %q, want %q", tc.n, tc.d, got, tc.want)
		}
	}
}

func TestFormatBytes(t *testing.T) {
	for _, tc := range []struct {
		n    int64
		want string
	}{
		{0, "0 B"}, {999, "999 B"}, {1000, "1.0 kB"}, {1500, "1.5 kB"}, {999_949, "999.9 kB"},
		{999_950, "1.0 MB"}, {268_435_456, "268.4 MB"}, {1 << 40, "1.1 TB"}, {5e15, "5000.0 TB"},
	} {
		if got := formatBytes(tc.n); got != tc.want {
			t.Errorf("formatBytes(%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
}

// The rate is over the last window, not since the start: a transfer that
// stalls shows it.
func TestRateMeter(t *testing.T) {
	t0 := time.Unix(1000, 0)
	m := rateMeter{window: 2 * time.Second}
	for _, tc := range []struct {
		at   time.Duration
		n    int64
		want float64
	}{
		{0, 0, 0},
		{time.Second, 1000, 1000},
		{2 * time.Second, 2000, 1000},
		{3 * time.Second, 5000, 2000}, // window 1s..3s: 4000 in 2s
		{4 * time.Second, 5000, 1500}, // 2s..4s: 3000 in 2s
		{5 * time.Second, 5000, 0},    // stalled since 3s
		{10 * time.Second, 6000, 200}, // one sample back: 1000 in 5s
	} {
		if got := m.add(t0.Add(tc.at), tc.n); got != tc.want {
			t.Errorf("at %v, %d bytes: rate %v, want %v", tc.at, tc.n, got, tc.want)
		}
	}
}

// A progress drawn on a terminal redraws in place at most ~10 times a
// second and ends its line; one that is not draws nothing.
func TestProgressDraw(t *testing.T) {
	for _, draw := range []bool{false, true} {
		var buf testenv.SyncBuffer
		p := newProgress(&buf, draw, time.Now, time.Now())
		p.setTotal(1000)
		p.add(400)
		time.Sleep(350 * time.Millisecond)
		p.add(600)
		n, d := p.finish()
		out := buf.String()
		if n != 1000 || d < 350*time.Millisecond {
			t.Errorf("draw %v: finish() = %d, %v; want 1000 and at least 350ms", draw, n, d)
		}
		if !draw {
			if out != "" {
				t.Errorf("progress without draw wrote %q", out)
			}
			continue
		}
		redraws := strings.Count(out, "\r")
		if redraws < 2 || redraws > 6 || !strings.HasSuffix(out, "\n") || !strings.Contains(out, "100% [") || !strings.Contains(out, " 40% [") {
			t.Errorf("progress drawn %d times:\n%q\nwant 2..6 redraws, 40%% then 100%%, and a final newline", redraws, out)
		}
	}
}

func TestImpairSpec(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want impairSpec
		err  bool
	}{
		{in: "loss=0.02,seed=7", want: impairSpec{seed: 7, im: impairOf(0.02, 0)}},
		{in: "loss=2%", want: impairSpec{seed: 1, im: impairOf(0.02, 0)}},
		{in: "loss=1,delay=10ms", want: impairSpec{seed: 1, im: impairOf(1, 10*time.Millisecond)}},
		{in: "loss=2", err: true},
		{in: "loss=-0.1", err: true},
		{in: "loss", err: true},
		{in: "delay=-1s", err: true},
		{in: "seed=x", err: true},
		{in: "flood=1", err: true},
	} {
		var got impairSpec
		err := got.Set(tc.in)
		if (err != nil) != tc.err || (!tc.err && got != tc.want) {
			t.Errorf("Set(%q) = %+v, %v; want %+v, error %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func impairOf(loss float64, delay time.Duration) fault.Impair {
	return fault.Impair{Loss: loss, Delay: delay}
}

func TestGetHelp(t *testing.T) {
	for _, args := range [][]string{{"get", "-h"}, {"help", "get"}} {
		r := ustack(t, args...)
		if r.code != 0 || !strings.HasPrefix(r.stdout, "usage: ustack get") || r.stderr != "" {
			t.Errorf("ustack %s: exit %d, stdout %.40q, stderr %q; want the usage on stdout", strings.Join(args, " "), r.code, r.stdout, r.stderr)
		}
	}
}

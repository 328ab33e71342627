package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The tests run the real binary, built once per test run.
var (
	buildOnce sync.Once
	binDir    string
	binPath   string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// ustackBin builds the command and returns the binary's path.
func ustackBin(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "ustack-bin")
		if buildErr != nil {
			return
		}
		// World-readable, so that a test may run it as another user.
		os.Chmod(binDir, 0o755)
		binPath = filepath.Join(binDir, "ustack")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

type result struct {
	code           int
	stdout, stderr string
}

// run runs the binary with args and a time limit, and returns what it
// did.
func run(t *testing.T, cmd *exec.Cmd) result {
	t.Helper()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	default:
		t.Fatalf("running %v: %v", cmd.Args, err)
	}
	return r
}

func ustack(t *testing.T, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return run(t, exec.CommandContext(ctx, ustackBin(t), args...))
}

// checkOneLine fails unless stderr is exactly one line, holding want,
// with no trace of a panic.
func checkOneLine(t *testing.T, what string, r result, want string) {
	t.Helper()
	if strings.Contains(r.stderr, "panic") || strings.Contains(r.stderr, "goroutine ") {
		t.Errorf("%s: stderr has a Go panic:\n%s", what, r.stderr)
	}
	if strings.Count(r.stderr, "\n") != 1 || !strings.HasSuffix(r.stderr, "\n") {
		t.Errorf("%s: stderr = %q, want one line", what, r.stderr)
	}
	if !strings.Contains(r.stderr, want) {
		t.Errorf("%s: stderr = %q, want it to contain %q", what, r.stderr, want)
	}
}

func TestHelp(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"help"}, "usage: ustack COMMAND"},
		{[]string{"-h"}, "usage: ustack COMMAND"},
		{[]string{"--help"}, "usage: ustack COMMAND"},
		{[]string{"help", "ping"}, "usage: ustack ping"},
		{[]string{"up", "-h"}, "usage: ustack up"},
		{[]string{"up", "--help"}, "usage: ustack up"},
		{[]string{"ping", "-h"}, "usage: ustack ping"},
		{[]string{"udp", "-h"}, "usage: ustack udp"},
		{[]string{"status", "-h"}, "usage: ustack status"},
	} {
		r := ustack(t, tc.args...)
		if r.code != 0 || !strings.Contains(r.stdout, tc.want) || r.stderr != "" {
			t.Errorf("ustack %s: exit %d, stdout %q, stderr %q; want exit 0 and %q on stdout",
				strings.Join(tc.args, " "), r.code, r.stdout, r.stderr, tc.want)
		}
	}
	r := ustack(t, "help")
	for _, cmd := range []string{"up", "ping", "udp", "status", "demo", "help"} {
		if !strings.Contains(r.stdout, "\n  "+cmd+" ") {
			t.Errorf("ustack help does not list %q:\n%s", cmd, r.stdout)
		}
	}
}

func TestErrors(t *testing.T) {
	dir := t.TempDir()
	none := filepath.Join(dir, "none.sock")
	noStack := "ustack: no running stack at " + none + " (start one with 'ustack up')"
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no command", nil, 2, ""},
		{"unknown command", []string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{"bad CIDR", []string{"up", "--if", "tap0=10.0.0.2/33", "--ctl", none}, 2, `malformed CIDR "10.0.0.2/33"`},
		{"CIDR without length", []string{"up", "--if", "tap0=10.0.0.2", "--ctl", none}, 2, "malformed CIDR"},
		{"if without CIDR", []string{"up", "--if", "tap0", "--ctl", none}, 2, "NAME=CIDR"},
		{"unknown service", []string{"up", "--if", "tap0=10.0.0.2/24", "--serve", "echo,gopher", "--ctl", none}, 2, `unknown service "gopher"`},
		{"bad service port", []string{"up", "--if", "tap0=10.0.0.2/24", "--serve", "echo:99999", "--ctl", none}, 2, "invalid port"},
		{"no interfaces", []string{"up", "--ctl", none}, 2, "no interfaces"},
		{"bad gateway", []string{"up", "--if", "tap0=10.0.0.2/24", "--gw", "10.0.0", "--ctl", none}, 2, "not an IPv4 address"},
		{"bad mtu", []string{"up", "--if", "tap0=10.0.0.2/24", "--mtu", "20", "--ctl", none}, 2, "--mtu 20"},
		{"unknown flag", []string{"up", "--frob"}, 2, "flag provided but not defined: -frob"},
		{"ping without stack", []string{"ping", "--ctl", none, "-c", "1", "10.0.0.1"}, 1, noStack},
		{"udp without stack", []string{"udp", "--ctl", none, "10.0.0.1:7", "hi"}, 1, noStack},
		{"status without stack", []string{"status", "--ctl", none}, 1, noStack},
		{"ping without address", []string{"ping", "--ctl", none}, 2, "missing destination"},
		{"ping bad address", []string{"ping", "--ctl", none, "example.com"}, 2, "not an IPv4 address"},
		{"ping bad interval", []string{"ping", "--ctl", none, "-i", "soon", "10.0.0.1"}, 2, "invalid duration"},
		{"udp bad destination", []string{"udp", "--ctl", none, "10.0.0.1", "hi"}, 2, "invalid port"},
		{"udp listen without port", []string{"udp", "--ctl", none, "-l"}, 2, "which port"},
	} {
		r := ustack(t, tc.args...)
		if r.code != tc.code {
			t.Errorf("%s: ustack %s: exit %d, want %d (stderr %q)", tc.name, strings.Join(tc.args, " "), r.code, tc.code, r.stderr)
		}
		if tc.want != "" {
			checkOneLine(t, tc.name, r, tc.want)
		}
		if strings.Contains(r.stderr, "panic") || strings.Contains(r.stderr, "goroutine ") {
			t.Errorf("%s: stderr has a Go panic:\n%s", tc.name, r.stderr)
		}
	}
	if _, err := os.Stat(none); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a failed command left %s behind (%v)", none, err)
	}
}

// Opening /dev/net/tun without the privilege fails with one line saying
// so. As root the test runs the binary as nobody.
func TestUpNotPermitted(t *testing.T) {
	// Not t.TempDir(): its parent is private to root.
	dir, err := os.MkdirTemp("", "ustack-noperm")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	os.Chmod(dir, 0o777)
	ctlPath := filepath.Join(dir, "ctl.sock")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, ustackBin(t), "up", "--if", "ustnoperm0=10.0.0.2/24", "--ctl", ctlPath)
	if os.Geteuid() == 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	}
	r := run(t, cmd)
	if r.code != 1 {
		t.Errorf("unprivileged up: exit %d, want 1 (stdout %q, stderr %q)", r.code, r.stdout, r.stderr)
	}
	checkOneLine(t, "unprivileged up", r, "ustack: ustnoperm0: permission denied opening /dev/net/tun")
	if _, err := os.Stat(ctlPath); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a failed up left its control socket %s behind (%v)", ctlPath, err)
	}
}

func TestParseFlagsInterleaved(t *testing.T) {
	for _, tc := range []struct {
		args      []string
		wantPos   string
		wantCount int
	}{
		{[]string{"-c", "3", "10.0.0.1"}, "10.0.0.1", 3},
		{[]string{"10.0.0.1", "-c", "3"}, "10.0.0.1", 3},
		{[]string{"--count", "2", "a", "b"}, "a b", 2},
		{[]string{"a", "--", "-c", "5"}, "a -c 5", 0},
	} {
		fs := flag.NewFlagSet("test", flag.ContinueOnError)
		var count int
		intVar(fs, &count, 0, "", "c", "count")
		pos, err := parseFlags(fs, "", tc.args)
		if err != nil || strings.Join(pos, " ") != tc.wantPos || count != tc.wantCount {
			t.Errorf("parseFlags(%q) = %q, count %d, %v; want %q, count %d", tc.args, pos, count, err, tc.wantPos, tc.wantCount)
		}
	}
}

func TestIfListSet(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string // kind name addrs, or "error"
	}{
		{"tap0=10.0.0.2/24", "tap tap0 [10.0.0.2/24]"},
		{"tun:t1=10.9.0.2/30,10.9.1.2/24", "tun t1 [10.9.0.2/30 10.9.1.2/24]"},
		{"tap:x=192.168.1.1/32", "tap x [192.168.1.1/32]"},
		{"veth:x=10.0.0.1/24", "error"},
		{"=10.0.0.1/24", "error"},
		{"tap0=10.0.0.1", "error"},
		{"tap0=fe80::1/64", "error"},
		{"tap0", "error"},
	} {
		var l ifList
		err := l.Set(tc.in)
		got := "error"
		if err == nil {
			got = fmt.Sprintf("%s %s %v", l[0].kind(), l[0].name, l[0].addrs)
		}
		if got != tc.want {
			t.Errorf("ifList.Set(%q) = %s (%v), want %s", tc.in, got, err, tc.want)
		}
	}
	var l ifList
	if err := l.Set("tap0=10.0.0.1/24"); err != nil {
		t.Fatal(err)
	}
	if err := l.Set("tap0=10.0.1.1/24"); err == nil {
		t.Errorf("ifList.Set accepted tap0 twice")
	}
}

func TestServeListSet(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string
	}{
		{"echo", "echo udp/7 echo tcp/7"},
		{"echo/udp:7007,discard/tcp", "echo udp/7007 discard tcp/9"},
		{"discard/udp:99", "discard udp/99"},
		{"echo/tcp", "echo tcp/7"},
		{"echo/sctp", "error"},
		{"chargen", "chargen udp/19 chargen tcp/19"},
		{"http", "http tcp/80"},
		{"http/udp", "error"},
		{"http:8080:/srv", "http tcp/8080 /srv"},
		{"http::/srv", "http tcp/80 /srv"},
		{"http:8080:", "error"},
		{"echo:7:x", "error"},
		{"gopher", "error"},
		{"echo:0", "error"},
		{"echo:x", "error"},
	} {
		var l serveList
		err := l.Set(tc.in)
		got := "error"
		if err == nil {
			var parts []string
			for _, s := range l {
				parts = append(parts, fmt.Sprintf("%s %s/%d", s.svc.name, s.svc.proto, s.port))
				if s.arg != "" {
					parts = append(parts, s.arg)
				}
			}
			got = strings.Join(parts, " ")
		}
		if got != tc.want {
			t.Errorf("serveList.Set(%q) = %s (%v), want %s", tc.in, got, err, tc.want)
		}
	}
}

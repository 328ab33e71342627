package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"ustack/ctl"
)

const getUsage = `usage: ustack get [--ctl PATH] [-o FILE] [-T TIMEOUT] URL

Fetch URL with an HTTP GET that a running stack makes over its own TCP,
as curl and wget fetch over the kernel's, and write the body to standard
output or FILE. URL is [http://]ADDR[:PORT][/PATH] with ADDR an IPv4
address: ustack resolves no names yet, and speaks no TLS.

On a terminal, standard error shows a progress bar; the transfer always
ends there with "N bytes in T (R MB/s)". A status other than 2xx fails
with the status printed and nothing written; redirects are not followed.
^C stops the transfer: the stack closes the connection.

Options:
  -o, --output FILE   write the body to FILE (made once the status is 2xx)
  -T, --timeout D     give up after D connecting, waiting for the header,
                      or waiting for more of the body (default 30s)
  --ctl PATH          control socket of the stack (default: see 'ustack help')

Durations are seconds ("10") or Go durations ("500ms").
Exit status: 0 when the whole body arrived, 1 otherwise, 2 on bad usage.
`

// statusError is a response that is not 2xx.
type statusError struct{ h ctl.GetHeader }

func (e *statusError) Error() string {
	if loc := e.h.Header.Get("Location"); loc != "" {
		return fmt.Sprintf("%s (Location: %s; redirects are not followed)", e.h.Status, loc)
	}
	return e.h.Status
}

func runGet(args []string) error {
	fs := flag.NewFlagSet("get", flag.ContinueOnError)
	var (
		ctlPath, output string
		timeout         time.Duration
	)
	fs.StringVar(&ctlPath, "ctl", "", "")
	stringVar(fs, &output, "", "", "o", "output")
	durationVar(fs, &timeout, 0, "", "T", "timeout")
	pos, err := parseFlags(fs, getUsage, args)
	if err != nil {
		return err
	}
	switch {
	case len(pos) == 0:
		return usageErrorf("missing URL")
	case len(pos) > 1:
		return usageErrorf("unexpected argument %q", pos[1])
	}
	u, err := ctl.ParseGetURL(pos[0])
	if err != nil {
		return usageErrorf("%v", err)
	}

	c, err := dialCtl(ctlPath)
	if err != nil {
		return err
	}
	defer c.Close()
	ctx, stop := interruptContext()
	defer stop()

	var (
		out   io.Writer
		file  *os.File
		prog  *progress
		start time.Time // the summary's time includes connecting, as curl's
	)
	onHeader := func(h ctl.GetHeader) error {
		if !h.OK() {
			return &statusError{h}
		}
		out = os.Stdout
		if output != "" {
			f, err := os.Create(output)
			if err != nil {
				return err
			}
			file, out = f, f
		}
		prog = newProgress(os.Stderr, isTerminal(os.Stderr), time.Now, start)
		prog.setTotal(h.Length)
		return nil
	}
	body := writerFunc(func(p []byte) (int, error) {
		n, err := out.Write(p)
		prog.add(n)
		return n, err
	})
	start = time.Now()
	_, err = c.Get(ctx, ctl.GetArgs{URL: u.String(), Timeout: ctl.Duration(timeout)}, onHeader, body)
	if prog != nil {
		n, d := prog.finish()
		fmt.Fprintln(os.Stderr, summaryLine(n, d))
	}
	if file != nil {
		if cerr := file.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}
	var se *statusError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &se):
		return fmt.Errorf("get %s: %v", u, se)
	case ctx.Err() != nil:
		return fmt.Errorf("get %s: interrupted", u)
	}
	return fmt.Errorf("get %s: %v", u, err)
}

// writerFunc is an io.Writer made of a function.
type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

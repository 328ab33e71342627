package main

// The progress bar and summary of `ustack get`, after curl's and wget's:
// redrawn in place on a terminal at most ten times a second, and one
// summary line at the end whatever stderr is.

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Progress drawing.
const (
	progressEvery  = 100 * time.Millisecond // at most ~10 redraws a second
	progressWindow = 2 * time.Second        // the rate shown is over the last 2s
	progressBar    = 30                     // bar width in characters
)

// isTerminal reports whether f is a terminal (a character device), without
// a dependency beyond os: a pipe or a file is not one.
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// progress counts a transfer's bytes and, if draw is set, redraws a
// progress line on w from its own goroutine.
type progress struct {
	w     io.Writer
	draw  bool
	now   func() time.Time
	start time.Time
	total atomic.Int64 // -1 while unknown
	n     atomic.Int64

	mu    sync.Mutex // guards rate and drawing
	rate  rateMeter
	drawn bool

	stop chan struct{}
	done chan struct{}
}

// newProgress counts a transfer that began at start; with draw it
// redraws every progressEvery until finish.
func newProgress(w io.Writer, draw bool, now func() time.Time, start time.Time) *progress {
	p := &progress{w: w, draw: draw, now: now, start: start, stop: make(chan struct{}), done: make(chan struct{})}
	p.total.Store(-1)
	p.rate = rateMeter{window: progressWindow}
	p.rate.add(start, 0)
	if !draw {
		close(p.done)
		return p
	}
	go func() {
		defer close(p.done)
		t := time.NewTicker(progressEvery)
		defer t.Stop()
		for {
			select {
			case <-p.stop:
				return
			case <-t.C:
				p.redraw()
			}
		}
	}()
	return p
}

// setTotal records the expected length (-1: unknown).
func (p *progress) setTotal(n int64) { p.total.Store(n) }

// add counts n more bytes.
func (p *progress) add(n int) { p.n.Add(int64(n)) }

func (p *progress) redraw() {
	p.mu.Lock()
	defer p.mu.Unlock()
	t, n := p.now(), p.n.Load()
	r := p.rate.add(t, n)
	fmt.Fprintf(p.w, "\r%s\x1b[K", progressLine(n, p.total.Load(), r))
	p.drawn = true
}

// finish stops redrawing, ends the progress line if one was drawn, and
// returns the bytes counted and the time since the start.
func (p *progress) finish() (int64, time.Duration) {
	select {
	case <-p.stop:
	default:
		close(p.stop)
	}
	<-p.done
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.draw {
		// The last state, whatever the ticker last showed.
		n, d := p.n.Load(), p.now().Sub(p.start)
		fmt.Fprintf(p.w, "\r%s\x1b[K\n", progressLine(n, p.total.Load(), rate(n, d)))
	}
	return p.n.Load(), p.now().Sub(p.start)
}

// progressLine is one redraw: with a known total,
//
//	45% [=============>                ] 120.8 MB / 268.4 MB  98.2 MB/s  ETA 2s
//
// and without one, the bytes so far and the rate.
func progressLine(n, total int64, bytesPerSec float64) string {
	if total < 0 {
		return fmt.Sprintf("%s  %s", formatBytes(n), formatRate(bytesPerSec))
	}
	frac := 1.0
	if total > 0 {
		frac = min(float64(n)/float64(total), 1)
	}
	fill := int(frac * progressBar)
	bar := strings.Repeat("=", fill)
	if fill < progressBar {
		bar += ">" + strings.Repeat(" ", progressBar-fill-1)
	}
	s := fmt.Sprintf("%3d%% [%s] %s / %s  %s", int(frac*100), bar, formatBytes(n), formatBytes(total), formatRate(bytesPerSec))
	if n < total && bytesPerSec > 0 {
		eta := time.Duration(float64(total-n) / bytesPerSec * float64(time.Second))
		s += "  ETA " + eta.Round(time.Second).String()
	}
	return s
}

// summaryLine is the line `ustack get` always ends with:
// "268435456 bytes in 2.345s (114 MB/s)".
func summaryLine(n int64, d time.Duration) string {
	switch {
	case d >= 10*time.Millisecond:
		d = d.Round(time.Millisecond)
	default:
		d = d.Round(time.Microsecond)
	}
	return fmt.Sprintf("%d bytes in %v (%s MB/s)", n, d, mbps(rate(n, d)))
}

// rate is n bytes over d, in bytes per second (0 for no time).
func rate(n int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// mbps formats a rate in MB/s (10^6 bytes, as curl and dd count) to
// three significant digits or so.
func mbps(bytesPerSec float64) string {
	x := bytesPerSec / 1e6
	switch {
	case x >= 100:
		return fmt.Sprintf("%.0f", x)
	case x >= 10:
		return fmt.Sprintf("%.1f", x)
	}
	return fmt.Sprintf("%.2f", x)
}

// formatBytes formats a byte count in decimal units: "999 B", "1.5 kB",
// "120.8 MB".
func formatBytes(n int64) string {
	if n < 1000 {
		return fmt.Sprintf("%d B", n)
	}
	x := float64(n)
	for _, u := range []string{"kB", "MB", "GB", "TB"} {
		x /= 1000
		if x < 999.95 || u == "TB" {
			return fmt.Sprintf("%.1f %s", x, u)
		}
	}
	panic("unreachable")
}

// formatRate formats bytes per second as formatBytes does, with "/s".
func formatRate(bytesPerSec float64) string {
	return formatBytes(int64(bytesPerSec)) + "/s"
}

// rateMeter averages a byte count's growth over the last window of
// samples.
type rateMeter struct {
	window  time.Duration
	samples []rateSample
}

type rateSample struct {
	t time.Time
	n int64
}

// add records that the count was n at t and returns the rate since the
// oldest sample within the window (the one just before it, so that a
// window is always spanned when there is one).
func (m *rateMeter) add(t time.Time, n int64) float64 {
	m.samples = append(m.samples, rateSample{t, n})
	for len(m.samples) > 2 && t.Sub(m.samples[1].t) >= m.window {
		m.samples = m.samples[1:]
	}
	first := m.samples[0]
	return rate(n-first.n, t.Sub(first.t))
}

package main

// The testing flag `ustack up --impair SPEC`: every --if device wrapped in
// drivers/fault, impairing the frames it sends and those it receives
// alike, as `tc qdisc add dev X root netem loss 2%` would on the kernel's
// side of the link if the kernel in a test had netem (see tc-netem(8)).

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"ustack/drivers/fault"
	"ustack/netdev"
)

// impairSpec is a parsed --impair.
type impairSpec struct {
	im   fault.Impair // applied to each direction
	seed int64
}

// String implements flag.Value.
func (s *impairSpec) String() string {
	if s == nil || s.im.IsZero() {
		return ""
	}
	return fmt.Sprintf("%+v seed=%d", s.im, s.seed)
}

// Set implements flag.Value: KEY=VALUE pairs separated by commas.
func (s *impairSpec) Set(v string) error {
	out := impairSpec{seed: 1}
	for kv := range strings.SplitSeq(v, ",") {
		k, val, ok := strings.Cut(kv, "=")
		if !ok {
			return fmt.Errorf("%q: want KEY=VALUE (e.g. loss=0.02,seed=7)", kv)
		}
		var err error
		switch k {
		case "loss":
			out.im.Loss, err = parseProbability(val)
		case "duplicate", "dup":
			out.im.Duplicate, err = parseProbability(val)
		case "corrupt":
			out.im.Corrupt, err = parseProbability(val)
		case "reorder":
			out.im.Reorder, err = parseProbability(val)
		case "delay":
			out.im.Delay, err = parseImpairDuration(val)
		case "jitter":
			out.im.Jitter, err = parseImpairDuration(val)
		case "seed":
			out.seed, err = strconv.ParseInt(val, 10, 64)
		default:
			return fmt.Errorf("unknown impairment %q (have loss, duplicate, corrupt, reorder, delay, jitter, seed)", k)
		}
		if err != nil {
			return fmt.Errorf("%s=%s: %v", k, val, err)
		}
	}
	*s = out
	return nil
}

// parseProbability reads "0.02" or "2%".
func parseProbability(v string) (float64, error) {
	scale := 1.0
	if p, ok := strings.CutSuffix(v, "%"); ok {
		v, scale = p, 100
	}
	x, err := strconv.ParseFloat(v, 64)
	if err != nil || x/scale < 0 || x/scale > 1 {
		return 0, fmt.Errorf("want a probability, 0..1 or 0%%..100%%")
	}
	return x / scale, nil
}

func parseImpairDuration(v string) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("want a duration such as 10ms")
	}
	return d, nil
}

// active reports whether s impairs anything.
func (s *impairSpec) active() bool { return !s.im.IsZero() }

// wrap puts drv behind the impairment, in both directions. The result
// owns drv.
func (s *impairSpec) wrap(drv netdev.Driver) *fault.Driver {
	return fault.Wrap(drv, fault.Config{Tx: s.im, Rx: s.im, Seed: s.seed})
}

// impaired are the devices --impair wrapped, to report on at exit.
type impaired struct {
	names []string
	drvs  []*fault.Driver
}

func (im *impaired) add(name string, d *fault.Driver) {
	im.names = append(im.names, name)
	im.drvs = append(im.drvs, d)
}

// report prints what each wrapper did, one line per device.
func (im *impaired) report(w io.Writer) {
	for i, d := range im.drvs {
		s := d.Stats()
		fmt.Fprintf(w, "ustack: impaired %s: tx %d frames, %d lost, %d duplicated, %d corrupted; rx %d frames, %d lost, %d duplicated, %d corrupted\n",
			im.names[i], s.Tx.Frames, s.Tx.Lost, s.Tx.Duplicated, s.Tx.Corrupted, s.Rx.Frames, s.Rx.Lost, s.Rx.Duplicated, s.Rx.Corrupted)
	}
}

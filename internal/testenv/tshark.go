package testenv

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
)

// TsharkReport is what tshark makes of a capture file.
type TsharkReport struct {
	tshark, path string
	t            testing.TB
	// Frames is how many frames tshark read.
	Frames int
	// Protocols counts, per protocol name (frame.protocols: "eth",
	// "arp", "ip", "tcp", "http"...), the frames that contain it.
	Protocols map[string]int
	// Problems lists what tshark found wrong, one line per frame and
	// finding: malformed frames, bad checksums, expert infos of error
	// severity.
	Problems []string
	// Warnings lists expert infos of warning severity (a retransmission,
	// a zero window): not errors in the file, but worth a look.
	Warnings []string
}

// TsharkChecks are the options that turn on tshark's checksum
// validation, off by default for IP, TCP and UDP.
var TsharkChecks = []string{
	"-o", "ip.check_checksum:TRUE",
	"-o", "tcp.check_checksum:TRUE",
	"-o", "udp.check_checksum:TRUE",
}

// Tshark has tshark (at path tshark: from RequireCommand) read the
// capture file at path with checksum validation on, and reports what it
// found.
func Tshark(t testing.TB, tshark, path string) *TsharkReport {
	t.Helper()
	r := &TsharkReport{tshark: tshark, path: path, t: t, Protocols: map[string]int{}}
	args := append([]string{"-r", path, "-n"}, TsharkChecks...)
	args = append(args, "-T", "fields", "-E", "separator=/t", "-E", "occurrence=a", "-E", "aggregator=;",
		"-e", "frame.number", "-e", "frame.protocols", "-e", "_ws.malformed",
		"-e", "ip.checksum.status", "-e", "tcp.checksum.status", "-e", "udp.checksum.status", "-e", "icmp.checksum.status",
		"-e", "_ws.expert.severity", "-e", "_ws.expert.message")
	out := Run(t, tshark, args...)
	for line := range strings.SplitSeq(strings.TrimRight(out, "\n"), "\n") {
		if line == "" || strings.HasPrefix(line, "Running as user") {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) < 9 {
			r.Problems = append(r.Problems, "unexpected tshark line: "+line)
			continue
		}
		r.Frames++
		frame := f[0]
		for p := range strings.SplitSeq(f[1], ":") {
			r.Protocols[p]++
		}
		if f[2] != "" {
			r.Problems = append(r.Problems, fmt.Sprintf("frame %s (%s): malformed", frame, f[1]))
		}
		// Every checksum tshark looked at must be good (1), not bad (0)
		// or unverified (2): the options asked it to verify them all.
		for i, proto := range []string{"ip", "tcp", "udp", "icmp"} {
			for st := range strings.SplitSeq(f[3+i], ";") {
				if st != "" && st != "1" {
					r.Problems = append(r.Problems, fmt.Sprintf("frame %s (%s): %s checksum status %s, want 1 (good)", frame, f[1], proto, st))
				}
			}
		}
		sev, msg := strings.Split(f[7], ";"), strings.Split(f[8], ";")
		for i, s := range sev {
			n, err := strconv.ParseUint(s, 0, 32)
			if err != nil || i >= len(msg) {
				continue
			}
			switch {
			case n >= expertError:
				r.Problems = append(r.Problems, fmt.Sprintf("frame %s (%s): expert error: %s", frame, f[1], msg[i]))
			case n >= expertWarn:
				r.Warnings = append(r.Warnings, fmt.Sprintf("frame %s (%s): %s", frame, f[1], msg[i]))
			}
		}
	}
	return r
}

// Expert info severities, as tshark prints _ws.expert.severity
// (PI_WARN, PI_ERROR in epan/proto.h).
const (
	expertWarn  = 0x00600000
	expertError = 0x00800000
)

// Count returns how many frames of the file match the display filter.
func (r *TsharkReport) Count(filter string) int {
	r.t.Helper()
	args := append([]string{"-r", r.path, "-n", "-Y", filter, "-T", "fields", "-e", "frame.number"}, TsharkChecks...)
	n := 0
	for line := range strings.SplitSeq(Run(r.t, r.tshark, args...), "\n") {
		if line != "" && !strings.HasPrefix(line, "Running as user") {
			n++
		}
	}
	return n
}

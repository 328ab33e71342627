package trace

import (
	"net/netip"
	"strconv"
	"time"
)

// String formats e on one line as `ustack trace` prints it, in the manner
// of DTrace's tcp and ip providers: the probe, then its arguments.
//
//	tcp:::send 10.0.0.1:80 -> 10.0.0.2:5000 seq 1 ack 1 flags PSH|ACK win 502 len 100
//	ip:::drop eth0 10.0.0.9 -> 10.0.0.1 len 84 reason: bad header checksum
func (e *Event) String() string {
	var b []byte
	if e.Probe != nil {
		b = append(b, e.Probe.FullName()...)
	}
	return string(e.AppendArgs(b))
}

// AppendArgs appends e's arguments, as String prints them after the
// probe's name, to b (with a leading space when there are any).
func (e *Event) AppendArgs(b []byte) []byte {
	if e.Dev != "" {
		b = append(b, ' ')
		b = append(b, e.Dev...)
	}
	switch {
	case e.SrcPort != 0 || e.DstPort != 0:
		b = append(b, ' ')
		b = appendEndpoint(b, e.Src, e.SrcPort)
		b = append(b, " -> "...)
		b = appendEndpoint(b, e.Dst, e.DstPort)
	case e.Src.IsValid() && e.Dst.IsValid():
		b = append(b, ' ')
		b = e.Src.AppendTo(b)
		b = append(b, " -> "...)
		b = e.Dst.AppendTo(b)
	case e.Dst.IsValid():
		b = append(b, ' ')
		b = e.Dst.AppendTo(b)
	}
	typed := true // the typed arguments say what Detail would
	switch {
	case e.Segment:
		b = append(b, " seq "...)
		b = strconv.AppendUint(b, uint64(e.Seq), 10)
		b = append(b, " ack "...)
		b = strconv.AppendUint(b, uint64(e.Ack), 10)
		b = append(b, " flags "...)
		b = append(b, e.Flags.String()...)
		b = append(b, " win "...)
		b = strconv.AppendUint(b, uint64(e.Window>>e.WScale), 10)
		b = append(b, " len "...)
		b = strconv.AppendInt(b, int64(e.Len), 10)
	case e.NewState != "":
		b = append(b, ' ')
		b = append(b, e.OldState...)
		b = append(b, " -> "...)
		b = append(b, e.NewState...)
	case e.CWnd != 0:
		b = append(b, " cwnd "...)
		b = strconv.AppendInt(b, int64(e.CWnd), 10)
		b = append(b, " ssthresh "...)
		b = strconv.AppendInt(b, int64(e.Ssthresh), 10)
		b = append(b, " srtt "...)
		b = appendDuration(b, e.SRTT)
		b = append(b, " rttvar "...)
		b = appendDuration(b, e.RTTVar)
	default:
		typed = false
		if e.Len > 0 {
			b = append(b, " len "...)
			b = strconv.AppendInt(b, int64(e.Len), 10)
		}
	}
	if e.Reason != "" {
		b = append(b, " reason: "...)
		b = append(b, e.Reason...)
	}
	if e.Detail != "" && !typed {
		b = append(b, " ("...)
		b = append(b, e.Detail...)
		b = append(b, ')')
	}
	return b
}

// appendEndpoint appends an address and port, "*" standing for an
// address not chosen yet (a listener on every address).
func appendEndpoint(b []byte, a netip.Addr, port uint16) []byte {
	if !a.IsValid() || a.IsUnspecified() {
		b = append(b, '*')
	} else {
		b = a.AppendTo(b)
	}
	b = append(b, ':')
	return strconv.AppendUint(b, uint64(port), 10)
}

// appendDuration appends d rounded to the microsecond, as ss -i shows
// RTTs ("1.234ms").
func appendDuration(b []byte, d time.Duration) []byte {
	return append(b, d.Round(time.Microsecond).String()...)
}

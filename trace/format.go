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
	return e.AppendValues(b)
}

// AppendValues appends what AppendArgs prints after the device and the
// endpoints: the typed arguments of a segment, a state change, a cwnd
// update or an IP datagram, then the reason, then the Detail phrase for
// an event whose typed arguments do not already say it all.
func (e *Event) AppendValues(b []byte) []byte {
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
	case e.FragOffset != 0 || e.MoreFrags:
		// ip:::fragment, as tcpdump shows a fragment: id, offset, length.
		b = append(b, " id "...)
		b = strconv.AppendUint(b, uint64(e.IPID), 10)
		b = append(b, " offset "...)
		b = strconv.AppendInt(b, int64(e.FragOffset), 10)
		b = append(b, " len "...)
		b = strconv.AppendInt(b, int64(e.Len), 10)
		if e.MoreFrags {
			b = append(b, " mf"...)
		}
	case e.Frags != 0:
		// ip:::reassembled
		b = append(b, " id "...)
		b = strconv.AppendUint(b, uint64(e.IPID), 10)
		b = append(b, " len "...)
		b = strconv.AppendInt(b, int64(e.Len), 10)
		b = append(b, " from "...)
		b = strconv.AppendInt(b, int64(e.Frags), 10)
		b = append(b, " fragments"...)
	case e.EtherType != 0:
		// ether:::receive and send, as tcpdump -e shows a frame; a
		// received frame's Detail says to whom it was addressed.
		b = append(b, ' ')
		b = append(b, e.SrcMAC.String()...)
		b = append(b, " > "...)
		b = append(b, e.DstMAC.String()...)
		b = append(b, " type "...)
		b = append(b, e.EtherType.String()...)
		b = append(b, " len "...)
		b = strconv.AppendInt(b, int64(e.Len), 10)
		typed = false
	case e.TTL != 0:
		// ip:::receive, send and forward: the header's fields.
		b = append(b, " ttl "...)
		b = strconv.AppendUint(b, uint64(e.TTL), 10)
		b = append(b, " id "...)
		b = strconv.AppendUint(b, uint64(e.IPID), 10)
		b = append(b, " len "...)
		b = strconv.AppendInt(b, int64(e.Len), 10)
		typed = e.Detail == "" // forward's Detail says the route
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

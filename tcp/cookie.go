package tcp

// SYN cookies: when the SYN queue is full, the SYN-ACK's ISS encodes
// what the connection needs (the MSS), keyed and time-stamped, and no
// state is kept; a valid returning ACK creates the connection.
//
// Read before editing: RFC 4987 §3.6 (SYN cookies), RFC 9293 §3.10.7.2,
// RFC 7323 §2.2, §3.2 and §5.4 (window scale and timestamps on the SYN,
// TSval a clock the peer only ever sees increase), RFC 2018 §2
// (SACK-permitted). Linux: syncookies.c — __cookie_v4_init_sequence,
// __cookie_v4_check, msstab, cookie_init_timestamp,
// cookie_timestamp_decode.
//
// The options a cookie cannot hold. When the SYN carried timestamps, the
// SYN-ACK offers them, with window scaling and SACK-permitted if the SYN
// offered those, and, as Linux does, its TSval carries the peer's window
// scale and SACK-permitted in its low cookieTSBits bits; the ACK echoes
// that TSval as TSecr, and the connection is rebuilt with them. Our own
// window scale is not stored: it is recomputed (rcvShift) from the
// listener's buffer, as it was for the SYN-ACK. Without timestamps a
// cookie connection carries no window scaling, SACK or timestamps: the
// SYN-ACK offers only the MSS.

import (
	"crypto/sha256"
	"encoding/binary"
	"net/netip"
	"time"

	"ustack/ipv4"
	"ustack/pkt"
	"ustack/seqnum"
	"ustack/wire"
)

// cookieMSS is Linux's msstab: the MSS values a cookie can carry.
var cookieMSS = [...]uint16{536, 1300, 1440, 1460}

const cookiePeriod = 64 * time.Second // the counter's tick; a cookie lives two ticks

func (p *Proto) cookieCount(now time.Time) uint32 {
	return uint32(now.Sub(p.epoch) / cookiePeriod)
}

// cookieHash is the keyed hash of the 4-tuple, the peer's ISN and count.
func (p *Proto) cookieHash(local, remote netip.AddrPort, peerISN seqnum.Value, count uint32) uint32 {
	var in [32 + 6 + 12 + 8]byte
	copy(in[:32], p.isn.key[:])
	copy(in[32:], "cookie")
	l, r := local.Addr().As4(), remote.Addr().As4()
	copy(in[38:], l[:])
	copy(in[42:], r[:])
	binary.BigEndian.PutUint16(in[46:], local.Port())
	binary.BigEndian.PutUint16(in[48:], remote.Port())
	binary.BigEndian.PutUint32(in[50:], uint32(peerISN))
	binary.BigEndian.PutUint32(in[54:], count)
	h := sha256.Sum256(in[:])
	return binary.BigEndian.Uint32(h[:])
}

// makeCookie returns the ISS for a SYN: count in the top 8 bits, then 24
// bits of hash plus the MSS index.
func (p *Proto) makeCookie(local, remote netip.AddrPort, peerISN seqnum.Value, mss int) (seqnum.Value, int) {
	idx := 0
	for i, m := range cookieMSS {
		if int(m) <= mss {
			idx = i
		}
	}
	count := p.cookieCount(p.clk.Now())
	v := (p.cookieHash(local, remote, peerISN, count) + uint32(idx)) & 0xffffff
	return seqnum.Value(count<<24 | v), int(cookieMSS[idx])
}

// The TSval low bits of a cookie SYN-ACK (cf. TS_OPT_WSCALE_MASK,
// TS_OPT_SACK, TSBITS): the peer's window scale, or cookieTSNoWS for
// none, and SACK-permitted.
const (
	cookieTSBits   = 6
	cookieTSWSMask = 0x0f
	cookieTSNoWS   = 0x0f
	cookieTSSACK   = 0x10
)

// cookieTSval returns the TSval of a cookie SYN-ACK answering options o:
// the timestamp clock with its low bits replaced by the options, one
// period back if that would be ahead of the clock, so that TSvals stay
// monotonic for the peer's PAWS (cf. cookie_init_timestamp).
func (p *Proto) cookieTSval(o *wire.TCPOptions) uint32 {
	opts := uint32(cookieTSNoWS)
	if o.HasWindowScale && !p.cfg.NoWindowScale {
		opts = uint32(min(o.WindowScale, wire.TCPMaxWindowScale))
	}
	if o.SACKPermitted && !p.cfg.NoSACK {
		opts |= cookieTSSACK
	}
	now := p.tsNow()
	ts := now&^(1<<cookieTSBits-1) | opts
	if int32(ts-now) > 0 {
		ts -= 1 << cookieTSBits
	}
	return ts
}

// cookieFresh reports whether cookie carries the count of this period or
// the last, the two checkCookie accepts: what an ACK for a cookie
// SYN-ACK sent lately returns, if not necessarily a valid one.
func (p *Proto) cookieFresh(cookie seqnum.Value) bool {
	cur := p.cookieCount(p.clk.Now())
	return (cur-uint32(cookie)>>24)&0xff <= 1
}

// checkCookie validates the cookie an ACK returns (SEG.ACK-1) against
// the peer's ISN — SEG.SEQ-1 for the ACK of the handshake or the first
// data segment (cf. __cookie_v4_check), which is all a listener knows —
// and returns the options it stands for: the MSS, and, when the ACK
// echoes a timestamp, timestamps with the window scale and SACK-permitted
// the echoed TSval carries (cf. cookie_timestamp_decode).
func (p *Proto) checkCookie(s *segment, peerISN seqnum.Value) (wire.TCPOptions, bool) {
	var o wire.TCPOptions
	cookie := uint32(s.ack - 1)
	if !p.cookieFresh(s.ack - 1) {
		return o, false // expired (or from the future)
	}
	cur := p.cookieCount(p.clk.Now())
	count := cur - (cur-cookie>>24)&0xff
	idx := (cookie - p.cookieHash(s.dst, s.src, peerISN, count)) & 0xffffff
	if idx >= uint32(len(cookieMSS)) {
		return o, false
	}
	o.MSS, o.HasMSS = cookieMSS[idx], true
	if !s.opts.HasTimestamps || p.cfg.NoTimestamps {
		return o, true // no timestamps: no other options (as the SYN-ACK offered)
	}
	o.HasTimestamps, o.TSVal, o.TSEcr = true, s.opts.TSVal, s.opts.TSEcr
	bits := s.opts.TSEcr & (1<<cookieTSBits - 1)
	o.SACKPermitted = bits&cookieTSSACK != 0
	if ws := bits & cookieTSWSMask; ws != cookieTSNoWS {
		o.WindowScale, o.HasWindowScale = uint8(ws), true // ≤ 14: cookieTSval capped it
	}
	return o, true
}

// sendCookieSynAck answers s statelessly with a SYN-ACK whose ISS is a
// cookie, offering the MSS and, when s carried timestamps, timestamps,
// window scaling and SACK-permitted as s offered them, held in the TSval.
func (l *Endpoint) sendCookieSynAck(s *segment) {
	p := l.p
	rt, err := p.ip.RouteOutput(s.src.Addr(), s.dst.Addr())
	if err != nil {
		return
	}
	peerMSS := defaultMSS
	if s.opts.HasMSS {
		peerMSS = int(s.opts.MSS)
	}
	ourMSS := rt.MTU - ipTCPHdr
	iss, _ := p.makeCookie(s.dst, s.src, s.seq, min(peerMSS, ourMSS))
	o := wire.TCPOptions{MSS: uint16(ourMSS), HasMSS: true}
	if s.opts.HasTimestamps && !p.cfg.NoTimestamps {
		o.HasTimestamps, o.TSVal, o.TSEcr = true, p.cookieTSval(&s.opts), s.opts.TSVal
		if s.opts.HasWindowScale && !p.cfg.NoWindowScale {
			o.WindowScale, o.HasWindowScale = l.rcvShift(), true
		}
		o.SACKPermitted = s.opts.SACKPermitted && !p.cfg.NoSACK
	}
	hl := wire.TCPMinHeaderLen + o.Len()
	b := p.pool.Get(pkt.MaxHeaderLen, hl)
	h := b.View(0)
	binary.BigEndian.PutUint16(h[0:], s.dst.Port())
	binary.BigEndian.PutUint16(h[2:], s.src.Port())
	binary.BigEndian.PutUint32(h[4:], uint32(iss))
	binary.BigEndian.PutUint32(h[8:], uint32(s.seq+1))
	binary.BigEndian.PutUint16(h[12:], uint16(hl/4)<<12|uint16(wire.TCPFlagSYN|wire.TCPFlagACK))
	binary.BigEndian.PutUint16(h[14:], uint16(min(l.rcvBuf, 0xffff)))
	binary.BigEndian.PutUint32(h[16:], 0)
	o.Encode(h[wire.TCPMinHeaderLen:hl])
	binary.BigEndian.PutUint16(h[16:], wire.TCPChecksum(wire.PseudoHeaderSum(rt.Src, s.src.Addr(), ProtoNumber, uint16(hl)), h))
	b.SetTransportHeader()
	p.stats.SyncookiesSent.Inc()
	p.stats.OutSegs.Inc()
	b.ID = p.tracer.NextPacketID()
	if pr := p.probes.send; pr.Enabled() {
		e := segEvent(b.ID, netip.AddrPortFrom(rt.Src, s.dst.Port()), s.src, iss, s.seq+1, wire.TCPFlagSYN|wire.TCPFlagACK, uint16(min(l.rcvBuf, 0xffff)), 0, 0)
		e.Reason = "syncookie"
		pr.Fire(&e)
	}
	p.ip.Output(b, &rt, ProtoNumber, ipv4.SendOptions{DF: true})
}

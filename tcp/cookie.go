package tcp

// SYN cookies: when the SYN queue is full, the SYN-ACK's ISS encodes
// what the connection needs (the MSS), keyed and time-stamped, and no
// state is kept; a valid returning ACK creates the connection.
//
// Read before editing: RFC 4987 §3.6 (SYN cookies), RFC 9293 §3.10.7.2.
// Linux: syncookies.c — __cookie_v4_init_sequence, __cookie_v4_check,
// msstab. Like Linux without timestamps, a cookie connection carries no
// window scaling, SACK or timestamps: the SYN-ACK offers none of them.

import (
	"crypto/sha256"
	"encoding/binary"
	"net/netip"
	"time"

	"ustack/ipv4"
	"ustack/pkt"
	"ustack/seqnum"
	"ustack/trace"
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

// checkCookie validates the cookie an ACK returns (SEG.ACK-1) and
// returns the MSS it carries.
func (p *Proto) checkCookie(s *segment) (int, bool) {
	cookie := uint32(s.ack - 1)
	peerISN := s.seq - 1
	cur := p.cookieCount(p.clk.Now())
	count := cookie >> 24
	if (cur-count)&0xff > 1 {
		return 0, false // expired (or from the future)
	}
	count = cur - (cur-count)&0xff
	idx := (cookie - p.cookieHash(s.dst, s.src, peerISN, count)) & 0xffffff
	if idx >= uint32(len(cookieMSS)) {
		return 0, false
	}
	return int(cookieMSS[idx]), true
}

// sendCookieSynAck answers s statelessly with a SYN-ACK whose ISS is a
// cookie, offering only the MSS option.
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
	const hl = wire.TCPMinHeaderLen + 4
	b := p.pool.Get(pkt.MaxHeaderLen, hl)
	h := b.View(0)
	binary.BigEndian.PutUint16(h[0:], s.dst.Port())
	binary.BigEndian.PutUint16(h[2:], s.src.Port())
	binary.BigEndian.PutUint32(h[4:], uint32(iss))
	binary.BigEndian.PutUint32(h[8:], uint32(s.seq+1))
	binary.BigEndian.PutUint16(h[12:], hl/4<<12|uint16(wire.TCPFlagSYN|wire.TCPFlagACK))
	binary.BigEndian.PutUint16(h[14:], uint16(min(l.rcvBuf, 0xffff)))
	binary.BigEndian.PutUint32(h[16:], 0)
	h[20], h[21] = byte(wire.TCPOptMSS), 4
	binary.BigEndian.PutUint16(h[22:], uint16(ourMSS))
	binary.BigEndian.PutUint16(h[16:], wire.TCPChecksum(wire.PseudoHeaderSum(rt.Src, s.src.Addr(), ProtoNumber, hl), h))
	b.SetTransportHeader()
	p.stats.SyncookiesSent.Inc()
	p.stats.OutSegs.Inc()
	if pr := p.probes.send; pr.Enabled() {
		pr.Fire(&trace.Event{Proto: ProtoNumber, Src: rt.Src, Dst: s.src.Addr(), SrcPort: s.dst.Port(), DstPort: s.src.Port(),
			Detail: segDetail(iss, s.seq+1, wire.TCPFlagSYN|wire.TCPFlagACK, 0, 0) + " (syncookie)"})
	}
	p.ip.Output(b, &rt, ProtoNumber, ipv4.SendOptions{DF: true})
}

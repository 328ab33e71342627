package tcp

// Initial sequence numbers.
//
// Read before editing: RFC 6528 (ISN = M + F(localip, localport,
// remoteip, remoteport, secretkey), M a 4-microsecond timer), RFC 9293
// §3.4.1. Linux: secure_tcp_seq (siphash of the 4-tuple plus a clock).

import (
	"crypto/sha256"
	"encoding/binary"
	"net/netip"
	"time"

	"ustack/seqnum"
)

// isnGen makes RFC 6528 ISNs. Safe for concurrent use (immutable).
type isnGen struct {
	key   [32]byte
	epoch time.Time
}

func newISNGen(seed uint64, epoch time.Time) isnGen {
	var in [16]byte
	binary.BigEndian.PutUint64(in[:], seed)
	copy(in[8:], "tcp-isn!")
	return isnGen{key: sha256.Sum256(in[:]), epoch: epoch}
}

// isn returns M + F(4-tuple, key), M counting 4µs ticks of now.
func (g *isnGen) isn(local, remote netip.AddrPort, now time.Time) seqnum.Value {
	var in [32 + 12]byte
	copy(in[:32], g.key[:])
	l, r := local.Addr().As4(), remote.Addr().As4()
	copy(in[32:], l[:])
	copy(in[36:], r[:])
	binary.BigEndian.PutUint16(in[40:], local.Port())
	binary.BigEndian.PutUint16(in[42:], remote.Port())
	h := sha256.Sum256(in[:])
	f := binary.BigEndian.Uint32(h[:])
	m := uint32(now.Sub(g.epoch) / (4 * time.Microsecond))
	return seqnum.Value(f + m)
}

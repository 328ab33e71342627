package trace

// The filter language of `ustack trace`: a predicate over an event's
// typed arguments, compiled once and evaluated per event without
// allocating.
//
//	port == 80 && flags & SYN
//	src == 10.0.0.0/24 && len > 1000
//	state == ESTABLISHED || reason == "*checksum*"
//	probe == "tcp:::retransmit" && srtt > 10ms
//
// Values are numbers (80, 0x50), durations (1.5ms), IPv4 addresses and
// prefixes (10.0.0.1, 10.0.0.0/8: == on a prefix means "within"),
// strings ("tcp:::send"; == on a string with * or ? matches it as a
// glob), TCP flag names (SYN ACK FIN RST PSH URG ECE CWR AE) and, where
// a field takes them, value names (proto == tcp, type == echo, state ==
// TIME_WAIT: a bare word compared with a string field is a string).
//
// Operators, tightest first: ! (not); | (bit or); & (bit and); == != <
// <= > >=; &&; ||. So `flags & SYN|ACK` is flags & (SYN|ACK) and
// `flags & SYN == SYN` is (flags & SYN) == SYN. A number is true when it
// is not zero, so `flags & RST` is a condition.
//
// port and host stand for either end: `port == 80` holds when sport or
// dport is 80, `port != 80` when neither is (as tcpdump's `not port 80`).

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"ustack/wire"
)

// Filter is a compiled filter. The nil *Filter matches every event.
type Filter struct {
	root *node
}

// FilterError is a filter that does not parse or does not make sense:
// where (a byte offset into the filter, counted from 0) and what.
type FilterError struct {
	Filter string
	Pos    int
	Msg    string
}

func (e *FilterError) Error() string {
	return fmt.Sprintf("filter %q: column %d: %s", e.Filter, e.Pos+1, e.Msg)
}

// ErrFilter is what every FilterError matches with errors.Is.
var ErrFilter = errors.New("trace: bad filter")

// Is makes errors.Is(err, ErrFilter) hold.
func (e *FilterError) Is(target error) bool { return target == ErrFilter }

// ParseFilter compiles a filter. An empty (or all-blank) filter yields
// nil, which matches everything. Errors are *FilterError.
func ParseFilter(s string) (*Filter, error) {
	p := &parser{src: s}
	p.next()
	if p.tok.kind == tEOF {
		return nil, nil
	}
	n := p.or()
	if p.err == nil && p.tok.kind != tEOF {
		p.failAt(p.tok.pos, "unexpected %s after a complete condition", p.tok.describe())
	}
	if p.err == nil {
		p.checkBool(n)
	}
	if p.err != nil {
		return nil, p.err
	}
	return &Filter{root: n}, nil
}

// MustParseFilter is ParseFilter that panics on error, for constants.
func MustParseFilter(s string) *Filter {
	f, err := ParseFilter(s)
	if err != nil {
		panic(err)
	}
	return f
}

// Match reports whether e satisfies the filter. It does not allocate.
func (f *Filter) Match(e *Event) bool {
	if f == nil {
		return true
	}
	return f.root.truth(e)
}

// String returns the filter in canonical form: parsing it again gives
// the same filter, and the same string.
func (f *Filter) String() string {
	if f == nil {
		return ""
	}
	var b strings.Builder
	f.root.print(&b)
	return b.String()
}

// FilterFields returns the field names a filter can use (with aliases:
// win for window, pktid for pkt, id for ipid, newstate for state), sorted.
func FilterFields() []string {
	out := make([]string, 0, len(fields))
	for name := range fields {
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}

// ---- types and fields ----

type vtype uint8

const (
	vBool vtype = iota
	vNum
	vDur
	vAddr
	vPrefix
	vStr
)

var vtypeNames = [...]string{"a condition", "a number", "a duration", "an address", "a prefix", "a string"}

func (t vtype) String() string { return vtypeNames[t] }

// field is one of an event's arguments.
type field struct {
	name  string
	typ   vtype
	num   func(*Event) int64 // vNum, vDur
	addr  func(*Event) netip.Addr
	str   func(*Event) string
	other *field           // for port and host: the second end
	names map[string]int64 // value names this field takes ("tcp" for proto)
	doc   string
}

func numField(name, doc string, get func(*Event) int64) *field {
	return &field{name: name, typ: vNum, num: get, doc: doc}
}

var (
	fSport = numField("sport", "source port", func(e *Event) int64 { return int64(e.SrcPort) })
	fDport = numField("dport", "destination port", func(e *Event) int64 { return int64(e.DstPort) })
	fSrc   = &field{name: "src", typ: vAddr, addr: func(e *Event) netip.Addr { return e.Src }, doc: "source address"}
	fDst   = &field{name: "dst", typ: vAddr, addr: func(e *Event) netip.Addr { return e.Dst }, doc: "destination address"}
)

var fields = func() map[string]*field {
	m := map[string]*field{}
	add := func(f *field, aliases ...string) {
		m[f.name] = f
		for _, a := range aliases {
			m[a] = f
		}
	}
	str := func(name, doc string, get func(*Event) string) *field {
		return &field{name: name, typ: vStr, str: get, doc: doc}
	}
	add(str("probe", "provider:::name", func(e *Event) string {
		if e.Probe == nil {
			return ""
		}
		return e.Probe.FullName()
	}))
	add(str("provider", "the probe's provider (tcp, ip...)", func(e *Event) string {
		if e.Probe == nil {
			return ""
		}
		return e.Probe.Provider
	}))
	add(str("name", "the probe's name (send, drop...)", func(e *Event) string {
		if e.Probe == nil {
			return ""
		}
		return e.Probe.Name
	}))
	add(numField("pkt", "packet id", func(e *Event) int64 { return int64(e.PktID) }), "pktid", "packet")
	add(str("dev", "device", func(e *Event) string { return e.Dev }))
	add(numField("len", "length at the probe's layer", func(e *Event) int64 { return int64(e.Len) }))
	proto := numField("proto", "IP protocol", func(e *Event) int64 { return int64(e.Proto) })
	proto.names = map[string]int64{"icmp": 1, "tcp": 6, "udp": 17}
	add(proto)
	add(fSrc)
	add(fDst)
	add(&field{name: "host", typ: vAddr, addr: fSrc.addr, other: fDst, doc: "src or dst"})
	add(fSport)
	add(fDport)
	add(&field{name: "port", typ: vNum, num: fSport.num, other: fDport, doc: "sport or dport"})
	et := numField("ethertype", "EtherType", func(e *Event) int64 { return int64(e.EtherType) })
	et.names = map[string]int64{"ipv4": 0x0800, "arp": 0x0806, "ipv6": 0x86dd}
	add(et)
	add(numField("ttl", "IP time to live", func(e *Event) int64 { return int64(e.TTL) }))
	// "id" is the IP identification, as the lines print it (tcpdump's
	// "id 4242"); the packet id is "pkt".
	add(numField("ipid", "IP identification", func(e *Event) int64 { return int64(e.IPID) }), "id")
	add(numField("fragoff", "fragment offset in bytes", func(e *Event) int64 { return int64(e.FragOffset) }))
	add(numField("frags", "fragments reassembled", func(e *Event) int64 { return int64(e.Frags) }))
	typ := numField("type", "ICMP type", func(e *Event) int64 { return int64(e.ICMPType) })
	typ.names = map[string]int64{"echoreply": 0, "unreach": 3, "redirect": 5, "echo": 8, "timxceed": 11, "paramprob": 12}
	add(typ)
	add(numField("code", "ICMP code", func(e *Event) int64 { return int64(e.ICMPCode) }))
	add(numField("seq", "TCP sequence number", func(e *Event) int64 { return int64(e.Seq) }))
	add(numField("ack", "TCP acknowledgment number", func(e *Event) int64 { return int64(e.Ack) }))
	add(numField("flags", "TCP flags", func(e *Event) int64 { return int64(e.Flags) }))
	add(numField("window", "TCP window in bytes", func(e *Event) int64 { return int64(e.Window) }), "win")
	add(numField("wscale", "TCP window scale", func(e *Event) int64 { return int64(e.WScale) }))
	add(numField("cwnd", "congestion window in bytes", func(e *Event) int64 { return int64(e.CWnd) }))
	add(numField("ssthresh", "slow-start threshold in bytes", func(e *Event) int64 { return int64(e.Ssthresh) }))
	add(&field{name: "srtt", typ: vDur, num: func(e *Event) int64 { return int64(e.SRTT) }, doc: "smoothed RTT"})
	add(&field{name: "rttvar", typ: vDur, num: func(e *Event) int64 { return int64(e.RTTVar) }, doc: "RTT variation"})
	add(str("state", "TCP state entered", func(e *Event) string { return e.NewState }), "newstate")
	add(str("oldstate", "TCP state left", func(e *Event) string { return e.OldState }))
	add(str("reason", "why (a drop's reason)", func(e *Event) string { return e.Reason }))
	add(str("detail", "the human phrase", func(e *Event) string { return e.Detail }))
	return m
}()

// flagNames are the TCP flag constants.
var flagNames = map[string]int64{
	"FIN": int64(wire.TCPFlagFIN), "SYN": int64(wire.TCPFlagSYN), "RST": int64(wire.TCPFlagRST),
	"PSH": int64(wire.TCPFlagPSH), "ACK": int64(wire.TCPFlagACK), "URG": int64(wire.TCPFlagURG),
	"ECE": int64(wire.TCPFlagECE), "CWR": int64(wire.TCPFlagCWR), "AE": int64(wire.TCPFlagAE),
}

// ---- the tree ----

type nkind uint8

const (
	kOr nkind = iota
	kAnd
	kNot
	kCmp
	kBitOr
	kBitAnd
	kField
	kNum    // a number literal or a named constant (name set)
	kDur    // a duration literal
	kAddr   // an address literal
	kPrefix // a prefix literal
	kStr    // a string literal (glob when it has * or ?)
	kWord   // a bare word not yet resolved (becomes kStr or kNum, or fails)
)

type cmpOp uint8

const (
	opEq cmpOp = iota
	opNe
	opLt
	opLe
	opGt
	opGe
)

var cmpOpNames = [...]string{"==", "!=", "<", "<=", ">", ">="}

// mirror is the operator with its operands swapped (a < b is b > a).
func (o cmpOp) mirror() cmpOp {
	switch o {
	case opLt:
		return opGt
	case opLe:
		return opGe
	case opGt:
		return opLt
	case opGe:
		return opLe
	}
	return o
}

type node struct {
	kind   nkind
	typ    vtype
	op     cmpOp
	pos    int
	l, r   *node
	f      *field
	num    int64
	addr   netip.Addr
	prefix netip.Prefix
	str    string // string literal, or the name a constant was written as
	glob   bool
}

func (n *node) truth(e *Event) bool {
	switch n.kind {
	case kOr:
		return n.l.truth(e) || n.r.truth(e)
	case kAnd:
		return n.l.truth(e) && n.r.truth(e)
	case kNot:
		return !n.l.truth(e)
	case kCmp:
		return n.compare(e)
	}
	return n.value(e) != 0 // a number as a condition
}

func (n *node) value(e *Event) int64 {
	switch n.kind {
	case kField:
		return n.f.num(e)
	case kBitOr:
		return n.l.value(e) | n.r.value(e)
	case kBitAnd:
		return n.l.value(e) & n.r.value(e)
	}
	return n.num
}

func (n *node) address(e *Event) netip.Addr {
	if n.kind == kField {
		return n.f.addr(e)
	}
	return n.addr
}

func (n *node) text(e *Event) string {
	if n.kind == kField {
		return n.f.str(e)
	}
	return n.str
}

// compare evaluates a comparison. An either-end field (port, host) is
// always on the left (the parser puts it there).
func (n *node) compare(e *Event) bool {
	l, r := n.l, n.r
	either := l.kind == kField && l.f.other != nil
	switch l.typ {
	case vNum, vDur:
		rv := r.value(e)
		if either {
			a, b := l.f.num(e), l.f.other.num(e)
			if n.op == opNe {
				return a != rv && b != rv
			}
			return cmpInt(n.op, a, rv) || cmpInt(n.op, b, rv)
		}
		return cmpInt(n.op, l.value(e), rv)
	case vAddr:
		if either {
			a, b := l.f.addr(e), l.f.other.addr(e)
			if n.op == opNe {
				return !addrEq(r, e, a) && !addrEq(r, e, b)
			}
			return cmpAddr(n.op, r, e, a) || cmpAddr(n.op, r, e, b)
		}
		return cmpAddr(n.op, r, e, l.address(e))
	case vStr:
		eq := strEq(r, e, l.text(e))
		if n.op == opEq {
			return eq
		}
		return !eq
	case vBool:
		eq := l.truth(e) == r.truth(e)
		if n.op == opEq {
			return eq
		}
		return !eq
	}
	return false
}

func cmpInt(op cmpOp, a, b int64) bool {
	switch op {
	case opEq:
		return a == b
	case opNe:
		return a != b
	case opLt:
		return a < b
	case opLe:
		return a <= b
	case opGt:
		return a > b
	}
	return a >= b
}

func addrEq(r *node, e *Event, a netip.Addr) bool {
	if r.kind == kPrefix {
		return a.IsValid() && r.prefix.Contains(a)
	}
	return a == r.address(e)
}

func cmpAddr(op cmpOp, r *node, e *Event, a netip.Addr) bool {
	if r.kind == kPrefix {
		in := a.IsValid() && r.prefix.Contains(a)
		return in == (op == opEq)
	}
	return cmpInt(op, int64(a.Compare(r.address(e))), 0)
}

func strEq(r *node, e *Event, s string) bool {
	if r.glob {
		return globMatchString(r.str, s)
	}
	return s == r.text(e)
}

// globMatchString matches s against a pattern where * is any run of
// characters and ? any one character; nothing else is special. It does
// not allocate.
func globMatchString(pat, s string) bool {
	// The classic two-pointer algorithm with one backtrack point.
	px, sx := 0, 0
	starP, starS := -1, 0
	for sx < len(s) {
		if px < len(pat) {
			switch c := pat[px]; c {
			case '*':
				starP, starS = px, sx
				px++
				continue
			case '?':
				_, w := utf8.DecodeRuneInString(s[sx:])
				px++
				sx += w
				continue
			default:
				if c == s[sx] {
					px++
					sx++
					continue
				}
			}
		}
		if starP < 0 {
			return false
		}
		px = starP + 1
		starS++
		sx = starS
	}
	for px < len(pat) && pat[px] == '*' {
		px++
	}
	return px == len(pat)
}

// ---- printing ----

// prec is how tightly a node binds (higher is tighter).
func (n *node) prec() int {
	switch n.kind {
	case kOr:
		return 1
	case kAnd:
		return 2
	case kCmp:
		return 3
	case kBitAnd:
		return 4
	case kBitOr:
		return 5
	case kNot:
		return 6
	}
	return 7
}

func (n *node) print(b *strings.Builder) {
	child := func(c *node, min int) {
		if c.prec() < min {
			b.WriteByte('(')
			c.print(b)
			b.WriteByte(')')
			return
		}
		c.print(b)
	}
	binary := func(op string) {
		p := n.prec()
		child(n.l, p)
		b.WriteString(op)
		child(n.r, p+1) // left-associative: an equal right child needs parentheses
	}
	switch n.kind {
	case kOr:
		binary(" || ")
	case kAnd:
		binary(" && ")
	case kCmp:
		// Comparisons do not chain: both sides bind tighter.
		child(n.l, 4)
		b.WriteString(" " + cmpOpNames[n.op] + " ")
		child(n.r, 4)
	case kBitOr:
		binary("|")
	case kBitAnd:
		binary(" & ")
	case kNot:
		b.WriteByte('!')
		child(n.l, 6)
	case kField:
		b.WriteString(n.f.name)
	case kNum:
		if n.str != "" {
			b.WriteString(n.str)
		} else {
			b.WriteString(strconv.FormatInt(n.num, 10))
		}
	case kDur:
		b.WriteString(time.Duration(n.num).String())
	case kAddr:
		b.WriteString(n.addr.String())
	case kPrefix:
		b.WriteString(n.prefix.String())
	case kStr, kWord:
		b.WriteString(strconv.Quote(n.str))
	}
}

// ---- lexing ----

type tkind uint8

const (
	tEOF tkind = iota
	tIdent
	tValue // a number, duration, address or prefix
	tString
	tOp
	tLParen
	tRParen
	tBad
)

type token struct {
	kind tkind
	pos  int
	text string // the token as written; for tString, the unquoted value
}

func (t token) describe() string {
	switch t.kind {
	case tEOF:
		return "end of filter"
	case tString:
		return strconv.Quote(t.text)
	}
	return fmt.Sprintf("%q", t.text)
}

type parser struct {
	src string
	off int
	tok token
	err *FilterError
}

func (p *parser) failAt(pos int, format string, a ...any) {
	if p.err == nil {
		p.err = &FilterError{Filter: p.src, Pos: pos, Msg: fmt.Sprintf(format, a...)}
	}
}

func isIdentStart(c byte) bool {
	return c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

func isIdentChar(c byte) bool { return isIdentStart(c) || '0' <= c && c <= '9' }

// isValueRune reports whether r continues a value token (10.0.0.0/8,
// 0x50, 1.5ms, 3µs).
func isValueRune(r rune) bool {
	return r == '.' || r == '/' || r == '_' || r == 'µ' || r == 'μ' ||
		'0' <= r && r <= '9' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z'
}

// next reads the next token into p.tok.
func (p *parser) next() {
	s := p.src
	for p.off < len(s) && (s[p.off] == ' ' || s[p.off] == '\t' || s[p.off] == '\n' || s[p.off] == '\r') {
		p.off++
	}
	start := p.off
	if start >= len(s) {
		p.tok = token{kind: tEOF, pos: start}
		return
	}
	c := s[start]
	switch {
	case isIdentStart(c):
		for p.off < len(s) && isIdentChar(s[p.off]) {
			p.off++
		}
		p.tok = token{kind: tIdent, pos: start, text: s[start:p.off]}
		return
	case '0' <= c && c <= '9':
		for p.off < len(s) {
			r, w := utf8.DecodeRuneInString(s[p.off:])
			if !isValueRune(r) {
				break
			}
			p.off += w
		}
		p.tok = token{kind: tValue, pos: start, text: s[start:p.off]}
		return
	case c == '"':
		end := start + 1
		for end < len(s) && s[end] != '"' {
			if s[end] == '\\' {
				end++
			}
			end++
		}
		if end >= len(s) {
			p.off = len(s)
			p.tok = token{kind: tBad, pos: start, text: s[start:]}
			p.failAt(start, "unterminated string")
			return
		}
		p.off = end + 1
		v, err := strconv.Unquote(s[start:p.off])
		if err != nil {
			p.tok = token{kind: tBad, pos: start, text: s[start:p.off]}
			p.failAt(start, "malformed string %s", s[start:p.off])
			return
		}
		p.tok = token{kind: tString, pos: start, text: v}
		return
	case c == '(':
		p.off++
		p.tok = token{kind: tLParen, pos: start, text: "("}
		return
	case c == ')':
		p.off++
		p.tok = token{kind: tRParen, pos: start, text: ")"}
		return
	}
	for _, op := range [...]string{"==", "!=", "<=", ">=", "&&", "||", "<", ">", "!", "&", "|"} {
		if strings.HasPrefix(s[start:], op) {
			p.off += len(op)
			p.tok = token{kind: tOp, pos: start, text: op}
			return
		}
	}
	r, w := utf8.DecodeRuneInString(s[start:])
	p.off += w
	p.tok = token{kind: tBad, pos: start, text: string(r)}
	switch c {
	case '=':
		p.failAt(start, "use == to compare")
	case '\'':
		p.failAt(start, "strings take double quotes")
	default:
		p.failAt(start, "unexpected character %q", r)
	}
}

func (p *parser) isOp(op string) bool { return p.tok.kind == tOp && p.tok.text == op }

// ---- parsing (recursive descent, one function a precedence level) ----

func (p *parser) or() *node {
	n := p.and()
	for p.err == nil && p.isOp("||") {
		pos := p.tok.pos
		p.next()
		n = p.logic(kOr, pos, "||", n, p.and())
	}
	return n
}

func (p *parser) and() *node {
	n := p.comparison()
	for p.err == nil && p.isOp("&&") {
		pos := p.tok.pos
		p.next()
		n = p.logic(kAnd, pos, "&&", n, p.comparison())
	}
	return n
}

func (p *parser) logic(k nkind, pos int, op string, l, r *node) *node {
	if p.err != nil {
		return l
	}
	p.checkBool(l)
	p.checkBool(r)
	return &node{kind: k, typ: vBool, pos: pos, l: l, r: r}
}

var cmpOps = map[string]cmpOp{"==": opEq, "!=": opNe, "<": opLt, "<=": opLe, ">": opGt, ">=": opGe}

func (p *parser) comparison() *node {
	l := p.bitAnd()
	if p.err != nil || p.tok.kind != tOp {
		return l
	}
	op, ok := cmpOps[p.tok.text]
	if !ok {
		return l
	}
	pos := p.tok.pos
	p.next()
	r := p.bitAnd()
	if p.err != nil {
		return l
	}
	if p.tok.kind == tOp {
		if _, chained := cmpOps[p.tok.text]; chained {
			p.failAt(p.tok.pos, "comparisons do not chain: use && between them")
			return l
		}
	}
	return p.compare(pos, op, l, r)
}

func (p *parser) bitAnd() *node {
	n := p.bitOr()
	for p.err == nil && p.isOp("&") {
		pos := p.tok.pos
		p.next()
		n = p.bits(kBitAnd, pos, "&", n, p.bitOr())
	}
	return n
}

func (p *parser) bitOr() *node {
	n := p.unary()
	for p.err == nil && p.isOp("|") {
		pos := p.tok.pos
		p.next()
		n = p.bits(kBitOr, pos, "|", n, p.unary())
	}
	return n
}

func (p *parser) bits(k nkind, pos int, op string, l, r *node) *node {
	if p.err != nil {
		return l
	}
	for _, x := range [...]*node{l, r} {
		p.resolve(x, nil)
		if p.err == nil && x.typ != vNum {
			p.failAt(x.pos, "%s wants numbers on both sides, and %s is %v", op, describe(x), x.typ)
		}
		p.checkNotEither(x)
	}
	return &node{kind: k, typ: vNum, pos: pos, l: l, r: r}
}

func (p *parser) unary() *node {
	if p.isOp("!") {
		pos := p.tok.pos
		p.next()
		x := p.unary()
		if p.err != nil {
			return x
		}
		p.checkBool(x)
		return &node{kind: kNot, typ: vBool, pos: pos, l: x}
	}
	return p.primary()
}

func (p *parser) primary() *node {
	t := p.tok
	switch t.kind {
	case tLParen:
		p.next()
		n := p.or()
		if p.err != nil {
			return n
		}
		if p.tok.kind != tRParen {
			p.failAt(p.tok.pos, "expected ) to close the ( at column %d, found %s", t.pos+1, p.tok.describe())
			return n
		}
		p.next()
		return n
	case tIdent:
		p.next()
		if f := fields[t.text]; f != nil {
			return &node{kind: kField, typ: f.typ, pos: t.pos, f: f}
		}
		if v, ok := flagNames[t.text]; ok {
			return &node{kind: kNum, typ: vNum, pos: t.pos, num: v, str: t.text}
		}
		return &node{kind: kWord, typ: vStr, pos: t.pos, str: t.text}
	case tString:
		p.next()
		return &node{kind: kStr, typ: vStr, pos: t.pos, str: t.text, glob: strings.ContainsAny(t.text, "*?")}
	case tValue:
		p.next()
		return p.literal(t)
	case tEOF:
		p.failAt(t.pos, "expected a field or a value, found end of filter")
	case tBad:
		// already reported
	default:
		p.failAt(t.pos, "expected a field or a value, found %s", t.describe())
	}
	return &node{kind: kNum, typ: vNum, pos: t.pos}
}

// literal reads a value token: a number, a duration, an address or a
// prefix.
func (p *parser) literal(t token) *node {
	s := t.text
	if strings.Contains(s, "/") {
		pf, err := netip.ParsePrefix(s)
		if err != nil || !pf.Addr().Is4() {
			p.failAt(t.pos, "%q is not an IPv4 prefix (want e.g. 10.0.0.0/8)", s)
			return &node{kind: kNum, typ: vNum, pos: t.pos}
		}
		return &node{kind: kPrefix, typ: vPrefix, pos: t.pos, prefix: pf}
	}
	if strings.Count(s, ".") == 3 {
		a, err := netip.ParseAddr(s)
		if err != nil || !a.Is4() {
			p.failAt(t.pos, "%q is not an IPv4 address", s)
			return &node{kind: kNum, typ: vNum, pos: t.pos}
		}
		return &node{kind: kAddr, typ: vAddr, pos: t.pos, addr: a}
	}
	if v, err := strconv.ParseInt(s, 0, 64); err == nil {
		return &node{kind: kNum, typ: vNum, pos: t.pos, num: v}
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return &node{kind: kDur, typ: vDur, pos: t.pos, num: int64(d)}
	}
	p.failAt(t.pos, "%q is not a number, a duration (1.5ms), an address or a prefix", s)
	return &node{kind: kNum, typ: vNum, pos: t.pos}
}

// resolve gives a bare word its meaning: a value name of the field it is
// compared with (proto == tcp), a string when compared with a string,
// else an error.
func (p *parser) resolve(n *node, with *node) {
	if n.kind != kWord || p.err != nil {
		return
	}
	if with != nil && with.kind == kField {
		if v, ok := with.f.names[n.str]; ok {
			n.kind, n.typ, n.num = kNum, vNum, v
			return
		}
		if with.typ == vStr {
			n.kind = kStr
			return
		}
		if with.f.names != nil {
			p.failAt(n.pos, "%s takes a number or one of %s, not %q", with.f.name, nameList(with.f.names), n.str)
			return
		}
	}
	if _, ok := flagNames[strings.ToUpper(n.str)]; ok {
		p.failAt(n.pos, "unknown field %q (the TCP flag is written %s)", n.str, strings.ToUpper(n.str))
		return
	}
	p.failAt(n.pos, "unknown field %q (fields: %s)", n.str, strings.Join(FilterFields(), " "))
}

func nameList(m map[string]int64) string {
	var names []string
	for k := range m {
		names = append(names, k)
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

func describe(n *node) string {
	switch n.kind {
	case kField:
		return n.f.name
	case kOr, kAnd, kNot, kCmp:
		return "the condition"
	}
	var b strings.Builder
	n.print(&b)
	return b.String()
}

// checkNotEither rejects port and host anywhere but in a comparison.
func (p *parser) checkNotEither(n *node) {
	if p.err == nil && n.kind == kField && n.f.other != nil {
		p.failAt(n.pos, "%s stands for %s: compare it (%s == ...)", n.f.name, n.f.doc, n.f.name)
	}
}

// checkBool requires n to be a condition (or a number, true when not
// zero).
func (p *parser) checkBool(n *node) {
	p.resolve(n, nil)
	p.checkNotEither(n)
	if p.err != nil || n.typ == vBool || n.typ == vNum {
		return
	}
	hint := ""
	switch n.typ {
	case vAddr, vPrefix:
		hint = " (e.g. src == 10.0.0.1)"
	case vStr:
		hint = " (e.g. dev == \"eth0\")"
	case vDur:
		hint = " (e.g. srtt > 10ms)"
	}
	p.failAt(n.pos, "%s is %v, not a condition: compare it%s", describe(n), n.typ, hint)
}

// compare type-checks a comparison and builds its node.
func (p *parser) compare(pos int, op cmpOp, l, r *node) *node {
	// A field goes on the left (an either-end one first), a literal on
	// the right.
	if (r.kind == kField && (l.kind != kField || r.f.other != nil)) || l.kind == kPrefix {
		l, r, op = r, l, op.mirror()
	}
	if r.kind == kField && r.f.other != nil {
		p.failAt(r.pos, "compare %s with a value, not with %s", l.f.name, r.f.name)
		return l
	}
	p.resolve(l, r)
	p.resolve(r, l)
	if p.err != nil {
		return l
	}
	n := &node{kind: kCmp, typ: vBool, op: op, pos: pos, l: l, r: r}
	lt, rt := l.typ, r.typ
	switch {
	case lt == rt && lt != vPrefix:
	case lt == vDur && r.kind == kNum && r.num == 0 && r.str == "":
		r.kind, r.typ = kDur, vDur // 0 needs no unit
	case lt == vAddr && rt == vPrefix:
		if op != opEq && op != opNe {
			p.failAt(pos, "an address is within a prefix or not: use == or != with %v", r.prefix)
		}
	case lt == vDur && rt == vNum:
		p.failAt(r.pos, "%s is a duration: give the number a unit (e.g. 10ms)", describe(l))
	default:
		p.failAt(pos, "cannot compare %s (%v) with %s (%v)", describe(l), lt, describe(r), rt)
	}
	if p.err != nil {
		return n
	}
	switch lt {
	case vStr, vBool:
		if op != opEq && op != opNe {
			p.failAt(pos, "%v compares only with == and !=", lt)
		}
	}
	return n
}

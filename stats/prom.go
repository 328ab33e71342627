package stats

// The Prometheus text exposition format, version 0.0.4: what a monitoring
// system scrapes from /metrics.
//
// Read before editing: "Exposition formats" in the Prometheus
// documentation (the text format's grammar: # HELP and # TYPE lines,
// samples as name{label="value",...} value, every sample of a family
// together), and its naming practices (snake_case, a unit suffix, _total
// on counters).

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode"
)

// PromContentType is the HTTP Content-Type of the text exposition format.
const PromContentType = "text/plain; version=0.0.4; charset=utf-8"

// Label is one name="value" pair of a sample.
type Label struct{ Name, Value string }

// MetricType is a family's # TYPE.
type MetricType uint8

// The metric types ustack exposes.
const (
	TypeCounter MetricType = iota + 1
	TypeGauge
)

func (t MetricType) String() string {
	switch t {
	case TypeCounter:
		return "counter"
	case TypeGauge:
		return "gauge"
	}
	return "untyped"
}

// Exposition collects metrics and writes them in the Prometheus text
// exposition format: families in the order they were first added, each
// with its # HELP and # TYPE lines and all its samples together, as the
// format requires. Not safe for concurrent use; build one per scrape.
type Exposition struct {
	families []*family
	byName   map[string]*family
}

type family struct {
	name, help string
	typ        MetricType
	samples    []sample
}

type sample struct {
	labels []Label
	value  float64
}

// Add adds one sample to the family called name, making the family (with
// help and typ) if it is new. It panics if name or a label name is not
// valid in the format, or if the family exists with another type: those
// are errors in the program, not in its data.
func (e *Exposition) Add(name, help string, typ MetricType, value float64, labels ...Label) {
	if !validName(name, true) {
		panic(fmt.Sprintf("stats: invalid metric name %q", name))
	}
	for _, l := range labels {
		if !validName(l.Name, false) || strings.HasPrefix(l.Name, "__") {
			panic(fmt.Sprintf("stats: invalid label name %q on %s", l.Name, name))
		}
	}
	if e.byName == nil {
		e.byName = make(map[string]*family)
	}
	f := e.byName[name]
	if f == nil {
		f = &family{name: name, help: help, typ: typ}
		e.byName[name] = f
		e.families = append(e.families, f)
	} else if f.typ != typ {
		panic(fmt.Sprintf("stats: metric %s added as %v and as %v", name, f.typ, typ))
	}
	f.samples = append(f.samples, sample{labels: labels, value: value})
}

// Counter adds a counter sample; name should end in _total.
func (e *Exposition) Counter(name, help string, value uint64, labels ...Label) {
	e.Add(name, help, TypeCounter, float64(value), labels...)
}

// Gauge adds a gauge sample.
func (e *Exposition) Gauge(name, help string, value float64, labels ...Label) {
	e.Add(name, help, TypeGauge, value, labels...)
}

// MIB adds every Counter and Gauge of the struct mib points to (as Walk
// finds them), named prefix_snake_case: a Counter is a counter with
// _total appended (TCP's RetransSegs under prefix ustack_tcp is
// ustack_tcp_retrans_segs_total), a Gauge a gauge (ustack_tcp_curr_estab).
// group names the MIB in the help text ("TCP"). Each sample carries
// labels.
func (e *Exposition) MIB(prefix, group string, mib any, labels ...Label) {
	walk(mib, func(field string, v int64, gauge bool) {
		name := prefix + "_" + SnakeCase(field)
		if gauge {
			e.Gauge(name, fmt.Sprintf("%s gauge %s.", group, field), float64(v), labels...)
			return
		}
		e.Counter(name+"_total", fmt.Sprintf("%s counter %s.", group, field), uint64(v), labels...)
	})
}

// WriteTo writes the exposition: implements io.WriterTo.
func (e *Exposition) WriteTo(w io.Writer) (int64, error) {
	cw := &countWriter{w: w}
	bw := bufio.NewWriter(cw)
	var line []byte
	for _, f := range e.families {
		line = line[:0]
		if f.help != "" {
			line = append(line, "# HELP "...)
			line = append(line, f.name...)
			line = append(line, ' ')
			line = appendEscaped(line, f.help, false)
			line = append(line, '\n')
		}
		line = append(line, "# TYPE "...)
		line = append(line, f.name...)
		line = append(line, ' ')
		line = append(line, f.typ.String()...)
		line = append(line, '\n')
		bw.Write(line)
		for _, s := range f.samples {
			line = append(line[:0], f.name...)
			if len(s.labels) > 0 {
				line = append(line, '{')
				for i, l := range s.labels {
					if i > 0 {
						line = append(line, ',')
					}
					line = append(line, l.Name...)
					line = append(line, '=', '"')
					line = appendEscaped(line, l.Value, true)
					line = append(line, '"')
				}
				line = append(line, '}')
			}
			line = append(line, ' ')
			line = appendValue(line, s.value)
			line = append(line, '\n')
			bw.Write(line)
		}
	}
	err := bw.Flush()
	return cw.n, err
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// appendEscaped escapes as the format wants: backslash and newline in
// help text, and double quotes too in label values.
func appendEscaped(b []byte, s string, quote bool) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\':
			b = append(b, `\\`...)
		case c == '\n':
			b = append(b, `\n`...)
		case c == '"' && quote:
			b = append(b, `\"`...)
		default:
			b = append(b, c)
		}
	}
	return b
}

// appendValue writes a sample value: integers exactly, the rest in Go's
// shortest form, and Prometheus's spellings of the infinities and NaN.
func appendValue(b []byte, v float64) []byte {
	switch {
	case math.IsNaN(v):
		return append(b, "NaN"...)
	case math.IsInf(v, 1):
		return append(b, "+Inf"...)
	case math.IsInf(v, -1):
		return append(b, "-Inf"...)
	case v == math.Trunc(v) && math.Abs(v) < 1<<63:
		return strconv.AppendInt(b, int64(v), 10)
	}
	return strconv.AppendFloat(b, v, 'g', -1, 64)
}

// validName reports whether s is a metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)
// or, with colon false, a label name (no colons).
func validName(s string, colon bool) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			(i > 0 && c >= '0' && c <= '9') || (colon && c == ':')
		if !ok {
			return false
		}
	}
	return true
}

// SnakeCase turns a MIB counter name into a metric name's words:
// RetransSegs is retrans_segs, InCsumErrors in_csum_errors, OFOQueue
// ofo_queue, and an acronym's plural stays whole (SACKsSent is
// sacks_sent, ChallengeACKs challenge_acks).
func SnakeCase(s string) string {
	r := []rune(s)
	var b strings.Builder
	for i := 0; i < len(r); i++ {
		c := r[i]
		if unicode.IsUpper(c) && i > 0 {
			prev := r[i-1]
			nextLower := i+1 < len(r) && unicode.IsLower(r[i+1])
			// An acronym's plural: "ACKs" followed by a new word or the end.
			plural := nextLower && r[i+1] == 's' && (i+2 == len(r) || unicode.IsUpper(r[i+2])) &&
				unicode.IsUpper(prev)
			switch {
			case unicode.IsLower(prev) || unicode.IsDigit(prev):
				b.WriteByte('_') // "retransSegs": a new word
			case nextLower && !plural:
				b.WriteByte('_') // "OFOQueue": the last capital starts the word
			}
		}
		b.WriteRune(unicode.ToLower(c))
	}
	return b.String()
}

// Package promcheck parses the Prometheus text exposition format
// (version 0.0.4) strictly, for tests: a line that the format does not
// allow, a sample before its family's # TYPE, a family split in two, or a
// series given twice is an error.
package promcheck

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Sample is one sample line.
type Sample struct {
	Name   string
	Labels map[string]string
	Value  float64
}

// Family is one metric family: its # HELP, # TYPE and samples.
type Family struct {
	Name, Help, Type string
	Samples          []Sample
}

// Exposition is what Parse read.
type Exposition struct {
	Families []*Family
	byName   map[string]*Family
	series   map[string]float64
}

// Family returns the family called name, or nil.
func (e *Exposition) Family(name string) *Family { return e.byName[name] }

// Value returns the value of the series name{labels}, labels given as
// name, value pairs, and whether there is one.
func (e *Exposition) Value(name string, labels ...string) (float64, bool) {
	m := map[string]string{}
	for i := 0; i+1 < len(labels); i += 2 {
		m[labels[i]] = labels[i+1]
	}
	v, ok := e.series[seriesKey(name, m)]
	return v, ok
}

func seriesKey(name string, labels map[string]string) string {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	b.WriteString(name)
	for _, k := range keys {
		fmt.Fprintf(&b, ",%s=%q", k, labels[k])
	}
	return b.String()
}

// Parse reads an exposition and checks it against the format.
func Parse(r io.Reader) (*Exposition, error) {
	e := &Exposition{byName: map[string]*Family{}, series: map[string]float64{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 1<<20)
	var cur *Family // the family whose lines come now
	done := map[string]bool{}
	family := func(name string) (*Family, error) {
		if cur != nil && cur.Name == name {
			return cur, nil
		}
		if done[name] || e.byName[name] != nil {
			return nil, fmt.Errorf("family %s split: its lines are not together", name)
		}
		if cur != nil {
			done[cur.Name] = true
		}
		cur = &Family{Name: name}
		e.byName[name] = cur
		e.Families = append(e.Families, cur)
		return cur, nil
	}
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		fail := func(format string, a ...any) (*Exposition, error) {
			return nil, fmt.Errorf("line %d %q: %s", n, line, fmt.Sprintf(format, a...))
		}
		switch {
		case strings.TrimSpace(line) == "":
			continue
		case strings.HasPrefix(line, "# HELP "), strings.HasPrefix(line, "# TYPE "):
			kind := line[2:6]
			name, text, _ := strings.Cut(line[7:], " ")
			if !validName(name, true) {
				return fail("invalid metric name %q", name)
			}
			f, err := family(name)
			if err != nil {
				return fail("%v", err)
			}
			if kind == "HELP" {
				if f.Help != "" {
					return fail("second HELP")
				}
				if strings.Contains(strings.ReplaceAll(strings.ReplaceAll(text, `\\`, ""), `\n`, ""), `\`) {
					return fail("bad escape in HELP")
				}
				f.Help = text
				continue
			}
			if f.Type != "" || len(f.Samples) > 0 {
				return fail("TYPE after the family's samples, or twice")
			}
			switch text {
			case "counter", "gauge", "histogram", "summary", "untyped":
			default:
				return fail("unknown type %q", text)
			}
			f.Type = text
		case strings.HasPrefix(line, "#"):
			continue // a comment
		default:
			s, err := parseSample(line)
			if err != nil {
				return fail("%v", err)
			}
			f, err := family(s.Name)
			if err != nil {
				return fail("%v", err)
			}
			if f.Type == "" {
				return fail("sample before its family's TYPE")
			}
			k := seriesKey(s.Name, s.Labels)
			if _, dup := e.series[k]; dup {
				return fail("series given twice")
			}
			e.series[k] = s.Value
			f.Samples = append(f.Samples, s)
		}
	}
	return e, sc.Err()
}

// parseSample reads name{l="v",...} value [timestamp].
func parseSample(line string) (Sample, error) {
	s := Sample{Labels: map[string]string{}}
	i := 0
	for i < len(line) && line[i] != '{' && line[i] != ' ' {
		i++
	}
	s.Name = line[:i]
	if !validName(s.Name, true) {
		return s, fmt.Errorf("invalid metric name %q", s.Name)
	}
	rest := line[i:]
	if strings.HasPrefix(rest, "{") {
		rest = rest[1:]
		for {
			if strings.HasPrefix(rest, "}") {
				rest = rest[1:]
				break
			}
			name, after, ok := strings.Cut(rest, "=")
			if !ok || !validName(name, false) {
				return s, fmt.Errorf("bad label name in %q", rest)
			}
			if !strings.HasPrefix(after, `"`) {
				return s, fmt.Errorf("label %s: value not quoted", name)
			}
			var v strings.Builder
			j := 1
			for ; j < len(after) && after[j] != '"'; j++ {
				if after[j] == '\\' {
					j++
					if j == len(after) {
						break
					}
					switch after[j] {
					case '\\', '"':
						v.WriteByte(after[j])
					case 'n':
						v.WriteByte('\n')
					default:
						return s, fmt.Errorf("label %s: bad escape", name)
					}
					continue
				}
				v.WriteByte(after[j])
			}
			if j >= len(after) {
				return s, fmt.Errorf("label %s: unterminated value", name)
			}
			if _, dup := s.Labels[name]; dup {
				return s, fmt.Errorf("label %s twice", name)
			}
			s.Labels[name] = v.String()
			rest = after[j+1:]
			if strings.HasPrefix(rest, ",") {
				rest = rest[1:]
			} else if !strings.HasPrefix(rest, "}") {
				return s, fmt.Errorf("want , or } after label %s", name)
			}
		}
	}
	if !strings.HasPrefix(rest, " ") {
		return s, fmt.Errorf("want a space before the value")
	}
	fields := strings.Split(rest[1:], " ")
	if len(fields) < 1 || len(fields) > 2 {
		return s, fmt.Errorf("want a value and at most a timestamp")
	}
	switch fields[0] {
	case "+Inf":
		s.Value = math.Inf(1)
	case "-Inf":
		s.Value = math.Inf(-1)
	case "NaN":
		s.Value = math.NaN()
	default:
		v, err := strconv.ParseFloat(fields[0], 64)
		if err != nil || strings.ContainsAny(fields[0], "_xXpP") {
			return s, fmt.Errorf("bad value %q", fields[0])
		}
		s.Value = v
	}
	if len(fields) == 2 {
		if _, err := strconv.ParseInt(fields[1], 10, 64); err != nil {
			return s, fmt.Errorf("bad timestamp %q", fields[1])
		}
	}
	return s, nil
}

func validName(s string, colon bool) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (i > 0 && c >= '0' && c <= '9') || (colon && c == ':')) {
			return false
		}
	}
	return true
}

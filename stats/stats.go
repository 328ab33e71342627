// Package stats holds the stack's counters, named as the SNMP MIBs name
// them (RFC 4293 for IP and ICMP, RFC 4113 for UDP, RFC 4022 for TCP) and,
// where the MIBs are silent, as Linux's extended counters name them, so that
// `ustack netstat -s` maps one to one onto `netstat -s`.
//
// Counters are plain atomic values, ready at zero. Every early return that
// drops a packet increments one of them first.
package stats

import (
	"reflect"
	"sync/atomic"
)

// Counter is a monotonically increasing count, safe for concurrent use.
type Counter struct{ v atomic.Uint64 }

// Inc adds one.
func (c *Counter) Inc() { c.v.Add(1) }

// Add adds n.
func (c *Counter) Add(n uint64) { c.v.Add(n) }

// Load returns the current value.
func (c *Counter) Load() uint64 { return c.v.Load() }

// Gauge is a value that goes up and down (queue lengths, cache sizes).
type Gauge struct{ v atomic.Int64 }

// Add adds n (which may be negative).
func (g *Gauge) Add(n int64) { g.v.Add(n) }

// Set sets the value.
func (g *Gauge) Set(n int64) { g.v.Store(n) }

// Load returns the current value.
func (g *Gauge) Load() int64 { return g.v.Load() }

var (
	counterType = reflect.TypeFor[Counter]()
	gaugeType   = reflect.TypeFor[Gauge]()
)

// Walk calls fn for every Counter and Gauge field of the struct that mib
// points to, in declaration order, with the field's name. It reads only;
// it is meant for display (netstat -s, metrics), not the packet path.
func Walk(mib any, fn func(name string, value int64)) {
	walk(mib, func(name string, value int64, _ bool) { fn(name, value) })
}

// walk is Walk telling gauges (true) from counters.
func walk(mib any, fn func(name string, value int64, gauge bool)) {
	v := reflect.ValueOf(mib)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return
	}
	v = v.Elem()
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		switch f.Type {
		case counterType:
			fn(f.Name, int64(v.Field(i).Addr().Interface().(*Counter).Load()), false)
		case gaugeType:
			fn(f.Name, v.Field(i).Addr().Interface().(*Gauge).Load(), true)
		}
	}
}

// Snapshot returns the counters of mib as a name → value map.
func Snapshot(mib any) map[string]int64 {
	m := make(map[string]int64)
	Walk(mib, func(name string, value int64) { m[name] = value })
	return m
}

//go:build ustack_noprobes

package trace

// compiled is false in a build with the ustack_noprobes tag: Enabled is a
// constant false, so the compiler removes every probe site's body, as if
// the stack had been written without probes. It exists to measure what
// disabled probes cost (see BenchmarkBulkTCP in package netsim), not as a
// configuration: the stack is otherwise configured at run time.
const compiled = false

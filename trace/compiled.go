//go:build !ustack_noprobes

package trace

// compiled is true in the normal build: probes report to their listeners.
// Being a constant, it costs nothing: Enabled stays one atomic load.
const compiled = true

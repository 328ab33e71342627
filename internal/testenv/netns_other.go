//go:build !linux

package testenv

import "testing"

// InNetns needs Linux: elsewhere it skips the test (or fails it under
// USTACK_REQUIRE_PRIVILEGED=1).
func InNetns(t testing.TB, ns string, fn func()) {
	t.Helper()
	skipOrFail(t, "network namespaces need Linux")
}

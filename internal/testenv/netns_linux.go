//go:build linux

package testenv

import (
	"fmt"
	"os"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"
)

// InNetns calls fn on an OS thread that has entered namespace ns, and
// returns when fn does. Whatever fn opens there (a /dev/net/tun
// interface, a socket) belongs to ns and stays there. Goroutines fn
// starts do not run in ns. The thread is never handed back to the
// runtime: it is discarded when fn returns. fn must not call t.Fatal or
// t.FailNow (it is not the test's goroutine); a panic in fn is re-raised
// in the caller.
func InNetns(t testing.TB, ns string, fn func()) {
	t.Helper()
	f, err := os.Open("/run/netns/" + ns)
	if err != nil {
		t.Fatalf("testenv: InNetns: %v", err)
	}
	defer f.Close()
	result := make(chan any, 1)
	go func() {
		// No UnlockOSThread: the thread's namespace is changed for
		// good, so the runtime must destroy it when this goroutine
		// exits rather than reuse it.
		runtime.LockOSThread()
		defer func() { result <- recover() }()
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			panic(fmt.Sprintf("testenv: InNetns: setns %s: %v", ns, err))
		}
		fn()
	}()
	if p := <-result; p != nil {
		panic(p)
	}
}

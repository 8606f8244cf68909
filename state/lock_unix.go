//go:build unix

package state

import (
	"errors"
	"syscall"
)

// processAlive reports whether pid exists on this host. EPERM means it
// exists but belongs to another user: alive.
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || !errors.Is(err, syscall.ESRCH)
}

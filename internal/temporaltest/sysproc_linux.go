package temporaltest

import "syscall"

// sysProcAttr kills the server with the test binary, even when the binary
// dies without running cleanups (a -timeout panic, a SIGKILL), so no
// gateway outlives its test.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

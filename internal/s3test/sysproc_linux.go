package s3test

import "syscall"

// sysProcAttr kills the gateway with the test binary, even when the binary
// dies without running cleanups (a -timeout panic, a SIGKILL), so no
// gateway outlives its test.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

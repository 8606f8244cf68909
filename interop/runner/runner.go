package runner

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// Result is one measured run of a subprocess.
type Result struct {
	Wall     time.Duration
	MaxRSS   int64 // bytes: the child's peak resident set size (see Run)
	Polled   bool  // MaxRSS came from polling VmHWM, not from rusage
	User     time.Duration
	Sys      time.Duration
	ExitCode int
	Stdout   []byte
	Stderr   []byte
}

// CPU is the child's user plus system time.
func (r Result) CPU() time.Duration { return r.User + r.Sys }

// pollEvery is how often Run samples the child's VmHWM.
const pollEvery = 5 * time.Millisecond

// Run starts name with args, env and working directory dir, waits for it
// and measures it. Stdout and stderr are captured. A non-zero exit is not
// an error here: it is reported in ExitCode, with the output, for the
// caller to judge; an error means the program could not be run or was
// killed by ctx.
//
// Peak RSS: wait4's ru_maxrss is exact when it is above the floor this
// process imposes (see the package comment). When it is not, the child's
// own peak was lower than the floor, and MaxRSS is the last VmHWM sampled
// from /proc/PID/status while the child ran (every 5ms; VmHWM is the
// high-water mark of the child's own address space, so only growth in its
// last few milliseconds can be missed), with Polled set.
func Run(ctx context.Context, name string, args []string, env []string, dir string) (Result, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = env
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	floor := ParentPeakRSS()
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return Result{}, fmt.Errorf("run %s: %w", name, err)
	}
	var polled atomic.Int64
	done := make(chan struct{})
	pollDone := make(chan struct{})
	go func() {
		defer close(pollDone)
		path := fmt.Sprintf("/proc/%d/status", cmd.Process.Pid)
		t := time.NewTicker(pollEvery)
		defer t.Stop()
		for {
			if v := vmHWM(path); v > polled.Load() {
				polled.Store(v)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	err := cmd.Wait()
	res := Result{Wall: time.Since(start), Stdout: stdout.Bytes(), Stderr: stderr.Bytes()}
	close(done)
	<-pollDone
	res.ExitCode = cmd.ProcessState.ExitCode()
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		res.MaxRSS = maxRSSBytes(ru.Maxrss)
		res.User = time.Duration(ru.Utime.Nano())
		res.Sys = time.Duration(ru.Stime.Nano())
	}
	// Within 2% of the floor, ru_maxrss may be the floor itself.
	if p := polled.Load(); p > 0 && res.MaxRSS <= floor+floor/50 {
		res.MaxRSS, res.Polled = p, true
	}
	if ctx.Err() != nil {
		return res, fmt.Errorf("run %s: %w", name, ctx.Err())
	}
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		return res, fmt.Errorf("run %s: %w", name, err)
	}
	if res.ExitCode < 0 {
		return res, fmt.Errorf("run %s: killed: %v", name, cmd.ProcessState)
	}
	return res, nil
}

// ParentPeakRSS is this process's own peak RSS in bytes (VmHWM), the floor
// under every child's ru_maxrss (see the package comment); 0 if unknown.
func ParentPeakRSS() int64 { return vmHWM("/proc/self/status") }

// vmHWM reads the VmHWM line of a /proc status file, in bytes; 0 if the
// file or the line is missing (the process has exited).
func vmHWM(path string) int64 {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}

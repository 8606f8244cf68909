package runner

import (
	"context"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"
)

// The test binary re-executes itself as the measured child: with
// RUNNER_TEST_ALLOC=N it touches N MiB, holds them briefly and exits with
// RUNNER_TEST_EXIT.
func TestMain(m *testing.M) {
	if v := os.Getenv("RUNNER_TEST_ALLOC"); v != "" {
		n, _ := strconv.Atoi(v)
		buf := make([]byte, n<<20)
		for i := 0; i < len(buf); i += 4096 {
			buf[i] = 1
		}
		busy := time.Now().Add(50 * time.Millisecond)
		for time.Now().Before(busy) {
			buf[0]++
		}
		code, _ := strconv.Atoi(os.Getenv("RUNNER_TEST_EXIT"))
		os.Stdout.WriteString("allocated\n")
		runtime.KeepAlive(buf)
		os.Exit(code)
	}
	os.Exit(m.Run())
}

func child(t *testing.T, mib, exit int) Result {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "RUNNER_TEST_ALLOC="+strconv.Itoa(mib), "RUNNER_TEST_EXIT="+strconv.Itoa(exit))
	r, err := Run(context.Background(), self, []string{"-test.run=^$"}, env, "")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestPeakRSSFollowsTheChild(t *testing.T) {
	floor := ParentPeakRSS()
	if floor <= 0 {
		t.Fatal("cannot read this process's VmHWM")
	}
	small := child(t, 1, 0)
	big := child(t, 300, 0)
	if big.MaxRSS < 300<<20 {
		t.Fatalf("child touching 300 MiB reports %d MiB peak", big.MaxRSS>>20)
	}
	if small.MaxRSS >= 150<<20 {
		t.Fatalf("child touching 1 MiB reports %d MiB peak (parent peak %d MiB)", small.MaxRSS>>20, floor>>20)
	}
	if string(big.Stdout) != "allocated\n" || big.ExitCode != 0 {
		t.Fatalf("stdout %q, exit %d", big.Stdout, big.ExitCode)
	}
	if big.Wall < 50*time.Millisecond || big.CPU() <= 0 {
		t.Fatalf("wall %v cpu %v: the child ran at least 50ms", big.Wall, big.CPU())
	}
}

func TestExitCodeIsReported(t *testing.T) {
	if r := child(t, 1, 3); r.ExitCode != 3 {
		t.Fatalf("exit code %d, want 3", r.ExitCode)
	}
}

func TestMissingProgram(t *testing.T) {
	if _, err := Run(context.Background(), "/nonexistent/prog", nil, nil, ""); err == nil {
		t.Fatal("want an error")
	}
}

var ballast []byte

// A parent bigger than its child must not inflate the child's figure (the
// CLONE_VM trap in the package comment): Run falls back to the child's own
// sampled high-water mark.
func TestBigParentSmallChild(t *testing.T) {
	ballast = make([]byte, 300<<20)
	for i := 0; i < len(ballast); i += 4096 {
		ballast[i] = 1
	}
	defer func() { ballast = nil }()
	if p := ParentPeakRSS(); p < 300<<20 {
		t.Fatalf("parent peak %d MiB after touching 300 MiB", p>>20)
	}
	r := child(t, 20, 0)
	if !r.Polled || r.MaxRSS >= 150<<20 || r.MaxRSS < 20<<20 {
		t.Fatalf("child touching 20 MiB under a 300 MiB parent: MaxRSS %d MiB (polled %v)", r.MaxRSS>>20, r.Polled)
	}
}

package txn

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Test hooks for the crash tests, read from the environment once:
//
//	SLUICE_TEST_KILL_AT=after-complete:2   SIGKILL itself the 2nd time the point is reached
//	SLUICE_TEST_PAUSE_AT=after-lock        sleep there (SLUICE_TEST_PAUSE_FOR, default 2s),
//	                                       after printing "sluice-test: paused at after-lock"
//
// KILL stops a run exactly between two steps of the protocol, with no
// deferred cleanup; PAUSE holds a run at a known point so a test can signal
// it or start a competing run. Unset, a point costs one comparison.
const (
	KillEnv     = "SLUICE_TEST_KILL_AT"
	PauseEnv    = "SLUICE_TEST_PAUSE_AT"
	PauseForEnv = "SLUICE_TEST_PAUSE_FOR"
)

type hook struct {
	point string
	nth   int
	hits  int
}

func parseHook(v string) hook {
	p, n, ok := strings.Cut(v, ":")
	h := hook{point: p, nth: 1}
	if ok {
		if i, err := strconv.Atoi(n); err == nil && i > 0 {
			h.nth = i
		}
	}
	return h
}

// hit counts a visit to name and reports whether this is the chosen one.
func (h *hook) hit(name string) bool {
	if h.point == "" || h.point != name {
		return false
	}
	h.hits++
	return h.hits == h.nth
}

var hooks struct {
	once        sync.Once
	mu          sync.Mutex
	kill, pause hook
	pauseFor    time.Duration
}

// KillPoint marks a place where a crash test may kill or pause the process.
func KillPoint(name string) {
	hooks.once.Do(func() {
		hooks.kill = parseHook(os.Getenv(KillEnv))
		hooks.pause = parseHook(os.Getenv(PauseEnv))
		hooks.pauseFor = 2 * time.Second
		if d, err := time.ParseDuration(os.Getenv(PauseForEnv)); err == nil {
			hooks.pauseFor = d
		}
	})
	if hooks.kill.point == "" && hooks.pause.point == "" {
		return
	}
	hooks.mu.Lock()
	kill, pause := hooks.kill.hit(name), hooks.pause.hit(name)
	hooks.mu.Unlock()
	if pause {
		fmt.Fprintf(os.Stderr, "sluice-test: paused at %s\n", name)
		time.Sleep(hooks.pauseFor)
	}
	if kill {
		p, _ := os.FindProcess(os.Getpid())
		_ = p.Kill() // SIGKILL on Unix: nothing after this line runs
		select {}
	}
}

package crashtest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sluicedata/sluice/objstore"
	"github.com/sluicedata/sluice/state"
	"github.com/sluicedata/sluice/txn"
)

// killPoints are the injected points of docs/commit-protocol.md, in the
// order a run reaches them.
var killPoints = []string{
	"after-plan",       // listing and planning done, no lock yet
	"after-lock",       // lock taken, nothing journaled
	"after-writing",    // journal WRITING, no output yet
	"task-done:1",      // a task's outputs written as pending uploads
	"after-run",        // every task done, nothing committed
	"after-segment",    // bookmark segment written, unreferenced
	"after-committing", // journal COMMITTING, nothing visible yet
	"after-complete:1", // one output published
	"after-complete:2", // two outputs published
	"after-completes",  // every output published, no manifest
	"after-manifest",   // manifest written, HEAD not swapped
	"after-swap",       // HEAD swapped, journal not DONE
	"after-done",       // journal DONE, lock not released
}

func smallLake(t testing.TB, o lakeOptions) *lake {
	if o.partitions == 0 {
		o.partitions, o.files, o.rows = 3, 6, 4
	}
	if o.bounded == 0 {
		o.bounded = 10
	}
	return newLake(t, o)
}

func TestKillAtEveryPoint(t *testing.T) {
	for _, point := range killPoints {
		t.Run(point, func(t *testing.T) {
			l := smallLake(t, lakeOptions{})
			r := l.apply(txn.KillEnv + "=" + point)
			if r.code != 137 {
				t.Fatalf("apply with %s=%s: want SIGKILL (137), got %s", txn.KillEnv, point, r)
			}
			l.drain(t)
			l.verify(t)
		})
	}
}

// TestKillDuringRecovery kills the roll-forward of a crashed commit, at
// each of its own steps, before a clean run finishes it.
func TestKillDuringRecovery(t *testing.T) {
	for _, point := range []string{"after-complete:1", "after-manifest", "after-swap", "after-done"} {
		t.Run(point, func(t *testing.T) {
			l := smallLake(t, lakeOptions{})
			if r := l.apply(txn.KillEnv + "=after-committing"); r.code != 137 {
				t.Fatalf("first apply: %s", r)
			}
			if r := l.apply(txn.KillEnv + "=" + point); r.code != 137 {
				t.Fatalf("recovering apply killed at %s: %s", point, r)
			}
			l.drain(t)
			l.verify(t)
		})
	}
}

// TestKillOverwritePartitions kills a run that replaces a partition between
// its deletions: a late file must not leave the partition with its rows
// twice or without the old ones.
func TestKillOverwritePartitions(t *testing.T) {
	for _, point := range []string{"after-committing", "after-completes", "after-delete:1", "after-manifest"} {
		t.Run(point, func(t *testing.T) {
			l := smallLake(t, lakeOptions{mode: "overwrite_partitions", bounded: -1})
			l.drain(t)
			l.addFile("dt=2026-01-02", "late.json", 3)
			if r := l.apply(txn.KillEnv + "=" + point); r.code != 137 {
				t.Fatalf("apply: %s", r)
			}
			l.drain(t)
			l.verify(t)
		})
	}
}

// TestKillCleanSource kills runs with clean_source around the commit and
// between the moves: the next applies finish them, every row is written
// exactly once, and every processed input ends in the archive (or is
// deleted) exactly once — none lost, none left behind.
func TestKillCleanSource(t *testing.T) {
	for _, c := range []struct{ clean, point string }{
		{"archive", "after-swap"}, {"archive", "after-archive:1"}, {"archive", "after-clean:1"},
		{"archive", "after-clean:3"}, {"archive", "after-done"}, {"delete", "after-clean:2"},
	} {
		t.Run(c.clean+"/"+c.point, func(t *testing.T) {
			l := smallLake(t, lakeOptions{cleanSource: c.clean})
			if r := l.apply(txn.KillEnv + "=" + c.point); r.code != 137 {
				t.Fatalf("apply: %s", r)
			}
			l.drain(t)
			l.verify(t)
			l.verifyCleaned(t, c.clean == "archive")
		})
	}
}

// trials is the number of random-time kills (CRASHTEST_TRIALS overrides).
func trials(t *testing.T, def int) int {
	if v, err := strconv.Atoi(os.Getenv("CRASHTEST_TRIALS")); err == nil && v > 0 {
		return v
	}
	if testing.Short() {
		return def / 5
	}
	return def
}

// TestRandomKills kills apply after a random delay spread over a whole
// run's duration (so listing, writing and committing are all hit), in a
// third of the trials kills the recovering run as well, then re-runs to
// completion and checks the outcome.
func TestRandomKills(t *testing.T) {
	randomKills(t, trials(t, 50), func(t *testing.T) *lake { return smallLake(t, lakeOptions{}) })
}

func randomKills(t *testing.T, n int, mk func(t *testing.T) *lake) {
	// Calibrate: how long does one apply of this lake take here?
	cal := mk(t)
	start := time.Now()
	if r := cal.apply(); r.code != 0 {
		t.Fatalf("calibration: %s", r)
	}
	span := time.Since(start)
	for i := 0; i < 2; i++ {
		c := mk(t)
		start := time.Now()
		c.apply()
		span = min(span, time.Since(start))
	}
	span = span * 6 / 5
	seed := uint64(time.Now().UnixNano())
	if v, err := strconv.ParseUint(os.Getenv("CRASHTEST_SEED"), 10, 64); err == nil {
		seed = v // replay a failure's delays (as far as timing allows)
	}
	t.Logf("%d trials, kills within %s, seed %d (CRASHTEST_SEED replays it)", n, span, seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	killed := 0
	for i := 0; killed < n && i < 3*n; i++ {
		delay := time.Duration(rng.Int64N(int64(span)))
		again := rng.IntN(3) == 0
		again2 := time.Duration(rng.Int64N(int64(span)))
		t.Run(fmt.Sprintf("trial%02d", i), func(t *testing.T) {
			l := mk(t)
			if killAfter(t, l, delay) {
				killed++
			}
			if again {
				killAfter(t, l, again2)
			}
			l.drain(t)
			l.verify(t)
		})
	}
	if killed < n {
		t.Errorf("only %d trials killed a running apply, want %d", killed, n)
	}
}

// killAfter starts apply and SIGKILLs it after delay; it reports whether
// the process was still running then.
func killAfter(t *testing.T, l *lake, delay time.Duration) bool {
	t.Helper()
	cmd, _, errb := l.command(nil, "apply", "-auto-approve")
	must(t, cmd.Start())
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
		return false
	case <-time.After(delay):
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	err := <-done
	if err == nil {
		return false
	}
	if ee, ok := err.(interface{ ExitCode() int }); ok && ee.ExitCode() != -1 && ee.ExitCode() != 0 {
		t.Logf("apply failed before the kill: %v\n%s", err, errb.String())
	}
	return true
}

// TestSignalAbortsCleanly sends SIGTERM while a task runs: apply exits 130,
// nothing is visible, the lock is released and the journal says ABORTED;
// the next apply does the work.
func TestSignalAbortsCleanly(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			l := smallLake(t, lakeOptions{})
			cmd, out, errb := l.command([]string{txn.PauseEnv + "=task-done", txn.PauseForEnv + "=3s"}, "apply", "-auto-approve")
			must(t, cmd.Start())
			waitFor(t, errb, "paused at task-done", 20*time.Second)
			must(t, cmd.Process.Signal(sig))
			err := cmd.Wait()
			code := 0
			if ee, ok := err.(interface{ ExitCode() int }); ok {
				code = ee.ExitCode()
			}
			if code != 130 {
				t.Fatalf("exit %d, want 130\nstdout:\n%s\nstderr:\n%s", code, out, errb)
			}
			ctx := context.Background()
			for _, k := range listKeys(t, l.sink) {
				t.Errorf("visible after an interrupted run: %s", k)
			}
			ups, err := l.sink.Store.ListUploads(ctx, l.sink.Prefix)
			must(t, err)
			if len(ups) > 0 {
				t.Errorf("pending uploads after an interrupted run: %v", ups)
			}
			st := state.New(l.stateAt.Store, l.stateAt.Prefix, "events", "raw")
			if li, _, err := st.ReadLock(ctx); err == nil {
				t.Errorf("lock not released: %s", li)
			}
			js, err := st.ListJournals(ctx)
			must(t, err)
			if len(js) != 1 {
				t.Fatalf("journals: %v", js)
			}
			j, err := st.ReadJournal(ctx, js[0].RunID)
			must(t, err)
			if j.Phase != state.PhaseAborted {
				t.Errorf("journal phase %s, want ABORTED", j.Phase)
			}
			if h, _, _ := st.Head(ctx); h.Version != 0 {
				t.Errorf("state moved to version %d", h.Version)
			}
			l.drain(t)
			l.verify(t)
		})
	}
}

// TestConcurrentApplies: while one apply holds the lock, a second exits 6
// and names the holder; two started at once never both process a file.
func TestConcurrentApplies(t *testing.T) {
	t.Run("held", func(t *testing.T) {
		l := smallLake(t, lakeOptions{})
		a, aout, aerr := l.command([]string{txn.PauseEnv + "=after-lock", txn.PauseForEnv + "=8s"}, "apply", "-auto-approve")
		must(t, a.Start())
		waitFor(t, aerr, "paused at after-lock", 20*time.Second)
		r := l.apply()
		if r.code != 6 {
			t.Errorf("second apply: want exit 6, got %s", r)
		}
		if !strings.Contains(r.stderr, "locked by another run") || !strings.Contains(r.stderr, "pid "+strconv.Itoa(a.Process.Pid)) {
			t.Errorf("second apply does not name the holder:\n%s", r.stderr)
		}
		if err := a.Wait(); err != nil {
			t.Fatalf("first apply: %v\n%s\n%s", err, aout, aerr)
		}
		l.drain(t)
		l.verify(t)
	})
	t.Run("together", func(t *testing.T) {
		for i := 0; i < 3; i++ {
			l := smallLake(t, lakeOptions{})
			a, _, aerr := l.command(nil, "apply", "-auto-approve")
			b, _, berr := l.command(nil, "apply", "-auto-approve")
			must(t, a.Start())
			must(t, b.Start())
			codes := []int{exitCode(a.Wait()), exitCode(b.Wait())}
			for j, c := range codes {
				if c != 0 && c != 6 {
					t.Fatalf("apply %d exited %d\n%s\n%s", j, c, aerr, berr)
				}
			}
			if codes[0] == 6 && codes[1] == 6 {
				t.Fatalf("both applies exited 6")
			}
			l.drain(t)
			l.verify(t)
		}
	})
}

func exitCode(err error) int {
	if err == nil {
		return 0
	}
	if ee, ok := err.(interface{ ExitCode() int }); ok {
		return ee.ExitCode()
	}
	return -1
}

// TestStalePlan: a saved plan is refused (exit 5) when the state moved, an
// input changed or vanished, or the configuration changed.
func TestStalePlan(t *testing.T) {
	cases := map[string]func(l *lake){
		"state moved": func(l *lake) {
			if r := l.apply(); r.code != 0 {
				t.Fatal(r)
			}
		},
		"input changed": func(l *lake) { l.put(l.inputs[0], []byte("{\"id\":\"changed\",\"n\":1}\n")) },
		"input vanished": func(l *lake) {
			must(t, l.src.Store.Delete(context.Background(), l.src.Prefix+l.inputs[0]))
		},
		"config changed": func(l *lake) {
			f, err := os.OpenFile(l.dir+"/main.hcl", os.O_APPEND|os.O_WRONLY, 0)
			must(t, err)
			fmt.Fprintln(f, "# a comment changes the digest")
			f.Close()
		},
	}
	for name, change := range cases {
		t.Run(name, func(t *testing.T) {
			l := smallLake(t, lakeOptions{})
			if r := l.run(nil, "plan", "-out", "run.plan"); r.code != 0 {
				t.Fatal(r)
			}
			change(l)
			r := l.run(nil, "apply", "run.plan")
			if r.code != 5 {
				t.Fatalf("want exit 5, got %s", r)
			}
			if !strings.Contains(r.stderr, "stale") {
				t.Errorf("message does not say stale:\n%s", r.stderr)
			}
		})
	}
	t.Run("fresh plan applies", func(t *testing.T) {
		l := smallLake(t, lakeOptions{})
		if r := l.run(nil, "plan", "-out", "run.plan"); r.code != 0 {
			t.Fatal(r)
		}
		if r := l.run(nil, "apply", "run.plan"); r.code != 0 {
			t.Fatal(r)
		}
		l.drain(t)
		l.verify(t)
	})
}

// TestStateCommandsCrash kills state commands between their journal and
// their HEAD swap: the next command finishes the change.
func TestStateCommandsCrash(t *testing.T) {
	l := smallLake(t, lakeOptions{bounded: -1})
	l.drain(t)
	ctx := context.Background()
	st := state.New(l.stateAt.Store, l.stateAt.Prefix, "events", "raw")
	runs := func() []string {
		refs, err := txn.ListManifests(ctx, l.sink)
		must(t, err)
		var ids []string
		for _, r := range refs {
			ids = append(ids, r.RunID)
		}
		return ids
	}
	first := runs()
	if len(first) != 1 {
		t.Fatalf("manifests: %v", first)
	}
	l.addFile("dt=2026-01-01", "late.json", 2)
	l.drain(t)
	// rewind killed after COMMITTING: the next state command finishes it,
	// removing the second run's output and bookmark.
	if r := l.run([]string{txn.KillEnv + "=after-committing"}, "state", "rewind", "events", "-to", first[0]); r.code != 137 {
		t.Fatalf("rewind: %s", r)
	}
	if r := l.run(nil, "state", "list"); r.code != 0 || !strings.Contains(r.stderr, "rolled forward rewind") {
		t.Fatalf("state list did not recover the rewind: %s", r)
	}
	if got := runs(); len(got) != 1 {
		t.Errorf("after rewind, manifests %v", got)
	}
	h, _, err := st.Head(ctx)
	must(t, err)
	es, err := st.AllEntries(ctx, h)
	must(t, err)
	if len(es) != len(l.inputs)-1 {
		t.Errorf("after rewind %d keys processed, want %d", len(es), len(l.inputs)-1)
	}
	l.drain(t)
	l.verify(t)
	// forget killed after COMMITTING: the next command rolls it forward
	// (every key forgotten) before marking every key processed again.
	if r := l.run([]string{txn.KillEnv + "=after-committing"}, "state", "forget", "events", "**"); r.code != 137 {
		t.Fatalf("forget: %s", r)
	}
	r := l.run(nil, "state", "mark-processed", "events", "**")
	if r.code != 0 || !strings.Contains(r.stderr, "rolled forward forget") {
		t.Fatalf("mark-processed after a crashed forget: %s", r)
	}
	h, _, err = st.Head(ctx)
	must(t, err)
	if es, _ := st.AllEntries(ctx, h); len(es) != len(l.inputs) {
		t.Errorf("mark-processed recorded %d keys, want %d", len(es), len(l.inputs))
	}
	l.drain(t)
	l.verify(t)
}

// TestLostLockDoesNotCommit: a run stalled past its lease whose lock was
// taken over must not publish anything; it exits 1 saying so, and once the
// other holder is gone the next apply does the work exactly once.
func TestLostLockDoesNotCommit(t *testing.T) {
	l := smallLake(t, lakeOptions{})
	cmd, out, errb := l.command([]string{txn.PauseEnv + "=after-run", txn.PauseForEnv + "=3s", "SLUICE_LOCK_LEASE=1s"}, "apply", "-auto-approve")
	must(t, cmd.Start())
	waitFor(t, errb, "paused at after-run", 20*time.Second)
	ctx := context.Background()
	st := state.New(l.stateAt.Store, l.stateAt.Prefix, "events", "raw")
	thief := []byte(`{"run_id":"thief","command":"apply","host":"elsewhere","pid":1,"expires":"2999-01-01T00:00:00Z"}`)
	if _, err := l.stateAt.Store.Put(ctx, st.LockKey(), thief, objstore.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	code := exitCode(cmd.Wait())
	if code != 1 || !strings.Contains(errb.String(), "lost the lock") {
		t.Fatalf("exit %d, want 1 with 'lost the lock'\nstdout:\n%s\nstderr:\n%s", code, out, errb)
	}
	if keys := listKeys(t, l.sink); len(keys) != 0 {
		t.Fatalf("a run that lost its lock published %v", keys)
	}
	if r := l.run(nil, "state", "unlock", "events"); r.code != 0 || !strings.Contains(r.stdout, "thief") {
		t.Fatalf("unlock: %s", r)
	}
	l.drain(t)
	l.verify(t)
}

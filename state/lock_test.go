package state

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/sluicedata/sluice/objstore"
)

func putLock(t *testing.T, s *Bookmarks, li LockInfo) {
	t.Helper()
	b, _ := json.Marshal(li)
	if _, err := s.store.Put(context.Background(), s.LockKey(), b, objstore.PutOptions{}); err != nil {
		t.Fatal(err)
	}
}

func TestLockExcludesAndReleases(t *testing.T) {
	ctx := context.Background()
	s := New(objstore.NewLocal(t.TempDir()), "", "p", "src")
	a, err := s.Acquire(ctx, LockOptions{RunID: "run-a", Command: "apply"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Acquire(ctx, LockOptions{RunID: "run-b", Command: "apply"})
	var held *LockHeldError
	if !errors.As(err, &held) || held.Holder.RunID != "run-a" || held.Holder.PID != os.Getpid() {
		t.Fatalf("second acquire: %v", err)
	}
	if err := a.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.ReadLock(ctx); !errors.Is(err, objstore.ErrNotExist) {
		t.Fatalf("lock not released: %v", err)
	}
	b, err := s.Acquire(ctx, LockOptions{RunID: "run-b"})
	if err != nil {
		t.Fatal(err)
	}
	// Release of a lock someone else now holds leaves theirs alone.
	putLock(t, s, LockInfo{RunID: "run-c", Host: "elsewhere", PID: 1, Expires: time.Now().Add(time.Hour)})
	if err := b.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if li, _, err := s.ReadLock(ctx); err != nil || li.RunID != "run-c" {
		t.Fatalf("release removed another holder's lock: %v %v", li, err)
	}
}

func TestLockTakeover(t *testing.T) {
	ctx := context.Background()
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		holder LockInfo
		take   bool
	}{
		{"expired lease", LockInfo{RunID: "old", Host: "elsewhere", PID: 1, Expires: time.Now().Add(-time.Second)}, true},
		{"same host, process gone", LockInfo{RunID: "old", Host: hostname(), PID: dead.Process.Pid, Expires: time.Now().Add(time.Hour)}, true},
		{"same host, process alive", LockInfo{RunID: "old", Host: hostname(), PID: 1, Expires: time.Now().Add(time.Hour)}, false},
		{"other host, live lease", LockInfo{RunID: "old", Host: "elsewhere", PID: dead.Process.Pid, Expires: time.Now().Add(time.Hour)}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := New(objstore.NewLocal(t.TempDir()), "st/", "p", "src")
			putLock(t, s, c.holder)
			l, err := s.Acquire(ctx, LockOptions{RunID: "new"})
			if !c.take {
				var held *LockHeldError
				if !errors.As(err, &held) || held.Holder.RunID != "old" {
					t.Fatalf("want held by old, got %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer l.Release(ctx)
			if li, _, _ := s.ReadLock(ctx); li.RunID != "new" {
				t.Fatalf("holder after takeover: %+v", li)
			}
		})
	}
}

func TestLockRenewsAndNoticesLoss(t *testing.T) {
	ctx := context.Background()
	s := New(objstore.NewLocal(t.TempDir()), "", "p", "src")
	l, err := s.Acquire(ctx, LockOptions{RunID: "r", Lease: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	first, _, _ := s.ReadLock(ctx)
	time.Sleep(1500 * time.Millisecond)
	renewed, _, err := s.ReadLock(ctx)
	if err != nil || !renewed.Expires.After(first.Expires) || l.Err() != nil {
		t.Fatalf("lease not renewed: %v → %v (%v, %v)", first.Expires, renewed.Expires, err, l.Err())
	}
	// Someone takes the lock over (as after an expired lease): the holder
	// notices at its next renewal and its context is cancelled.
	putLock(t, s, LockInfo{RunID: "thief", Host: "elsewhere", PID: 1, Expires: time.Now().Add(time.Hour)})
	select {
	case <-l.Context().Done():
	case <-time.After(3 * time.Second):
		t.Fatal("lock loss not noticed")
	}
	var lost *LockLostError
	if !errors.As(context.Cause(l.Context()), &lost) || !errors.As(l.Err(), &lost) {
		t.Fatalf("cause %v, err %v", context.Cause(l.Context()), l.Err())
	}
	if err := l.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if li, _, _ := s.ReadLock(ctx); li.RunID != "thief" {
		t.Fatalf("a lost lock's release removed the new holder: %+v", li)
	}
}

func TestLeaseFromEnv(t *testing.T) {
	for v, want := range map[string]time.Duration{"": DefaultLease, "nonsense": DefaultLease, "30s": 30 * time.Second, "10ms": time.Second} {
		if got := LeaseFromEnv(func(string) string { return v }); got != want {
			t.Errorf("%q: %v, want %v", v, got, want)
		}
	}
}

// With Wait, Acquire waits for a live holder to let go (it is told whom
// it waits for, once) and gives up with the *LockHeldError at the end.
func TestLockWait(t *testing.T) {
	ctx := context.Background()
	s := New(objstore.NewLocal(t.TempDir()), "", "p", "src")
	first, err := s.Acquire(ctx, LockOptions{RunID: "r1", Command: "apply"})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	var held *LockHeldError
	if _, err := s.Acquire(ctx, LockOptions{RunID: "r2", Wait: 600 * time.Millisecond}); !errors.As(err, &held) || time.Since(start) < 600*time.Millisecond {
		t.Fatalf("gave up after %v with %v", time.Since(start), err)
	}
	go func() {
		time.Sleep(300 * time.Millisecond)
		first.Release(ctx)
	}()
	waits := 0
	second, err := s.Acquire(ctx, LockOptions{RunID: "r3", Wait: 10 * time.Second, OnWait: func(h LockInfo) {
		if h.RunID == "r1" {
			waits++
		}
	}})
	if err != nil || waits != 1 {
		t.Fatalf("waiting for a release: %v (told %d times)", err, waits)
	}
	second.Release(ctx)
}

package state

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sluicedata/sluice/objstore"
)

// DefaultLease is the lock lease when SLUICE_LOCK_LEASE is unset. It is
// short so that a holder on another host that died is taken over within a
// minute; a live holder renews it every third of the lease.
const DefaultLease = 60 * time.Second

// LeaseFromEnv parses SLUICE_LOCK_LEASE (a Go duration, "30s"); empty or
// invalid values give DefaultLease, and anything under a second is raised to
// one second, since renewal every lease/3 must stay well above a request's
// latency.
func LeaseFromEnv(getenv func(string) string) time.Duration {
	d, err := time.ParseDuration(strings.TrimSpace(getenv("SLUICE_LOCK_LEASE")))
	if err != nil || d <= 0 {
		return DefaultLease
	}
	return max(d, time.Second)
}

// LockInfo is the content of a LOCK object: who holds it and until when.
type LockInfo struct {
	RunID   string    `json:"run_id"`
	Command string    `json:"command"`
	Host    string    `json:"host"`
	PID     int       `json:"pid"`
	Started time.Time `json:"started"`
	Expires time.Time `json:"expires"`
}

// String renders the holder for an error message.
func (i LockInfo) String() string {
	return fmt.Sprintf("run %s (%s) on host %s, pid %d, since %s, lease until %s",
		i.RunID, i.Command, i.Host, i.PID, i.Started.Format(time.RFC3339), i.Expires.Format(time.RFC3339))
}

// LockHeldError is returned when another live run holds the lock.
type LockHeldError struct {
	Key    string
	Holder LockInfo
}

func (e *LockHeldError) Error() string {
	return fmt.Sprintf("%s is held by %s", e.Key, e.Holder)
}

// LockLostError is the cause a Lock's context is cancelled with when the
// lock was taken over (the lease ran out while this process was stalled) or
// could not be renewed before it expired: the holder must not commit.
type LockLostError struct {
	Key    string
	Reason string
}

func (e *LockLostError) Error() string { return fmt.Sprintf("lost the lock %s: %s", e.Key, e.Reason) }

// LockOptions describe the holder.
type LockOptions struct {
	RunID   string
	Command string        // "apply", "state forget", … shown to whoever finds the lock held
	Lease   time.Duration // 0: DefaultLease
	// Wait is how long Acquire waits for a live holder to let go before
	// it returns the *LockHeldError (0: not at all); OnWait, when set, is
	// told once who it waits for.
	Wait   time.Duration
	OnWait func(holder LockInfo)
}

// Lock is a held lock, renewed in the background until Release.
type Lock struct {
	src  *Bookmarks
	info LockInfo

	mu   sync.Mutex
	etag string
	lost error

	ctx    context.Context // cancelled with a LockLostError when lost
	cancel context.CancelCauseFunc
	stop   chan struct{}
	done   chan struct{}
}

// LockKey is the key of this source's lock.
func (s *Bookmarks) LockKey() string { return s.dir + "LOCK" }

// hostname is the holder's host; tests may pretend to be elsewhere.
var hostname = func() string {
	h, err := os.Hostname()
	if err != nil {
		return "unknown"
	}
	return h
}

// ReadLock returns the current holder and the LOCK object's ETag;
// objstore.ErrNotExist when nobody holds it.
func (s *Bookmarks) ReadLock(ctx context.Context) (LockInfo, string, error) {
	rc, info, err := s.store.Get(ctx, s.LockKey())
	if err != nil {
		return LockInfo{}, "", fmt.Errorf("state: read %s: %w", s.LockKey(), err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		return LockInfo{}, "", fmt.Errorf("state: read %s: %w", s.LockKey(), err)
	}
	var li LockInfo
	if err := json.Unmarshal(data, &li); err != nil {
		// A torn or foreign LOCK is treated as expired: it names no holder
		// that could still be running.
		return LockInfo{RunID: "(unreadable)"}, info.ETag, nil
	}
	return li, info.ETag, nil
}

// takeable reports why a lock held by li may be taken over now ("" = not).
func takeable(li LockInfo, now time.Time) string {
	if now.After(li.Expires) {
		return "its lease expired at " + li.Expires.Format(time.RFC3339)
	}
	if li.Host == hostname() && li.PID > 0 && li.PID != os.Getpid() && !processAlive(li.PID) {
		return "its process " + strconv.Itoa(li.PID) + " is gone"
	}
	return ""
}

// Acquire takes the source's lock: a create-only PUT of LOCK. A lock whose
// lease expired, or whose holder ran on this host in a process that no
// longer exists, is taken over with a PUT conditional on the ETag read, so
// of two processes taking over the same dead lock exactly one wins. Every
// write carries the run id, so a retried PUT answered 412 (its first attempt
// did land) is recognised by reading the holder back.
//
// parent is the context the lock's own context derives from: Context()
// is cancelled if the lock is lost.
func (s *Bookmarks) Acquire(parent context.Context, o LockOptions) (*Lock, error) {
	deadline := time.Now().Add(o.Wait)
	pause := 250 * time.Millisecond
	for waited := false; ; waited = true {
		l, err := s.acquire(parent, o)
		var held *LockHeldError
		if !errors.As(err, &held) || !time.Now().Before(deadline) {
			return l, err
		}
		if !waited && o.OnWait != nil {
			o.OnWait(held.Holder)
		}
		// Poll, backing off to every few seconds: a held lock is released
		// when its run ends, or taken over once its lease expires.
		t := time.NewTimer(min(pause, time.Until(deadline)))
		select {
		case <-parent.Done():
			t.Stop()
			return nil, parent.Err()
		case <-t.C:
		}
		pause = min(2*pause, 5*time.Second)
	}
}

// acquire is one attempt of Acquire, without waiting.
func (s *Bookmarks) acquire(parent context.Context, o LockOptions) (*Lock, error) {
	if o.Lease <= 0 {
		o.Lease = DefaultLease
	}
	now := time.Now().UTC()
	info := LockInfo{RunID: o.RunID, Command: o.Command, Host: hostname(), PID: os.Getpid(),
		Started: now.Truncate(time.Second), Expires: now.Add(o.Lease)}
	body, _ := json.Marshal(info)
	ctx := parent
	var etag string
	for attempt := 0; ; attempt++ {
		oi, err := s.store.Put(ctx, s.LockKey(), body, objstore.PutOptions{IfNoneMatch: true, Object: objstore.ObjectOptions{ContentType: "application/json"}})
		if err == nil {
			etag = oi.ETag
			break
		}
		if !errors.Is(err, objstore.ErrPrecondition) {
			return nil, fmt.Errorf("state: lock %s: %w", s.LockKey(), err)
		}
		cur, curETag, rerr := s.ReadLock(ctx)
		if errors.Is(rerr, objstore.ErrNotExist) && attempt < 5 {
			continue // released between our PUT and the read
		}
		if rerr != nil {
			return nil, rerr
		}
		if cur.RunID == o.RunID && cur.PID == info.PID && cur.Host == info.Host {
			etag = curETag // our own earlier attempt landed
			break
		}
		if why := takeable(cur, time.Now()); why != "" {
			oi, err := s.store.Put(ctx, s.LockKey(), body, objstore.PutOptions{IfMatch: curETag, Object: objstore.ObjectOptions{ContentType: "application/json"}})
			if err == nil {
				etag = oi.ETag
				break
			}
			if (errors.Is(err, objstore.ErrPrecondition) || errors.Is(err, objstore.ErrNotExist)) && attempt < 5 {
				continue // someone else moved first; look again
			}
			return nil, fmt.Errorf("state: take over %s (%s): %w", s.LockKey(), why, err)
		}
		return nil, &LockHeldError{Key: s.Store().URL() + "/" + s.LockKey(), Holder: cur}
	}
	l := &Lock{src: s, info: info, etag: etag, stop: make(chan struct{}), done: make(chan struct{})}
	l.ctx, l.cancel = context.WithCancelCause(parent)
	go l.renew(o.Lease)
	return l, nil
}

// Info is what the lock says about its holder.
func (l *Lock) Info() LockInfo { return l.info }

// Context is cancelled, with a *LockLostError cause, if the lock is lost.
func (l *Lock) Context() context.Context { return l.ctx }

// Err is the LockLostError if the lock was lost, else nil. Committers check
// it right before each irrevocable step.
func (l *Lock) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lost
}

func (l *Lock) renew(lease time.Duration) {
	defer close(l.done)
	t := time.NewTicker(lease / 3)
	defer t.Stop()
	expires := l.info.Expires
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
		}
		next := l.info
		next.Expires = time.Now().UTC().Add(lease)
		body, _ := json.Marshal(next)
		l.mu.Lock()
		etag := l.etag
		l.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), lease/3)
		oi, err := l.src.store.Put(ctx, l.src.LockKey(), body, objstore.PutOptions{IfMatch: etag, Object: objstore.ObjectOptions{ContentType: "application/json"}})
		if err != nil && (errors.Is(err, objstore.ErrPrecondition) || errors.Is(err, objstore.ErrNotExist)) {
			// Ambiguous: a retried PUT may have landed. Ours if it names us.
			if cur, curETag, rerr := l.src.ReadLock(ctx); rerr == nil && cur.RunID == l.info.RunID && cur.PID == l.info.PID {
				oi, err = objstore.ObjectInfo{ETag: curETag}, nil
				next.Expires = cur.Expires
			} else if rerr == nil || errors.Is(rerr, objstore.ErrNotExist) {
				cancel()
				l.lose(fmt.Sprintf("taken over by %s", cur.RunID))
				return
			}
		}
		cancel()
		if err == nil {
			l.mu.Lock()
			l.etag = oi.ETag
			l.mu.Unlock()
			expires = next.Expires
			continue
		}
		if time.Now().After(expires) {
			l.lose("could not renew the lease before it expired: " + objstore.Describe(err))
			return
		}
	}
}

func (l *Lock) lose(reason string) {
	err := &LockLostError{Key: l.src.LockKey(), Reason: reason}
	l.mu.Lock()
	l.lost = err
	l.mu.Unlock()
	l.cancel(err)
}

// Release stops renewing and deletes LOCK if it still names this holder.
// (A delete cannot be conditional on S3; the read-then-delete window only
// matters if the lease expired meanwhile, and then the lock was lost anyway.)
func (l *Lock) Release(ctx context.Context) error {
	select {
	case <-l.stop:
		return nil
	default:
	}
	close(l.stop)
	<-l.done
	defer l.cancel(nil)
	if l.Err() != nil {
		return nil
	}
	cur, _, err := l.src.ReadLock(ctx)
	if errors.Is(err, objstore.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if cur.RunID != l.info.RunID || cur.PID != l.info.PID {
		return nil
	}
	if err := l.src.store.Delete(ctx, l.src.LockKey()); err != nil {
		return fmt.Errorf("state: release %s: %w", l.src.LockKey(), err)
	}
	return nil
}

// ForceUnlock deletes LOCK whoever holds it ('sluice state unlock') and
// returns the holder it removed; objstore.ErrNotExist if there was none.
func (s *Bookmarks) ForceUnlock(ctx context.Context) (LockInfo, error) {
	cur, _, err := s.ReadLock(ctx)
	if err != nil {
		return LockInfo{}, err
	}
	if err := s.store.Delete(ctx, s.LockKey()); err != nil {
		return cur, fmt.Errorf("state: unlock %s: %w", s.LockKey(), err)
	}
	return cur, nil
}

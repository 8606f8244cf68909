package txn

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/sluicedata/sluice/objstore"
	"github.com/sluicedata/sluice/state"
)

// OpenFunc opens a store URL (objstore.Open, or a test's stand-in); nil
// means objstore.Open.
type OpenFunc func(ctx context.Context, url string) (objstore.Location, error)

// Session is a pipeline's lock, held, with every earlier unfinished change
// recovered: the only state in which a run or a state command may change
// the pipeline's bookmarks or its sink.
type Session struct {
	bm        *state.Bookmarks
	lock      *state.Lock
	Recovered []Recovered
}

// Acquire takes bm's lock (a *state.LockHeldError when another live run
// holds it) and recovers every unfinished change journaled there, rolling
// it forward or back, before anything else reads the state. On a recovery
// error the lock is released again; the changes recovered before it are
// in the error's Session-less return, so they can still be reported.
func Acquire(ctx context.Context, bm *state.Bookmarks, o state.LockOptions, open OpenFunc, opts ...Option) (*Session, []Recovered, error) {
	lock, err := bm.Acquire(ctx, o)
	if err != nil {
		return nil, nil, err
	}
	slog.InfoContext(ctx, "lock taken", "lock", bm.LockKey(), "run", o.RunID, "command", o.Command)
	KillPoint("after-lock")
	rec, err := Recover(lock.Context(), bm, open, lock, opts...)
	if err != nil {
		_ = release(ctx, lock)
		return nil, rec, err
	}
	return &Session{bm: bm, lock: lock, Recovered: rec}, rec, nil
}

// Bookmarks is the state the session holds.
func (s *Session) Bookmarks() *state.Bookmarks { return s.bm }

// Lock is the held lock: its Context is cancelled when the lock is lost.
func (s *Session) Lock() *state.Lock { return s.lock }

// Release gives the lock up. It runs to the end even when ctx is being
// cancelled (an interrupted command must still release).
func (s *Session) Release(ctx context.Context) error { return release(ctx, s.lock) }

func release(ctx context.Context, lock *state.Lock) error {
	rctx, cancel := Detached(ctx)
	defer cancel()
	return lock.Release(rctx)
}

// Detached is a context for clean-up and commit steps that must run to the
// end even when the command is being interrupted.
func Detached(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), 10*time.Minute)
}

// RecoverAbandoned finishes the change of a run that died holding bm's
// lock after recording its inputs (so a plan sees nothing to do): a LOCK
// left by a dead holder is taken over, the journal recovered and the lock
// released. Without a LOCK, or with a live holder, it does nothing.
func RecoverAbandoned(ctx context.Context, bm *state.Bookmarks, o state.LockOptions, open OpenFunc, opts ...Option) ([]Recovered, error) {
	if _, _, err := bm.ReadLock(ctx); errors.Is(err, objstore.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	s, rec, err := Acquire(ctx, bm, o, open, opts...)
	var held *state.LockHeldError
	if errors.As(err, &held) {
		return nil, nil
	}
	if err != nil {
		return rec, err
	}
	return rec, s.Release(ctx)
}

// Recovered says what Recover did with one unfinished change.
type Recovered struct {
	RunID  string
	Kind   string
	Action string // "rolled back" or "rolled forward"
}

func (r Recovered) String() string { return fmt.Sprintf("%s %s %s", r.Action, r.Kind, r.RunID) }

// Recover finishes or undoes every unfinished change journaled in st. The
// caller holds st's lock; it runs before anything else reads the state. A
// change that never reached COMMITTING is rolled back (its pending uploads
// aborted, its unreferenced segment deleted). One that did is rolled
// forward from its journal when its publication took effect (for files,
// always: their outputs may be half visible; for a table, when the run id
// is in the table's history), else rolled back (a table commit that never
// happened: its data files are deleted, its inputs stay unprocessed). A
// run whose tasks ran on a distributed executor has them stopped before it
// is rolled back (StopExecutors).
func Recover(ctx context.Context, st *state.Bookmarks, open OpenFunc, lock *state.Lock, opts ...Option) ([]Recovered, error) {
	o := optionsOf(opts)
	js, err := st.ListJournals(ctx)
	if err != nil {
		return nil, err
	}
	var out []Recovered
	for _, je := range js {
		j, err := st.ReadJournal(ctx, je.RunID)
		if err != nil {
			if errors.Is(err, objstore.ErrNotExist) {
				continue
			}
			return out, err
		}
		if j.Phase.Finished() {
			continue
		}
		r, err := recoverOne(ctx, st, j, open, lock, o)
		if err != nil {
			return out, err
		}
		out = append(out, r)
	}
	return out, nil
}

func recoverOne(ctx context.Context, st *state.Bookmarks, j *state.Journal, open OpenFunc, lock *state.Lock, o options) (Recovered, error) {
	r := Recovered{RunID: j.RunID, Kind: j.Kind}
	pub, err := publisherOf(ctx, j, open, o)
	if err != nil {
		return r, fmt.Errorf("recovering run %s: %w", j.RunID, err)
	}
	defer pub.Close()
	why := "rolled back: the run stopped before COMMITTING"
	if j.Phase == state.PhaseCommitting {
		published, err := pub.Published(ctx, j)
		if err != nil {
			return r, fmt.Errorf("recovering run %s: %w", j.RunID, err)
		}
		if published {
			if err := finishWith(ctx, st, j, pub, lock); err != nil {
				return r, fmt.Errorf("rolling forward run %s: %w", j.RunID, err)
			}
			r.Action = "rolled forward"
			slog.InfoContext(ctx, "recovery: rolled forward", "run", j.RunID, "kind", j.Kind)
			return r, nil
		}
		why = "rolled back: the run stopped before its table commit"
	}
	if err := o.stopExecutor(ctx, j); err != nil {
		return r, err
	}
	if err := rollBack(ctx, st, j, pub, why); err != nil {
		return r, fmt.Errorf("rolling back run %s: %w", j.RunID, err)
	}
	r.Action = "rolled back"
	slog.InfoContext(ctx, "recovery: rolled back", "run", j.RunID, "kind", j.Kind)
	return r, nil
}

// rollBack undoes a run that will never publish: what it left under the
// sink, and its segment (unless HEAD names it); the journal says ABORTED.
func rollBack(ctx context.Context, st *state.Bookmarks, j *state.Journal, pub Publisher, why string) error {
	if err := pub.Discard(ctx, j); err != nil {
		return err
	}
	head, _, err := st.Head(ctx)
	if err != nil {
		return err
	}
	seg := state.SegmentName(j.RunID)
	named := false
	for _, s := range head.Segments {
		named = named || s == seg
	}
	if !named {
		if err := st.DeleteSegment(ctx, seg); err != nil {
			return err
		}
	}
	j.Phase = state.PhaseAborted
	j.Error = why
	return st.WriteJournal(ctx, j)
}

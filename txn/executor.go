package txn

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/sluicedata/sluice/state"
)

// StopFunc stops the tasks that a journaled run left running in other
// processes (Journal.Executor, Journal.ExecutorRef: a Temporal workflow),
// so that none of them writes again once the run is rolled back. It is
// given by whoever knows that executor (package txn knows none), returns
// nil when nothing runs any more, and must wait until attempts already
// under way have stopped writing.
type StopFunc func(ctx context.Context, j *state.Journal) error

// StopExecutors makes recovery call stop before rolling back a run whose
// journal names an executor. Without it such a run is rolled back all the
// same (nothing of it was visible) and a warning is logged: its tasks may
// still write pending uploads, which nobody completes.
func StopExecutors(stop StopFunc) Option {
	return func(o *options) { o.stop = stop }
}

// stopExecutor stops a journaled run's distributed tasks before its roll
// back; an error stops the recovery (rolling back first would let the
// tasks write uploads again after the abort).
func (o options) stopExecutor(ctx context.Context, j *state.Journal) error {
	if j.Executor == "" {
		return nil
	}
	if o.stop == nil {
		slog.WarnContext(ctx, "recovery: the run's tasks may still be running elsewhere; stop them by hand", "run", j.RunID, "executor", j.Executor, "ref", j.ExecutorRef)
		return nil
	}
	if err := o.stop(ctx, j); err != nil {
		return fmt.Errorf("stopping the %s executor of run %s (%s) before rolling it back: %w", j.Executor, j.RunID, j.ExecutorRef, err)
	}
	slog.InfoContext(ctx, "recovery: stopped the run's executor", "run", j.RunID, "executor", j.Executor, "ref", j.ExecutorRef)
	return nil
}

// RecordExecutor journals, while the run is still WRITING, where its tasks
// are about to run (kind and ref as in Journal.Executor): before any of them
// starts, so that a crash of this process leaves what to stop in the
// journal.
func (r *Run) RecordExecutor(ctx context.Context, kind, ref string) error {
	if r.j.Phase != state.PhaseWriting {
		return fmt.Errorf("run %s: recording its executor in phase %s", r.j.RunID, r.j.Phase)
	}
	r.j.Executor, r.j.ExecutorRef = kind, ref
	if err := r.bm.WriteJournal(ctx, r.j); err != nil {
		return err
	}
	slog.InfoContext(ctx, "journal: executor", "run", r.j.RunID, "executor", kind, "ref", ref)
	return nil
}

package exec

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/sluicedata/sluice/exec/decode"
	"github.com/sluicedata/sluice/exec/write"
	"github.com/sluicedata/sluice/objstore"
	"github.com/sluicedata/sluice/spec"
)

// Permanent reports whether a task's failure is one no retry can mend:
// an input that changed since the plan, bad input (BadInput), a corrupt
// file, a conditional write that lost, a cancelled run. Anything else —
// storage trouble that outlasted the SDK's own retries, a connection reset
// mid-stream, a worker's error — may be transient, and a retry reads the
// same inputs into the same keys again.
func Permanent(err error) bool {
	var ic *InputChangedError
	var cp *decode.CorruptParquetError
	return errors.As(err, &ic) || BadInput(err) || errors.As(err, &cp) ||
		errors.Is(err, objstore.ErrPrecondition) ||
		errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// BadInput reports a task stopped by its inputs as the pipeline's policies
// say: a bad record or schema drift under "fail", or an input that
// vanished since the plan. Reading them again gives the same answer; the
// distributed executors classify it too (dist.Classify).
func BadInput(err error) bool {
	var br *decode.BadRecordError
	var mm *decode.SchemaMismatchError
	return errors.As(err, &br) || errors.As(err, &mm) || errors.Is(err, objstore.ErrNotExist)
}

// retryBackoff is the pause before a task's first retry; it doubles with
// each further one, up to maxRetryBackoff.
const (
	retryBackoff    = time.Second
	maxRetryBackoff = 30 * time.Second
)

// runAttempts runs task t, and again up to Options.Retries times while it
// fails with an error that is not Permanent. A failed attempt leaves
// nothing behind (runTask aborts its uploads and takes its counts back
// from the run's progress), and the next writes the same keys, so a retry
// never duplicates output. A direct run's task is never retried: its
// files may already be visible.
func (r *runner) runAttempts(ctx context.Context, t Task) (*TaskResult, error) {
	retries := r.o.Retries
	if r.job.Sink.Committer == spec.CommitterDirect {
		retries = 0
	}
	wait := r.o.RetryBackoff
	if wait <= 0 {
		wait = retryBackoff
	}
	for attempt := 1; ; attempt++ {
		tr, err := r.runTask(ctx, t)
		if err == nil {
			tr.Attempts = attempt
			return tr, nil
		}
		if attempt > retries || Permanent(err) || ctx.Err() != nil {
			return nil, err
		}
		slog.InfoContext(ctx, "task failed; retrying", "pipeline", r.job.Pipeline, "task", t.Index,
			"attempt", attempt, "of", retries+1, "wait", wait, "err", err)
		r.report("task_retry", t.Index)
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return nil, err
		}
		wait = min(2*wait, maxRetryBackoff)
	}
}

// undoAttempt takes a failed attempt back: its writer's uploads are
// aborted now (a retry writes the same keys; a failed run aborts them all
// again, harmlessly), and its counts leave the run's progress totals.
func (r *runner) undoAttempt(ctx context.Context, w *write.Writer, c *taskCounts) {
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	if err := w.Abort(actx); err != nil {
		slog.WarnContext(ctx, "aborting a failed task's uploads", "pipeline", r.job.Pipeline, "err", err)
	}
	r.filesDone.Add(-c.filesRead.Load())
	r.bytesDone.Add(-c.bytesRead.Load())
	r.rowsIn.Add(-c.rowsIn.Load())
	r.out.Add(-c.rowsOut.Load())
}

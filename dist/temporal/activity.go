package temporal

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/sluicedata/sluice/dist"
	"github.com/sluicedata/sluice/exec"
)

// Activities runs task activities in a worker.
type Activities struct {
	// Exec tunes each task (memory, fetch concurrency, version).
	Exec exec.Options
	// Open opens store URLs (nil: objstore.Open).
	Open exec.OpenFunc
}

// Task runs one task (dist.RunTask), heartbeating, and returns the key of
// the record that counts. A failure no retry mends is a non-retryable
// ApplicationError whose type is the dist failure kind, with the
// dist.Failure as its details.
func (a *Activities) Task(ctx context.Context, in TaskInput) (string, error) {
	info := activity.GetInfo(ctx)
	attempt := fmt.Sprintf("%s#%d", dist.NewAttempt("temporal"), info.Attempt)
	r, err := dist.OpenRun(ctx, in.StateDir, in.RunID, a.Open)
	if err != nil {
		return "", err
	}
	// Heartbeat until the task returns. RecordHeartbeat reports nothing:
	// a refused heartbeat (the attempt timed out, the workflow ended)
	// cancels ctx, which stops the task.
	hctx, stop := context.WithCancel(ctx)
	defer stop()
	go heartbeat(hctx, info.HeartbeatTimeout)
	start := time.Now()
	rec, won, err := dist.RunTask(ctx, r, in.Index, dist.TaskOptions{Exec: a.Exec, Open: a.Open, Attempt: attempt})
	if err != nil {
		if cause := context.Cause(ctx); ctx.Err() != nil {
			slog.InfoContext(ctx, "task attempt stopped", "run", in.RunID, "task", in.Index, "attempt", info.Attempt, "cause", cause)
			return "", err
		}
		if kind := dist.Classify(err); kind != "" {
			return "", temporal.NewNonRetryableApplicationError(err.Error(), kind, err, dist.FailureOf(in.Index, err, attempt))
		}
		return "", err
	}
	slog.InfoContext(ctx, "task done", "run", in.RunID, "task", in.Index, "attempt", info.Attempt, "won", won, "winner", rec.Attempt, "elapsed", time.Since(start).Round(time.Millisecond))
	return r.TaskKey(in.Index), nil
}

// heartbeat records a heartbeat every fifth of the timeout (the SDK sends
// at most one per 0.8 × timeout) until ctx ends.
func heartbeat(ctx context.Context, timeout time.Duration) {
	every := max(timeout/5, 100*time.Millisecond)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			activity.RecordHeartbeat(ctx)
		}
	}
}

// failureOf recovers the dist.Failure of a permanently failed run from a
// workflow error, or nil.
func failureOf(err error) *dist.Failure {
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) || ae.Type() == "" {
		return nil
	}
	var f dist.Failure
	if ae.HasDetails() && ae.Details(&f) == nil && f.Kind != "" {
		return &f
	}
	return &dist.Failure{Kind: ae.Type(), Message: ae.Error()}
}

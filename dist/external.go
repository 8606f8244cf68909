package dist

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/sluicedata/sluice/exec"
	"github.com/sluicedata/sluice/objstore"
)

// External is the executor of a run whose tasks another scheduler runs
// (a Kubernetes Indexed Job, an AWS Batch array job: `sluice task -plan
// URL -index N` per task): it saves the plan, says where (Announce), and
// waits for every task's record. It implements apply.Remote.
//
// It cannot stop those jobs: a failed or interrupted run is rolled back
// by apply, and a task that starts afterwards finds the run's journal
// finished and does nothing (a task already running when the run ends
// writes pending uploads that nobody completes; see docs/scale-out.md).
type External struct {
	// Open opens store URLs (nil: objstore.Open).
	Open exec.OpenFunc
	// Announce is told the saved plan's URL and the number of tasks,
	// once the plan is saved: what to give the scheduler.
	Announce func(job *exec.Job, planURL string, tasks int)
	// Poll is how often the records are listed (default 2s).
	Poll time.Duration
	// Timeout gives up waiting (0: wait until interrupted).
	Timeout time.Duration
}

// Ref names the run's directory in its state (the journal records it).
func (e *External) Ref(job *exec.Job) (string, string) {
	dir := ""
	if job.Plan != nil {
		dir = job.Plan.State.Dir
	}
	return "external", dir + "runs/" + job.RunID + "/"
}

// Run saves the plan and waits for the tasks' records, or the first
// permanent failure one of them recorded.
func (e *External) Run(ctx context.Context, job *exec.Job, o exec.Options) (*exec.Result, error) {
	start := time.Now()
	open := e.Open
	if open == nil {
		open = func(ctx context.Context, url string) (objstore.Location, error) { return objstore.Open(ctx, url) }
	}
	r, err := RunOf(ctx, job, open)
	if err != nil {
		return nil, err
	}
	if err := CheckIndexes(job); err != nil {
		return nil, err
	}
	if err := SavePlan(ctx, r, job); err != nil {
		return nil, err
	}
	if e.Announce != nil {
		e.Announce(job, r.PlanURL(), len(job.Tasks))
	}
	slog.InfoContext(ctx, "waiting for external tasks", "run", job.RunID, "plan", r.PlanURL(), "tasks", len(job.Tasks))
	poll := e.Poll
	if poll <= 0 {
		poll = 2 * time.Second
	}
	if e.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, e.Timeout, fmt.Errorf("the external tasks of run %s did not all record a result within %s", job.RunID, e.Timeout))
		defer cancel()
	}
	w := NewWatcher(r, job, o.Progress)
	for {
		if err := w.Poll(ctx); err != nil {
			return nil, err
		}
		if w.Done() {
			return w.Result(start), nil
		}
		if err := Failed(ctx, r); err != nil {
			return nil, err
		}
		select {
		case <-ctx.Done():
			return nil, context.Cause(ctx)
		case <-time.After(poll):
		}
	}
}

// CheckIndexes requires the task indexes 0..n-1 that schedulers hand out
// (JOB_COMPLETION_INDEX, AWS_BATCH_JOB_ARRAY_INDEX, activity ids).
func CheckIndexes(job *exec.Job) error {
	for i, t := range job.Tasks {
		if t.Index != i {
			return fmt.Errorf("pipeline %s: task %d has index %d; a distributed run needs indexes 0..%d", job.Pipeline, i, t.Index, len(job.Tasks)-1)
		}
	}
	return nil
}

// RunJob is one externally scheduled task (`sluice task -plan URL -index
// N`): RunTask on the saved plan at planURL, recording a permanent failure
// where the coordinator (External) sees it, so that the run fails instead
// of waiting for a record that will never come.
func RunJob(ctx context.Context, planURL string, index int, o TaskOptions) (*Record, bool, error) {
	dirURL, runID, err := ParsePlanURL(planURL)
	if err != nil {
		return nil, false, err
	}
	r, err := OpenRun(ctx, dirURL, runID, o.open())
	if err != nil {
		return nil, false, err
	}
	rec, won, err := RunTask(ctx, r, index, o)
	if kind := Classify(err); kind != "" && kind != KindRunOver {
		if ferr := RecordFailure(context.WithoutCancel(ctx), r, FailureOf(index, err, o.Attempt)); ferr != nil {
			slog.WarnContext(ctx, "recording the task's failure", "run", runID, "task", index, "err", ferr)
		}
	}
	return rec, won, err
}

package temporal

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/sluicedata/sluice/dist"
	"github.com/sluicedata/sluice/exec"
	"github.com/sluicedata/sluice/objstore"
	"github.com/sluicedata/sluice/state"
)

// Executor runs a job's tasks on Temporal workers. It implements
// apply.Remote: apply journals the workflow id before Run starts it.
type Executor struct {
	Client client.Client
	Queue  string
	// Open opens store URLs (nil: objstore.Open).
	Open exec.OpenFunc
	// HeartbeatTimeout is how long a worker may go silent before its task
	// is given to another (default 30s); StartToClose bounds one attempt
	// (default 24h); MaxAttempts bounds a task's attempts (default 0:
	// unlimited — a frozen worker uses attempts up without failing).
	HeartbeatTimeout time.Duration
	StartToClose     time.Duration
	MaxAttempts      int32
	// Batch is the most tasks per workflow (default and at most MaxBatch).
	Batch int
	// Poll is how often the records are read for progress (default 500ms).
	Poll time.Duration
}

// WorkflowID is the workflow of job's run: one per run, never reused.
func WorkflowID(job *exec.Job) string {
	return fmt.Sprintf("sluice/%s/%s/%s", job.Pipeline, job.Source.Name, job.RunID)
}

// Ref names the workflow for the journal.
func (e *Executor) Ref(job *exec.Job) (string, string) { return Kind, WorkflowID(job) }

// Kind is the executor's name in journals.
const Kind = "temporal"

func (e *Executor) heartbeatTimeout() time.Duration {
	if e.HeartbeatTimeout > 0 {
		return e.HeartbeatTimeout
	}
	return 30 * time.Second
}

// Run saves the plan, starts the run's workflow (a second start of the
// same run is refused), reports each task's record as it appears, and
// builds the run's result from the records once the workflow completes.
// When ctx ends (interrupted, lost lock) or the workflow fails, it
// terminates the workflow and returns once attempts under way have had
// a heartbeat timeout to notice, so that apply's abort comes after their
// last upload.
func (e *Executor) Run(ctx context.Context, job *exec.Job, o exec.Options) (*exec.Result, error) {
	start := time.Now()
	open := e.Open
	if open == nil {
		open = func(ctx context.Context, url string) (objstore.Location, error) { return objstore.Open(ctx, url) }
	}
	r, err := dist.RunOf(ctx, job, open)
	if err != nil {
		return nil, err
	}
	if err := dist.CheckIndexes(job); err != nil {
		return nil, err
	}
	if err := dist.SavePlan(ctx, r, job); err != nil {
		return nil, err
	}
	in := RunInput{
		StateDir: r.DirURL(), RunID: job.RunID, Tasks: len(job.Tasks), Batch: e.Batch,
		HeartbeatTimeout: e.heartbeatTimeout(), StartToClose: e.StartToClose, MaxAttempts: e.MaxAttempts,
	}
	if in.StartToClose <= 0 {
		in.StartToClose = 24 * time.Hour
	}
	id := WorkflowID(job)
	sctx, cancel := context.WithTimeout(ctx, sdkTimeout)
	run, err := e.Client.ExecuteWorkflow(sctx, client.StartWorkflowOptions{
		ID:        id,
		TaskQueue: e.Queue,
		// A run id is used once: refuse a second start whether the first
		// is running (conflict policy) or closed (reuse policy), and have
		// the SDK say so instead of returning the existing run.
		WorkflowIDReusePolicy:                    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowIDConflictPolicy:                 enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		Memo:                                     map[string]any{memoHeartbeat: in.HeartbeatTimeout.Milliseconds()},
	}, WorkflowName, in)
	cancel()
	if err != nil {
		return nil, fmt.Errorf("temporal: starting workflow %s: %w", id, err)
	}
	slog.InfoContext(ctx, "workflow started", "workflow", id, "tasks", len(job.Tasks), "queue", e.Queue)
	done := make(chan error, 1)
	go func() { done <- awaitWorkflow(ctx, id, run) }()
	w := dist.NewWatcher(r, job, o.Progress)
	poll := e.Poll
	if poll <= 0 {
		poll = 500 * time.Millisecond
	}
	tick := time.NewTicker(poll)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			if err == nil {
				if err := w.Finish(ctx); err != nil {
					return nil, err
				}
				return w.Result(start), nil
			}
			if ctx.Err() != nil {
				return nil, e.stop(ctx, id, context.Cause(ctx))
			}
			return nil, e.stop(ctx, id, workflowError(id, err))
		case <-tick.C:
			if err := w.Poll(ctx); err != nil && ctx.Err() == nil {
				slog.WarnContext(ctx, "reading task records", "workflow", id, "err", err)
			}
		case <-ctx.Done():
			return nil, e.stop(ctx, id, context.Cause(ctx))
		}
	}
}

// awaitWorkflow waits for the workflow's outcome. Get is a long poll; a
// transport error (the server resetting the stream, a restart) says nothing
// about the workflow, so the wait is re-issued — for up to awaitGrace of
// consecutive failures — instead of failing a run whose tasks go on.
func awaitWorkflow(ctx context.Context, id string, run client.WorkflowRun) error {
	var failingSince time.Time
	for {
		err := run.Get(ctx, nil)
		var outcome *temporal.WorkflowExecutionError
		if err == nil || ctx.Err() != nil || errors.As(err, &outcome) {
			return err
		}
		if failingSince.IsZero() {
			failingSince = time.Now()
		} else if time.Since(failingSince) > awaitGrace {
			return err
		}
		slog.WarnContext(ctx, "waiting for the workflow again", "workflow", id, "err", err)
		sleep(ctx, time.Second)
	}
}

// awaitGrace is how long the wait for a workflow's outcome may keep
// failing at the transport level before the run fails.
const awaitGrace = 2 * time.Minute

// stop terminates the workflow (its children with it) and waits a
// heartbeat timeout, so that attempts still running notice and abort
// their uploads before apply's abort lists what is left. It returns
// cause.
func (e *Executor) stop(ctx context.Context, id string, cause error) error {
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), sdkTimeout+e.heartbeatTimeout())
	defer cancel()
	if err := terminate(dctx, e.Client, id, cause.Error()); err != nil {
		slog.WarnContext(ctx, "terminating the run's workflow", "workflow", id, "err", err)
		return errors.Join(cause, err)
	}
	sleep(dctx, e.heartbeatTimeout())
	return cause
}

// terminate ends a workflow; one that is already closed, or was never
// started, is fine.
func terminate(ctx context.Context, c client.Client, id, reason string) error {
	err := c.TerminateWorkflow(ctx, id, "", "sluice: "+reason)
	var nf *serviceerror.NotFound
	if err == nil || errors.As(err, &nf) {
		return nil
	}
	return fmt.Errorf("temporal: terminating workflow %s: %w", id, err)
}

// workflowError explains a failed workflow: a task's permanent failure
// (an *exec.InputChangedError for a changed input, so that apply reports
// the run stale), else Temporal's error.
func workflowError(id string, err error) error {
	if f := failureOf(err); f != nil {
		return f.Err()
	}
	return fmt.Errorf("temporal: workflow %s: %w", id, err)
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// memoHeartbeat is the memo field holding the run's heartbeat timeout, for
// Stop (in another process, maybe with other flags) to know how long
// attempts take to notice a termination.
const memoHeartbeat = "sluice_heartbeat_timeout_ms"

// Stop returns the recovery hook (txn.StopFunc) for runs journaled with
// this executor: it terminates the workflow named in the journal and waits
// until attempts under way have had a heartbeat timeout, counted from the
// workflow's close, to notice. dial is called only when a journal names a
// Temporal workflow.
func Stop(dial func() (client.Client, error)) func(ctx context.Context, j *state.Journal) error {
	return func(ctx context.Context, j *state.Journal) error {
		if j.Executor != Kind {
			return nil
		}
		c, err := dial()
		if err != nil {
			return err
		}
		defer c.Close()
		if err := terminate(ctx, c, j.ExecutorRef, "run "+j.RunID+" rolled back by recovery"); err != nil {
			return err
		}
		desc, err := c.DescribeWorkflow(ctx, j.ExecutorRef, "")
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) {
			return nil // never started: nothing ran
		}
		if err != nil {
			return fmt.Errorf("temporal: describing workflow %s: %w", j.ExecutorRef, err)
		}
		d := desc.RawResponse
		hb := 30 * time.Second
		if p, ok := d.WorkflowExecutionInfo.GetMemo().GetFields()[memoHeartbeat]; ok {
			var ms int64
			if converter.GetDefaultDataConverter().FromPayload(p, &ms) == nil && ms > 0 {
				hb = time.Duration(ms) * time.Millisecond
			}
		}
		closed := time.Now()
		if ct := d.WorkflowExecutionInfo.GetCloseTime(); ct != nil {
			closed = ct.AsTime()
		}
		if wait := time.Until(closed.Add(hb)); wait > 0 {
			slog.InfoContext(ctx, "recovery: waiting for the terminated workflow's attempts to notice", "workflow", j.ExecutorRef, "wait", wait.Round(time.Millisecond))
			sleep(ctx, wait)
		}
		return nil
	}
}

package temporal

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/sluicedata/sluice/dist"
)

// Names of the workflow and activity types. Changing what they do in a way
// that changes their history needs new names (runs in flight replay).
const (
	WorkflowName = "sluice.run.v1"
	BatchName    = "sluice.batch.v1"
	ActivityName = "sluice.task.v1"
)

// MaxBatch is the most tasks one workflow schedules: Temporal's default
// limit of 2,000 pending activities per workflow makes a larger fan-out
// hang (not fail), so larger plans run as child workflows of at most this
// many tasks each (2,000 pending children allow 2M tasks).
const MaxBatch = 1000

// RunInput is a run's workflow input: object locations and knobs only,
// never results (payloads are limited to 2 MB).
type RunInput struct {
	// StateDir is the pipeline source's state directory (a URL) and RunID
	// the run: everything a task needs is under StateDir/runs/<RunID>/.
	StateDir string `json:"state_dir"`
	RunID    string `json:"run_id"`
	Tasks    int    `json:"tasks"`
	// Lo and Hi are the task range of a child workflow.
	Lo int `json:"lo,omitempty"`
	Hi int `json:"hi,omitempty"`
	// Batch is the most tasks per workflow (≤ MaxBatch).
	Batch            int           `json:"batch"`
	HeartbeatTimeout time.Duration `json:"heartbeat_timeout"`
	StartToClose     time.Duration `json:"start_to_close"`
	// MaxAttempts bounds the attempts of one task (0: unlimited). A
	// frozen worker uses up attempts without failing, so keep it large.
	MaxAttempts int32 `json:"max_attempts"`
}

// TaskInput is one task activity's input.
type TaskInput struct {
	StateDir string `json:"state_dir"`
	RunID    string `json:"run_id"`
	Index    int    `json:"index"`
}

// RunResult is what a run's (or a batch's) workflow returns: how many
// task records there are. The records themselves stay in the state.
type RunResult struct {
	Tasks int `json:"tasks"`
}

// RunWorkflow runs every task of a run as an activity, or, above Batch
// tasks, as child workflows of Batch tasks. It fails at the first task
// that fails permanently; attempts still running then see their ctx
// cancelled at their next heartbeat.
func RunWorkflow(ctx workflow.Context, in RunInput) (RunResult, error) {
	if in.Batch <= 0 || in.Batch > MaxBatch {
		in.Batch = MaxBatch
	}
	if in.Tasks <= in.Batch {
		in.Lo, in.Hi = 0, in.Tasks
		return runRange(ctx, in)
	}
	parent := workflow.GetInfo(ctx).WorkflowExecution.ID
	var futures []workflow.ChildWorkflowFuture
	for lo := 0; lo < in.Tasks; lo += in.Batch {
		b := in
		b.Lo, b.Hi = lo, min(lo+in.Batch, in.Tasks)
		cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
			WorkflowID: fmt.Sprintf("%s/batch-%d", parent, lo/in.Batch),
		})
		futures = append(futures, workflow.ExecuteChildWorkflow(cctx, BatchName, b))
	}
	var res RunResult
	sel := workflow.NewSelector(ctx)
	var firstErr error
	for _, f := range futures {
		sel.AddFuture(f, func(f workflow.Future) {
			var r RunResult
			if err := f.Get(ctx, &r); err != nil {
				if firstErr == nil {
					firstErr = err
				}
				return
			}
			res.Tasks += r.Tasks
		})
	}
	for range futures {
		sel.Select(ctx)
		if firstErr != nil {
			return res, firstErr
		}
	}
	return res, nil
}

// BatchWorkflow runs the tasks [Lo, Hi) of a run.
func BatchWorkflow(ctx workflow.Context, in RunInput) (RunResult, error) {
	return runRange(ctx, in)
}

func runRange(ctx workflow.Context, in RunInput) (RunResult, error) {
	var res RunResult
	sel := workflow.NewSelector(ctx)
	var firstErr error
	for i := in.Lo; i < in.Hi; i++ {
		actx := workflow.WithActivityOptions(ctx, activityOptions(in, i))
		f := workflow.ExecuteActivity(actx, ActivityName, TaskInput{StateDir: in.StateDir, RunID: in.RunID, Index: i})
		sel.AddFuture(f, func(f workflow.Future) {
			if err := f.Get(ctx, nil); err != nil {
				if firstErr == nil {
					firstErr = err
				}
				return
			}
			res.Tasks++
		})
	}
	for range in.Hi - in.Lo {
		sel.Select(ctx)
		if firstErr != nil {
			return res, firstErr
		}
	}
	return res, nil
}

func activityOptions(in RunInput, i int) workflow.ActivityOptions {
	return workflow.ActivityOptions{
		// The task index as the activity id, so that the UI and describe
		// name tasks as the plan does.
		ActivityID:          fmt.Sprintf("task-%d", i),
		StartToCloseTimeout: in.StartToClose,
		HeartbeatTimeout:    in.HeartbeatTimeout,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        200 * time.Millisecond,
			BackoffCoefficient:     2,
			MaximumInterval:        10 * time.Second,
			MaximumAttempts:        in.MaxAttempts,
			NonRetryableErrorTypes: dist.NonRetryable,
		},
	}
}

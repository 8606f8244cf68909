package temporal

import (
	"context"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// WorkerOptions tune a worker.
type WorkerOptions struct {
	// Parallelism is how many tasks run at once (default 1).
	Parallelism int
	// StickyTimeout is how long a workflow task waits for the worker that
	// cached its workflow before any worker takes it (default 1s, the
	// SDK's 5s makes every killed worker cost 5s).
	StickyTimeout time.Duration
	// StopTimeout is how long a stopping worker lets its tasks finish.
	StopTimeout time.Duration
}

// RunWorker polls queue for sluice's workflows and task activities until
// ctx ends (SIGTERM: the tasks under way get StopTimeout to finish; the
// others are retried elsewhere once their heartbeats stop).
func RunWorker(ctx context.Context, c client.Client, queue string, a *Activities, o WorkerOptions) error {
	if o.Parallelism <= 0 {
		o.Parallelism = 1
	}
	if o.StickyTimeout <= 0 {
		o.StickyTimeout = time.Second
	}
	w := worker.New(c, queue, worker.Options{
		MaxConcurrentActivityExecutionSize: o.Parallelism,
		StickyScheduleToStartTimeout:       o.StickyTimeout,
		WorkerStopTimeout:                  o.StopTimeout,
	})
	Register(w, a)
	if err := w.Start(); err != nil {
		return fmt.Errorf("temporal: starting the worker on task queue %s: %w", queue, err)
	}
	<-ctx.Done()
	w.Stop()
	return nil
}

// Register registers sluice's workflows and the task activity on w.
func Register(w worker.Registry, a *Activities) {
	w.RegisterWorkflowWithOptions(RunWorkflow, workflow.RegisterOptions{Name: WorkflowName})
	w.RegisterWorkflowWithOptions(BatchWorkflow, workflow.RegisterOptions{Name: BatchName})
	w.RegisterActivityWithOptions(a.Task, activity.RegisterOptions{Name: ActivityName})
}

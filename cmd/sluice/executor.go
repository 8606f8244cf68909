package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/sluicedata/sluice/apply"
	"github.com/sluicedata/sluice/cmd/sluice/internal/cli"
	"github.com/sluicedata/sluice/dist"
	"github.com/sluicedata/sluice/dist/temporal"
	"github.com/sluicedata/sluice/exec"
	"github.com/sluicedata/sluice/state"
	"github.com/sluicedata/sluice/txn"
)

// temporalFlags reach a Temporal service: apply -executor temporal and
// sluice worker take them; the TEMPORAL_* variables fill in the rest.
type temporalFlags struct {
	address, namespace, queue string
}

func (f *temporalFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.address, "temporal-address", "", "Temporal frontend `HOST:PORT` (default $TEMPORAL_ADDRESS, else localhost:7233).")
	fs.StringVar(&f.namespace, "temporal-namespace", "", "Temporal `NAMESPACE` (default $TEMPORAL_NAMESPACE, else default).")
	fs.StringVar(&f.queue, "task-queue", "", "Temporal task `QUEUE` the workers poll (default $SLUICE_TASK_QUEUE, else sluice).")
}

func (f temporalFlags) config(inv *cli.Invocation, identity string) temporal.Config {
	q := f.queue
	if q == "" {
		q = inv.Getenv("SLUICE_TASK_QUEUE")
	}
	host, _ := os.Hostname()
	return temporal.Config{Address: f.address, Namespace: f.namespace, TaskQueue: q, Identity: fmt.Sprintf("sluice-%s@%s/%d", identity, host, os.Getpid())}
}

// executorFlags are apply's choice of executor.
type executorFlags struct {
	kind      string
	temporal  temporalFlags
	heartbeat time.Duration
	wait      time.Duration
}

func (f *executorFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.kind, "executor", "local", "Where tasks run: `local` (this process), temporal (sluice worker processes), or external (sluice task jobs run by another scheduler).")
	f.temporal.register(fs)
	fs.DurationVar(&f.heartbeat, "heartbeat-timeout", 30*time.Second, "With -executor temporal: give a task to another worker after its worker is silent this `long`.")
	fs.DurationVar(&f.wait, "external-timeout", 0, "With -executor external: give up when the tasks have not all finished within `DURATION` (default: wait).")
}

// executor builds the chosen executor; close releases its connection.
func (f executorFlags) executor(inv *cli.Invocation, ev *events) (ex apply.Executor, close func(), err error) {
	switch f.kind {
	case "", "local":
		return apply.Local{}, func() {}, nil
	case "temporal":
		l := &lazyTemporal{cfg: f.temporal.config(inv, "apply"), heartbeat: f.heartbeat}
		return l, l.close, nil
	case "external":
		return &dist.External{Open: openLoc, Timeout: f.wait, Announce: func(job *exec.Job, planURL string, n int) {
			announceExternal(inv, ev, job, planURL, n)
		}}, func() {}, nil
	}
	return nil, nil, fmt.Errorf("-executor %q: want local, temporal or external", f.kind)
}

// lazyTemporal connects to Temporal when a run first needs it, so that an
// apply with nothing to do (a cron job's usual case) does not fail while
// Temporal is unreachable.
type lazyTemporal struct {
	cfg       temporal.Config
	heartbeat time.Duration
	ex        *temporal.Executor
}

func (l *lazyTemporal) Ref(job *exec.Job) (string, string) {
	return temporal.Kind, temporal.WorkflowID(job)
}

func (l *lazyTemporal) Run(ctx context.Context, job *exec.Job, o exec.Options) (*exec.Result, error) {
	if l.ex == nil {
		c, err := l.cfg.Dial()
		if err != nil {
			return nil, err
		}
		l.ex = &temporal.Executor{Client: c, Queue: l.cfg.Queue(), Open: openLoc, HeartbeatTimeout: l.heartbeat}
	}
	return l.ex.Run(ctx, job, o)
}

func (l *lazyTemporal) close() {
	if l.ex != nil {
		l.ex.Client.Close()
	}
}

// announceExternal says what the other scheduler must run.
func announceExternal(inv *cli.Invocation, ev *events, job *exec.Job, planURL string, n int) {
	ev.emit("tasks", map[string]any{"pipeline": job.Pipeline, "run_id": job.RunID, "plan": planURL, "tasks": n})
	if !inv.Common.JSON {
		fmt.Fprintf(inv.Stderr, "Waiting for %d tasks of run %s: run `sluice task -plan %s -index I` for I = 0..%d (a Kubernetes Indexed Job with completions: %d, an AWS Batch array job of size %d; docs/scale-out.md).\n",
			n, job.RunID, planURL, n-1, n, n)
	}
}

// stopExecutor is recovery's hook for runs whose tasks ran on Temporal:
// it dials (with the flags given, else TEMPORAL_*) only when a journal
// names a workflow.
func stopExecutor(inv *cli.Invocation, f temporalFlags) txn.StopFunc {
	stop := temporal.Stop(func() (client.Client, error) { return f.config(inv, "recovery").Dial() })
	return func(ctx context.Context, j *state.Journal) error {
		if err := stop(ctx, j); err != nil {
			return fmt.Errorf("%w (the run's workflow may still be running: make Temporal reachable with -temporal-address or TEMPORAL_ADDRESS, or terminate %s by hand with `temporal workflow terminate --workflow-id %s`, then run again)", err, j.ExecutorRef, j.ExecutorRef)
		}
		return nil
	}
}

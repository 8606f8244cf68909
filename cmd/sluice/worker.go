package main

import (
	"flag"
	"fmt"
	"runtime"
	"time"

	"github.com/sluicedata/sluice/cmd/sluice/internal/cli"
	"github.com/sluicedata/sluice/dist/temporal"
	"github.com/sluicedata/sluice/exec"
)

func workerCommand() *cli.Command {
	return &cli.Command{
		Name:     "worker",
		Synopsis: "Run plan tasks for `apply -executor temporal` (a Temporal worker)",
		MaxArgs:  0,
		Common:   cli.CommonExec,
		Help: `Polls a Temporal task queue and runs the tasks of the runs that
'sluice apply -executor temporal' starts, -parallelism at a time, until
SIGINT or SIGTERM (tasks under way get -stop-timeout to finish; the others
are retried on another worker once their heartbeats stop).

A worker needs the same storage access as apply (the AWS_* variables or
the default credential chain). It reaches Temporal with the options below
or TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE and SLUICE_TASK_QUEUE; Temporal
Cloud's API key or mTLS certificate come from TEMPORAL_API_KEY, or
TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH
(docs/scale-out.md). The memory limit bounds the buffered data of all
its tasks together.`,
		Setup: func(fs *flag.FlagSet) cli.Runner {
			var tf temporalFlags
			tf.register(fs)
			stop := fs.Duration("stop-timeout", 10*time.Second, "On SIGTERM, let running tasks finish for up to `DURATION`.")
			sticky := fs.Duration("sticky-timeout", time.Second, "Let a run's workflow task wait this `long` for the worker that cached it before any worker takes it.")
			return func(inv *cli.Invocation) cli.ExitCode {
				return runWorker(inv, tf, *stop, *sticky)
			}
		},
	}
}

func runWorker(inv *cli.Invocation, tf temporalFlags, stop, sticky time.Duration) cli.ExitCode {
	cfg := tf.config(inv, "worker")
	c, err := cfg.Dial()
	if err != nil {
		return inv.Errorf("%v", err)
	}
	defer c.Close()
	par := inv.Common.Parallelism
	if par <= 0 {
		par = max(1, runtime.GOMAXPROCS(0)/2) // a task uses two cores (decode, process)
	}
	mem := inv.Common.MemoryLimit
	if mem <= 0 {
		mem = exec.DefaultMemoryLimit
	}
	defer gcToMemoryLimit(inv.Common.MemoryLimit)()
	a := &temporal.Activities{Open: openLoc, Exec: exec.Options{MemoryLimit: mem / int64(par), Version: version}}
	fmt.Fprintf(inv.Stderr, "sluice worker: polling task queue %s (%d tasks at once).\n", cfg.Queue(), par)
	if err := temporal.RunWorker(inv.Ctx, c, cfg.Queue(), a, temporal.WorkerOptions{Parallelism: par, StickyTimeout: sticky, StopTimeout: stop}); err != nil {
		return inv.Errorf("%v", err)
	}
	return cli.ExitOK
}

package main

import (
	"flag"
	"fmt"
	"strconv"

	"github.com/sluicedata/sluice/cmd/sluice/internal/cli"
	"github.com/sluicedata/sluice/dist"
	"github.com/sluicedata/sluice/exec"
)

func taskCommand() *cli.Command {
	return &cli.Command{
		Name:     "task",
		Synopsis: "Run one task of a run started with `apply -executor external`",
		MaxArgs:  0,
		Common:   cli.CommonExec | cli.CommonJSON,
		Help: `Runs task -index of the run whose saved plan is -plan (the URL that
'sluice apply -executor external' prints), and records its result under
the run's state, where apply waits for it. Without -index, the index is
read from JOB_COMPLETION_INDEX (a Kubernetes Indexed Job) or
AWS_BATCH_JOB_ARRAY_INDEX (an AWS Batch array job).

Running a task twice is safe: the first attempt to record its result wins
and any later one discards its outputs; a task already recorded is not
run again.

Exit codes: 0 done (or already recorded by another attempt), 1 an error
worth retrying, 5 an input changed since the plan (the run is stale:
retrying cannot help), 4 on_bad_record or on_schema_change = "fail"
stopped the task, or the run is no longer running.`,
		Setup: func(fs *flag.FlagSet) cli.Runner {
			plan := fs.String("plan", "", "The run's saved plan (`URL`), as apply -executor external prints it.")
			index := fs.Int("index", -1, "The task's `INDEX` (default $JOB_COMPLETION_INDEX, else $AWS_BATCH_JOB_ARRAY_INDEX).")
			return func(inv *cli.Invocation) cli.ExitCode { return runTask(inv, *plan, *index) }
		},
	}
}

func runTask(inv *cli.Invocation, plan string, index int) cli.ExitCode {
	if plan == "" {
		return inv.Errorf("-plan is required")
	}
	if index < 0 {
		for _, k := range []string{"JOB_COMPLETION_INDEX", "AWS_BATCH_JOB_ARRAY_INDEX"} {
			if v := inv.Getenv(k); v != "" {
				i, err := strconv.Atoi(v)
				if err != nil || i < 0 {
					return inv.Errorf("%s=%q is not a task index", k, v)
				}
				index = i
				break
			}
		}
	}
	if index < 0 {
		return inv.Errorf("no task index: pass -index, or set JOB_COMPLETION_INDEX or AWS_BATCH_JOB_ARRAY_INDEX")
	}
	defer gcToMemoryLimit(inv.Common.MemoryLimit)()
	o := dist.TaskOptions{Open: openLoc, Attempt: dist.NewAttempt("task"),
		Exec: exec.Options{MemoryLimit: inv.Common.MemoryLimit, Version: version}}
	rec, won, err := dist.RunJob(inv.Ctx, plan, index, o)
	ev := newEvents(inv)
	if err != nil {
		if inv.Ctx.Err() != nil {
			fmt.Fprintln(inv.Stderr, "Interrupted: the task's outputs were discarded.")
			return cli.ExitInterrupted
		}
		ev.emit("error", map[string]any{"task": index, "kind": dist.Classify(err), "message": err.Error()})
		fmt.Fprintf(inv.Stderr, "Error: task %d: %v\n", index, err)
		switch dist.Classify(err) {
		case dist.KindInputChanged:
			return cli.ExitStalePlan
		case dist.KindBadInput, dist.KindRunOver, dist.KindNoPlan:
			return cli.ExitInvalid
		}
		return cli.ExitError
	}
	s := rec.Result.Stats
	ev.emit("task_done", map[string]any{"run_id": rec.RunID, "task": index, "recorded": won, "attempt": rec.Attempt, "stats": s})
	if !inv.Common.JSON {
		if won {
			fmt.Fprintf(inv.Stdout, "task %d of run %s: read %d files (%d rows), wrote %d files; recorded.\n", index, rec.RunID, s.FilesRead, s.RowsIn, s.FilesWritten)
		} else {
			fmt.Fprintf(inv.Stdout, "task %d of run %s: already recorded by attempt %s; nothing kept from this one.\n", index, rec.RunID, rec.Attempt)
		}
	}
	return cli.ExitOK
}

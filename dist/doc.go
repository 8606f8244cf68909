// Package dist runs a plan's tasks in processes other than the
// coordinator's (Temporal workers, Kubernetes Indexed Jobs, AWS Batch array
// jobs) with exactly one result per task, whatever the scheduler does.
//
// Its one job is the contract between the coordinator and those processes,
// kept in objects under the pipeline source's state directory:
//
//	runs/<run id>/plan.sluiceplan   the saved plan (the coordinator writes it once)
//	runs/<run id>/tasks/<i>.json    task i's result record, written create-only
//	runs/<run id>/failed/<i>.json   a task's permanent failure (external runs)
//
// RunTask runs one task of a saved plan (exec.RunTask) and records its
// result with If-None-Match: *, so that of every attempt (retries, a frozen
// worker that wakes up, two attempts racing) exactly one wins; a losing
// attempt aborts its own pending uploads and reports the winner's record.
// The coordinator's side (SavePlan, Watch, Collect) reads the records back
// and builds the run's exec.Result with exec.Merge, as the local executor
// does. External is the executor that only waits for records written by
// jobs someone else schedules (`sluice task`).
//
// The commit protocol is not this package's: it never imports txn or
// apply. The coordinator's apply journals the run, and commits or aborts
// it; dist only produces pending uploads and their records. The Temporal
// scheduler is dist/temporal's.
package dist

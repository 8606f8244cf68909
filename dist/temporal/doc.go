// Package temporal runs a plan's tasks on Temporal workers: one workflow
// per run (id sluice/<pipeline>/<source>/<run id>), one activity per task,
// child workflows of at most BatchSize tasks for large plans.
//
// Its one job is scheduling on Temporal: the workflow and activity
// definitions and their options (heartbeats, retries, which failures are
// permanent), the worker (`sluice worker`), the coordinator's Executor
// (an apply.Remote: it saves the plan, starts the workflow, waits and
// terminates it when the run ends early) and the Stop function recovery
// calls to terminate the workflow of a run whose coordinator died. What a
// task does, and its create-only result record that makes exactly one
// attempt count, are package dist's; only object keys travel through
// Temporal, never results. Like dist it never imports the commit
// protocol (txn, apply).
//
// Keep the workflow code deterministic and its names stable: a worker
// replays the history of runs already in flight. An incompatible change
// takes a new workflow type name.
package temporal

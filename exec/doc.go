// Package exec is the data plane: it runs a job's tasks and returns their
// outputs as pending (invisible) uploads. It fetches a task's input
// objects with bounded concurrency, decodes them into Arrow record batches
// (exec/decode), keeps the rows the residual predicate accepts
// (exec/eval), projects the output columns, evaluates checks, and writes
// partitioned, size-rolled outputs (exec/write).
//
// Files by job: pool.go (the worker pool: Run, the runner and its
// counters), task.go (one task: read its inputs in key order, hand batches
// to the stage that filters, projects, checks and writes), read.go
// (decoding one object: text, Parquet fetched whole or streamed),
// badrecords.go (not-null enforcement, on_bad_record, quarantine),
// checks.go (check evaluation), batch.go (coalescing small batches),
// stage.go (the decode/process overlap), fetch.go (prefetch under a byte
// budget), split.go (a large Parquet file read by several tasks),
// result.go (what a run returns), fromplan.go and job.go (a plan's
// pipeline as a Job), footer.go (Parquet footers for the planner),
// project.go (the output block's columns, computed after the filter; row
// provenance; failed casts as bad records), dedupe.go (dedupe across the
// run's tasks).
//
// Tasks share no in-memory state but the memory budget: each is a pure
// function of its pinned inputs, so the same plan's tasks can run on
// separate machines with the commit step run once at the end.
//
// Dedupe is the exception, and why it needs the local executor. Each
// task writes its own files, so a task alone cannot tell whether a key it
// saw also appears in another task's inputs; deduping inside each task
// would keep one row per key per task. Instead, with a dedupe block, the
// tasks decode, filter and project as usual but hand their output rows
// (with each row's provenance: its input's index in the plan and its
// position in it) to the run's deduper, which splits them by a fixed hash
// of the key into 64 buckets, held in memory up to Options.DedupeMemory
// (a quarter of the memory limit) and reduced to their winners, then
// spilled to temporary files, when over it. Once every task is done, the
// buckets are reduced (one per worker at a time) and their winners
// checked and written by writers of their own, numbered after the tasks.
// The winner of a key is the extreme row by (order_by, nulls first;
// input; row), a total order independent of task packing, parallelism
// and retries; a retried run recomputes the same winners from the same
// pinned inputs. RunTask (a task run in another process) refuses a job
// with a dedupe.
//
// Committing (making a Result visible and recording its inputs) is package
// txn's; the order of apply's steps is package apply's; planning what to
// read is package planner's; storage semantics are package objstore's.
package exec

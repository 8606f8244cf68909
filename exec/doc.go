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
// pipeline as a Job), footer.go (Parquet footers for the planner).
//
// Tasks share no in-memory state but the memory budget: each is a pure
// function of its pinned inputs, so the same plan's tasks can run on
// separate machines with the commit step run once at the end.
//
// Committing (making a Result visible and recording its inputs) is package
// txn's; the order of apply's steps is package apply's; planning what to
// read is package planner's; storage semantics are package objstore's.
package exec

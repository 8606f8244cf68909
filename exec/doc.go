// Package exec runs a physical plan: it fetches a task's input objects with
// bounded concurrency, decodes them into Arrow record batches
// (exec/decode), keeps the rows the residual predicate accepts (exec/eval),
// projects the output columns, evaluates checks, and writes partitioned,
// size-rolled outputs as pending uploads (exec/write). Commit then publishes
// every pending upload, writes the commit manifest and records the inputs as
// processed in the state store — in that order, so inputs are marked
// processed only once their outputs are visible.
//
// Tasks share no in-memory state but the memory budget: each is a pure
// function of its pinned inputs, so the same plan's tasks could run on
// separate machines with the commit step run once at the end.
//
// Planning (what to read) belongs to package planner; decoding the
// configuration to package spec; storage semantics to package objstore.
package exec

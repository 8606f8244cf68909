// Package eval evaluates a type-checked predicate or value expression
// (spec/predicate IR) over Arrow record batches, a column at a time:
// Program for where and check (a boolean mask, Filter), Value for output
// columns (an array plus the rows whose cast or parse failed, RowError).
//
// It owns only row-level evaluation and filtering of one batch: parsing and
// type-checking belong to spec/predicate, splitting predicates into
// partition/statistics/row conjuncts belongs to the planner, and operators
// that pull batches from decoders belong to the rest of exec.
//
// Semantics are those of predicate.Eval (the row-at-a-time reference):
// SQL three-valued logic (null is unknown, a row is kept only when the
// predicate is true), Kleene AND/OR, IS NULL never unknown, integer
// overflow giving null (detected per batch for a few ALU operations per
// row: arith.go), int / int giving float64, and division or modulo by zero
// giving null rather than an error, and a row error reported only where
// the reference evaluates the failing cast (not in a branch of ?: not
// taken, nor after coalesce found a value, nor after && met false). The
// differential and fuzz tests hold this package to that reference.
package eval

// Package predicate is the front end of `where` and `check` expressions:
// it parses expr-lang text (Compile, CheckSyntax), type-checks it against
// a source's columns and hive partition keys, and builds the small typed
// IR of ir.go, split into top-level conjuncts so that the planner can push
// each one to where it is cheapest (partition pruning, Parquet statistics,
// the vectorised filter). CompileValue does the same for a value
// expression of any type (an output column), and the function library
// (funcs*.go: ?:, coalesce, string functions, casts, time functions) is
// type-checked here, its literal arguments (patterns, formats, timezones,
// units) checked once so that evaluators never meet a bad one.
//
// It also holds the reference semantics of that IR: Eval evaluates one
// row at a time with SQL three-valued logic, and reports a cast or parse
// that fails on the row as a *ValueError (a bad record). It is deliberately
// slow and simple; the executor's vectorised evaluator is tested against it, and the
// planner uses it to prune listing prefixes by partition values.
//
// What belongs elsewhere: mapping Span byte offsets to HCL file positions
// (package spec), rewriting predicates (the planner), evaluating them on
// Arrow arrays (the executor).
package predicate

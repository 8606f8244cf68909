// Package planner turns a decoded configuration into the physical plan of
// the next run: it lists each source (pruning hive partitions while it
// walks, so pruned prefixes are never listed), merges the listing with the
// bookmarks to choose the run's inputs (modes, bounds, on_change), builds a
// small immutable logical plan (Scan → Filter → Project → Check → Write),
// rewrites it with an ordered list of rules, lowers it to plain serializable
// data (tasks of pinned inputs), renders it as text or JSON, and encodes and
// decodes plan files.
//
// Lowering (lower.go) reads only the optimized tree — settings, shape,
// inputs and tasks from the Scan, the residual predicate from the Filter,
// the output columns from the Project — so a rule's rewrite is what runs.
// Types come from the source's spec.SourceShape, which validate and the
// executor use too.
//
// Follows (expect.go) derives a pipeline's settings again from a
// configuration with the same code — inference, the rules without Data,
// lower — so that apply can check a saved plan against the configuration
// it names.
//
// Schema inference (sample.go) types sample objects — JSON lines and CSV
// records from their text, Parquet from footers — for sluice schema infer
// and for on_schema_change = "add_columns" on JSON and CSV sources
// (sample_drift.go).
//
// It reaches storage through objstore.Store, bookmarks through package
// state, and Parquet footers and text samples through the FooterReader and
// Sampler interfaces it declares, so that it never imports exec (which sits
// above it). Running a plan is exec's job.
package planner

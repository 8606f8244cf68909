// Package duck opens an in-process DuckDB for the interop tests and the
// benchmark, with extension auto-install and auto-load off (the machine has
// no network access to DuckDB's extension repository, and a test must not
// silently depend on one), and compares two relations: row count, sums of
// numeric columns, per-partition counts and the full multiset of rows.
//
// It knows nothing of sluice: callers pass SQL relations (a read_parquet of
// sluice's output, a read_json of the raw input with the pipeline's filter).
package duck

// Package sluicecfg renders the single-pipeline sluice configurations that
// the interop tests and the benchmark run: one state block and one pipeline
// with a source and a Parquet sink, in the language of DESIGN.md §1.
package sluicecfg

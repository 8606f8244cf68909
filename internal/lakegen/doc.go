// Package lakegen writes deterministic sample data lakes to a local directory:
// the demo lake that `make demo` drains with the example pipelines, and the
// benchmark data sets of `make bench`. The same seed always produces the same
// bytes, so benchmark runs and tests compare like with like.
//
// It is test and demo tooling: nothing in the sluice binary imports it.
package lakegen

// Package runner runs a subprocess and measures it the way the benchmark
// reports it: wall time, peak resident set size and CPU time, all from the
// kernel's wait4 rusage of that child.
//
// One trap shapes its use: Go starts children with vfork semantics
// (CLONE_VM), and Linux folds the high-water RSS of the address space a
// process leaves at exec into its own maximum, so a child's ru_maxrss is at
// least the parent's peak RSS at the moment it was started. Run therefore
// also samples the child's own VmHWM while it runs and reports that when
// ru_maxrss is no higher than the parent's peak; and the benchmark keeps
// DuckDB and data generation out of its own process (they run in worker
// subprocesses) so that the floor stays low.
package runner

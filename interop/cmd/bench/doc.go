// Command bench is `make bench`: sluice next to DuckDB on the same
// generated data, with the same thread count, reporting median wall time,
// input throughput and peak RSS, and checking that both wrote the same rows.
//
// Every measured program runs as a child of a small parent, so that its peak
// RSS comes from the kernel's rusage of that child alone: sluice is the
// binary, DuckDB runs in this program re-executed as `bench duckdb-worker`,
// the S3 baseline as `bench get-worker`. Data generation and result checks
// (which load DuckDB too) also run in workers, keeping the parent's own peak
// — the floor of every child figure, see package runner — low.
//
// Usage:
//
//	bench [-sluice bin/sluice] [-repo DIR] [-runs 5] [-threads N] [-large] [-only 1,3] [-o FILE]
//	      [-cpuprofile DIR] [-memprofile DIR] [-one-thread=false]
//
// Besides both engines, each scenario measures its floor (floor-worker: the
// input read, decompressed and, for text, parsed without building anything,
// on the same threads) and sluice again with one thread (the parallel
// efficiency column).
//
// Datasets are generated deterministically once into .tools/cache/bench/.
package main

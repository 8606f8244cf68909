// Package e2e runs the sluice binary end to end and has DuckDB check its
// output: JSON, gzip CSV and Parquet inputs on the local store, the JSON
// case on a real S3 server, a real third-party Parquet file (vega-datasets'
// flights-3m), re-runs that must do nothing, and bounded runs that must
// drain to the same result as one unbounded run. Iceberg tables are read
// twice over: their metadata and manifests with an independent reader
// (interop/icebergcheck: node and avsc), their data files with DuckDB.
//
// The package holds tests only. They need SLUICE_BIN and, for tables,
// SLUICE_NODE_PATH (both set by `make test`) and fail, never skip, without
// them.
package e2e

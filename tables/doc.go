// Package tables is sluice's one door to Apache Iceberg tables (through
// iceberg-go): it opens a catalog from a catalog block's settings (the
// embedded sql catalog on a SQLite file, and the experimental rest and
// glue catalogs), maps a pipeline's output columns to an Iceberg schema
// and compares it with a table's (what plan shows and apply evolves),
// creates tables and adds columns, commits a run's data files as one
// snapshot that carries the run id (append, overwrite, overwrite by
// partition, with a bounded reload-and-retry on conflicts), finds a run's
// snapshot in the table's history for recovery, and expires snapshots and
// removes orphan files.
//
// It knows nothing of journals, locks or bookmarks: when to commit and what
// a crash means are package txn's (docs/commit-protocol.md); writing the
// data files is package exec's, which takes the field ids and partition
// transforms from WriteSpec. Metadata on s3:// goes through a FileIO over
// package objstore (fileio.go), so sluice's S3 settings apply and no cloud
// SDK beyond the AWS one is linked.
package tables

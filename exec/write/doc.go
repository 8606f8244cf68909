// Package write turns a task's stream of Arrow record batches into the
// output files of a sink: it splits rows by the sink's partition_by columns
// into hive-style directories, encodes each partition as Parquet, CSV or
// NDJSON, rolls files at target_file_size, sizes Parquet row groups from
// row_group_size, and bounds the memory that many open files buffer with a
// shared Budget.
//
// Every byte goes through an objstore.Upload, and Close only Finishes the
// uploads: files come back as pending uploads that stay invisible until the
// committer completes them (or anyone Aborts them). Deciding what to
// publish, journaling, and deleting replaced objects belong to the commit
// step in exec; reading inputs and evaluating predicates belong upstream.
//
// Layout: <prefix><k1>=<v1>/…/part-<run id>-<task:05d>-<seq:05d>.<ext>, with
// the partition columns in the path only (as Spark and DuckDB write them).
// Values are rendered by PartitionValue and named by hive.Dir (Hive's
// escape set); the commit step names partitions with the same functions of
// package hive. Extensions: .parquet; .csv and .json, plus .gz or .zst.
//
// A Writer belongs to one task and is not safe for concurrent use. Writers
// of different tasks share no in-memory state other than an optional
// Budget, so tasks can run in separate processes without change.
package write

// Package hive is sluice's one codec for hive-style partition paths,
// <key>=<value>/…: it escapes and unescapes values, renders a partition's
// directory from keys and values, reads the values of a list of keys back
// out of a key (relative path), renders typed values (integers, dates,
// timestamps, decimals, …) as the writer names their directories, tells
// hidden path segments (_… and .…) from data, and names the partition of a
// null value (DefaultPartition).
//
// Escaping uses Hive's character set (the one Spark copies and DuckDB
// writes); unescaping is lenient the way Hive and Spark are: a '%' not
// followed by two hex digits is kept as it is, so dt=50%off is the value
// "50%off" and never an error. Reading and writing agree, so a value read
// from dt=50%25off (as DuckDB or Spark write "50%off") is written back to
// dt=50%25off.
//
// The package is a leaf (the standard library only) so that spec, planner,
// exec and the commit protocol can all use it. Typing a value as a column
// type (parsing "2026-01-02" as a date) belongs to spec/predicate; reading
// values out of Arrow arrays belongs to exec/write. Both call the renderers
// here, so a value's directory is spelled the same wherever it is computed.
package hive

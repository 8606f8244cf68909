// Package schema defines the column types of the pipeline language and the
// declared schemas of sources: the type grammar (ParseType and its canonical
// String form), type predicates (IsNumeric, IsTemporal, ...), equality and
// the safe widenings accepted as schema drift (Widens).
//
// It does not decode schema blocks from HCL (package spec does) nor map
// types to Arrow or Parquet (the executor does); it is the shared
// vocabulary those packages agree on.
package schema

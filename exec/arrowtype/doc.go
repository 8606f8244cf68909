// Package arrowtype maps sluice column types (spec/schema) to Arrow data
// types and back.
//
// It is the single place that decides how a declared type is represented in
// memory (ToArrow, ArrowSchema) and how a type found in a Parquet footer is
// mapped to the nearest sluice type (FromArrow). Decoding values is the job
// of exec/decode; type-checking expressions is the job of spec.
package arrowtype

// Package decode turns the bytes of one input object into Arrow record
// batches of a given (already projected) schema.
//
// It owns decompression (Decompress), the NDJSON and CSV decoders (our own,
// schema-driven: arrow-go's readers are too slow and cannot report
// line-precise bad records), the Parquet reader (pqarrow with projection,
// row-group selection and safe widening), and AppendPartitionColumns for
// hive partition values. It does not fetch objects (exec's object stores),
// decide what to do with bad records (the caller's Options.OnBad applies
// on_bad_record) or filter rows (exec's operators).
//
// Hostile input: nothing a file states about itself is trusted before it
// is checked. A text record longer than Options.MaxRecordBytes is a bad
// record read past without being held (a decompression bomb of one endless
// line costs that much memory, not its decompressed size); bad records of
// a decompressed object wait until its stream ends cleanly, so a corrupt
// stream is one unreadable object and not a heap of garbage records. Every
// size and count in a Parquet footer and page header is checked against
// the object's size and Options.MemoryLimit before arrow-go allocates from
// it (parquetcheck.go), and no single buffer may exceed the limit; a file
// that fails is a *CorruptParquetError, never a crash. Files arrow-go
// refuses but other readers read (LZ4, unknown logical types, INT96 out of
// the nanosecond range, legacy lists, maps with optional keys) are adapted
// here: see UseReadCodecs and interop/parquettesting's README.
//
// Ownership: every arrow.RecordBatch returned by a Reader belongs to the
// caller, who must Release it. Readers hold builders from Options.Alloc
// until Close; Close never closes the source. A Reader is used by one
// goroutine at a time; run one Reader per object for parallelism.
// Appender is the exception to one-batch-set-per-object: it decodes many
// small NDJSON or CSV objects into shared builders, still all or nothing
// per object, because per-object set-up dominates when objects are a few KB.
//
// # Conversions (JSON value / CSV field → column type)
//
//   - bool: JSON true/false; CSV true/false/t/f/1/0 (and TRUE/True, FALSE/False).
//   - int32, int64: a JSON number or CSV text that is an integer; JSON
//     numbers written with a zero fraction or exponent (3.0, 1e3) are
//     accepted, anything fractional or out of range is a bad record.
//   - float32, float64: a JSON number (NaN/Inf are not JSON); CSV also
//     takes NaN, Inf, -Inf. A float32 overflow is a bad record.
//   - string: a JSON string (escapes decoded; lone surrogates become
//     U+FFFD); invalid UTF-8 is a bad record. Numbers are not turned into
//     strings: a JSON value of another type is a bad record.
//   - binary: JSON: a base64 string (padded or not); CSV: the field's bytes.
//   - date: "YYYY-MM-DD", or the column's timestamp_format (as below).
//   - timestamp: RFC 3339 / ISO 8601 with 'T' or a space, optional seconds,
//     fraction and zone (no zone = UTC), or a bare date (midnight UTC), or
//     an integer (JSON number or CSV text) counting the column's unit since
//     the epoch; with timestamp_format, that Go layout, or strftime
//     directives (%Y-%m-%d %H:%M:%S) translated to one (UTC when the format
//     has no zone). Digits finer than the unit are truncated.
//   - decimal(p, s): a JSON number or string, or CSV text, converted exactly:
//     more than s fraction digits (other than trailing zeros) or more than p
//     digits is a bad record, never a rounding.
//   - list, struct, map: JSON arrays/objects (map keys are converted from
//     their text); in CSV, the field holds JSON text.
//
// A missing key, JSON null, or an unquoted CSV field equal to a null value
// is null; in a non-nullable column that is a bad record.
//
// With Options.Rescue (rescued_data_column), fields the schema does not
// declare and values that do not convert (in a nullable column) go to the
// rescued data column as a JSON object instead (rescue.go): the record is
// kept. A struct column declared with fewer fields than the data holds
// (the planner's nested projection) reads only those: Parquet fetches only
// their leaf column chunks, JSON cuts the raw text to them before parsing
// (jsonprune.go).
package decode

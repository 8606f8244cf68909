package decode

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/metadata"

	"github.com/sluicedata/sluice/spec"
)

// DefaultBatchRows is the target rows per batch when Options.BatchRows is 0.
const DefaultBatchRows = 16 << 10

// DefaultMaxRecordBytes is Options.MaxRecordBytes when it is 0.
const DefaultMaxRecordBytes = 16 << 20

// TruncatedRawBytes is how much of a record longer than MaxRecordBytes a
// BadRecord keeps in Raw.
const TruncatedRawBytes = 1 << 10

// BadRecord describes one input record that could not be decoded.
type BadRecord struct {
	Key    string
	Line   int64  // 1-based line where the record starts (text formats); 0 if n/a
	Row    int64  // 1-based row (parquet); 0 if n/a
	Column string // the column concerned, "" when the whole record is bad
	Reason string
	Raw    []byte // the raw record text (text formats); a copy the callee may keep
	// Err is the typed cause when there is one (a *SchemaMismatchError for
	// a Parquet column of another type), so a caller decides on the type,
	// never by parsing Reason.
	Err error
	// Truncated says Raw holds only the first TruncatedRawBytes of a record
	// longer than Options.MaxRecordBytes (the Reason gives its length).
	Truncated bool
}

func (b BadRecord) String() string {
	pos := ""
	switch {
	case b.Line > 0:
		pos = fmt.Sprintf(":%d", b.Line)
	case b.Row > 0:
		pos = fmt.Sprintf(" row %d", b.Row)
	}
	if b.Column != "" {
		return fmt.Sprintf("%s%s: column %q: %s", b.Key, pos, b.Column, b.Reason)
	}
	return fmt.Sprintf("%s%s: %s", b.Key, pos, b.Reason)
}

// BadRecordError is the error a decoder returns when Options.OnBad is nil:
// without a policy, the first bad record stops decoding.
type BadRecordError struct{ Record BadRecord }

func (e *BadRecordError) Error() string { return "bad record: " + e.Record.String() }

// Options configure a decoder.
type Options struct {
	Key    string        // object key, for messages
	Schema *arrow.Schema // the columns to produce, in order (already projected)
	// TimestampFormats holds a format per column name for date and
	// timestamp columns (a Go layout, or strftime directives such as
	// "%d/%m/%Y %H:%M"); a missing or "" entry means ISO 8601 / RFC 3339
	// ('T' or space, optional zone; bare dates and integer epoch counts in
	// the column's unit are accepted too: see the package doc).
	TimestampFormats map[string]string
	CSV              spec.CSVOptions
	// CSVColumns names the file's columns in order when CSV.Header is false;
	// nil means Schema's fields are the file's columns, in order.
	CSVColumns []string
	BatchRows  int              // target rows per batch (default DefaultBatchRows)
	Alloc      memory.Allocator // default memory.DefaultAllocator
	// OnBad is called for every bad record. Returning nil skips the record
	// and decoding continues; returning an error stops decoding with that
	// error (the on_bad_record = fail policy). nil: stop with *BadRecordError.
	OnBad func(BadRecord) error
	// ParquetMetadata, when set, is the already-read footer of the Parquet
	// object (from ReadParquetSchema), saving a second footer read.
	ParquetMetadata *metadata.FileMetaData
	// SizeHint is the expected decoded size of the object in bytes (0:
	// unknown). Text readers size their read buffer from it, so that a
	// 5 KB object does not cost a 256 KiB buffer.
	SizeHint int64
	// MaxRecordBytes is the longest NDJSON line or CSV record decoded
	// (0: DefaultMaxRecordBytes). A longer one is a bad record whose Raw
	// keeps its first TruncatedRawBytes (Truncated is set); it is read past
	// without being held in memory, so a decompression bomb of one endless
	// line costs this many bytes, not its decompressed size.
	MaxRecordBytes int
	// MemoryLimit bounds what decoding one object may hold in a single
	// buffer: a Parquet column chunk (read whole), page, dictionary or
	// array. Sizes a file states are checked against it before anything is
	// allocated, so a file that lies about them is an unreadable object
	// (a *CorruptParquetError), not an out-of-memory crash. 0:
	// DefaultMemoryLimit.
	MemoryLimit int64
	// SchemaChange is the source's on_schema_change; only
	// spec.SchemaChangeIgnore changes what NewParquet does.
	SchemaChange spec.SchemaChangePolicy
	// Dictionaries names top-level string and binary columns of Schema
	// that NewParquet may return as dictionary arrays (dictionary<int32,
	// T> for the column's type T; the batch's schema says so) when the
	// file stores them dictionary-encoded in row groups of at least
	// BatchRows rows: decoding the indices alone and copying the strings
	// only for the rows a filter keeps (Dense) is late materialisation.
	// Text readers ignore it.
	Dictionaries map[string]bool
}

func (o *Options) normalize() error {
	if o.Schema == nil {
		return fmt.Errorf("%s: decode: no schema", o.Key)
	}
	if o.BatchRows <= 0 {
		o.BatchRows = DefaultBatchRows
	}
	if o.Alloc == nil {
		o.Alloc = memory.DefaultAllocator
	}
	if o.MaxRecordBytes <= 0 {
		o.MaxRecordBytes = DefaultMaxRecordBytes
	}
	if o.MemoryLimit <= 0 {
		o.MemoryLimit = DefaultMemoryLimit
	}
	return nil
}

func (o *Options) bad(r BadRecord) error {
	r.Key = o.Key
	if o.OnBad == nil {
		return &BadRecordError{Record: r}
	}
	return o.OnBad(r)
}

// Reader yields record batches of Options.Schema (the columns named in
// Options.Dictionaries may be dictionary arrays of their type instead).
type Reader interface {
	// Next returns the next batch, or io.EOF after the last one. The caller
	// owns the batch and must Release it.
	Next() (arrow.RecordBatch, error)
	// Close releases the reader's buffers. It does not close the source.
	Close() error
}

// newBatch finishes the builders' batch. A schema with no columns (a
// count-only read) still reports how many rows were decoded.
func newBatch(rb *array.RecordBuilder, s *arrow.Schema, rows int) arrow.RecordBatch {
	if s.NumFields() == 0 {
		return array.NewRecordBatch(s, nil, int64(rows))
	}
	return rb.NewRecordBatch()
}

// readBufferSize is the text readers' buffer size for o.SizeHint.
func (o *Options) readBufferSize() int {
	const lo, hi = 4 << 10, 256 << 10
	switch {
	case o.SizeHint <= 0 || o.SizeHint >= hi:
		return hi
	case o.SizeHint < lo:
		return lo
	}
	return int(o.SizeHint) + 1
}

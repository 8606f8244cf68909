package exec

import (
	"bytes"
	"context"
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/sluicedata/sluice/exec/decode"
	"github.com/sluicedata/sluice/objstore"
	"github.com/sluicedata/sluice/spec"
)

// maxAppendSize bounds the decoded size (as estimated by the size hint) of
// an object decoded into a task's shared builders: larger objects already
// make batches of their own, and are decoded batch by batch as before.
const maxAppendSize = 8 << 20

// appendable reports whether the object goes into the task's Appender.
func (r *runner) appendable(in Input, data []byte) bool {
	return r.sizeHint(in, data) <= maxAppendSize
}

// sizeHint estimates an object's decoded size.
func (r *runner) sizeHint(in Input, data []byte) int64 {
	n := int64(len(data))
	if decode.IsCompressed(in.Key, data) {
		n *= 8 // a typical text compression ratio; only sizes a buffer
	}
	return n
}

// appendObject decodes one whole NDJSON or CSV object into app and returns its
// rows. On an error the object contributes no rows (see decode.Appender).
func (r *runner) appendObject(app *decode.Appender, in Input, data []byte) (int, error) {
	src := r.job.Source
	if len(src.PartitionFields) > 0 {
		if err := decode.CheckPartitionValues(src.PartitionFields, in.Partition); err != nil {
			return 0, fmt.Errorf("%s: %w", in.Key, err)
		}
	}
	body, err := decode.Decompress(bytes.NewReader(data), in.Key, src.Compression)
	if err != nil {
		return 0, err
	}
	defer body.Close()
	return app.Append(body, in.Key, r.sizeHint(in, data))
}

// decodeOptions are the decoder options common to every object of a task.
func (r *runner) decodeOptions(q *quarantine) decode.Options {
	src := r.job.Source
	opts := decode.Options{
		Schema: src.FileSchema, TimestampFormats: src.TimestampFormats,
		CSV: src.CSV, Alloc: r.alloc, SchemaChange: src.OnSchemaChange,
		OnBad: r.onBad(q), MaxRecordBytes: int(src.MaxRecordBytes),
		// No single decoded buffer may exceed the run's memory budget: a
		// file that claims one that large is unreadable, not a crash.
		MemoryLimit:  r.o.MemoryLimit,
		Dictionaries: r.dictionaries,
	}
	if src.OnSchemaChange == spec.SchemaChangeAddColumns {
		// add_columns: a column the planner added from a newer file's
		// footer is missing from older files, which read it as null (the
		// decoders do that under ignore); a column of another type still
		// stops the run, which onBad enforces.
		opts.SchemaChange = spec.SchemaChangeIgnore
	}
	return opts
}

// decodeObject decodes one whole text (JSON or CSV) object into batches of
// evalSchema; Parquet objects go through streamParquet.
//
// Text objects are decoded completely before any row moves on, so a file
// that turns out to be broken half-way (a truncated gzip stream) is handled
// as a whole file under on_bad_record and never contributes half its rows.
func (r *runner) decodeObject(ctx context.Context, in Input, data []byte, q *quarantine) ([]arrow.RecordBatch, error) {
	src := r.job.Source
	opts := r.decodeOptions(q)
	opts.Key, opts.SizeHint = in.Key, r.sizeHint(in, data)
	body, err := decode.Decompress(bytes.NewReader(data), in.Key, src.Compression)
	if err != nil {
		return nil, err
	}
	defer body.Close()
	var rd decode.Reader
	if src.Format == spec.FormatCSV {
		rd, err = decode.NewCSV(body, opts)
	} else {
		rd, err = decode.NewJSON(body, opts)
	}
	if err != nil {
		return nil, err
	}
	defer rd.Close()
	var out []arrow.RecordBatch
	for {
		b, err := rd.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			releaseAll(out)
			return nil, err
		}
		if len(src.PartitionFields) > 0 {
			nb, perr := decode.TryAppendPartitionColumns(b, src.PartitionFields, in.Partition, r.alloc)
			b.Release()
			if perr != nil {
				releaseAll(out)
				return nil, fmt.Errorf("%s: %w", in.Key, perr)
			}
			b = nb
		}
		out = append(out, b)
	}
}

// StreamParquetAbove is the size past which a Parquet input is not fetched
// whole into memory but read with ranged GETs (footer, then the needed
// column chunks of the kept row groups) and its batches handed on as they
// are decoded: nothing holds a whole large input in memory.
var StreamParquetAbove int64 = 64 << 20

func (r *runner) streamed(in Input) bool {
	// A part of a split file reads only its row groups, with ranged reads.
	return r.job.Source.Format == spec.FormatParquet && (in.Size > StreamParquetAbove || in.Parts > 1)
}

// streamBrokenError is a streamed object that failed after some of its
// rows were already handed on: on_bad_record cannot skip it whole any
// more, so the run stops (nothing is committed).
type streamBrokenError struct {
	key  string
	rows int64
	err  error
}

func (e *streamBrokenError) Error() string {
	return fmt.Sprintf("%s: unreadable after %d of its rows were read (a large Parquet object is streamed, so it cannot be skipped whole): %v", e.key, e.rows, e.err)
}

func (e *streamBrokenError) Unwrap() error { return e.err }

// splitPartError is a part of a split Parquet file that failed: the other
// parts may have read theirs, so the run stops rather than skip it.
type splitPartError struct {
	key         string
	part, parts int
	err         error
}

func (e *splitPartError) Error() string {
	return fmt.Sprintf("%s: unreadable in part %d of the %d it was split into for reading in parallel (so it cannot be skipped whole): %v", e.key, e.part+1, e.parts, e.err)
}

func (e *splitPartError) Unwrap() error { return e.err }

// streamParquet reads a Parquet input and hands each decoded batch
// (partition columns added) to emit as soon as it is decoded, which does not take
// ownership. It returns the rows handed on. An error before the first
// batch (a vanished object, a broken footer) is an ordinary whole-object
// failure for on_bad_record; one after it is a *streamBrokenError.
//
// data is the object when it was fetched whole (small objects: one GET);
// nil means read it with ranged GETs (large objects), after checking its
// ETag is still the planned one.
func (r *runner) streamParquet(ctx context.Context, in Input, data []byte, q *quarantine, emit func(arrow.RecordBatch) error) (int64, error) {
	opts := r.decodeOptions(q)
	opts.Key = in.Key
	if in.footer != nil {
		opts.ParquetMetadata = in.footer
	}
	var src parquet.ReaderAtSeeker
	var size int64
	if data != nil {
		if err := checkParquetMagic(in.Key, data); err != nil {
			return 0, err
		}
		src, size = bytes.NewReader(data), int64(len(data))
	} else {
		store := r.job.Source.Loc.Store
		info, err := store.Head(ctx, in.Key)
		if err != nil {
			return 0, err
		}
		if in.ETag != "" && info.ETag != in.ETag {
			return 0, &InputChangedError{Key: in.Key, Planned: in.ETag, Found: info.ETag}
		}
		ra := objstore.NewReaderAt(ctx, store, in.Key, in.Size)
		head, tail := make([]byte, min(in.Size, 4)), make([]byte, min(in.Size, 4))
		if _, err := ra.ReadAt(head, 0); err != nil {
			return 0, fmt.Errorf("%s: read: %w", in.Key, err)
		}
		if _, err := ra.ReadAt(tail, in.Size-int64(len(tail))); err != nil {
			return 0, fmt.Errorf("%s: read: %w", in.Key, err)
		}
		if err := checkParquetEnds(in.Key, in.Size, head, tail); err != nil {
			return 0, err
		}
		src, size = ra, in.Size
	}
	rd, err := decode.NewParquet(ctx, src, size, opts, in.RowGroups)
	if err != nil {
		return 0, err
	}
	defer rd.Close()
	var rows int64
	for {
		b, err := rd.Next()
		if err == io.EOF {
			return rows, nil
		}
		if err == nil {
			n := b.NumRows()
			var nb arrow.RecordBatch
			first := rows
			nb, err = r.dropNullsInRequired(ctx, in, b, func(i int64) int64 { return decode.FileRow(rd, first+i) }, opts.OnBad)
			b.Release()
			if err == nil && len(r.job.Source.PartitionFields) > 0 {
				b = nb
				nb, err = decode.TryAppendPartitionColumns(b, r.job.Source.PartitionFields, in.Partition, r.alloc)
				b.Release()
			}
			if err == nil {
				err = emit(nb)
				nb.Release()
				rows += n
				if err != nil {
					return rows, err // emit's own error: the caller has it
				}
				continue
			}
		}
		if rows == 0 {
			return 0, err
		}
		return rows, &streamBrokenError{key: in.Key, rows: rows, err: err}
	}
}

// checkParquetMagic rejects an object that is not Parquet at all with a
// message that says so: arrow-go checks the footer length before the
// magic, so a short text file would be reported as "smaller than indicated
// metadata size". Encrypted files (magic "PARE") are left to arrow-go.
func checkParquetMagic(key string, data []byte) error {
	return checkParquetEnds(key, int64(len(data)), data[:min(len(data), 4)], data[max(len(data)-4, 0):])
}

// checkParquetEnds checks the magic bytes at both ends of an object of size
// bytes, given its first and last (up to) four bytes.
func checkParquetEnds(key string, size int64, head, tail []byte) error {
	if size >= 8 && bytes.Equal(head, []byte("PAR1")) && (bytes.Equal(tail, []byte("PAR1")) || bytes.Equal(tail, []byte("PARE"))) {
		return nil
	}
	if size >= 4 && bytes.Equal(tail, []byte("PARE")) {
		return nil
	}
	return fmt.Errorf("%s: not a Parquet file (%d bytes; starts with %q, ends with %q, expected \"PAR1\" at both ends)", key, size, head, tail)
}

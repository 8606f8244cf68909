package exec

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/sluicedata/sluice/exec/decode"
	"github.com/sluicedata/sluice/objstore"
	"github.com/sluicedata/sluice/spec"
)

// dropNullsInRequired enforces "not nullable" on a Parquet batch: the JSON
// and CSV decoders report a null in a required column as a bad record, but
// the Parquet reader passes on the nulls of an optional file column, or of
// a column missing from the file (read as null under ignore and
// add_columns), and the writer would store them as zeros. Each such row is
// a bad record and is dropped; its Row is its 1-based row in the object
// (fileRow maps the batch's i-th row there: row groups may have been
// skipped). b is not consumed; the result is a new reference.
func (r *runner) dropNullsInRequired(ctx context.Context, in Input, b arrow.RecordBatch, fileRow func(int64) int64, onBad func(decode.BadRecord) error) (arrow.RecordBatch, error) {
	var keep []bool
	for j, f := range r.job.Source.FileSchema.Fields() {
		col := b.Column(j)
		if f.Nullable || col.NullN() == 0 {
			continue
		}
		if keep == nil {
			keep = make([]bool, b.NumRows())
			for i := range keep {
				keep[i] = true
			}
		}
		reason := "null in a column declared not nullable"
		if col.NullN() == col.Len() {
			reason = "no value (the column is missing or all null in the file) in a column declared not nullable"
		}
		for i := 0; i < col.Len(); i++ {
			if col.IsNull(i) && keep[i] {
				keep[i] = false
				if err := onBad(decode.BadRecord{Key: in.Key, Row: fileRow(int64(i)) + 1, Column: f.Name, Reason: reason}); err != nil {
					return nil, err
				}
			}
		}
	}
	if keep == nil {
		b.Retain()
		return b, nil
	}
	mb := array.NewBooleanBuilder(r.alloc)
	defer mb.Release()
	mb.AppendValues(keep, nil)
	mask := mb.NewBooleanArray()
	defer mask.Release()
	nb, err := compute.FilterRecordBatch(compute.WithAllocator(ctx, r.alloc), b, mask, compute.DefaultFilterOptions())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", in.Key, err)
	}
	return nb, nil
}

// quarantine collects one task's bad records as JSON lines, and counts
// them (and the unreadable files) in the task's counters.
type quarantine struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	counts *taskCounts
}

type badLine struct {
	Key    string `json:"key"`
	Line   int64  `json:"line,omitempty"`
	Row    int64  `json:"row,omitempty"`
	Column string `json:"column,omitempty"`
	Reason string `json:"reason"`
	Raw    string `json:"raw"`
	// Truncated: Raw holds only the first bytes of a record longer than
	// max_record_bytes.
	Truncated bool `json:"truncated,omitempty"`
	// RawBase64 holds the exact bytes when Raw is not valid UTF-8: JSON
	// strings cannot carry invalid UTF-8 (it would become U+FFFD), and a
	// quarantined record must be recoverable byte for byte.
	RawBase64 string `json:"raw_base64,omitempty"`
}

func (q *quarantine) add(b decode.BadRecord) {
	bl := badLine{Key: b.Key, Line: b.Line, Row: b.Row, Column: b.Column, Reason: b.Reason, Raw: string(b.Raw), Truncated: b.Truncated}
	if !utf8.Valid(b.Raw) {
		bl.RawBase64 = base64.StdEncoding.EncodeToString(b.Raw)
	}
	line, _ := json.Marshal(bl)
	q.mu.Lock()
	q.buf.Write(line)
	q.buf.WriteByte('\n')
	q.mu.Unlock()
}

// onBad applies on_bad_record to one bad record.
//
// Two reports are not about one record, and are sorted out here because
// the decoders leave the policy to the caller: a CSV header that lacks a
// declared column (line 1, a column, no raw text) is schema drift, so
// on_schema_change decides, not on_bad_record; and a Parquet report
// without a row (a column of another type under on_schema_change =
// "ignore", which drops the whole object) counts as a bad file.
func (r *runner) onBad(q *quarantine) func(decode.BadRecord) error {
	src := r.job.Source
	return func(b decode.BadRecord) error {
		if src.Format == spec.FormatCSV && b.Line == 1 && b.Column != "" && b.Raw == nil {
			if src.OnSchemaChange == spec.SchemaChangeIgnore || src.OnSchemaChange == spec.SchemaChangeAddColumns {
				return nil // the column reads as null (DESIGN §1), as Parquet's do
			}
			mm := &decode.SchemaMismatchError{Key: b.Key, Column: b.Column, Want: r.declaredType(b.Column)}
			return mm
		}
		wholeFile := src.Format == spec.FormatParquet && b.Row == 0
		var mm *decode.SchemaMismatchError
		if wholeFile && errors.As(b.Err, &mm) && src.OnSchemaChange == spec.SchemaChangeAddColumns {
			// A column of another type: add_columns never changes a type.
			return mm
		}
		switch src.OnBadRecord {
		case spec.BadRecordSkip, spec.BadRecordQuarantine:
			if wholeFile {
				q.counts.badFiles.Add(1)
			} else {
				q.counts.badRecords.Add(1)
			}
			if src.OnBadRecord == spec.BadRecordQuarantine {
				q.add(b)
			}
			return nil
		default:
			return &decode.BadRecordError{Record: b}
		}
	}
}

// declaredType is the file schema's type of column name, for messages.
func (r *runner) declaredType(name string) string {
	if idx := r.job.Source.FileSchema.FieldIndices(name); len(idx) > 0 {
		return r.job.Source.FileSchema.Field(idx[0]).Type.String()
	}
	return "?"
}

// badFile applies on_bad_record to an object that could not be read at all
// (corrupt compression, broken Parquet footer, vanished object). Under
// skip and quarantine the object counts as processed, so it is not retried
// forever; `state forget` re-queues it.
func (r *runner) badFile(in Input, err error, q *quarantine) error {
	var bre *decode.BadRecordError
	if errors.As(err, &bre) {
		return fmt.Errorf("on_bad_record = \"fail\": %w", err)
	}
	// Drift is not a bad record: under on_schema_change = "fail" (and
	// add_columns, which only adds columns to an inferred schema) it stops
	// the run whatever on_bad_record says; under "ignore" the decoders
	// never return it.
	var mm *decode.SchemaMismatchError
	if errors.As(err, &mm) {
		return fmt.Errorf("schema drift (on_schema_change = %q): %w", r.job.Source.OnSchemaChange, err)
	}
	switch r.job.Source.OnBadRecord {
	case spec.BadRecordSkip:
		q.counts.badFiles.Add(1)
	case spec.BadRecordQuarantine:
		q.counts.badFiles.Add(1)
		q.add(decode.BadRecord{Key: in.Key, Reason: "whole object unreadable: " + err.Error()})
	default:
		if errors.Is(err, objstore.ErrNotExist) {
			return fmt.Errorf("%s: the input vanished after the run started (on_bad_record = \"fail\"): %w", in.Key, err)
		}
		return fmt.Errorf("cannot read input (on_bad_record = \"fail\"): %w", err)
	}
	r.fileRead(q.counts, in.Size)
	return nil
}

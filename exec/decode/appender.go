package decode

import (
	"fmt"
	"io"
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sluicedata/sluice/spec"
)

// Appender decodes consecutive NDJSON or CSV objects into one set of
// builders, so that a run of small objects makes one batch rather than one
// batch each: per object, NewJSON and NewCSV cost a RecordBuilder, column
// converters, lookup tables and a read buffer, and the caller then
// concatenates the small batches again. With many objects of a few KB that
// set-up, not the decoding, dominates.
//
// Each object is still all or nothing: when an object fails part-way (a
// truncated gzip stream, a bad record under on_bad_record = fail) the rows
// it appended are dropped and the earlier objects' rows are kept. A CSV
// object's header is its own: objects may order their columns differently.
//
// An Appender is not safe for concurrent use.
type Appender struct {
	d     objectDecoder
	sizer batchSizer
	rows  int // rows in the builders, all from whole objects
	// carry holds earlier objects' rows cut from the builders when an
	// object failed: arrow builders cannot shrink, so the builders are
	// finished and the good prefix is kept as a slice.
	carry     []arrow.RecordBatch
	carryRows int
}

// objectDecoder is a text decoder that takes objects one after another
// into the same builders (jsonReader, csvReader).
type objectDecoder interface {
	// begin starts the object read from src, named key, of about sizeHint
	// decoded bytes (CSV: reads its header). It appends no rows.
	begin(src io.Reader, key string, sizeHint int64) error
	// fill appends up to limit rows of the object, each row whole; fewer
	// than limit means the object ended.
	fill(limit int) (int, error)
	// end lets go of the object's reader.
	end()
	builders() (*array.RecordBuilder, []*column, *arrow.Schema)
	Close() error
}

// NewAppender returns an appender producing batches of o.Schema from
// objects of format (JSON or CSV). o.Key and o.SizeHint are ignored:
// Append gives them per object.
func NewAppender(format spec.Format, o Options) (*Appender, error) {
	var d objectDecoder
	var err error
	switch format {
	case spec.FormatJSON:
		d, err = newJSONReader(o)
	case spec.FormatCSV:
		d, err = newCSVReader(o)
	default:
		return nil, fmt.Errorf("decode: no appender for format %d", int(format))
	}
	if err != nil {
		return nil, err
	}
	return &Appender{d: d}, nil
}

// Append decodes the whole object read from src (named key, of about
// sizeHint decoded bytes) and returns how many rows it added. Bad records
// go to Options.OnBad with key and the object's own line numbers. On an
// error the object contributes no rows; rows of earlier objects are kept.
func (a *Appender) Append(src io.Reader, key string, sizeHint int64) (int, error) {
	// Do not keep the object's bytes reachable once it is decoded.
	defer a.d.end()
	if err := a.d.begin(src, key, sizeHint); err != nil {
		return 0, err
	}
	if a.rows == 0 {
		// Reserve for a whole batch the size of the previous one.
		_, cols, _ := a.d.builders()
		a.sizer.reserve(cols, math.MaxInt)
	}
	n, err := a.d.fill(math.MaxInt)
	if err != nil {
		a.cut()
		return 0, err
	}
	a.rows += n
	return n, nil
}

// cut drops the rows after a.rows from the builders (a failed object's),
// keeping the earlier ones in carry.
func (a *Appender) cut() {
	rb, _, s := a.d.builders()
	if s.NumFields() == 0 {
		if a.rows > 0 {
			a.carry = append(a.carry, array.NewRecordBatch(s, nil, int64(a.rows)))
		}
	} else {
		b := rb.NewRecordBatch()
		if a.rows > 0 {
			a.carry = append(a.carry, b.NewSlice(0, int64(a.rows)))
		}
		b.Release()
	}
	a.carryRows += a.rows
	a.rows = 0
}

// Rows is the number of rows held, waiting for Flush.
func (a *Appender) Rows() int { return a.rows + a.carryRows }

// Flush returns the rows held as batches (usually one) in object order and
// empties the appender. The caller owns and must Release the batches.
func (a *Appender) Flush() []arrow.RecordBatch {
	out := a.carry
	a.carry, a.carryRows = nil, 0
	if a.rows > 0 {
		rb, cols, s := a.d.builders()
		a.sizer.observe(cols, a.rows)
		out = append(out, newBatch(rb, s, a.rows))
		a.rows = 0
	}
	return out
}

// Release frees the builders and any rows not flushed.
func (a *Appender) Release() {
	for _, b := range a.carry {
		b.Release()
	}
	a.carry, a.carryRows, a.rows = nil, 0, 0
	_ = a.d.Close()
}

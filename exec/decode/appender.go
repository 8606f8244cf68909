package decode

import (
	"bufio"
	"io"
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// JSONAppender decodes consecutive NDJSON objects into one set of builders,
// so that a run of small objects makes one batch rather than one batch each:
// per object, NewJSON costs a RecordBuilder, column converters, lookup
// tables and a read buffer, and the caller then concatenates the small
// batches again. With many objects of a few KB that set-up, not the
// decoding, dominates.
//
// Each object is still all or nothing: when an object fails part-way (a
// truncated gzip stream, a bad record under on_bad_record = fail) the rows
// it appended are dropped and the earlier objects' rows are kept.
//
// A JSONAppender is not safe for concurrent use.
type JSONAppender struct {
	r    *jsonReader
	rows int // rows in the builders, all from whole objects
	// carry holds earlier objects' rows cut from the builders when an
	// object failed: arrow builders cannot shrink, so the builders are
	// finished and the good prefix is kept as a slice.
	carry     []arrow.RecordBatch
	carryRows int
}

// NewJSONAppender returns an appender producing batches of o.Schema.
// o.Key and o.SizeHint are ignored: Append gives them per object.
func NewJSONAppender(o Options) (*JSONAppender, error) {
	r, err := newJSONReader(o)
	if err != nil {
		return nil, err
	}
	return &JSONAppender{r: r}, nil
}

// Append decodes the whole object read from src (named key, of about
// sizeHint decoded bytes) and returns how many rows it added. Bad records
// go to Options.OnBad with key and the object's own line numbers. On an
// error the object contributes no rows; rows of earlier objects are kept.
func (a *JSONAppender) Append(src io.Reader, key string, sizeHint int64) (int, error) {
	r := a.r
	r.o.Key, r.o.SizeHint = key, sizeHint
	if size := r.o.readBufferSize(); r.lr.br == nil || r.lr.br.Size() < size {
		r.lr.br = bufio.NewReaderSize(src, size)
	} else {
		r.lr.br.Reset(src)
	}
	// Do not keep the object's bytes reachable once it is decoded.
	defer r.lr.br.Reset(nil)
	r.lr.line, r.lr.done, r.lr.long = 0, false, r.lr.long[:0]
	if a.rows == 0 {
		// Reserve for a whole batch the size of the previous one.
		r.sizer.reserve(r.cols, math.MaxInt)
	}
	n, err := r.fill(math.MaxInt)
	if err != nil {
		a.cut()
		return 0, err
	}
	a.rows += n
	return n, nil
}

// cut drops the rows after a.rows from the builders (a failed object's),
// keeping the earlier ones in carry.
func (a *JSONAppender) cut() {
	s := a.r.o.Schema
	if s.NumFields() == 0 {
		if a.rows > 0 {
			a.carry = append(a.carry, array.NewRecordBatch(s, nil, int64(a.rows)))
		}
	} else {
		b := a.r.rb.NewRecordBatch()
		if a.rows > 0 {
			a.carry = append(a.carry, b.NewSlice(0, int64(a.rows)))
		}
		b.Release()
	}
	a.carryRows += a.rows
	a.rows = 0
}

// Rows is the number of rows held, waiting for Flush.
func (a *JSONAppender) Rows() int { return a.rows + a.carryRows }

// Flush returns the rows held as batches (usually one) in object order and
// empties the appender. The caller owns and must Release the batches.
func (a *JSONAppender) Flush() []arrow.RecordBatch {
	out := a.carry
	a.carry, a.carryRows = nil, 0
	if a.rows > 0 {
		a.r.sizer.observe(a.r.cols, a.rows)
		out = append(out, newBatch(a.r.rb, a.r.o.Schema, a.rows))
		a.rows = 0
	}
	return out
}

// Release frees the builders and any rows not flushed.
func (a *JSONAppender) Release() {
	for _, b := range a.carry {
		b.Release()
	}
	a.carry, a.carryRows, a.rows = nil, 0, 0
	_ = a.r.Close()
}

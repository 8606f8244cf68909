package decode

import (
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// textReader is what the NDJSON and CSV readers share: their options, the
// line reader, the builders, and the state of Next and Close.
type textReader struct {
	o      Options
	lr     lineReader
	rb     *array.RecordBuilder
	cols   []*column
	sizer  batchSizer
	err    error
	closed bool
}

// next is both readers' Next: a batch of the rows fill appends (up to
// o.BatchRows, builders reserved from the previous batch's size); an
// error, and then io.EOF, stay for every later call.
func (t *textReader) next(fill func(limit int) (int, error)) (arrow.RecordBatch, error) {
	if t.err != nil {
		return nil, t.err
	}
	if t.closed {
		return nil, fmt.Errorf("%s: decode: reader closed", t.o.Key)
	}
	t.sizer.reserve(t.cols, t.o.BatchRows)
	rows, err := fill(t.o.BatchRows)
	if err != nil {
		t.err = err
		return nil, err
	}
	if rows == 0 {
		t.err = io.EOF
		return nil, io.EOF
	}
	t.sizer.observe(t.cols, rows)
	return newBatch(t.rb, t.o.Schema, rows), nil
}

// end lets go of the current object's reader (objectDecoder).
func (t *textReader) end() { t.lr.reset(nil, 0) }

// builders are the shared builders (objectDecoder).
func (t *textReader) builders() (*array.RecordBuilder, []*column, *arrow.Schema) {
	return t.rb, t.cols, t.o.Schema
}

// Close releases the builders; it may be called more than once.
func (t *textReader) Close() error {
	if !t.closed {
		t.closed = true
		t.rb.Release()
	}
	return nil
}

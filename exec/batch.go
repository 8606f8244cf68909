package exec

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicedata/sluice/exec/decode"
	"github.com/sluicedata/sluice/exec/eval"
)

// coalescer concatenates consecutive small batches into batches of at
// least coalesceRows rows or coalesceBytes bytes. Ownership: add takes a
// reference of its own to b (the caller still releases b); a returned
// batch belongs to the caller.
type coalescer struct {
	alloc   memory.Allocator
	schema  *arrow.Schema
	pending []arrow.RecordBatch
	rows    int64
	bytes   int64
}

func (c *coalescer) add(b arrow.RecordBatch) arrow.RecordBatch {
	if b.NumRows() == 0 {
		return nil
	}
	size := batchBytes(b)
	if len(c.pending) == 0 && (b.NumRows() >= coalesceRows || size >= coalesceBytes) {
		b.Retain()
		return b
	}
	b.Retain()
	c.pending = append(c.pending, b)
	c.rows += b.NumRows()
	c.bytes += size
	if c.rows < coalesceRows && c.bytes < coalesceBytes {
		return nil
	}
	return c.finish()
}

// batchBytes is the size of b's buffers (a slice counts its whole
// buffers: this sizes batches, it is not an exact measure).
func batchBytes(b arrow.RecordBatch) int64 {
	var n int64
	for _, c := range b.Columns() {
		n += dataBytes(c.Data())
	}
	return n
}

func dataBytes(d arrow.ArrayData) int64 {
	var n int64
	for _, buf := range d.Buffers() {
		if buf != nil {
			n += int64(buf.Len())
		}
	}
	for _, c := range d.Children() {
		n += dataBytes(c)
	}
	if d.DataType().ID() == arrow.DICTIONARY {
		n += dataBytes(d.Dictionary())
	}
	return n
}

// discard releases what is pending, for a task that stops early.
func (c *coalescer) discard() {
	releaseAll(c.pending)
	c.pending, c.rows, c.bytes = nil, 0, 0
}

// finish returns what is pending as one batch, or nil.
func (c *coalescer) finish() arrow.RecordBatch {
	defer func() {
		c.pending = c.pending[:0]
		c.rows, c.bytes = 0, 0
	}()
	switch len(c.pending) {
	case 0:
		return nil
	case 1:
		return c.pending[0]
	}
	cols := make([]arrow.Array, c.schema.NumFields())
	parts := make([]arrow.Array, len(c.pending))
	for i := range cols {
		for j, b := range c.pending {
			parts[j] = b.Column(i)
		}
		// Dictionary columns (late materialisation: see
		// decode.Options.Dictionaries) come in whole batches, which pass
		// through above; the rare partial ones are made plain here rather
		// than their dictionaries unified.
		parts, release := denseParts(c.alloc, parts)
		a, err := array.Concatenate(parts, c.alloc)
		release()
		if err != nil {
			// Concatenate fails only on mismatched types, which one schema
			// rules out; or on offset overflow past 2 GiB of strings, which
			// 32Ki rows of small objects cannot reach.
			panic(fmt.Sprintf("exec: concatenating batches: %v", err))
		}
		cols[i] = a
	}
	out := array.NewRecordBatch(c.schema, cols, c.rows)
	for _, a := range cols {
		a.Release()
	}
	releaseAll(c.pending)
	return out
}

// denseParts returns parts with its dictionary arrays made plain, and a
// function that releases what it made.
func denseParts(mem memory.Allocator, parts []arrow.Array) ([]arrow.Array, func()) {
	var made []arrow.Array
	out := parts
	for j, p := range parts {
		if _, ok := p.(*array.Dictionary); !ok {
			continue
		}
		if made == nil {
			out = append([]arrow.Array(nil), parts...)
		}
		d, err := decode.Dense(mem, p)
		if err != nil {
			panic(fmt.Sprintf("exec: materialising a dictionary column: %v", err)) // only string and binary dictionaries reach here
		}
		out[j] = d
		made = append(made, d)
	}
	return out, func() {
		for _, d := range made {
			d.Release()
		}
	}
}

// lateColumns are the columns of a Parquet source that may stay
// dictionary arrays until after the filter: its string and binary file
// columns that the filter does not read.
func lateColumns(file *arrow.Schema, filter *eval.Program) map[string]bool {
	read := map[string]bool{}
	if filter != nil {
		for _, c := range filter.Columns() {
			read[c] = true
		}
	}
	var late map[string]bool
	for _, f := range file.Fields() {
		if id := f.Type.ID(); (id == arrow.STRING || id == arrow.BINARY) && !read[f.Name] {
			if late == nil {
				late = map[string]bool{}
			}
			late[f.Name] = true
		}
	}
	return late
}

// maxCheckExamples is how many failing rows a check failure shows.
const maxCheckExamples = 3

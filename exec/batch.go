package exec

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// coalescer concatenates consecutive small batches into batches of at
// least coalesceRows rows. Ownership: add takes a reference of its own to
// b (the caller still releases b); a returned batch belongs to the caller.
type coalescer struct {
	alloc   memory.Allocator
	schema  *arrow.Schema
	pending []arrow.RecordBatch
	rows    int64
}

func (c *coalescer) add(b arrow.RecordBatch) arrow.RecordBatch {
	if b.NumRows() == 0 {
		return nil
	}
	if len(c.pending) == 0 && b.NumRows() >= coalesceRows {
		b.Retain()
		return b
	}
	b.Retain()
	c.pending = append(c.pending, b)
	c.rows += b.NumRows()
	if c.rows < coalesceRows {
		return nil
	}
	return c.finish()
}

// discard releases what is pending, for a task that stops early.
func (c *coalescer) discard() {
	releaseAll(c.pending)
	c.pending, c.rows = nil, 0
}

// finish returns what is pending as one batch, or nil.
func (c *coalescer) finish() arrow.RecordBatch {
	defer func() {
		c.pending = c.pending[:0]
		c.rows = 0
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
		a, err := array.Concatenate(parts, c.alloc)
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

// maxCheckExamples is how many failing rows a check failure shows.
const maxCheckExamples = 3

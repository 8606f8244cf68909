package exec

import (
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// The coalescer ends a batch at coalesceRows rows or coalesceBytes bytes,
// whichever comes first, and passes a batch that is either alone.
func TestCoalescerRowsOrBytes(t *testing.T) {
	mem := checked(t)
	sc := arrow.NewSchema([]arrow.Field{{Name: "s", Type: arrow.BinaryTypes.String}}, nil)
	batch := func(rows, width int) arrow.RecordBatch {
		b := array.NewStringBuilder(mem)
		defer b.Release()
		v := strings.Repeat("x", width)
		for range rows {
			b.Append(v)
		}
		a := b.NewArray()
		defer a.Release()
		return array.NewRecordBatch(sc, []arrow.Array{a}, int64(rows))
	}
	c := &coalescer{alloc: mem, schema: sc}
	defer c.discard()
	add := func(b arrow.RecordBatch) arrow.RecordBatch {
		defer b.Release()
		return c.add(b)
	}
	// Narrow rows: concatenated up to coalesceRows.
	var out arrow.RecordBatch
	for out == nil {
		out = add(batch(1000, 8))
	}
	if out.NumRows() < coalesceRows || out.NumRows() >= coalesceRows+1000 {
		t.Errorf("narrow rows: a batch of %d rows", out.NumRows())
	}
	out.Release()
	// Wide rows (1 KiB): a batch ends at coalesceBytes, long before 8Ki rows.
	out = nil
	n := 0
	for out == nil {
		out = add(batch(100, 1024))
		n++
	}
	if b := batchBytes(out); b < coalesceBytes || b > coalesceBytes+200<<10 || n > coalesceBytes/(100<<10)+1 {
		t.Errorf("wide rows: a batch of %d rows, %d bytes after %d adds", out.NumRows(), b, n)
	}
	out.Release()
	// A batch over either bound alone passes through as it is.
	big := batch(3000, 1024)
	if got := add(big); got == nil || got.NumRows() != 3000 {
		t.Errorf("a 3 MiB batch was held")
	} else {
		got.Release()
	}
	if got := c.finish(); got != nil {
		t.Errorf("finish after pass-through returned %d rows", got.NumRows())
		got.Release()
	}
}

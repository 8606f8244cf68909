package exec

import (
	"context"
	"fmt"
	"strings"

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

// observe evaluates an expression check on one output batch.
func (c *checkState) observe(ctx context.Context, b arrow.RecordBatch) error {
	if c.prog == nil {
		return nil
	}
	mask, err := c.prog.Eval(ctx, b)
	if err != nil {
		return fmt.Errorf("check %s: %w", c.spec.Name, err)
	}
	defer mask.Release()
	var failing int64
	var examples []string
	for i := 0; i < mask.Len(); i++ {
		if mask.IsValid(i) && mask.Value(i) {
			continue
		}
		failing++
		if len(examples) < maxCheckExamples {
			examples = append(examples, formatRow(b, i))
		}
	}
	if failing == 0 {
		return nil
	}
	c.mu.Lock()
	c.failing += failing
	for _, e := range examples {
		if len(c.examples) < maxCheckExamples {
			c.examples = append(c.examples, e)
		}
	}
	c.mu.Unlock()
	return nil
}

// formatRow renders row i as {col: value, ...} for messages.
func formatRow(b arrow.RecordBatch, i int) string {
	var sb strings.Builder
	sb.WriteByte('{')
	for j, f := range b.Schema().Fields() {
		if j > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString(f.Name)
		sb.WriteString(": ")
		col := b.Column(j)
		if col.IsNull(i) {
			sb.WriteString("null")
			continue
		}
		v := col.ValueStr(i)
		if len(v) > 40 {
			v = v[:37] + "..."
		}
		sb.WriteString(v)
	}
	sb.WriteByte('}')
	return sb.String()
}

func (r *runner) checkResults(rowsOut int64) []CheckResult {
	var out []CheckResult
	for _, c := range r.checks {
		res := CheckResult{Name: c.spec.Name, Severity: c.spec.Severity.String(), Passed: true}
		switch {
		case c.prog != nil:
			res.Failing = c.failing
			res.Examples = c.examples
			if c.failing > 0 {
				res.Passed = false
				res.Message = fmt.Sprintf("%d of %d output rows fail %s", c.failing, rowsOut, c.spec.Expr.Source)
			} else {
				res.Message = fmt.Sprintf("all %d output rows satisfy %s", rowsOut, c.spec.Expr.Source)
			}
		case c.spec.MinRows >= 0:
			if rowsOut < c.spec.MinRows {
				res.Passed = false
				res.Message = fmt.Sprintf("%d output rows, expected at least %d", rowsOut, c.spec.MinRows)
			} else {
				res.Message = fmt.Sprintf("%d output rows (at least %d)", rowsOut, c.spec.MinRows)
			}
		}
		out = append(out, res)
	}
	return out
}

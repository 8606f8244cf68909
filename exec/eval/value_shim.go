package eval

// TEMPORARY (branch shape): the Value API is owned by branch expr; this
// stand-in (no row errors: the functions that fail per row come with expr)
// lets the projection stage be built first and is deleted when expr is
// merged.

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/compute"

	"github.com/sluicedata/sluice/spec/predicate"
)

// RowError is a row whose non-try cast or parse failed (its value is null).
type RowError struct {
	Row int
	Msg string
}

// Value is a value expression compiled against one Arrow schema.
type Value struct {
	root node
	cols []colNode
	expr predicate.Expr
}

// CompileValue resolves and type-checks e against s.
func CompileValue(e predicate.Expr, s *arrow.Schema) (*Value, error) {
	if e == nil {
		return nil, fmt.Errorf("compile value: nil expression")
	}
	c := &compiler{schema: s}
	root, err := c.compile(e)
	if err != nil {
		return nil, fmt.Errorf("compile %s: %w", e, err)
	}
	return &Value{root: root, cols: c.cols, expr: e}, nil
}

// DataType is the type of the values Eval returns.
func (v *Value) DataType() arrow.DataType { return v.root.dataType() }

// Eval computes the expression for every row of b.
func (v *Value) Eval(ctx context.Context, b arrow.RecordBatch) (arrow.Array, []RowError, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	ec := &evalCtx{ctx: ctx, mem: compute.GetAllocator(ctx), b: b, n: int(b.NumRows())}
	arr, err := v.root.eval(ec)
	return arr, nil, err
}

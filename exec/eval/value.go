package eval

import (
	"context"
	"fmt"
	"sort"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicedata/sluice/spec/predicate"
)

// RowError is a row on which a cast or parse without try_ failed: the
// value of the row is null and the row is a bad record. Row is the row's
// index in the evaluated batch; Msg names the function, the value
// (truncated) and the reason, as predicate.ValueError does.
type RowError struct {
	Row int
	Msg string
}

// BadRowsError is the error of Program.Eval and Program.Filter when a cast
// or parse failed on some rows of the batch: a predicate (where, check)
// cannot decide such a row, so the batch fails, naming the first rows.
type BadRowsError struct {
	Rows []RowError // sorted by row, at most one per row
}

func (e *BadRowsError) Error() string {
	first := e.Rows[0]
	more := ""
	if len(e.Rows) > 1 {
		more = fmt.Sprintf(", and %d more rows", len(e.Rows)-1)
	}
	return fmt.Sprintf("row %d of a batch: %s%s (a where or check cannot decide such a row; the try_ form of the function gives null instead)",
		first.Row, first.Msg, more)
}

// addRowError records that row i of the current evaluation failed.
func (ec *evalCtx) addRowError(i int, err *predicate.ValueError) {
	ec.errs = append(ec.errs, RowError{Row: i, Msg: err.Error()})
}

// keepErrors drops the row errors recorded since mark on rows for which
// keep is false: a branch of ?: not taken, an argument of coalesce after
// the first non-null, an operand of && after one that is false. The
// reference evaluator does not evaluate those, so they are no error.
func (ec *evalCtx) keepErrors(mark int, keep func(row int) bool) {
	if len(ec.errs) == mark {
		return // the usual case: nothing failed
	}
	out := ec.errs[:mark]
	for _, e := range ec.errs[mark:] {
		if keep(e.Row) {
			out = append(out, e)
		}
	}
	ec.errs = out
}

// rowErrors returns the recorded errors sorted by row, keeping for each row
// the first one recorded (operands are evaluated left to right, as the
// reference evaluator does, so it is the error the reference reports).
func (ec *evalCtx) rowErrors() []RowError {
	if len(ec.errs) == 0 {
		return nil
	}
	errs := ec.errs
	sort.SliceStable(errs, func(i, j int) bool { return errs[i].Row < errs[j].Row })
	out := errs[:1]
	for _, e := range errs[1:] {
		if e.Row != out[len(out)-1].Row {
			out = append(out, e)
		}
	}
	return out
}

// Value is a value expression (an output column) compiled against one
// Arrow schema. Like Program it is immutable and safe for concurrent use.
type Value struct {
	root   node
	schema *arrow.Schema
	cols   []colNode
	expr   predicate.Expr
}

// CompileValue resolves and type-checks e, of any type, against s.
func CompileValue(e predicate.Expr, s *arrow.Schema) (*Value, error) {
	if e == nil {
		return nil, fmt.Errorf("compile value: nil expression")
	}
	c := &compiler{schema: s}
	root, err := c.compile(e)
	if err != nil {
		return nil, fmt.Errorf("compile %s: %w", e, err)
	}
	return &Value{root: root, schema: s, cols: c.cols, expr: e}, nil
}

// DataType is the Arrow type of the arrays Eval returns: the column's own
// type for a bare column reference, else the IR type's (int64, float64,
// string, date32, timestamp, decimal128, bool).
func (v *Value) DataType() arrow.DataType { return v.root.dataType() }

// String returns the expression's canonical text.
func (v *Value) String() string { return v.expr.String() }

// Eval computes the expression for every row of b. Rows on which a cast or
// parse without try_ failed are null in the array and listed in the row
// errors (sorted, one per row). The caller releases the array; b is not
// consumed. Buffers come from compute.GetAllocator(ctx).
func (v *Value) Eval(ctx context.Context, b arrow.RecordBatch) (arrow.Array, []RowError, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	if err := checkBatch(v.cols, b); err != nil {
		return nil, nil, err
	}
	ec := &evalCtx{ctx: ctx, mem: compute.GetAllocator(ctx), b: b, n: int(b.NumRows())}
	if ec.n == 0 {
		return array.MakeArrayOfNull(ec.mem, v.DataType(), 0), nil, nil
	}
	arr, err := v.root.eval(ec)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", v, err)
	}
	errs := ec.rowErrors()
	if errs != nil {
		arr = nullRows(ec.mem, arr, errs)
	}
	return arr, errs, nil
}

// nullRows returns arr with the rows of errs null (a failed cast inside
// x == nil, say, leaves a value there), releasing arr. Only the validity
// bitmap is new; the value buffers are shared.
func nullRows(mem memory.Allocator, arr arrow.Array, errs []RowError) arrow.Array {
	d := arr.Data()
	off, n := d.Offset(), d.Len()
	valid := newBitmap(mem, off+n)
	if bm, _ := validityOf(arr); bm != nil {
		bitutil.CopyBitmap(bm, off, n, valid.Bytes(), off)
	} else {
		bitutil.SetBitsTo(valid.Bytes(), int64(off), int64(n), true)
	}
	for _, e := range errs {
		clearBit(valid.Bytes(), off+e.Row)
	}
	bufs := append([]*memory.Buffer{valid}, d.Buffers()[1:]...)
	nd := array.NewData(d.DataType(), n, bufs, d.Children(), array.UnknownNullCount, off)
	out := array.MakeFromData(nd)
	nd.Release()
	valid.Release()
	arr.Release()
	return out
}

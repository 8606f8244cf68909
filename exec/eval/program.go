package eval

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicedata/sluice/spec/predicate"
)

// Program is a predicate compiled against one Arrow schema: column
// references resolved to field indices, types checked, literals converted
// once, constant subtrees folded. A Program is immutable and safe for
// concurrent use by several goroutines.
type Program struct {
	root   node
	schema *arrow.Schema
	cols   []colNode // every column the program reads, checked per batch
	expr   predicate.Expr
}

// node is one compiled expression. eval returns a new reference the
// caller releases; it never consumes its inputs.
type node interface {
	dataType() arrow.DataType
	eval(ec *evalCtx) (arrow.Array, error)
}

// evalCtx carries what one evaluation of a batch needs.
type evalCtx struct {
	ctx context.Context
	mem memory.Allocator
	b   arrow.RecordBatch
	n   int
	// errs collects the rows on which a cast or parse without try_
	// failed, in evaluation order (see value.go).
	errs []RowError
}

// Compile resolves and type-checks e against s. e must be boolean. The
// error names the column or node that does not fit.
func Compile(e predicate.Expr, s *arrow.Schema) (*Program, error) {
	if e == nil {
		return nil, fmt.Errorf("compile predicate: nil expression")
	}
	c := &compiler{schema: s}
	root, err := c.compile(e)
	if err != nil {
		return nil, fmt.Errorf("compile predicate %s: %w", e, err)
	}
	if root.dataType().ID() != arrow.BOOL {
		return nil, fmt.Errorf("compile predicate %s: result is %s, not bool", e, root.dataType())
	}
	return &Program{root: root, schema: s, cols: c.cols, expr: e}, nil
}

// String returns the predicate's canonical text.
func (p *Program) String() string { return p.expr.String() }

// Columns returns the names of the batch columns the program reads.
func (p *Program) Columns() []string {
	names := make([]string, len(p.cols))
	for i, c := range p.cols {
		names[i] = c.name
	}
	return names
}

// Eval returns the predicate's value for every row of b, null where it is
// unknown; when a cast or parse without try_ failed on some rows it fails
// with a *BadRowsError naming them. The caller releases the result; b is
// not consumed. Buffers are allocated from compute.GetAllocator(ctx) (set
// it with compute.WithAllocator).
func (p *Program) Eval(ctx context.Context, b arrow.RecordBatch) (*array.Boolean, error) {
	mask, errs, err := p.EvalRows(ctx, b)
	if err != nil {
		return nil, err
	}
	if errs != nil {
		mask.Release()
		return nil, &BadRowsError{Rows: errs}
	}
	return mask, nil
}

// EvalRows is Eval for callers that decide about failed rows themselves
// (bad records): the rows on which a cast or parse without try_ failed are
// null in the result and returned, sorted, as row errors.
func (p *Program) EvalRows(ctx context.Context, b arrow.RecordBatch) (*array.Boolean, []RowError, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	if err := checkBatch(p.cols, b); err != nil {
		return nil, nil, err
	}
	ec := &evalCtx{ctx: ctx, mem: compute.GetAllocator(ctx), b: b, n: int(b.NumRows())}
	if ec.n == 0 {
		return array.MakeArrayOfNull(ec.mem, arrow.FixedWidthTypes.Boolean, 0).(*array.Boolean), nil, nil
	}
	arr, err := p.root.eval(ec)
	if err != nil {
		return nil, nil, err
	}
	errs := ec.rowErrors()
	if errs != nil {
		arr = nullRows(ec.mem, arr, errs)
	}
	return arr.(*array.Boolean), errs, nil
}

// Filter returns the rows of b for which the predicate is true (unknown
// drops the row); like Eval it fails with a *BadRowsError when a cast or
// parse failed. The caller releases the result; b is not consumed.
func (p *Program) Filter(ctx context.Context, b arrow.RecordBatch) (arrow.RecordBatch, error) {
	out, errs, err := p.FilterRows(ctx, b)
	if err != nil {
		return nil, err
	}
	if errs != nil {
		out.Release()
		return nil, &BadRowsError{Rows: errs}
	}
	return out, nil
}

// FilterRows is Filter leaving out the rows on which a cast or parse
// failed, and returning those as row errors (see EvalRows).
func (p *Program) FilterRows(ctx context.Context, b arrow.RecordBatch) (arrow.RecordBatch, []RowError, error) {
	mask, errs, err := p.EvalRows(ctx, b)
	if err != nil {
		return nil, nil, err
	}
	defer mask.Release()
	n := mask.Len()
	switch kept := trueCount(mask); kept {
	case n:
		b.Retain()
		return b, errs, nil
	case 0:
		return emptyBatch(compute.GetAllocator(ctx), b.Schema()), errs, nil
	}
	out, err := compute.FilterRecordBatch(ctx, b, mask, compute.DefaultFilterOptions())
	if err != nil {
		return nil, nil, fmt.Errorf("filter %s: %w", p, err)
	}
	return out, errs, nil
}

// trueCount counts the rows that are valid and true.
func trueCount(m *array.Boolean) int {
	n := m.Len()
	if n == 0 {
		return 0
	}
	vals, voff := bitsOf(m)
	vb := aligned(vals, voff, n)
	valid, off := validityOf(m)
	count := 0
	if valid == nil {
		for i := 0; i < n/8; i++ {
			count += popcnt(vb[i])
		}
	} else {
		nb := aligned(valid, off, n)
		for i := 0; i < n/8; i++ {
			count += popcnt(vb[i] & nb[i])
		}
		vb = andTail(vb, nb, n)
	}
	for i := n &^ 7; i < n; i++ {
		if bitAt(vb, i) {
			count++
		}
	}
	return count
}

// andTail returns a copy of the last partial byte of a&b in position, so
// the tail loop of trueCount can read it with bitAt.
func andTail(a, b []byte, n int) []byte {
	if n%8 == 0 {
		return a
	}
	out := make([]byte, n/8+1)
	out[n/8] = a[n/8] & b[n/8]
	return out
}

func popcnt(b byte) int {
	b = b - ((b >> 1) & 0x55)
	b = (b & 0x33) + ((b >> 2) & 0x33)
	return int((b + (b >> 4)) & 0x0f)
}

func emptyBatch(mem memory.Allocator, s *arrow.Schema) arrow.RecordBatch {
	cols := make([]arrow.Array, s.NumFields())
	for i, f := range s.Fields() {
		cols[i] = array.MakeArrayOfNull(mem, f.Type, 0)
	}
	rb := array.NewRecordBatch(s, cols, 0)
	for _, c := range cols {
		c.Release()
	}
	return rb
}

// checkBatch verifies that b has, at each index the program reads, a
// column of the name and type the program was compiled for.
func checkBatch(cols []colNode, b arrow.RecordBatch) error {
	for _, c := range cols {
		if c.idx >= int(b.NumCols()) {
			return fmt.Errorf("column %q: batch has %d columns, program expects it at index %d", c.name, b.NumCols(), c.idx)
		}
		f := b.Schema().Field(c.idx)
		if f.Name != c.name || !arrow.TypeEqual(f.Type, c.colType) {
			return fmt.Errorf("column %q: batch has %s %s at index %d, program was compiled for %s", c.name, f.Name, f.Type, c.idx, c.colType)
		}
	}
	return nil
}

// colNode reads a column of the batch. Dictionary-encoded columns (the way
// decoders may attach partition values) are decoded to their value type.
type colNode struct {
	name    string
	idx     int
	colType arrow.DataType // the batch's type
	dt      arrow.DataType // the value type
}

func (c *colNode) dataType() arrow.DataType { return c.dt }

func (c *colNode) eval(ec *evalCtx) (arrow.Array, error) {
	col := ec.b.Column(c.idx)
	if d, ok := col.(*array.Dictionary); ok {
		out, err := compute.TakeArray(compute.WithAllocator(ec.ctx, ec.mem), d.Dictionary(), d.Indices())
		if err != nil {
			return nil, fmt.Errorf("column %q: decode dictionary: %w", c.name, err)
		}
		return out, nil
	}
	col.Retain()
	return col, nil
}

// constNode is a literal or a folded constant subtree. Parents look for it
// at compile time and pick column-vs-scalar kernels; eval (a full constant
// array) is only the fallback for shapes without such a kernel.
type constNode struct {
	dt arrow.DataType
	v  scalar
}

func (c *constNode) dataType() arrow.DataType { return c.dt }

func (c *constNode) eval(ec *evalCtx) (arrow.Array, error) {
	return materialize(ec.mem, c.dt, c.v, ec.n), nil
}

type compiler struct {
	schema *arrow.Schema
	cols   []colNode
}

func asConst(n node) (*constNode, bool) {
	c, ok := n.(*constNode)
	return c, ok
}

// fold evaluates a node whose inputs are all constant on a one-row batch
// and replaces it with the resulting constant, reusing the array kernels.
// A constant cast that fails is not folded: it stays a node, so that each
// row it is evaluated on reports the failure (unless, in a branch not
// taken, it is not evaluated at all).
func fold(n node) (node, error) {
	ec := &evalCtx{ctx: context.Background(), mem: memory.DefaultAllocator, n: 1}
	arr, err := n.eval(ec)
	if err != nil {
		return nil, err
	}
	defer arr.Release()
	if len(ec.errs) > 0 {
		return n, nil
	}
	return &constNode{dt: arr.DataType(), v: scalarAt(arr, 0)}, nil
}

// foldIfConst folds n when every one of ins is constant.
func foldIfConst(n node, ins ...node) (node, error) {
	for _, in := range ins {
		if _, ok := asConst(in); !ok {
			return n, nil
		}
	}
	return fold(n)
}

func (c *compiler) compile(e predicate.Expr) (node, error) {
	switch e := e.(type) {
	case *predicate.ColumnRef:
		return c.column(e)
	case *predicate.Literal:
		dt, err := literalType(e.Typ)
		if err != nil {
			return nil, fmt.Errorf("literal %s: %w", e, err)
		}
		v, err := literalScalar(e.Value, e.Typ)
		if err != nil {
			return nil, err
		}
		return &constNode{dt: dt, v: v}, nil
	case *predicate.Compare:
		return c.compare(e)
	case *predicate.And:
		return c.logic(e.Args, false, e)
	case *predicate.Or:
		return c.logic(e.Args, true, e)
	case *predicate.Not:
		x, err := c.boolArg(e.X)
		if err != nil {
			return nil, err
		}
		return foldIfConst(&notNode{x: x}, x)
	case *predicate.In:
		return c.in(e)
	case *predicate.IsNull:
		x, err := c.compile(e.X)
		if err != nil {
			return nil, err
		}
		return foldIfConst(&isNullNode{x: x, negated: e.Negated}, x)
	case *predicate.Arith:
		return c.arith(e)
	case *predicate.Neg:
		return c.neg(e)
	case *predicate.StringMatch:
		return c.match(e)
	case *predicate.Call:
		return c.call(e)
	case *predicate.Cond:
		return c.cond(e)
	case *predicate.Coalesce:
		return c.coalesce(e)
	case *predicate.Apply:
		return c.apply(e)
	case *predicate.Cast:
		x, err := c.compile(e.X)
		if err != nil {
			return nil, err
		}
		to, err := literalType(e.Typ)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", e, err)
		}
		return c.cast(x, to, e)
	case nil:
		return nil, fmt.Errorf("nil expression")
	}
	return nil, fmt.Errorf("%s: unsupported node %T", e, e)
}

func (c *compiler) column(e *predicate.ColumnRef) (node, error) {
	if len(e.Path) > 0 {
		return c.nestedColumn(e)
	}
	cn, err := c.resolve(e.Name)
	if err != nil {
		return nil, err
	}
	if !columnTypeOK(e.ColType, cn.dt) {
		return nil, fmt.Errorf("column %q: batch type %s does not hold predicate type %s", e.Name, cn.colType, e.ColType)
	}
	return cn, nil
}

// resolve finds the column name in the batch schema and records it as read.
func (c *compiler) resolve(name string) (*colNode, error) {
	idx := c.schema.FieldIndices(name)
	if len(idx) == 0 {
		return nil, fmt.Errorf("column %q is not in the batch schema (%s)", name, fieldNames(c.schema))
	}
	if len(idx) > 1 {
		return nil, fmt.Errorf("column %q appears %d times in the batch schema", name, len(idx))
	}
	ft := c.schema.Field(idx[0]).Type
	vt := ft
	if d, ok := ft.(*arrow.DictionaryType); ok {
		vt = d.ValueType
	}
	cn := colNode{name: name, idx: idx[0], colType: ft, dt: vt}
	c.cols = append(c.cols, cn)
	return &cn, nil
}

func fieldNames(s *arrow.Schema) string {
	out := ""
	for i, f := range s.Fields() {
		if i > 0 {
			out += ", "
		}
		out += f.Name
	}
	return out
}

// boolArg compiles an operand of a logical operator.
func (c *compiler) boolArg(e predicate.Expr) (node, error) {
	n, err := c.compile(e)
	if err != nil {
		return nil, err
	}
	if n.dataType().ID() != arrow.BOOL {
		return nil, fmt.Errorf("%s: operand is %s, not bool", e, n.dataType())
	}
	return n, nil
}

func (c *compiler) cast(x node, to arrow.DataType, e predicate.Expr) (node, error) {
	from := x.dataType()
	if arrow.TypeEqual(from, to) {
		return x, nil
	}
	if !canCast(from, to) {
		return nil, fmt.Errorf("%s: cannot convert %s to %s", e, from, to)
	}
	return foldIfConst(&castNode{x: x, to: to}, x)
}

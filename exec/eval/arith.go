package eval

import (
	"fmt"
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicedata/sluice/spec/predicate"
)

// arithNode is L op R in int64 or float64 (the IR widens operands first).
// It is written here rather than with the arrow compute "add"/"divide"
// kernels because our semantics differ from both of their flavours:
// integer overflow wraps (as in Go and expr-lang; the _checked kernels
// fail), and division or modulo by zero is null (the kernels fail or give
// Inf/NaN). A constant operand stays a Go scalar.
type arithNode struct {
	op     predicate.ArithOp
	l, r   node
	lc, rc *constNode
	dt     arrow.DataType // int64 or float64
}

func (a *arithNode) dataType() arrow.DataType { return a.dt }

func (c *compiler) arith(e *predicate.Arith) (node, error) {
	if e.Op < predicate.Add || e.Op > predicate.Mod {
		return nil, fmt.Errorf("%s: unknown arithmetic operator %d", e, e.Op)
	}
	dt, err := literalType(e.Typ)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", e, err)
	}
	if dt.ID() != arrow.INT64 && dt.ID() != arrow.FLOAT64 {
		return nil, fmt.Errorf("%s: arithmetic result type %s is not supported", e, e.Typ)
	}
	if e.Op == predicate.Div && dt.ID() != arrow.FLOAT64 {
		return nil, fmt.Errorf("%s: division must give float64, not %s", e, e.Typ)
	}
	l, err := c.compile(e.L)
	if err != nil {
		return nil, err
	}
	r, err := c.compile(e.R)
	if err != nil {
		return nil, err
	}
	if l, err = c.cast(l, dt, e); err != nil {
		return nil, err
	}
	if r, err = c.cast(r, dt, e); err != nil {
		return nil, err
	}
	n := &arithNode{op: e.Op, l: l, r: r, dt: dt}
	n.lc, _ = asConst(l)
	n.rc, _ = asConst(r)
	if n.lc != nil && n.rc != nil {
		n.lc, n.rc = nil, nil // fold through the array path on one row
		return fold(n)
	}
	return n, nil
}

// operand is one side of an arithmetic: an array or a broadcast scalar.
type operand[T int64 | float64] struct {
	vals []T // nil: scalar
	s    T
}

func (o operand[T]) at(i int) T {
	if o.vals != nil {
		return o.vals[i]
	}
	return o.s
}

func (a *arithNode) eval(ec *evalCtx) (arrow.Array, error) {
	n := ec.n
	var la, ra arrow.Array
	release := func() {
		if la != nil {
			la.Release()
		}
		if ra != nil {
			ra.Release()
		}
	}
	defer release()
	if a.lc != nil && a.lc.v.null || a.rc != nil && a.rc.v.null {
		return materialize(ec.mem, a.dt, scalar{null: true}, n), nil
	}
	var err error
	if a.lc == nil {
		if la, err = a.l.eval(ec); err != nil {
			return nil, err
		}
	}
	if a.rc == nil {
		if ra, err = a.r.eval(ec); err != nil {
			return nil, err
		}
	}
	validity := validityAnd(ec.mem, n, la, ra)
	if a.dt.ID() == arrow.FLOAT64 {
		l, r := operand[float64]{}, operand[float64]{}
		if la != nil {
			l.vals = valuesOf[float64](la)
		} else {
			l.s = a.lc.v.f
		}
		if ra != nil {
			r.vals = valuesOf[float64](ra)
		} else {
			r.s = a.rc.v.f
		}
		buf, out := newFixed[float64](ec.mem, n)
		arithFloat(a.op, l, r, out)
		validity = nullZeroDivisors(ec.mem, a.op, r, n, validity)
		return makeArray(a.dt, n, validity, buf), nil
	}
	l, r := operand[int64]{}, operand[int64]{}
	if la != nil {
		l.vals = valuesOf[int64](la)
	} else {
		l.s = a.lc.v.i
	}
	if ra != nil {
		r.vals = valuesOf[int64](ra)
	} else {
		r.s = a.rc.v.i
	}
	buf, out := newFixed[int64](ec.mem, n)
	arithInt(a.op, l, r, out)
	validity = nullZeroDivisors(ec.mem, a.op, r, n, validity)
	return makeArray(a.dt, n, validity, buf), nil
}

func arithFloat(op predicate.ArithOp, l, r operand[float64], out []float64) {
	switch op {
	case predicate.Add:
		for i := range out {
			out[i] = l.at(i) + r.at(i)
		}
	case predicate.Sub:
		for i := range out {
			out[i] = l.at(i) - r.at(i)
		}
	case predicate.Mul:
		for i := range out {
			out[i] = l.at(i) * r.at(i)
		}
	case predicate.Div:
		for i := range out {
			out[i] = l.at(i) / r.at(i) // zero divisors are nulled afterwards
		}
	case predicate.Mod:
		for i := range out {
			out[i] = math.Mod(l.at(i), r.at(i))
		}
	}
}

func arithInt(op predicate.ArithOp, l, r operand[int64], out []int64) {
	switch op {
	case predicate.Add:
		for i := range out {
			out[i] = l.at(i) + r.at(i)
		}
	case predicate.Sub:
		for i := range out {
			out[i] = l.at(i) - r.at(i)
		}
	case predicate.Mul:
		for i := range out {
			out[i] = l.at(i) * r.at(i)
		}
	case predicate.Mod:
		for i := range out {
			if d := r.at(i); d != 0 { // zero divisors are nulled afterwards
				out[i] = l.at(i) % d
			}
		}
	}
}

// nullZeroDivisors clears the validity of rows whose divisor is zero, for
// / and %. It returns the (possibly new) validity buffer.
func nullZeroDivisors[T int64 | float64](mem memory.Allocator, op predicate.ArithOp, r operand[T], n int, validity *memory.Buffer) *memory.Buffer {
	if op != predicate.Div && op != predicate.Mod {
		return validity
	}
	if r.vals == nil {
		if r.s != 0 {
			return validity
		}
		if validity == nil {
			validity = newBitmap(mem, n)
		}
		clear(validity.Bytes())
		return validity
	}
	for i, d := range r.vals {
		if d != 0 {
			continue
		}
		if validity == nil {
			validity = onesBitmap(mem, n)
		}
		vb := validity.Bytes()
		vb[i>>3] &^= 1 << (uint(i) & 7)
	}
	return validity
}

// negNode is unary minus (wrapping for the most negative integer, as Go).
type negNode struct {
	x  node
	dt arrow.DataType
}

func (nn *negNode) dataType() arrow.DataType { return nn.dt }

func (c *compiler) neg(e *predicate.Neg) (node, error) {
	x, err := c.compile(e.X)
	if err != nil {
		return nil, err
	}
	// The reference negates the 64-bit value (an int32 column's values
	// are int64 there), so widen first.
	var to arrow.DataType
	switch classOf(x.dataType()) {
	case clsInt32, clsInt64:
		to = arrow.PrimitiveTypes.Int64
	case clsFloat32, clsFloat64:
		to = arrow.PrimitiveTypes.Float64
	default:
		return nil, fmt.Errorf("%s: cannot negate %s", e, x.dataType())
	}
	if familyOf(x.dataType()) != famNumber {
		return nil, fmt.Errorf("%s: cannot negate %s", e, x.dataType())
	}
	if x, err = c.cast(x, to, e); err != nil {
		return nil, err
	}
	return foldIfConst(&negNode{x: x, dt: to}, x)
}

func (nn *negNode) eval(ec *evalCtx) (arrow.Array, error) {
	x, err := nn.x.eval(ec)
	if err != nil {
		return nil, err
	}
	defer x.Release()
	n := x.Len()
	validity := validityAnd(ec.mem, n, x)
	if nn.dt.ID() == arrow.FLOAT64 {
		buf, out := newFixed[float64](ec.mem, n)
		for i, v := range valuesOf[float64](x) {
			out[i] = -v
		}
		return makeArray(nn.dt, n, validity, buf), nil
	}
	buf, out := newFixed[int64](ec.mem, n)
	for i, v := range valuesOf[int64](x) {
		out[i] = -v
	}
	return makeArray(nn.dt, n, validity, buf), nil
}

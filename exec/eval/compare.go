package eval

import (
	"bytes"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/decimal128"

	"github.com/sluicedata/sluice/spec/predicate"
)

// cmpNode is L op R. When R is a constant (the common column-vs-literal
// shape) it is kept as a Go scalar and compared in the loop: no constant
// array is built. A literal on the left is moved right with the operator
// mirrored at compile time.
type cmpNode struct {
	op   predicate.CmpOp
	l, r node
	rc   *constNode // non-nil: r is this constant
}

func (c *cmpNode) dataType() arrow.DataType { return arrow.FixedWidthTypes.Boolean }

func (c *compiler) compare(e *predicate.Compare) (node, error) {
	if e.Op < predicate.Eq || e.Op > predicate.Ge {
		return nil, fmt.Errorf("%s: unknown comparison operator %d", e, e.Op)
	}
	l, err := c.compile(e.L)
	if err != nil {
		return nil, err
	}
	r, err := c.compile(e.R)
	if err != nil {
		return nil, err
	}
	l, r, err = c.lineUp(l, r, e)
	if err != nil {
		return nil, err
	}
	n := &cmpNode{op: e.Op, l: l, r: r}
	lc, lok := asConst(l)
	rc, rok := asConst(r)
	switch {
	case lok && rok:
		return fold(n)
	case rok:
		n.rc = rc
	case lok:
		n.l, n.r, n.rc, n.op = r, l, lc, e.Op.Mirror()
	}
	if n.rc != nil {
		n.l = unwrapWidening(n.l, n.rc.dt)
	}
	return n, nil
}

// unwrapWidening drops a numeric widening cast (int32 → int64, int or
// float32 → float64) in front of a value compared with a constant of the
// cast's target type: the column-vs-scalar kernels convert each value to
// the scalar's domain in the loop, which gives the same result without
// materialising the converted column.
func unwrapWidening(x node, scalarType arrow.DataType) node {
	cn, ok := x.(*castNode)
	if !ok || familyOf(cn.x.dataType()) != famNumber {
		return x
	}
	if to := cn.to.ID(); to != scalarType.ID() || (to != arrow.INT64 && to != arrow.FLOAT64) {
		return x
	}
	return unwrapWidening(cn.x, scalarType)
}

// lineUp brings two operands to representations a kernel can compare:
// timestamps to one unit, decimals to one scale, and (between two
// non-constant operands) numbers to one class. A constant number is never
// cast: the kernel compares each value converted to the constant's domain.
func (c *compiler) lineUp(l, r node, e predicate.Expr) (node, node, error) {
	lt, rt := l.dataType(), r.dataType()
	lf, rf := familyOf(lt), familyOf(rt)
	if lf != rf || lf == famOther {
		return nil, nil, fmt.Errorf("%s: cannot compare %s with %s", e, lt, rt)
	}
	var err error
	switch lf {
	case famTimestamp:
		if lt.(*arrow.TimestampType).Unit < rt.(*arrow.TimestampType).Unit {
			l, err = c.cast(l, rt, e)
		} else if lt.(*arrow.TimestampType).Unit > rt.(*arrow.TimestampType).Unit {
			r, err = c.cast(r, lt, e)
		}
	case famDecimal:
		ls, rs := lt.(*arrow.Decimal128Type).Scale, rt.(*arrow.Decimal128Type).Scale
		if ls < rs {
			l, err = c.cast(l, &arrow.Decimal128Type{Precision: 38, Scale: rs}, e)
		} else if ls > rs {
			r, err = c.cast(r, &arrow.Decimal128Type{Precision: 38, Scale: ls}, e)
		}
	case famNumber:
		_, lok := asConst(l)
		_, rok := asConst(r)
		if lok || rok || classOf(lt) == classOf(rt) {
			break
		}
		to := arrow.DataType(arrow.PrimitiveTypes.Int64)
		if classOf(lt).isFloat() || classOf(rt).isFloat() {
			to = arrow.PrimitiveTypes.Float64
		}
		if l, err = c.cast(l, to, e); err == nil {
			r, err = c.cast(r, to, e)
		}
	}
	return l, r, err
}

func (c *cmpNode) eval(ec *evalCtx) (arrow.Array, error) {
	a, err := c.l.eval(ec)
	if err != nil {
		return nil, err
	}
	defer a.Release()
	n := a.Len()
	boolT := arrow.FixedWidthTypes.Boolean
	if c.rc != nil {
		s := c.rc.v
		if s.null {
			return materialize(ec.mem, boolT, s, n), nil
		}
		validity := validityAnd(ec.mem, n, a)
		out := newBitmap(ec.mem, n)
		bm := out.Bytes()
		sf := c.rc.dt.ID() == arrow.FLOAT64
		switch classOf(a.DataType()) {
		case clsInt32:
			if sf {
				cmpAS(c.op, valuesOf[int32](a), s.f, bm)
			} else {
				cmpAS(c.op, valuesOf[int32](a), s.i, bm)
			}
		case clsInt64:
			if sf {
				cmpAS(c.op, valuesOf[int64](a), s.f, bm)
			} else {
				cmpAS(c.op, valuesOf[int64](a), s.i, bm)
			}
		case clsFloat32:
			if sf {
				cmpAS(c.op, valuesOf[float32](a), s.f, bm)
			} else {
				cmpAS(c.op, valuesOf[float32](a), float64(s.i), bm)
			}
		case clsFloat64:
			if sf {
				cmpAS(c.op, valuesOf[float64](a), s.f, bm)
			} else {
				cmpAS(c.op, valuesOf[float64](a), float64(s.i), bm)
			}
		case clsDecimal:
			cmpDecAS(c.op, valuesOf[decimal128.Num](a), s.d, bm)
		case clsBytes:
			if isLarge(a) {
				cmpBytesAS(c.op, viewOf[int64](a), []byte(s.s), bm)
			} else {
				cmpBytesAS(c.op, viewOf[int32](a), []byte(s.s), bm)
			}
		case clsBool:
			vals, off := bitsOf(a)
			cmpBoolAS(c.op, vals, off, n, s.b, bm)
		default:
			out.Release()
			if validity != nil {
				validity.Release()
			}
			return nil, fmt.Errorf("compare: unsupported type %s", a.DataType())
		}
		return makeArray(boolT, n, validity, out), nil
	}

	b, err := c.r.eval(ec)
	if err != nil {
		return nil, err
	}
	defer b.Release()
	validity := validityAnd(ec.mem, n, a, b)
	out := newBitmap(ec.mem, n)
	bm := out.Bytes()
	switch classOf(a.DataType()) {
	case clsInt32:
		cmpAA(c.op, valuesOf[int32](a), valuesOf[int32](b), bm)
	case clsInt64:
		cmpAA(c.op, valuesOf[int64](a), valuesOf[int64](b), bm)
	case clsFloat32:
		cmpAA(c.op, valuesOf[float32](a), valuesOf[float32](b), bm)
	case clsFloat64:
		cmpAA(c.op, valuesOf[float64](a), valuesOf[float64](b), bm)
	case clsDecimal:
		cmpDecAA(c.op, valuesOf[decimal128.Num](a), valuesOf[decimal128.Num](b), bm)
	case clsBytes:
		switch {
		case isLarge(a) && isLarge(b):
			cmpBytesAA(c.op, viewOf[int64](a), viewOf[int64](b), bm)
		case !isLarge(a) && !isLarge(b):
			cmpBytesAA(c.op, viewOf[int32](a), viewOf[int32](b), bm)
		default:
			cmpBytesAA(c.op, view64(a), view64(b), bm)
		}
	case clsBool:
		av, aoff := bitsOf(a)
		bv, boff := bitsOf(b)
		for i := 0; i < n; i++ {
			x, y := bitAt(av, aoff+i), bitAt(bv, boff+i)
			if cmpResult(c.op, b2i(x)-b2i(y)) {
				setBit(bm, i)
			}
		}
	default:
		out.Release()
		if validity != nil {
			validity.Release()
		}
		return nil, fmt.Errorf("compare: unsupported type %s", a.DataType())
	}
	return makeArray(boolT, n, validity, out), nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func b2u(b bool) byte {
	if b {
		return 1
	}
	return 0
}

// cmpResult applies op to a three-way comparison result.
func cmpResult(op predicate.CmpOp, c int) bool {
	switch op {
	case predicate.Eq:
		return c == 0
	case predicate.Ne:
		return c != 0
	case predicate.Lt:
		return c < 0
	case predicate.Le:
		return c <= 0
	case predicate.Gt:
		return c > 0
	case predicate.Ge:
		return c >= 0
	}
	return false
}

// cmpAS compares each value of a, converted to the scalar's domain S,
// with s. The operator switch is outside the loops so each loop is a
// tight, branch-free pass (NaN compares as IEEE 754 says, like Go).
func cmpAS[T numeric, S int64 | float64](op predicate.CmpOp, a []T, s S, out []byte) {
	switch op {
	case predicate.Eq:
		for i, v := range a {
			out[i>>3] |= b2u(S(v) == s) << (uint(i) & 7)
		}
	case predicate.Ne:
		for i, v := range a {
			out[i>>3] |= b2u(S(v) != s) << (uint(i) & 7)
		}
	case predicate.Lt:
		for i, v := range a {
			out[i>>3] |= b2u(S(v) < s) << (uint(i) & 7)
		}
	case predicate.Le:
		for i, v := range a {
			out[i>>3] |= b2u(S(v) <= s) << (uint(i) & 7)
		}
	case predicate.Gt:
		for i, v := range a {
			out[i>>3] |= b2u(S(v) > s) << (uint(i) & 7)
		}
	case predicate.Ge:
		for i, v := range a {
			out[i>>3] |= b2u(S(v) >= s) << (uint(i) & 7)
		}
	}
}

func cmpAA[T numeric](op predicate.CmpOp, a, b []T, out []byte) {
	b = b[:len(a)]
	switch op {
	case predicate.Eq:
		for i, v := range a {
			out[i>>3] |= b2u(v == b[i]) << (uint(i) & 7)
		}
	case predicate.Ne:
		for i, v := range a {
			out[i>>3] |= b2u(v != b[i]) << (uint(i) & 7)
		}
	case predicate.Lt:
		for i, v := range a {
			out[i>>3] |= b2u(v < b[i]) << (uint(i) & 7)
		}
	case predicate.Le:
		for i, v := range a {
			out[i>>3] |= b2u(v <= b[i]) << (uint(i) & 7)
		}
	case predicate.Gt:
		for i, v := range a {
			out[i>>3] |= b2u(v > b[i]) << (uint(i) & 7)
		}
	case predicate.Ge:
		for i, v := range a {
			out[i>>3] |= b2u(v >= b[i]) << (uint(i) & 7)
		}
	}
}

func cmpDecAS(op predicate.CmpOp, a []decimal128.Num, s decimal128.Num, out []byte) {
	for i, v := range a {
		out[i>>3] |= b2u(cmpResult(op, v.Cmp(s))) << (uint(i) & 7)
	}
}

func cmpDecAA(op predicate.CmpOp, a, b []decimal128.Num, out []byte) {
	for i, v := range a {
		out[i>>3] |= b2u(cmpResult(op, v.Cmp(b[i]))) << (uint(i) & 7)
	}
}

// cmpBytesAS compares byte-wise, as Go compares strings.
func cmpBytesAS[O int32 | int64](op predicate.CmpOp, a strView[O], s []byte, out []byte) {
	n := len(a.offs) - 1
	switch op {
	case predicate.Eq, predicate.Ne:
		want := op == predicate.Eq
		ls := O(len(s))
		offs, data := a.offs, a.data
		for i := 0; i < n; i++ {
			st, e := offs[i], offs[i+1]
			eq := e-st == ls && eqBytes(data[st:e], s)
			out[i>>3] |= b2u(eq == want) << (uint(i) & 7)
		}
	default:
		for i := 0; i < n; i++ {
			out[i>>3] |= b2u(cmpResult(op, bytes.Compare(a.at(i), s))) << (uint(i) & 7)
		}
	}
}

func cmpBytesAA[O int32 | int64](op predicate.CmpOp, a, b strView[O], out []byte) {
	n := len(a.offs) - 1
	switch op {
	case predicate.Eq, predicate.Ne:
		want := op == predicate.Eq
		for i := 0; i < n; i++ {
			out[i>>3] |= b2u(bytes.Equal(a.at(i), b.at(i)) == want) << (uint(i) & 7)
		}
	default:
		for i := 0; i < n; i++ {
			out[i>>3] |= b2u(cmpResult(op, bytes.Compare(a.at(i), b.at(i)))) << (uint(i) & 7)
		}
	}
}

// cmpBoolAS orders false before true, as the reference does.
func cmpBoolAS(op predicate.CmpOp, vals []byte, off, n int, s bool, out []byte) {
	for i := 0; i < n; i++ {
		if cmpResult(op, b2i(bitAt(vals, off+i))-b2i(s)) {
			setBit(out, i)
		}
	}
}

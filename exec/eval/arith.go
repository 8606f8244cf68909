package eval

import (
	"fmt"
	"math"
	"math/bits"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicedata/sluice/spec/predicate"
)

// arithNode is L op R in int64 or float64 (the IR widens operands first).
// It is written here rather than with the arrow compute "add"/"divide"
// kernels because our semantics differ from both of their flavours:
// integer overflow is null (the unchecked kernels wrap, the _checked ones
// fail the whole batch), and division or modulo by zero is null (the
// kernels fail or give Inf/NaN). A constant operand stays a Go scalar.
//
// Overflow costs the common path a few ALU operations per row and no
// branch: each loop ORs a sign-bit witness into one accumulator, and only
// a batch whose witness fired takes a second pass to null those rows.
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
		return allNull(ec, a.dt, []node{a.l, a.r})
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
	if arithInt(a.op, l, r, out) {
		validity = nullOverflows(ec.mem, a.op, l, r, n, validity)
	}
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

// arithInt computes out = l op r (wrapping) and reports whether any row
// overflowed (then nullOverflows finds which). Each loop is specialised
// to its operands' shape (column or scalar on either side), so the row
// loop has no branch.
//
// + and - OR a witness into one accumulator, negative exactly when some
// row overflowed: for a+b=s, (a^s)&(b^s) (the operands share a sign that
// s lost); for a-b=s, (a^b)&(a^s). * bounds the operands' magnitudes as
// it multiplies (one OR per value): when their bit lengths sum to at most
// 62 no product can have overflowed; otherwise each product is checked
// with the high word of its 128-bit value (a second pass, for batches
// holding large values only).
func arithInt(op predicate.ArithOp, l, r operand[int64], out []int64) bool {
	n := len(out)
	if l.vals == nil && r.vals == nil {
		// Two scalars (the compiler folds these; kept for safety).
		v := arithScalar(op, l.s, r.s)
		for i := range out {
			out[i] = v
		}
		return n > 0 && overflows(op, l.s, r.s)
	}
	switch op {
	case predicate.Add:
		var w int64
		switch {
		case l.vals != nil && r.vals != nil:
			lv, rv := l.vals[:n], r.vals[:n]
			for i := range out {
				s := lv[i] + rv[i]
				out[i] = s
				w |= (lv[i] ^ s) & (rv[i] ^ s)
			}
		case l.vals != nil:
			lv, b := l.vals[:n], r.s
			for i := range out {
				s := lv[i] + b
				out[i] = s
				w |= (lv[i] ^ s) & (b ^ s)
			}
		default:
			return arithInt(op, r, l, out) // + commutes
		}
		return w < 0
	case predicate.Sub:
		var w int64
		switch {
		case l.vals != nil && r.vals != nil:
			lv, rv := l.vals[:n], r.vals[:n]
			for i := range out {
				s := lv[i] - rv[i]
				out[i] = s
				w |= (lv[i] ^ rv[i]) & (lv[i] ^ s)
			}
		case l.vals != nil:
			lv, b := l.vals[:n], r.s
			for i := range out {
				s := lv[i] - b
				out[i] = s
				w |= (lv[i] ^ b) & (lv[i] ^ s)
			}
		default:
			a, rv := l.s, r.vals[:n]
			for i := range out {
				s := a - rv[i]
				out[i] = s
				w |= (a ^ rv[i]) & (a ^ s)
			}
		}
		return w < 0
	case predicate.Mul:
		if l.vals == nil {
			l, r = r, l // * commutes
		}
		// Multiply while bounding the operands' magnitudes; only when the
		// bound allows an overflow are the products checked exactly.
		lv := l.vals[:n]
		var ml, mr int64
		if r.vals != nil {
			rv := r.vals[:n]
			for i := range out {
				a, b := lv[i], rv[i]
				out[i] = a * b
				ml |= a ^ a>>63 // |a| for a >= 0, |a|-1 for a < 0
				mr |= b ^ b>>63
			}
		} else {
			b := r.s
			mr = b ^ b>>63
			for i := range out {
				a := lv[i]
				out[i] = a * b
				ml |= a ^ a>>63
			}
		}
		// |a| <= 1<<Len(ml) and |b| <= 1<<Len(mr), so with Len(ml)+Len(mr)
		// <= 62 every |a*b| <= 1<<62 fits.
		if bits.Len64(uint64(ml))+bits.Len64(uint64(mr)) <= 62 {
			return false
		}
		var w uint64
		for i := range out {
			a, b := lv[i], r.at(i)
			hi, lo := bits.Mul64(uint64(a), uint64(b))
			w |= mulHigh(a, b, hi) ^ uint64(int64(lo)>>63)
		}
		return w != 0
	case predicate.Mod:
		// No overflow: MinInt64 % -1 is 0, exactly.
		for i := range out {
			if d := r.at(i); d != 0 { // zero divisors are nulled afterwards
				out[i] = l.at(i) % d
			}
		}
	}
	return false
}

// arithScalar is a op b, wrapping (overflows says whether it did).
func arithScalar(op predicate.ArithOp, a, b int64) int64 {
	switch op {
	case predicate.Add:
		return a + b
	case predicate.Sub:
		return a - b
	case predicate.Mul:
		return a * b
	case predicate.Mod:
		if b != 0 {
			return a % b
		}
	}
	return 0
}

// mulHigh turns the high word of the unsigned 128-bit product of a and b
// into the signed product's high word.
func mulHigh(a, b int64, hi uint64) uint64 {
	return hi - uint64(a>>63)&uint64(b) - uint64(b>>63)&uint64(a)
}

// overflows reports whether a op b does not fit in int64.
func overflows(op predicate.ArithOp, a, b int64) bool {
	switch op {
	case predicate.Add:
		s := a + b
		return (a^s)&(b^s) < 0
	case predicate.Sub:
		s := a - b
		return (a^b)&(a^s) < 0
	case predicate.Mul:
		hi, lo := bits.Mul64(uint64(a), uint64(b))
		return mulHigh(a, b, hi) != uint64(int64(lo)>>63)
	}
	return false
}

// nullOverflows clears the validity of the rows whose l op r overflowed
// (the slow path, for a batch where arithInt saw one). It returns the
// (possibly new) validity buffer.
func nullOverflows(mem memory.Allocator, op predicate.ArithOp, l, r operand[int64], n int, validity *memory.Buffer) *memory.Buffer {
	for i := 0; i < n; i++ {
		if !overflows(op, l.at(i), r.at(i)) {
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

// negNode is unary minus; the most negative integer's has no int64 value
// and is null.
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
	vals := valuesOf[int64](x)
	var w int64
	for i, v := range vals {
		out[i] = -v
		w |= v & -v // negative only for MinInt64, whose -v is itself
	}
	if w < 0 {
		for i, v := range vals {
			if v != math.MinInt64 {
				continue
			}
			if validity == nil {
				validity = onesBitmap(ec.mem, n)
			}
			vb := validity.Bytes()
			vb[i>>3] &^= 1 << (uint(i) & 7)
		}
	}
	return makeArray(nn.dt, n, validity, buf), nil
}

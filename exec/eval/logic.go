package eval

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/decimal128"

	"github.com/sluicedata/sluice/spec/predicate"
)

// logicNode is n-ary Kleene AND (or OR). It keeps two bitmaps, "definitely
// true" and "definitely false", and folds each argument into them a byte
// at a time; it stops evaluating arguments once every row is decided by
// the dominant value (false for AND, true for OR). The arrow compute
// and_kleene/or_kleene kernels give the same answer but take two
// arguments per call and cannot short-circuit, so this is done here.
type logicNode struct {
	args []node
	or   bool
	// unknownConst is set when a constant argument was null: no row can
	// then take the non-dominant value.
	unknownConst bool
}

func (l *logicNode) dataType() arrow.DataType { return arrow.FixedWidthTypes.Boolean }

func (c *compiler) logic(args []predicate.Expr, or bool, e predicate.Expr) (node, error) {
	if len(args) == 0 {
		return nil, fmt.Errorf("%s: no operands", e)
	}
	ln := &logicNode{or: or}
	for _, a := range args {
		n, err := c.boolArg(a)
		if err != nil {
			return nil, err
		}
		k, ok := asConst(n)
		switch {
		case !ok:
			ln.args = append(ln.args, n)
		case k.v.null:
			ln.unknownConst = true
		case k.v.b == or: // the dominant value decides every row
			if len(ln.args) == 0 {
				return &constNode{dt: arrow.FixedWidthTypes.Boolean, v: scalar{b: or}}, nil
			}
			// The operands before it are still evaluated (their row
			// errors count, as in the reference); the ones after are not.
			ln.args = append(ln.args, n)
			return ln, nil
		}
	}
	if len(ln.args) == 0 {
		return &constNode{dt: arrow.FixedWidthTypes.Boolean, v: scalar{null: ln.unknownConst, b: !or}}, nil
	}
	if len(ln.args) == 1 && !ln.unknownConst {
		return ln.args[0], nil
	}
	return ln, nil
}

func (l *logicNode) eval(ec *evalCtx) (arrow.Array, error) {
	n := ec.n
	// dom collects rows decided by the dominant value, other the rows
	// that have the other value in every argument so far.
	dom := newBitmap(ec.mem, n)
	other := newBitmap(ec.mem, n)
	if !l.unknownConst {
		fillOnes(other.Bytes(), n)
	}
	db, ob := dom.Bytes(), other.Bytes()
	nbytes := len(db)
	for _, a := range l.args {
		if bitutil.CountSetBits(db, 0, n) == n {
			break // every row decided
		}
		mark := len(ec.errs)
		arr, err := a.eval(ec)
		if err != nil {
			dom.Release()
			other.Release()
			return nil, err
		}
		// A row already decided by an earlier operand does not evaluate
		// this one (the reference stops there): drop its row errors.
		ec.keepErrors(mark, func(i int) bool { return !bitAt(db, i) })
		vb, voff := bitsOf(arr)
		vals := aligned(vb, voff, n)
		var valid []byte
		if bm, off := validityOf(arr); bm != nil {
			valid = aligned(bm, off, n)
		}
		for i := 0; i < nbytes; i++ {
			v := vals[i]
			if !l.or {
				v = ^v // for AND the dominant value is false
			}
			ok := byte(0xff)
			if valid != nil {
				ok = valid[i]
			}
			db[i] |= v & ok
			ob[i] &= ^v & ok
		}
		arr.Release()
	}
	// values: true rows; validity: decided rows (dominant or other).
	for i := range ob {
		ob[i] |= db[i]
	}
	validity := dropAllValid(other, n)
	if !l.or {
		// AND: true rows are the "other" rows, i.e. valid and not dominant.
		vals := newBitmap(ec.mem, n)
		vb := vals.Bytes()
		for i := range vb {
			vb[i] = ^db[i]
		}
		dom.Release()
		return makeArray(arrow.FixedWidthTypes.Boolean, n, validity, vals), nil
	}
	return makeArray(arrow.FixedWidthTypes.Boolean, n, validity, dom), nil
}

// notNode is Kleene NOT: null stays null.
type notNode struct{ x node }

func (nn *notNode) dataType() arrow.DataType { return arrow.FixedWidthTypes.Boolean }

func (nn *notNode) eval(ec *evalCtx) (arrow.Array, error) {
	x, err := nn.x.eval(ec)
	if err != nil {
		return nil, err
	}
	defer x.Release()
	n := x.Len()
	vals := newBitmap(ec.mem, n)
	vb, off := bitsOf(x)
	bitutil.InvertBitmap(vb, off, n, vals.Bytes(), 0)
	return makeArray(arrow.FixedWidthTypes.Boolean, n, validityAnd(ec.mem, n, x), vals), nil
}

// isNullNode is X == nil (or X != nil): never null itself.
type isNullNode struct {
	x       node
	negated bool
}

func (in *isNullNode) dataType() arrow.DataType { return arrow.FixedWidthTypes.Boolean }

func (in *isNullNode) eval(ec *evalCtx) (arrow.Array, error) {
	x, err := in.x.eval(ec)
	if err != nil {
		return nil, err
	}
	defer x.Release()
	n := x.Len()
	vals := newBitmap(ec.mem, n)
	bm, off := validityOf(x)
	switch {
	case bm == nil && in.negated:
		fillOnes(vals.Bytes(), n)
	case bm == nil:
		// no nulls: all false, already zero
	case in.negated:
		bitutil.CopyBitmap(bm, off, n, vals.Bytes(), 0)
	default:
		bitutil.InvertBitmap(bm, off, n, vals.Bytes(), 0)
	}
	return makeArray(arrow.FixedWidthTypes.Boolean, n, nil, vals), nil
}

// smallSet is the size up to which an in-list is scanned linearly rather
// than hashed: a few compares beat a map lookup.
const smallSet = 8

// set is a membership test for an in-list.
type set[K comparable] struct {
	list []K
	m    map[K]struct{}
}

func newSet[K comparable](vals []K) set[K] {
	s := set[K]{list: vals}
	if len(vals) > smallSet {
		s.m = make(map[K]struct{}, len(vals))
		for _, v := range vals {
			s.m[v] = struct{}{}
		}
	}
	return s
}

func (s *set[K]) has(k K) bool {
	if s.m != nil {
		_, ok := s.m[k]
		return ok
	}
	for _, v := range s.list {
		if v == k {
			return true
		}
	}
	return false
}

// inNode is X in (list): null X gives null; otherwise true when X equals a
// list value (never for NaN), negated for not in.
type inNode struct {
	x       node
	negated bool
	floats  bool // compare in float64 (X or the list is floating point)
	ints    set[int64]
	fls     set[float64]
	strs    set[string]
	decs    set[decimal128.Num]
	bools   [2]bool // [false in list, true in list]
}

func (in *inNode) dataType() arrow.DataType { return arrow.FixedWidthTypes.Boolean }

func (c *compiler) in(e *predicate.In) (node, error) {
	x, err := c.compile(e.X)
	if err != nil {
		return nil, err
	}
	xt := x.dataType()
	in := &inNode{x: x, negated: e.Negated, floats: classOf(xt).isFloat()}
	type lit struct {
		dt arrow.DataType
		v  scalar
	}
	lits := make([]lit, 0, len(e.List))
	for _, l := range e.List {
		if l == nil {
			return nil, fmt.Errorf("%s: nil list element", e)
		}
		dt, err := literalType(l.Typ)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", e, err)
		}
		v, err := literalScalar(l.Value, l.Typ)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", e, err)
		}
		if v.null {
			return nil, fmt.Errorf("%s: null in an in-list (use == nil)", e)
		}
		if familyOf(dt) != familyOf(xt) {
			return nil, fmt.Errorf("%s: list value %s is %s, not comparable with %s", e, l, dt, xt)
		}
		if familyOf(dt) == famTimestamp && dt.(*arrow.TimestampType).Unit != xt.(*arrow.TimestampType).Unit {
			return nil, fmt.Errorf("%s: list value %s has unit %s, %s has %s", e, l, dt.(*arrow.TimestampType).Unit, e.X, xt.(*arrow.TimestampType).Unit)
		}
		if familyOf(dt) == famDecimal {
			fs, ts := dt.(*arrow.Decimal128Type).Scale, xt.(*arrow.Decimal128Type).Scale
			r, err := v.d.Rescale(fs, ts)
			if err != nil || fs > ts {
				return nil, fmt.Errorf("%s: list value %s does not have the scale of %s (%d)", e, l, e.X, ts)
			}
			v.d = r
		}
		if classOf(dt).isFloat() {
			in.floats = true
		}
		lits = append(lits, lit{dt, v})
	}
	// As for comparisons, a widening cast of X is done in the loop instead.
	if in.floats {
		in.x = unwrapWidening(in.x, arrow.PrimitiveTypes.Float64)
	} else {
		in.x = unwrapWidening(in.x, arrow.PrimitiveTypes.Int64)
	}
	switch cls := classOf(xt); {
	case cls.isNumeric() && in.floats:
		vals := make([]float64, len(lits))
		for i, l := range lits {
			vals[i] = l.v.f
			if !classOf(l.dt).isFloat() {
				vals[i] = float64(l.v.i)
			}
		}
		in.fls = newSet(vals)
	case cls.isNumeric():
		vals := make([]int64, len(lits))
		for i, l := range lits {
			vals[i] = l.v.i
		}
		in.ints = newSet(vals)
	case cls == clsBytes:
		vals := make([]string, len(lits))
		for i, l := range lits {
			vals[i] = l.v.s
		}
		in.strs = newSet(vals)
	case cls == clsDecimal:
		vals := make([]decimal128.Num, len(lits))
		for i, l := range lits {
			vals[i] = l.v.d
		}
		in.decs = newSet(vals)
	case cls == clsBool:
		for _, l := range lits {
			in.bools[b2i(l.v.b)] = true
		}
	default:
		return nil, fmt.Errorf("%s: in over %s is not supported", e, xt)
	}
	return foldIfConst(in, x)
}

func (in *inNode) eval(ec *evalCtx) (arrow.Array, error) {
	x, err := in.x.eval(ec)
	if err != nil {
		return nil, err
	}
	defer x.Release()
	n := x.Len()
	vals := newBitmap(ec.mem, n)
	out := vals.Bytes()
	switch classOf(x.DataType()) {
	case clsInt32:
		if in.floats {
			inNumbers(valuesOf[int32](x), &in.fls, in.negated, out)
		} else {
			inNumbers(valuesOf[int32](x), &in.ints, in.negated, out)
		}
	case clsInt64:
		if in.floats {
			inNumbers(valuesOf[int64](x), &in.fls, in.negated, out)
		} else {
			inNumbers(valuesOf[int64](x), &in.ints, in.negated, out)
		}
	case clsFloat32:
		inNumbers(valuesOf[float32](x), &in.fls, in.negated, out)
	case clsFloat64:
		inNumbers(valuesOf[float64](x), &in.fls, in.negated, out)
	case clsDecimal:
		for i, v := range valuesOf[decimal128.Num](x) {
			out[i>>3] |= b2u(in.decs.has(v) != in.negated) << (uint(i) & 7)
		}
	case clsBytes:
		if isLarge(x) {
			inBytes(viewOf[int64](x), &in.strs, in.negated, out)
		} else {
			inBytes(viewOf[int32](x), &in.strs, in.negated, out)
		}
	case clsBool:
		vb, off := bitsOf(x)
		for i := 0; i < n; i++ {
			if in.bools[b2i(bitAt(vb, off+i))] != in.negated {
				setBit(out, i)
			}
		}
	default:
		vals.Release()
		return nil, fmt.Errorf("in: unsupported type %s", x.DataType())
	}
	return makeArray(arrow.FixedWidthTypes.Boolean, n, validityAnd(ec.mem, n, x), vals), nil
}

func inNumbers[T numeric, K int64 | float64](a []T, s *set[K], negated bool, out []byte) {
	for i, v := range a {
		out[i>>3] |= b2u(s.has(K(v)) != negated) << (uint(i) & 7)
	}
}

// inBytes looks values up without converting them to strings: the
// compiler turns m[string(b)] into an allocation-free lookup, and short
// lists compare lengths first, then bytes.
func inBytes[O int32 | int64](v strView[O], s *set[string], negated bool, out []byte) {
	n := len(v.offs) - 1
	offs, data := v.offs, v.data
	if s.m != nil {
		for i := 0; i < n; i++ {
			_, found := s.m[string(data[offs[i]:offs[i+1]])]
			out[i>>3] |= b2u(found != negated) << (uint(i) & 7)
		}
		return
	}
	list := make([][]byte, len(s.list))
	for i, x := range s.list {
		list[i] = []byte(x)
	}
	for i := 0; i < n; i++ {
		st, e := offs[i], offs[i+1]
		b := data[st:e]
		found := false
		for _, x := range list {
			if len(x) == len(b) && eqBytes(b, x) {
				found = true
				break
			}
		}
		out[i>>3] |= b2u(found != negated) << (uint(i) & 7)
	}
}

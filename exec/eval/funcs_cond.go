package eval

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicedata/sluice/spec/predicate"
)

// condNode is If ? Then : Else. Both branches are evaluated on the whole
// batch (a kernel per row subset would cost more than it saves on the
// short expressions of output columns), then each row takes its value from
// the branch its condition selects; row errors of the branch not taken
// are dropped.
type condNode struct {
	cond, then, els node
	dt              arrow.DataType
}

func (cn *condNode) dataType() arrow.DataType { return cn.dt }

// branch compiles an operand of ?: or coalesce and checks that it has the
// representation of dt (the type checker unified the operands).
func (c *compiler) branch(e predicate.Expr, dt arrow.DataType, parent predicate.Expr) (node, error) {
	n, err := c.compile(e)
	if err != nil {
		return nil, err
	}
	if classOf(n.dataType()) != classOf(dt) {
		if n, err = c.cast(n, dt, parent); err != nil {
			return nil, err
		}
	}
	if classOf(n.dataType()) != classOf(dt) {
		return nil, fmt.Errorf("%s: operand %s is %s, not %s", parent, e, n.dataType(), dt)
	}
	return n, nil
}

func (c *compiler) cond(e *predicate.Cond) (node, error) {
	dt, err := literalType(e.Typ)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", e, err)
	}
	cond, err := c.boolArg(e.If)
	if err != nil {
		return nil, err
	}
	then, err := c.branch(e.Then, dt, e)
	if err != nil {
		return nil, err
	}
	els, err := c.branch(e.Else, dt, e)
	if err != nil {
		return nil, err
	}
	if k, ok := asConst(cond); ok {
		if !k.v.null && k.v.b {
			return retype(then, dt), nil
		}
		return retype(els, dt), nil
	}
	return &condNode{cond: cond, then: then, els: els, dt: dt}, nil
}

// retype gives a constant the node's type (a string constant of a binary
// branch, a timestamp constant of another timezone); other nodes keep
// theirs, which has the same representation.
func retype(n node, dt arrow.DataType) node {
	if k, ok := asConst(n); ok {
		return &constNode{dt: dt, v: k.v}
	}
	return n
}

func (cn *condNode) eval(ec *evalCtx) (arrow.Array, error) {
	c, err := cn.cond.eval(ec)
	if err != nil {
		return nil, err
	}
	defer c.Release()
	n := ec.n
	cb, coff := bitsOf(c)
	cv, cvoff := validityOf(c)
	taken := func(i int) bool { return (cv == nil || bitAt(cv, cvoff+i)) && bitAt(cb, coff+i) }
	mark := len(ec.errs)
	t, err := evalBranch(ec, cn.then)
	if err != nil {
		return nil, err
	}
	defer t.Release()
	ec.keepErrors(mark, taken)
	mark = len(ec.errs)
	e, err := evalBranch(ec, cn.els)
	if err != nil {
		return nil, err
	}
	defer e.Release()
	ec.keepErrors(mark, func(i int) bool { return !taken(i) })
	srcs := []arrow.Array{t, e}
	valid := [2]func(int) bool{validFn(t), validFn(e)}
	which := make([]int8, n)
	for i := range which {
		if !taken(i) {
			which[i] = 1
		}
		if !valid[which[i]](i) {
			which[i] = -1
		}
	}
	return pick(ec.mem, cn.dt, n, srcs, which)
}

// coalesceNode is the first non-null of its arguments. It stops
// evaluating arguments once every row has a value.
type coalesceNode struct {
	args []node
	dt   arrow.DataType
}

func (cn *coalesceNode) dataType() arrow.DataType { return cn.dt }

func (c *compiler) coalesce(e *predicate.Coalesce) (node, error) {
	dt, err := literalType(e.Typ)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", e, err)
	}
	cn := &coalesceNode{dt: dt}
	for _, a := range e.Args {
		n, err := c.branch(a, dt, e)
		if err != nil {
			return nil, err
		}
		if k, ok := asConst(n); ok {
			if k.v.null {
				continue // never chosen
			}
			if len(cn.args) == 0 {
				return retype(n, dt), nil
			}
			cn.args = append(cn.args, n)
			break // later arguments are never reached
		}
		cn.args = append(cn.args, n)
	}
	switch len(cn.args) {
	case 0:
		return &constNode{dt: dt, v: scalar{null: true}}, nil
	case 1:
		return cn.args[0], nil
	}
	return cn, nil
}

func (cn *coalesceNode) eval(ec *evalCtx) (arrow.Array, error) {
	n := ec.n
	which := make([]int8, n)
	for i := range which {
		which[i] = -1
	}
	left := n
	var arrs []arrow.Array
	defer func() {
		for _, a := range arrs {
			a.Release()
		}
	}()
	for k, a := range cn.args {
		if left == 0 {
			break
		}
		mark := len(ec.errs)
		arr, err := evalBranch(ec, a)
		if err != nil {
			return nil, err
		}
		arrs = append(arrs, arr)
		ec.keepErrors(mark, func(i int) bool { return which[i] < 0 })
		if arr.NullN() == 0 {
			for i := range which {
				if which[i] < 0 {
					which[i] = int8(k)
				}
			}
			break
		}
		valid := validFn(arr)
		for i := range which {
			if which[i] < 0 && valid(i) {
				which[i] = int8(k)
				left--
			}
		}
	}
	return pick(ec.mem, cn.dt, n, arrs, which)
}

// evalBranch evaluates an operand of ?: or coalesce; a constant is a
// one-row array that pick broadcasts, not n copies.
func evalBranch(ec *evalCtx, n node) (arrow.Array, error) {
	if k, ok := asConst(n); ok {
		return materialize(ec.mem, k.dt, k.v, 1), nil
	}
	return n.eval(ec)
}

// validFn tells whether row i of a (broadcast when it has one row) is
// valid, reading the bitmap directly.
func validFn(a arrow.Array) func(int) bool {
	if a.Len() == 1 {
		v := a.IsValid(0)
		return func(int) bool { return v }
	}
	bm, off := validityOf(a)
	if bm == nil {
		return func(int) bool { return true }
	}
	return func(i int) bool { return bitAt(bm, off+i) }
}

// pick builds an n-row array of dt whose row i is row i of
// srcs[which[i]] (row 0 of a one-row source), or null where which[i] < 0.
// The sources have dt's representation (a string source may have 32- or
// 64-bit offsets).
func pick(mem memory.Allocator, dt arrow.DataType, n int, srcs []arrow.Array, which []int8) (arrow.Array, error) {
	validity := onesBitmap(mem, n)
	vb := validity.Bytes()
	for i, w := range which {
		if w < 0 {
			vb[i>>3] &^= 1 << (uint(i) & 7)
		}
	}
	validity = dropAllValid(validity, n)
	switch classOf(dt) {
	case clsBool:
		out := newBitmap(mem, n)
		ob := out.Bytes()
		for i, w := range which {
			if w >= 0 {
				bm, off := bitsOf(srcs[w])
				if srcs[w].Len() == 1 {
					off -= i // row 0 for every i
				}
				if bitAt(bm, off+i) {
					setBit(ob, i)
				}
			}
		}
		return makeArray(dt, n, validity, out), nil
	case clsInt32:
		return pickFixed[int32](mem, dt, n, srcs, which, validity), nil
	case clsInt64:
		return pickFixed[int64](mem, dt, n, srcs, which, validity), nil
	case clsFloat32:
		return pickFixed[float32](mem, dt, n, srcs, which, validity), nil
	case clsFloat64:
		return pickFixed[float64](mem, dt, n, srcs, which, validity), nil
	case clsDecimal:
		return pickFixed[decimal128.Num](mem, dt, n, srcs, which, validity), nil
	case clsBytes:
		views := make([]bytesArg, len(srcs))
		one := make([]bool, len(srcs))
		size := 0
		for k, s := range srcs {
			views[k], one[k] = bytesArgOf(s, nil), s.Len() == 1
			size = max(size, views[k].size(s.Len())*n/max(s.Len(), 1))
		}
		b := newStrBuilder(mem, dt, n, size)
		for i, w := range which {
			if w >= 0 {
				j := i
				if one[w] {
					j = 0
				}
				b.append(views[w].at(j))
			}
			b.next()
		}
		return b.finish(validity)
	}
	if validity != nil {
		validity.Release()
	}
	return nil, fmt.Errorf("cannot select values of type %s", dt)
}

func pickFixed[T fixed](mem memory.Allocator, dt arrow.DataType, n int, srcs []arrow.Array, which []int8, validity *memory.Buffer) arrow.Array {
	vals := make([][]T, len(srcs))
	one := make([]bool, len(srcs))
	for k, s := range srcs {
		vals[k], one[k] = valuesOf[T](s), s.Len() == 1
	}
	buf, out := newFixed[T](mem, n)
	for i, w := range which {
		if w >= 0 {
			if one[w] {
				out[i] = vals[w][0]
			} else {
				out[i] = vals[w][i]
			}
		}
	}
	return makeArray(dt, n, validity, buf)
}

// strBuilder builds a string or binary array row by row, straight into
// Arrow buffers from the evaluation's allocator: no allocation per row, no
// garbage, no final copy. data is the data buffer's bytes up to len.
type strBuilder struct {
	mem   memory.Allocator
	dt    arrow.DataType
	obuf  *memory.Buffer
	o32   []int32
	o64   []int64
	row   int
	dbuf  *memory.Buffer
	data  []byte
	large bool
}

func newStrBuilder(mem memory.Allocator, dt arrow.DataType, n, sizeHint int) *strBuilder {
	b := &strBuilder{mem: mem, dt: dt, large: isLargeType(dt), dbuf: memory.NewResizableBuffer(mem)}
	b.dbuf.Reserve(max(sizeHint, 64))
	b.data = b.dbuf.Buf()[:0]
	if b.large {
		b.obuf, b.o64 = newFixed[int64](mem, n+1)
	} else {
		b.obuf, b.o32 = newFixed[int32](mem, n+1)
	}
	return b
}

// grow makes room for k more bytes.
func (b *strBuilder) grow(k int) {
	if len(b.data)+k <= cap(b.data) {
		return
	}
	n := len(b.data)
	b.dbuf.Reserve(max(2*cap(b.data), n+k))
	b.data = b.dbuf.Buf()[:n]
}

func (b *strBuilder) append(p []byte) {
	b.grow(len(p))
	b.data = append(b.data, p...)
}

func (b *strBuilder) appendString(s string) {
	b.grow(len(s))
	b.data = append(b.data, s...)
}

// next ends the current row. Offsets past 2 GiB wrap in a 32-bit array;
// finish then fails.
func (b *strBuilder) next() {
	b.row++
	if b.large {
		b.o64[b.row] = int64(len(b.data))
	} else {
		b.o32[b.row] = int32(len(b.data))
	}
}

func (b *strBuilder) finish(validity *memory.Buffer) (arrow.Array, error) {
	if !b.large && len(b.data) > 1<<31-1 {
		b.obuf.Release()
		b.dbuf.Release()
		if validity != nil {
			validity.Release()
		}
		return nil, fmt.Errorf("string result of %d bytes exceeds the 2 GiB of a %s array", len(b.data), b.dt)
	}
	b.dbuf.ResizeNoShrink(len(b.data))
	return makeArray(b.dt, b.row, validity, b.obuf, b.dbuf), nil
}

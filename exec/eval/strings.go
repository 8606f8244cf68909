package eval

import (
	"bytes"
	"fmt"
	"unicode"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicedata/sluice/spec/predicate"
)

// arrow-go has no string kernels at all, so startsWith / endsWith /
// contains, lower / upper and len are loops over the value and offset
// buffers here: no per-row allocation, no per-row interface call.

// matchNode is X startsWith/endsWith/contains Pattern (byte-wise).
type matchNode struct {
	op     predicate.MatchOp
	x, pat node
	pc     *constNode // non-nil: the pattern is this constant
}

func (m *matchNode) dataType() arrow.DataType { return arrow.FixedWidthTypes.Boolean }

func (c *compiler) match(e *predicate.StringMatch) (node, error) {
	if e.Op < predicate.StartsWith || e.Op > predicate.Contains {
		return nil, fmt.Errorf("%s: unknown string operator %d", e, e.Op)
	}
	x, err := c.compile(e.X)
	if err != nil {
		return nil, err
	}
	p, err := c.compile(e.Pattern)
	if err != nil {
		return nil, err
	}
	if classOf(x.dataType()) != clsBytes || classOf(p.dataType()) != clsBytes {
		return nil, fmt.Errorf("%s: operands are %s and %s, not strings", e, x.dataType(), p.dataType())
	}
	m := &matchNode{op: e.Op, x: x, pat: p}
	if _, ok := asConst(x); ok {
		return foldIfConst(m, p)
	}
	m.pc, _ = asConst(p)
	return m, nil
}

func (m *matchNode) eval(ec *evalCtx) (arrow.Array, error) {
	boolT := arrow.FixedWidthTypes.Boolean
	if m.pc != nil && m.pc.v.null {
		return allNull(ec, boolT, []node{m.x}) // x still reports its row errors
	}
	x, err := m.x.eval(ec)
	if err != nil {
		return nil, err
	}
	defer x.Release()
	n := x.Len()
	vals := newBitmap(ec.mem, n)
	out := vals.Bytes()
	if m.pc != nil {
		pat := []byte(m.pc.v.s)
		if isLarge(x) {
			matchAS(m.op, viewOf[int64](x), pat, out)
		} else {
			matchAS(m.op, viewOf[int32](x), pat, out)
		}
		return makeArray(boolT, n, validityAnd(ec.mem, n, x), vals), nil
	}
	p, err := m.pat.eval(ec)
	if err != nil {
		vals.Release()
		return nil, err
	}
	defer p.Release()
	xv, pv := view64(x), view64(p)
	for i := 0; i < n; i++ {
		out[i>>3] |= b2u(matches(m.op, xv.at(i), pv.at(i))) << (uint(i) & 7)
	}
	return makeArray(boolT, n, validityAnd(ec.mem, n, x, p), vals), nil
}

func matches(op predicate.MatchOp, s, p []byte) bool {
	switch op {
	case predicate.StartsWith:
		return bytes.HasPrefix(s, p)
	case predicate.EndsWith:
		return bytes.HasSuffix(s, p)
	}
	return bytes.Contains(s, p)
}

// matchAS matches every value against one pattern; the operator switch is
// outside the loops.
func matchAS[O int32 | int64](op predicate.MatchOp, v strView[O], p []byte, out []byte) {
	n := len(v.offs) - 1
	lp := O(len(p))
	switch op {
	case predicate.StartsWith:
		for i := 0; i < n; i++ {
			s, e := v.offs[i], v.offs[i+1]
			out[i>>3] |= b2u(e-s >= lp && eqBytes(v.data[s:s+lp], p)) << (uint(i) & 7)
		}
	case predicate.EndsWith:
		for i := 0; i < n; i++ {
			s, e := v.offs[i], v.offs[i+1]
			out[i>>3] |= b2u(e-s >= lp && eqBytes(v.data[e-lp:e], p)) << (uint(i) & 7)
		}
	default:
		for i := 0; i < n; i++ {
			out[i>>3] |= b2u(bytes.Contains(v.at(i), p)) << (uint(i) & 7)
		}
	}
}

// callNode is lower(), upper() or len() of a string.
type callNode struct {
	fn predicate.Func
	x  node
	dt arrow.DataType
}

func (cn *callNode) dataType() arrow.DataType { return cn.dt }

func (c *compiler) call(e *predicate.Call) (node, error) {
	x, err := c.compile(e.Arg)
	if err != nil {
		return nil, err
	}
	if classOf(x.dataType()) != clsBytes {
		return nil, fmt.Errorf("%s: argument is %s, not a string", e, x.dataType())
	}
	cn := &callNode{fn: e.Fn, x: x, dt: x.dataType()}
	switch e.Fn {
	case predicate.Lower, predicate.Upper:
	case predicate.Len:
		cn.dt = arrow.PrimitiveTypes.Int64
	default:
		return nil, fmt.Errorf("%s: unknown function %d", e, e.Fn)
	}
	return foldIfConst(cn, x)
}

func (cn *callNode) eval(ec *evalCtx) (arrow.Array, error) {
	x, err := cn.x.eval(ec)
	if err != nil {
		return nil, err
	}
	defer x.Release()
	n := x.Len()
	validity := validityAnd(ec.mem, n, x)
	if cn.fn == predicate.Len {
		buf, out := newFixed[int64](ec.mem, n)
		if isLarge(x) {
			runeLens(viewOf[int64](x), out)
		} else {
			runeLens(viewOf[int32](x), out)
		}
		return makeArray(cn.dt, n, validity, buf), nil
	}
	upper := cn.fn == predicate.Upper
	if isLarge(x) {
		offs, data := mapCase(ec.mem, viewOf[int64](x), upper)
		return makeArray(cn.dt, n, validity, offs, data), nil
	}
	offs, data := mapCase(ec.mem, viewOf[int32](x), upper)
	return makeArray(cn.dt, n, validity, offs, data), nil
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// runeLens counts characters as utf8.RuneCount does (an invalid byte is
// one character), with a fast path when the whole buffer is ASCII.
func runeLens[O int32 | int64](v strView[O], out []int64) {
	n := len(v.offs) - 1
	if isASCII(v.data[v.offs[0]:v.offs[n]]) {
		for i := range out {
			out[i] = int64(v.offs[i+1] - v.offs[i])
		}
		return
	}
	for i := range out {
		out[i] = int64(utf8.RuneCount(v.at(i)))
	}
}

// mapCase lowers (or uppers) every value as strings.ToLower/ToUpper do:
// an ASCII byte-map fast path, else rune by rune with invalid UTF-8 bytes
// becoming U+FFFD (strings.Map's behaviour). It returns the offsets and
// data buffers of the result.
func mapCase[O int32 | int64](mem memory.Allocator, v strView[O], upper bool) (*memory.Buffer, *memory.Buffer) {
	n := len(v.offs) - 1
	base := v.offs[0]
	src := v.data[base:v.offs[n]]
	obuf, offs := newFixed[O](mem, n+1)
	if isASCII(src) {
		dbuf := newBuf(mem, len(src))
		dst := dbuf.Bytes()
		asciiCase(src, dst, upper)
		for i := range offs {
			offs[i] = v.offs[i] - base
		}
		return obuf, dbuf
	}
	out := make([]byte, 0, len(src)+len(src)/4)
	for i := 0; i < n; i++ {
		s := v.at(i)
		if isASCII(s) {
			start := len(out)
			out = append(out, s...)
			asciiCase(s, out[start:], upper)
		} else {
			for len(s) > 0 {
				r, size := utf8.DecodeRune(s)
				s = s[size:]
				if upper {
					r = unicode.ToUpper(r)
				} else {
					r = unicode.ToLower(r)
				}
				out = utf8.AppendRune(out, r)
			}
		}
		offs[i+1] = O(len(out))
	}
	dbuf := newBuf(mem, len(out))
	copy(dbuf.Bytes(), out)
	return obuf, dbuf
}

func asciiCase(src, dst []byte, upper bool) {
	if upper {
		for i, c := range src {
			if 'a' <= c && c <= 'z' {
				c -= 'a' - 'A'
			}
			dst[i] = c
		}
		return
	}
	for i, c := range src {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst[i] = c
	}
}

package eval

import (
	"bytes"
	"fmt"
	"math"
	"regexp"
	"unicode"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sluicedata/sluice/spec/predicate"
	"github.com/sluicedata/sluice/spec/schema"
)

// String functions work on the offset and data buffers: a result value is
// appended to one growing buffer (no allocation per row), and trim,
// substring and split_part append a sub-slice of the input.

type strFnNode struct {
	fn    predicate.Func
	args  []node
	re    *regexp.Regexp // matches, regex_extract: compiled once
	group int
	dt    arrow.DataType
}

func (s *strFnNode) dataType() arrow.DataType { return s.dt }

func (c *compiler) stringFn(e *predicate.Apply, args []node) (node, error) {
	s := &strFnNode{fn: e.Fn, args: args, dt: arrow.BinaryTypes.String}
	if e.Fn == predicate.Matches {
		s.dt = arrow.FixedWidthTypes.Boolean
	}
	if e.Fn == predicate.Concat {
		// Every argument as text first (string() of it), so the kernel
		// only appends bytes.
		for i, a := range e.Args {
			if a.Type().Kind == schema.String || a.Type().Kind == schema.Binary {
				continue
			}
			n, err := c.toText(args[i], a.Type(), e)
			if err != nil {
				return nil, err
			}
			args[i] = n
		}
	}
	if e.Fn == predicate.Matches || e.Fn == predicate.RegexExtract {
		re, err := regexp.Compile(e.StringArg(1))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", e, err)
		}
		s.re = re
		if g, ok := e.IntArg(2); ok {
			s.group = int(g)
		}
	}
	for i, a := range args {
		want := clsBytes
		switch {
		case e.Fn == predicate.Substring && i > 0, e.Fn == predicate.SplitPart && i == 2, e.Fn == predicate.RegexExtract && i == 2:
			want = clsInt64
		}
		if classOf(a.dataType()) != want {
			return nil, fmt.Errorf("%s: argument %d is %s, not %s", e, i+1, a.dataType(), want)
		}
	}
	return s, nil
}

func (s *strFnNode) eval(ec *evalCtx) (arrow.Array, error) {
	if s.fn != predicate.Concat && nullConst(s.args) {
		return allNull(ec, s.dt, s.args)
	}
	arrs, err := evalArgs(ec, s.args)
	if err != nil {
		return nil, err
	}
	defer releaseAll(arrs)
	n := ec.n
	if s.fn == predicate.Concat {
		return s.concat(ec, arrs)
	}
	valid := argValidity(ec.mem, n, arrs)
	vb := valid.Bytes()
	x := bytesArgOf(arrs[0], s.args[0])
	if s.fn == predicate.Matches {
		out := newBitmap(ec.mem, n)
		ob := out.Bytes()
		for i := 0; i < n; i++ {
			if bitAt(vb, i) && s.re.Match(x.at(i)) {
				setBit(ob, i)
			}
		}
		return makeArray(s.dt, n, dropAllValid(valid, n), out), nil
	}
	b := newStrBuilder(ec.mem, s.dt, n, x.size(n))
	switch s.fn {
	case predicate.Trim, predicate.LTrim, predicate.RTrim:
		trim := bytes.TrimSpace
		switch s.fn {
		case predicate.LTrim:
			trim = func(p []byte) []byte { return bytes.TrimLeftFunc(p, unicode.IsSpace) }
		case predicate.RTrim:
			trim = func(p []byte) []byte { return bytes.TrimRightFunc(p, unicode.IsSpace) }
		}
		for i := 0; i < n; i++ {
			if bitAt(vb, i) {
				b.append(trim(x.at(i)))
			}
			b.next()
		}
	case predicate.Substring:
		start := intArgOf(arrs[1], s.args[1])
		length := intArg{s: math.MaxInt64}
		if len(s.args) > 2 {
			length = intArgOf(arrs[2], s.args[2])
		}
		for i := 0; i < n; i++ {
			if bitAt(vb, i) {
				if sub, ok := substring(x.at(i), start.at(i), length.at(i)); ok {
					b.append(sub)
				} else {
					clearBit(vb, i)
				}
			}
			b.next()
		}
	case predicate.Replace:
		old, repl := bytesArgOf(arrs[1], s.args[1]), bytesArgOf(arrs[2], s.args[2])
		for i := 0; i < n; i++ {
			if bitAt(vb, i) {
				v, o, r := x.at(i), old.at(i), repl.at(i)
				b.grow(replacedSize(len(v), len(o), len(r)))
				b.data = replaceAll(b.data, v, o, r)
			}
			b.next()
		}
	case predicate.SplitPart:
		sep, k := bytesArgOf(arrs[1], s.args[1]), intArgOf(arrs[2], s.args[2])
		for i := 0; i < n; i++ {
			if bitAt(vb, i) {
				if part, ok := splitPart(x.at(i), sep.at(i), k.at(i)); ok {
					b.append(part)
				} else {
					clearBit(vb, i)
				}
			}
			b.next()
		}
	case predicate.RegexExtract:
		g := s.group
		for i := 0; i < n; i++ {
			if bitAt(vb, i) {
				v := x.at(i)
				m := s.re.FindSubmatchIndex(v)
				if m == nil || m[2*g] < 0 {
					clearBit(vb, i)
				} else {
					b.append(v[m[2*g]:m[2*g+1]])
				}
			}
			b.next()
		}
	default:
		valid.Release()
		return nil, fmt.Errorf("unknown string function %s", s.fn)
	}
	return b.finish(dropAllValid(valid, n))
}

func (s *strFnNode) concat(ec *evalCtx, arrs []arrow.Array) (arrow.Array, error) {
	n := ec.n
	parts := make([]bytesArg, len(arrs))
	valids := make([][]byte, len(arrs)) // nil: every row valid
	size := 0
	for k, a := range arrs {
		if a == nil {
			if kc, _ := asConst(s.args[k]); kc.v.null {
				parts[k] = bytesArg{konst: true}
				continue
			}
		} else if bm, off := validityOf(a); bm != nil {
			valids[k] = aligned(bm, off, n)
		}
		parts[k] = bytesArgOf(a, s.args[k])
		size += parts[k].size(n)
	}
	b := newStrBuilder(ec.mem, s.dt, n, size)
	for i := 0; i < n; i++ {
		for k := range parts {
			if valids[k] == nil || bitAt(valids[k], i) {
				b.append(parts[k].at(i))
			}
		}
		b.next()
	}
	return b.finish(nil)
}

// substring is predicate's substring on bytes: characters are runes, an
// invalid byte counting as one; ok is false (null) for a negative length.
func substring(s []byte, start, length int64) ([]byte, bool) {
	if length < 0 {
		return nil, false
	}
	ascii := isASCII(s)
	var n int64
	if ascii {
		n = int64(len(s))
	} else {
		n = int64(utf8.RuneCount(s))
	}
	from := start - 1
	if start < 0 {
		from = n + start
	}
	var to int64
	switch {
	case from >= 0 && length > math.MaxInt64-from:
		to = math.MaxInt64
	default:
		to = from + length
	}
	from, to = max(from, 0), min(to, n)
	if from >= to {
		return s[:0], true
	}
	if ascii {
		return s[from:to], true
	}
	// Walk to the byte offsets of characters from and to.
	var bf, bt int
	pos := 0
	for ci := int64(0); ci < to; ci++ {
		if ci == from {
			bf = pos
		}
		_, size := utf8.DecodeRune(s[pos:])
		pos += size
	}
	bt = pos
	return s[bf:bt], true
}

// replacedSize bounds the length of replace() of an n-byte value.
func replacedSize(n, old, repl int) int {
	if old == 0 || repl <= old {
		return n
	}
	return n + n/old*(repl-old)
}

// replaceAll appends s with every non-overlapping old replaced by repl
// (s itself when old is empty) to dst.
func replaceAll(dst, s, old, repl []byte) []byte {
	if len(old) == 0 {
		return append(dst, s...)
	}
	for {
		j := bytes.Index(s, old)
		if j < 0 {
			return append(dst, s...)
		}
		dst = append(dst, s[:j]...)
		dst = append(dst, repl...)
		s = s[j+len(old):]
	}
}

// splitPart is the k-th field of s split at sep (1-based; negative counts
// from the end); ok is false when there is no such field.
func splitPart(s, sep []byte, k int64) ([]byte, bool) {
	if len(sep) == 0 {
		if k == 1 || k == -1 {
			return s, true
		}
		return nil, false
	}
	if k < 0 {
		k += int64(bytes.Count(s, sep)) + 2
	}
	if k < 1 {
		return nil, false
	}
	for ; k > 1; k-- {
		j := bytes.Index(s, sep)
		if j < 0 {
			return nil, false
		}
		s = s[j+len(sep):]
	}
	if j := bytes.Index(s, sep); j >= 0 {
		s = s[:j]
	}
	return s, true
}

package eval

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicedata/sluice/spec/predicate"
)

// The function library (predicate.Apply). Each family has its own node:
// strings in funcs_string.go, casts in funcs_cast.go, time in
// funcs_time.go. They share the argument handling here: a constant
// argument (a literal, a folded subtree) is never materialised, and a
// function is null on a row where an argument is null (concat aside).

func (c *compiler) apply(e *predicate.Apply) (node, error) {
	args := make([]node, len(e.Args))
	for i, a := range e.Args {
		n, err := c.compile(a)
		if err != nil {
			return nil, err
		}
		args[i] = n
	}
	var (
		n   node
		err error
	)
	switch e.Fn {
	case predicate.Trim, predicate.LTrim, predicate.RTrim, predicate.Substring, predicate.Replace,
		predicate.SplitPart, predicate.Concat, predicate.RegexExtract, predicate.Matches:
		n, err = c.stringFn(e, args)
	case predicate.ToInt, predicate.ToFloat, predicate.ToString, predicate.ToBool, predicate.ToDate,
		predicate.ToTimestamp, predicate.ToDecimal:
		n, err = c.convert(e, args)
	case predicate.ParseTimestampFn, predicate.FromUnixtime, predicate.FromUnixtimeMs, predicate.Trunc,
		predicate.Year, predicate.Month, predicate.Day, predicate.Hour, predicate.Minute, predicate.Second,
		predicate.DateAdd, predicate.DateDiff, predicate.ToTimezone:
		n, err = c.timeFn(e, args)
	default:
		return nil, fmt.Errorf("%s: unknown function %d", e, e.Fn)
	}
	if err != nil {
		return nil, err
	}
	return foldIfConst(n, args...)
}

// evalArgs evaluates the arguments that are not constants (nil entries
// for those). On error it releases what it evaluated.
func evalArgs(ec *evalCtx, args []node) ([]arrow.Array, error) {
	out := make([]arrow.Array, len(args))
	for i, a := range args {
		if _, ok := asConst(a); ok {
			continue
		}
		arr, err := a.eval(ec)
		if err != nil {
			releaseAll(out)
			return nil, err
		}
		out[i] = arr
	}
	return out, nil
}

func releaseAll(arrs []arrow.Array) {
	for _, a := range arrs {
		if a != nil {
			a.Release()
		}
	}
}

// nullConst reports whether a constant argument is null: the function is
// then null on every row.
func nullConst(args []node) bool {
	for _, a := range args {
		if k, ok := asConst(a); ok && k.v.null {
			return true
		}
	}
	return false
}

// argValidity is the rows on which every argument is valid, as a bitmap
// the caller owns and may clear more bits in (never nil).
func argValidity(mem memory.Allocator, n int, arrs []arrow.Array) *memory.Buffer {
	v := validityAnd(mem, n, arrs...)
	if v == nil {
		v = onesBitmap(mem, n)
	}
	return v
}

// bytesArg reads a string argument, column or constant, without copying.
type bytesArg struct {
	large bool
	konst bool
	v32   strView[int32]
	v64   strView[int64]
	s     []byte
}

func bytesArgOf(a arrow.Array, n node) bytesArg {
	if a == nil {
		k, _ := asConst(n)
		return bytesArg{konst: true, s: []byte(k.v.s)}
	}
	if isLarge(a) {
		return bytesArg{large: true, v64: viewOf[int64](a)}
	}
	return bytesArg{v32: viewOf[int32](a)}
}

func (b *bytesArg) at(i int) []byte {
	switch {
	case b.konst:
		return b.s
	case b.large:
		return b.v64.at(i)
	}
	return b.v32.at(i)
}

// size is the total number of bytes of the argument's n values.
func (b *bytesArg) size(n int) int {
	switch {
	case b.konst:
		return len(b.s) * n
	case b.large:
		return int(b.v64.offs[n] - b.v64.offs[0])
	}
	return int(b.v32.offs[n] - b.v32.offs[0])
}

// intArg reads an int64 argument, column or constant.
type intArg struct {
	vals []int64
	s    int64
}

func intArgOf(a arrow.Array, n node) intArg {
	if a == nil {
		k, _ := asConst(n)
		return intArg{s: k.v.i}
	}
	return intArg{vals: valuesOf[int64](a)}
}

func (a intArg) at(i int) int64 {
	if a.vals != nil {
		return a.vals[i]
	}
	return a.s
}

// clearBit marks row i null in a validity bitmap.
func clearBit(bm []byte, i int) { bm[i>>3] &^= 1 << (uint(i) & 7) }

// allNull is the result of a function with a null constant argument; the
// other arguments are still evaluated, for the row errors they report.
func allNull(ec *evalCtx, dt arrow.DataType, args []node) (arrow.Array, error) {
	arrs, err := evalArgs(ec, args)
	if err != nil {
		return nil, err
	}
	releaseAll(arrs)
	return materialize(ec.mem, dt, scalar{null: true}, ec.n), nil
}

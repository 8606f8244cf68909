package eval

import (
	"testing"
)

// FuzzEval drives the batch and expression generators from the fuzzer's
// bytes: evaluation must never panic and must agree with the reference,
// for a predicate and for a value expression (row errors included).
// The seed corpus lives in testdata/fuzz/FuzzEval, so plain `go test` runs it;
// the overflowNN seeds build integer arithmetic that overflows (null in
// both evaluators), and the value pools hold the overflow boundaries.
func FuzzEval(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("\x03\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f"))
	f.Fuzz(func(t *testing.T, data []byte) {
		mem, ctx := checkedCtx(t)
		defer mem.AssertSize(t, 0)
		ch := &byteChooser{data: data}
		n := 1 + ch.IntN(40)
		b := genBatch(mem, ch, n)
		defer b.Release()
		g := &exprGen{ch: ch}
		e := g.boolExpr(ch.IntN(5))
		checkAgainstReference(t, ctx, e, b)
		v := g.anyExpr(ch.IntN(4)) // a value of any type: functions, casts, ?:
		checkValueAgainstReference(t, ctx, v, b)
		if n > 2 {
			s := b.NewSlice(1, int64(n))
			defer s.Release()
			checkAgainstReference(t, ctx, e, s)
			checkValueAgainstReference(t, ctx, v, s)
		}
	})
}

package eval

import (
	"math/rand/v2"
	"testing"

	"github.com/sluicedata/sluice/spec/predicate"
)

// TestDifferential holds Program.Eval to predicate.Eval, the row-at-a-time
// reference, on random batches (nulls, NaN, extremes, empty and non-ASCII
// strings, invalid UTF-8) and random trees of every node kind, on whole
// and on sliced batches (non-zero array offsets).
func TestDifferential(t *testing.T) {
	mem, ctx := checkedCtx(t)
	defer mem.AssertSize(t, 0)
	rng := rand.New(rand.NewPCG(1, 2))
	ch := randChooser{rng}
	batches := 30
	exprs := 60
	if testing.Short() {
		batches, exprs = 5, 20
	}
	var totals [3]int // rows by reference outcome: false, true, unknown
	defer func() {
		// The generator must not degenerate into trees that are almost
		// always unknown (or constant): each outcome needs a fair share.
		sum := totals[0] + totals[1] + totals[2]
		for k, c := range totals {
			if c*10 < sum {
				t.Errorf("outcome %s in only %d of %d rows: generator is lopsided", predicate.Tri(k), c, sum)
			}
		}
		t.Logf("rows checked: %d false, %d true, %d unknown", totals[0], totals[1], totals[2])
	}()
	for bi := 0; bi < batches; bi++ {
		n := 1 + rng.IntN(200)
		b := genBatch(mem, ch, n)
		g := &exprGen{ch: ch}
		for ei := 0; ei < exprs; ei++ {
			e := g.boolExpr(1 + rng.IntN(4))
			c := checkAgainstReference(t, ctx, e, b)
			for k := range totals {
				totals[k] += c[k]
			}
			if n > 10 {
				off := int64(1 + rng.IntN(9))
				s := b.NewSlice(off, int64(n)-int64(rng.IntN(3)))
				checkAgainstReference(t, ctx, e, s)
				s.Release()
			}
			if t.Failed() {
				b.Release()
				return
			}
		}
		b.Release()
	}
}

package eval

import (
	"testing"

	"github.com/sluicedata/sluice/spec/predicate"
)

// BenchmarkConjuncts times each conjunct of the typical predicate alone.
func BenchmarkConjuncts(b *testing.B) {
	mem, ctx := checkedCtx(b)
	const rows = 64 << 10
	batch := ordersBatch(mem, rows)
	for _, src := range []string{`amount > 10`, `region in ['eu', 'us']`, `order_id startsWith 'o-'`, `region == 'eu'`} {
		pred, errs := predicate.Compile(src, ordersEnv)
		if len(errs) > 0 {
			b.Fatal(errs)
		}
		p, err := Compile(pred.Root, batch.Schema())
		if err != nil {
			b.Fatal(err)
		}
		b.Run(src, func(b *testing.B) {
			cpu0 := cpuTime()
			for b.Loop() {
				m, err := p.Eval(ctx, batch)
				if err != nil {
					b.Fatal(err)
				}
				m.Release()
			}
			reportPerRow(b, cpu0, rows)
		})
	}
	batch.Release()
	mem.AssertSize(b, 0)
}

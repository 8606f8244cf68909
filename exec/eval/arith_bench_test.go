package eval

import (
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicedata/sluice/spec/predicate"
	"github.com/sluicedata/sluice/spec/schema"
)

// intsBatch is n rows of two int64 columns: id (0..n-1) and qty (small,
// 5% null), the shape of integer arithmetic in a where clause.
func intsBatch(mem memory.Allocator, n int) arrow.RecordBatch {
	s := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "qty", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	}, nil)
	bld := array.NewRecordBuilder(mem, s)
	defer bld.Release()
	rng := rand.New(rand.NewPCG(5, 6))
	id := bld.Field(0).(*array.Int64Builder)
	qty := bld.Field(1).(*array.Int64Builder)
	for i := 0; i < n; i++ {
		id.Append(int64(i))
		if rng.IntN(20) == 0 {
			qty.AppendNull()
		} else {
			qty.Append(int64(rng.IntN(200) - 100))
		}
	}
	return bld.NewRecordBatch()
}

var intsEnv = predicate.Env{Columns: []schema.Column{
	{Name: "id", Type: schema.Int64Type, Nullable: true},
	{Name: "qty", Type: schema.Int64Type, Nullable: true},
}}

// BenchmarkIntArithmetic reports ns/row of integer arithmetic in a
// predicate on a 64Ki-row batch: column op column, column op scalar,
// negation, and one expression that overflows on every row.
func BenchmarkIntArithmetic(b *testing.B) {
	mem, ctx := checkedCtx(b)
	const rows = 64 << 10
	batch := intsBatch(mem, rows)
	for _, src := range []string{
		`id + qty > 1000`, `id - qty > 1000`, `id * qty > 1000`, `id * 3 > 1000`, `-id < -1000`,
		`id + 9223372036854775807 > 0`,
	} {
		pred, errs := predicate.Compile(src, intsEnv)
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

// BenchmarkArithKernel times the integer arithmetic loop alone (no
// allocation, validity or comparison) on 64Ki rows, column op column and
// column op scalar: the cost overflow detection adds to the common path.
func BenchmarkArithKernel(b *testing.B) {
	const rows = 64 << 10
	rng := rand.New(rand.NewPCG(7, 8))
	l, r := make([]int64, rows), make([]int64, rows)
	for i := range l {
		l[i], r[i] = int64(rng.IntN(1<<20)), int64(rng.IntN(200)-100)
	}
	out := make([]int64, rows)
	for _, op := range []predicate.ArithOp{predicate.Add, predicate.Sub, predicate.Mul} {
		for _, scalar := range []bool{false, true} {
			ro := operand[int64]{vals: r}
			name := op.String() + " column"
			if scalar {
				ro, name = operand[int64]{s: 3}, op.String()+" scalar"
			}
			b.Run(name, func(b *testing.B) {
				for b.Loop() {
					arithInt(op, operand[int64]{vals: l}, ro, out)
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/rows, "ns/row")
			})
		}
	}
}

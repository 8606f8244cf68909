package eval

import (
	"fmt"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicedata/sluice/spec/predicate"
	"github.com/sluicedata/sluice/spec/schema"
)

// ordersBatch is a 64Ki-row batch shaped like the examples' orders: a
// float64 amount (5% null), a region out of four, an order id of which
// about half start with "o-".
func ordersBatch(mem memory.Allocator, n int) arrow.RecordBatch {
	s := arrow.NewSchema([]arrow.Field{
		{Name: "amount", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "region", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "order_id", Type: arrow.BinaryTypes.String, Nullable: true},
	}, nil)
	bld := array.NewRecordBuilder(mem, s)
	defer bld.Release()
	rng := rand.New(rand.NewPCG(3, 4))
	regions := []string{"eu", "us", "apac", "latam"}
	amount := bld.Field(0).(*array.Float64Builder)
	region := bld.Field(1).(*array.StringBuilder)
	id := bld.Field(2).(*array.StringBuilder)
	for i := 0; i < n; i++ {
		if rng.IntN(20) == 0 {
			amount.AppendNull()
		} else {
			amount.Append(rng.Float64() * 40)
		}
		region.Append(regions[rng.IntN(len(regions))])
		prefix := "o-"
		if rng.IntN(2) == 0 {
			prefix = "x-"
		}
		id.Append(fmt.Sprintf("%s%08d", prefix, i))
	}
	return bld.NewRecordBatch()
}

var ordersEnv = predicate.Env{Columns: []schema.Column{
	{Name: "amount", Type: schema.Float64Type, Nullable: true},
	{Name: "region", Type: schema.StringType, Nullable: true},
	{Name: "order_id", Type: schema.StringType, Nullable: true},
}}

const typicalWhere = `amount > 10 && region in ['eu', 'us'] && order_id startsWith 'o-'`

// BenchmarkTypicalPredicate reports ns/row for the typical where clause on
// a 64Ki-row batch, for Eval (the mask) and Filter (mask + copy).
func BenchmarkTypicalPredicate(b *testing.B) {
	mem, ctx := checkedCtx(b)
	const rows = 64 << 10
	batch := ordersBatch(mem, rows)
	pred, errs := predicate.Compile(typicalWhere, ordersEnv)
	if len(errs) > 0 {
		batch.Release()
		b.Fatalf("predicate.Compile: %v", errs)
	}
	p, err := Compile(pred.Root, batch.Schema())
	if err != nil {
		batch.Release()
		b.Fatal(err)
	}
	b.Run("Eval", func(b *testing.B) {
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
	b.Run("Filter", func(b *testing.B) {
		cpu0 := cpuTime()
		for b.Loop() {
			out, err := p.Filter(ctx, batch)
			if err != nil {
				b.Fatal(err)
			}
			out.Release()
		}
		reportPerRow(b, cpu0, rows)
	})
	batch.Release()
	mem.AssertSize(b, 0)
}

// reportPerRow reports wall-clock ns/row and, because benchmarks here run
// on shared, oversubscribed cores, the process's CPU ns/row as well (the
// figure that does not depend on how long the scheduler kept us waiting).
func reportPerRow(b *testing.B, cpu0 time.Duration, rows int) {
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(rows), "ns/row")
	b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N)/float64(rows), "cpu-ns/row")
}

// cpuTime is the user+system CPU time the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

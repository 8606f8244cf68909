package eval

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicedata/sluice/spec/predicate"
	"github.com/sluicedata/sluice/spec/schema"
)

// eventsBatch is a 64Ki-row batch shaped like raw event logs: a created
// text timestamp, an epoch in ms, a timestamp, a name with spaces and
// mixed case, an amount in cents (int64, 5% null), a rate and an optional
// code (30% null).
func eventsBatch(mem memory.Allocator, n int) arrow.RecordBatch {
	s := arrow.NewSchema([]arrow.Field{
		{Name: "created", Type: arrow.BinaryTypes.String},
		{Name: "epoch_ms", Type: arrow.PrimitiveTypes.Int64},
		{Name: "ts", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}},
		{Name: "name", Type: arrow.BinaryTypes.String},
		{Name: "cents", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "rate", Type: arrow.PrimitiveTypes.Float64},
		{Name: "code", Type: arrow.BinaryTypes.String, Nullable: true},
	}, nil)
	bld := array.NewRecordBuilder(mem, s)
	defer bld.Release()
	rng := rand.New(rand.NewPCG(5, 6))
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	names := []string{"  Alice ", "BOB", "carol  ", " Dave Smith", "Ève"}
	for i := 0; i < n; i++ {
		tm := base.Add(time.Duration(rng.Int64N(int64(365 * 24 * time.Hour))))
		bld.Field(0).(*array.StringBuilder).Append(tm.Format("2006-01-02 15:04:05"))
		bld.Field(1).(*array.Int64Builder).Append(tm.UnixMilli())
		bld.Field(2).(*array.TimestampBuilder).Append(arrow.Timestamp(tm.UnixMicro()))
		bld.Field(3).(*array.StringBuilder).Append(names[rng.IntN(len(names))] + fmt.Sprint(i%1000))
		if rng.IntN(20) == 0 {
			bld.Field(4).(*array.Int64Builder).AppendNull()
		} else {
			bld.Field(4).(*array.Int64Builder).Append(rng.Int64N(1_000_000))
		}
		bld.Field(5).(*array.Float64Builder).Append(0.9 + rng.Float64()/5)
		if rng.IntN(10) < 3 {
			bld.Field(6).(*array.StringBuilder).AppendNull()
		} else {
			bld.Field(6).(*array.StringBuilder).Append(fmt.Sprintf("C%03d", rng.IntN(1000)))
		}
	}
	return bld.NewRecordBatch()
}

var eventsEnv = predicate.Env{Columns: []schema.Column{
	{Name: "created", Type: schema.StringType},
	{Name: "epoch_ms", Type: schema.Int64Type},
	{Name: "ts", Type: schema.TimestampOf(schema.Microsecond, "")},
	{Name: "name", Type: schema.StringType},
	{Name: "cents", Type: schema.Int64Type, Nullable: true},
	{Name: "rate", Type: schema.Float64Type},
	{Name: "code", Type: schema.StringType, Nullable: true},
}}

// BenchmarkFunctions reports ns/row of the functions output columns use
// most, each on a 64Ki-row batch.
func BenchmarkFunctions(b *testing.B) {
	mem, ctx := checkedCtx(b)
	const rows = 64 << 10
	batch := eventsBatch(mem, rows)
	defer func() {
		batch.Release()
		mem.AssertSize(b, 0)
	}()
	for _, src := range []string{
		"parse_timestamp(created, '%Y-%m-%d %H:%M:%S')",
		"parse_timestamp(created, '%Y-%m-%d %H:%M:%S', 'Europe/Paris')",
		"timestamp(created)",
		"from_unixtime_ms(epoch_ms)",
		"trunc(ts, 'day')",
		"trunc(ts, 'month')",
		"date(ts)",
		"year(ts)",
		"to_timezone(ts, 'Europe/Paris')",
		"lower(name)",
		"substring(name, 2, 5)",
		"trim(name)",
		"coalesce(code, 'none')",
		"cents / 100.0 * rate",
		"cents * 3 + 1",
		"int(substring(code, 2))",
		"concat(code, '-', cents)",
		"string(cents)",
	} {
		e, errs := predicate.CompileValue(src, eventsEnv)
		if errs != nil {
			b.Fatalf("%s: %v", src, errs)
		}
		v, err := CompileValue(e, batch.Schema())
		if err != nil {
			b.Fatal(err)
		}
		b.Run(src, func(b *testing.B) {
			cpu0 := cpuTime()
			for b.Loop() {
				arr, _, err := v.Eval(ctx, batch)
				if err != nil {
					b.Fatal(err)
				}
				arr.Release()
			}
			reportPerRow(b, cpu0, rows)
		})
	}
}

package write

import (
	"context"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicedata/sluice/spec"
)

// BenchmarkParquet300k writes 300k rows of 20 mixed columns (in 8,192-row
// batches, as the executor hands them over) to one snappy Parquet file on
// the local store. MB/s counts the uncompressed Arrow bytes written.
//
//	go test ./exec/write -run '^$' -bench Parquet300k -benchtime 3x
func BenchmarkParquet300k(b *testing.B) {
	mem := memory.NewGoAllocator()
	s := wideSchema()
	recs := wideBatches(mem, s, 300000, 8192)
	defer releaseAll(recs)
	var raw int64
	for _, r := range recs {
		raw += recordRawSize(r)
	}
	b.SetBytes(raw)
	ctx := context.Background()
	st := newStore(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		o := baseOptions(st, spec.FormatParquet, mem)
		o.Compression = spec.CompressionSnappy
		o.TargetFileSize = 512 << 20
		o.RowGroupSize = 64 << 20
		w, err := New(ctx, s, o)
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range recs {
			if err := w.Write(ctx, r); err != nil {
				b.Fatal(err)
			}
		}
		files, err := w.Close(ctx)
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if i == 0 {
			b.ReportMetric(float64(files[0].Bytes)/(1<<20), "outMiB")
		}
		for _, f := range files {
			if err := st.AbortUpload(ctx, f.Upload); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
	}
}

// BenchmarkPartitionSplit routes 300k rows of 40 partitions to Parquet
// files: "runs" when each batch arrives grouped by partition (zero-copy
// slices), "interleaved" when consecutive rows alternate (one gather per
// column per batch, then slices).
//
//	go test ./exec/write -run '^$' -bench PartitionSplit -benchtime 2x
func BenchmarkPartitionSplit(b *testing.B) {
	for _, mode := range []string{"runs", "interleaved"} {
		b.Run(mode, func(b *testing.B) {
			mem := memory.NewGoAllocator()
			s := arrow.NewSchema([]arrow.Field{
				{Name: "id", Type: arrow.PrimitiveTypes.Int64},
				{Name: "p", Type: arrow.PrimitiveTypes.Int32},
				{Name: "v", Type: arrow.PrimitiveTypes.Float64},
			}, nil)
			var recs []arrow.RecordBatch
			for start := 0; start < 300000; start += 8192 {
				n := min(8192, 300000-start)
				rb := array.NewRecordBuilder(mem, s)
				for i := 0; i < n; i++ {
					id := start + i
					p := id % 40
					if mode == "runs" {
						p = i * 40 / n
					}
					rb.Field(0).(*array.Int64Builder).Append(int64(id))
					rb.Field(1).(*array.Int32Builder).Append(int32(p))
					rb.Field(2).(*array.Float64Builder).Append(float64(id) / 3)
				}
				recs = append(recs, rb.NewRecordBatch())
				rb.Release()
			}
			defer releaseAll(recs)
			ctx := context.Background()
			st := newStore(b)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				o := baseOptions(st, spec.FormatParquet, mem)
				o.PartitionBy = []string{"p"}
				w, err := New(ctx, s, o)
				if err != nil {
					b.Fatal(err)
				}
				for _, r := range recs {
					if err := w.Write(ctx, r); err != nil {
						b.Fatal(err)
					}
				}
				if err := w.Abort(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

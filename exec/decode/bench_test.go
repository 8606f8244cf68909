package decode

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	arrowcsv "github.com/apache/arrow-go/v18/arrow/csv"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/sluicedata/sluice/exec/arrowtype"
	"github.com/sluicedata/sluice/internal/lakegen"
	"github.com/sluicedata/sluice/spec"
	"github.com/sluicedata/sluice/spec/schema"
)

// benchSchema is 20 mixed columns, like the measured workload in
// notes/engines.md (§5): ints, floats, strings, bools, timestamps, a date
// and a decimal.
func benchSchema() *arrow.Schema {
	var fs []arrow.Field
	for i := range 5 {
		fs = append(fs, field(fmt.Sprintf("i%d", i), arrow.PrimitiveTypes.Int64, true))
	}
	for i := range 4 {
		fs = append(fs, field(fmt.Sprintf("f%d", i), arrow.PrimitiveTypes.Float64, true))
	}
	for i := range 6 {
		fs = append(fs, field(fmt.Sprintf("s%d", i), arrow.BinaryTypes.String, true))
	}
	fs = append(fs,
		field("b0", arrow.FixedWidthTypes.Boolean, true),
		field("b1", arrow.FixedWidthTypes.Boolean, true),
		field("t0", tsUS, true),
		field("d0", arrow.FixedWidthTypes.Date32, true),
		field("m0", dec, true),
	)
	return sch(fs...)
}

var words = []string{"alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india-juliet", "kilo lima mike"}

func benchRow(rng *rand.Rand) []string {
	var v []string
	for range 5 {
		v = append(v, fmt.Sprint(rng.Int64N(1e12)-5e11))
	}
	for range 4 {
		v = append(v, fmt.Sprintf("%.4f", rng.Float64()*1e6))
	}
	for i := range 6 {
		v = append(v, fmt.Sprintf("%s-%d", words[rng.IntN(len(words))], rng.IntN(1e6*(i+1))))
	}
	v = append(v, fmt.Sprint(rng.IntN(2) == 0), fmt.Sprint(rng.IntN(3) == 0),
		fmt.Sprintf("2026-%02d-%02dT%02d:%02d:%02d.%06dZ", rng.IntN(12)+1, rng.IntN(28)+1, rng.IntN(24), rng.IntN(60), rng.IntN(60), rng.IntN(1e6)),
		fmt.Sprintf("2026-%02d-%02d", rng.IntN(12)+1, rng.IntN(28)+1),
		fmt.Sprintf("%d.%03d", rng.IntN(1e6), rng.IntN(1000)))
	return v
}

func benchJSONData(rows int) []byte {
	rng := rand.New(rand.NewPCG(1, 2))
	sc := benchSchema()
	var buf bytes.Buffer
	for range rows {
		v := benchRow(rng)
		buf.WriteByte('{')
		for i, f := range sc.Fields() {
			if i > 0 {
				buf.WriteByte(',')
			}
			switch f.Type.ID() {
			case arrow.STRING, arrow.TIMESTAMP, arrow.DATE32, arrow.DECIMAL128:
				fmt.Fprintf(&buf, "%q:%q", f.Name, v[i])
			default:
				fmt.Fprintf(&buf, "%q:%s", f.Name, v[i])
			}
		}
		buf.WriteString("}\n")
	}
	return buf.Bytes()
}

func benchCSVData(rows int) []byte {
	rng := rand.New(rand.NewPCG(1, 2))
	sc := benchSchema()
	var buf bytes.Buffer
	for i, f := range sc.Fields() {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.WriteString(f.Name)
	}
	buf.WriteByte('\n')
	for range rows {
		for i, v := range benchRow(rng) {
			if i > 0 {
				buf.WriteByte(',')
			}
			buf.WriteString(v)
		}
		buf.WriteByte('\n')
	}
	return buf.Bytes()
}

// cpuMBps reports throughput per second of process CPU time: the
// machine is shared, so wall-clock MB/s understates a core's speed.
func cpuMBps(b *testing.B, bytes int64, start syscall.Rusage) {
	var end syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &end)
	cpu := time.Duration(end.Utime.Nano() + end.Stime.Nano() - start.Utime.Nano() - start.Stime.Nano())
	if cpu > 0 {
		b.ReportMetric(float64(bytes)*float64(b.N)/cpu.Seconds()/1e6, "MB/cpu-s")
	}
}

func rusage() syscall.Rusage {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru
}

func drain(b *testing.B, r Reader) int64 {
	var n int64
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			b.Fatal(err)
		}
		n += rec.NumRows()
		rec.Release()
	}
	r.Close()
	return n
}

// BenchmarkJSON measures NDJSON decoding of 20 mixed columns on one core.
func BenchmarkJSON(b *testing.B) {
	data := benchJSONData(20000)
	sc := benchSchema()
	b.SetBytes(int64(len(data)))
	ru := rusage()
	for b.Loop() {
		r, err := NewJSON(bytes.NewReader(data), Options{Key: "bench.json", Schema: sc, Alloc: memory.NewGoAllocator()})
		if err != nil {
			b.Fatal(err)
		}
		if n := drain(b, r); n != 20000 {
			b.Fatalf("rows = %d", n)
		}
	}
	cpuMBps(b, int64(len(data)), ru)
}

// BenchmarkCSV compares our CSV decoder with arrow-go's csv.Reader
// (encoding/csv underneath) on the same 20 columns.
func BenchmarkCSV(b *testing.B) {
	data := benchCSVData(20000)
	sc := benchSchema()
	b.Run("sluice", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		ru := rusage()
		defer func() { cpuMBps(b, int64(len(data)), ru) }()
		for b.Loop() {
			r, err := NewCSV(bytes.NewReader(data), Options{Key: "bench.csv", Schema: sc, CSV: spec.CSVOptions{Header: true}, Alloc: memory.NewGoAllocator()})
			if err != nil {
				b.Fatal(err)
			}
			if n := drain(b, r); n != 20000 {
				b.Fatalf("rows = %d", n)
			}
		}
	})
	b.Run("arrow-go", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		ru := rusage()
		defer func() { cpuMBps(b, int64(len(data)), ru) }()
		for b.Loop() {
			r := arrowcsv.NewReader(bytes.NewReader(data), sc, arrowcsv.WithHeader(true), arrowcsv.WithChunk(DefaultBatchRows),
				arrowcsv.WithNullReader(true, ""), arrowcsv.WithAllocator(memory.NewGoAllocator()))
			var n int64
			for r.Next() {
				n += r.RecordBatch().NumRows()
			}
			if err := r.Err(); err != nil {
				b.Fatal(err)
			}
			r.Release()
			if n != 20000 {
				b.Fatalf("rows = %d", n)
			}
		}
	})
}

// BenchmarkParquet measures reading the same 20 columns from a snappy
// Parquet file of 20,000 rows (row groups of 5,000) held in memory, as the
// executor reads objects it fetched whole.
func BenchmarkParquet(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	sc := benchSchema()
	var buf bytes.Buffer
	for i, f := range sc.Fields() {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.WriteString(f.Name)
	}
	buf.WriteByte('\n')
	for range 20000 {
		for i, v := range benchRow(rng) {
			if i > 0 {
				buf.WriteByte(',')
			}
			buf.WriteString(v)
		}
		buf.WriteByte('\n')
	}
	r, err := NewCSV(&buf, Options{Key: "bench.csv", Schema: sc, CSV: spec.CSVOptions{Header: true}, BatchRows: 20000})
	if err != nil {
		b.Fatal(err)
	}
	rec, err := r.Next()
	if err != nil {
		b.Fatal(err)
	}
	r.Close()
	var pq bytes.Buffer
	w, err := pqarrow.NewFileWriter(sc, &pq, parquet.NewWriterProperties(parquet.WithMaxRowGroupLength(5000), parquet.WithCompression(compress.Codecs.Snappy)), pqarrow.DefaultWriterProps())
	if err != nil {
		b.Fatal(err)
	}
	if err := w.Write(rec); err != nil {
		b.Fatal(err)
	}
	rec.Release()
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	data := pq.Bytes()
	b.SetBytes(int64(len(data)))
	ru := rusage()
	for b.Loop() {
		r, err := NewParquet(context.Background(), bytes.NewReader(data), int64(len(data)), Options{Key: "bench.parquet", Schema: sc, Alloc: memory.NewGoAllocator()}, nil)
		if err != nil {
			b.Fatal(err)
		}
		if n := drain(b, r); n != 20000 {
			b.Fatalf("rows = %d", n)
		}
	}
	cpuMBps(b, int64(len(data)), ru)
}

// BenchmarkJSONNested measures NDJSON decoding of nested events (structs,
// a list of structs; lakegen.Events, ~850 bytes a line) on one core,
// through an Appender as the executor decodes small objects.
func BenchmarkJSONNested(b *testing.B) {
	dir := b.TempDir()
	if _, err := lakegen.Events(dir, lakegen.EventsOptions{Files: 16, Days: 1, RowsPerFile: 1024, Seed: 1}); err != nil {
		b.Fatal(err)
	}
	var objects [][]byte
	var size int64
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			data, err := os.ReadFile(p)
			if err != nil {
				b.Fatal(err)
			}
			objects = append(objects, data)
			size += int64(len(data))
		}
		return nil
	})
	fields := make([]arrow.Field, len(lakegen.EventColumns))
	for i, c := range lakegen.EventColumns {
		fields[i] = arrow.Field{Name: c.Name, Type: arrowtype.ToArrow(schema.MustParseType(c.Type)), Nullable: true}
	}
	sc := arrow.NewSchema(fields, nil)
	b.SetBytes(size)
	app, err := NewAppender(spec.FormatJSON, Options{Schema: sc, Alloc: memory.NewGoAllocator()})
	if err != nil {
		b.Fatal(err)
	}
	defer app.Release()
	ru := rusage()
	for b.Loop() {
		rows := 0
		for _, data := range objects {
			// Objects of 1,024 events, flushed every 8Ki rows as a task
			// does (one Appender for all its objects).
			if app.Rows() >= 8<<10 {
				for _, rec := range app.Flush() {
					rows += int(rec.NumRows())
					rec.Release()
				}
			}
			if _, err := app.Append(bytes.NewReader(data), "e.json", int64(len(data))); err != nil {
				b.Fatal(err)
			}
		}
		for _, rec := range app.Flush() {
			rows += int(rec.NumRows())
			rec.Release()
		}
		if rows != 16<<10 {
			b.Fatalf("rows = %d", rows)
		}
	}
	cpuMBps(b, size, ru)
}

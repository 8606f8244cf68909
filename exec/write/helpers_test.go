package write

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/sluicedata/sluice/objstore"
	"github.com/sluicedata/sluice/spec"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// checked returns a checked allocator that fails the test if anything
// allocated through it is still held at the end.
func checked(t testing.TB) *memory.CheckedAllocator {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	t.Cleanup(func() { mem.AssertSize(t, 0) })
	return mem
}

func newStore(t testing.TB) *objstore.LocalStore {
	return objstore.NewLocal(t.TempDir())
}

// mixedSchema holds every type of the pipeline language, nested included.
var mixedSchema = arrow.NewSchema([]arrow.Field{
	{Name: "b", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
	{Name: "i32", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
	{Name: "i64", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "f32", Type: arrow.PrimitiveTypes.Float32, Nullable: true},
	{Name: "f64", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "bin", Type: arrow.BinaryTypes.Binary, Nullable: true},
	{Name: "d", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
	{Name: "ts", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, Nullable: true},
	{Name: "tsns", Type: &arrow.TimestampType{Unit: arrow.Nanosecond}, Nullable: true},
	{Name: "dec", Type: &arrow.Decimal128Type{Precision: 12, Scale: 3}, Nullable: true},
	{Name: "l", Type: arrow.ListOf(arrow.PrimitiveTypes.Int64), Nullable: true},
	{Name: "st", Type: arrow.StructOf(
		arrow.Field{Name: "x", Type: arrow.BinaryTypes.String, Nullable: true},
		arrow.Field{Name: "y", Type: arrow.PrimitiveTypes.Float64, Nullable: true}), Nullable: true},
	{Name: "m", Type: arrow.MapOf(arrow.BinaryTypes.String, arrow.PrimitiveTypes.Int32), Nullable: true},
}, nil)

// mixedRows exercises nulls, quoting, escapes and extreme values.
const mixedRows = `[
{"b": true, "i32": -2147483648, "i64": 9007199254740993, "f32": 1.5, "f64": 0.1, "s": "plain", "bin": "AAEC", "d": "2026-01-02", "ts": "2026-01-02T10:00:00Z", "tsns": "2026-01-02 10:00:00.123456789", "dec": "12345.678", "l": [1, 2, 3], "st": {"x": "a", "y": 1.25}, "m": [{"key": "k1", "value": 1}, {"key": "k2", "value": null}]},
{"b": false, "i32": 7, "i64": -1, "f32": -0.25, "f64": 1e21, "s": "comma, \"quote\"\nnewline", "bin": "", "d": "1969-12-31", "ts": "1970-01-01T00:00:00.000001Z", "tsns": "1999-12-31 23:59:59", "dec": "-0.001", "l": [], "st": {"x": null, "y": null}, "m": []},
{"b": null, "i32": null, "i64": null, "f32": null, "f64": null, "s": null, "bin": null, "d": null, "ts": null, "tsns": null, "dec": null, "l": null, "st": null, "m": null},
{"b": true, "i32": 0, "i64": 0, "f32": 3.4e38, "f64": -2.5e-7, "s": "ünïcödé \u2028 tab\t", "bin": "/w==", "d": "2000-02-29", "ts": "2262-04-11T23:47:16.854775Z", "tsns": "1677-09-21 00:12:43.145224192", "dec": "0.000", "l": [null, 5], "st": {"x": " lead", "y": -0.0}, "m": [{"key": "", "value": 3}]}
]`

func mixedBatch(t testing.TB, mem memory.Allocator) arrow.RecordBatch {
	t.Helper()
	rec, _, err := array.RecordFromJSON(mem, mixedSchema, strings.NewReader(mixedRows))
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

// wideSchema is the benchmark's 20 mixed scalar columns.
func wideSchema() *arrow.Schema {
	var fs []arrow.Field
	for i := 0; i < 20; i++ {
		var dt arrow.DataType
		switch i % 8 {
		case 0:
			dt = arrow.PrimitiveTypes.Int64
		case 1:
			dt = arrow.BinaryTypes.String
		case 2:
			dt = arrow.PrimitiveTypes.Float64
		case 3:
			dt = arrow.PrimitiveTypes.Int32
		case 4:
			dt = arrow.FixedWidthTypes.Boolean
		case 5:
			dt = &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
		case 6:
			dt = arrow.FixedWidthTypes.Date32
		case 7:
			dt = &arrow.Decimal128Type{Precision: 18, Scale: 2}
		}
		fs = append(fs, arrow.Field{Name: fmt.Sprintf("c%02d", i), Type: dt, Nullable: true})
	}
	return arrow.NewSchema(fs, nil)
}

// wideBatch builds rows [start, start+n) deterministically: a pseudo-random
// but reproducible mix of high- and low-cardinality values and ~5% nulls.
func wideBatch(mem memory.Allocator, s *arrow.Schema, start, n int) arrow.RecordBatch {
	b := array.NewRecordBuilder(mem, s)
	defer b.Release()
	x := uint64(start)*0x9E3779B97F4A7C15 + 1
	next := func() uint64 {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		return x
	}
	for r := start; r < start+n; r++ {
		for c, fb := range b.Fields() {
			v := next()
			if v%20 == 0 && c > 0 {
				fb.AppendNull()
				continue
			}
			switch fb := fb.(type) {
			case *array.Int64Builder:
				if c == 0 {
					fb.Append(int64(r))
				} else {
					fb.Append(int64(v >> 1))
				}
			case *array.StringBuilder:
				if c%3 == 0 {
					fb.Append(fmt.Sprintf("cat-%d", v%16))
				} else {
					fb.Append(fmt.Sprintf("value-%016x", v))
				}
			case *array.Float64Builder:
				fb.Append(float64(v%1000000) / 7)
			case *array.Int32Builder:
				fb.Append(int32(v % 1000))
			case *array.BooleanBuilder:
				fb.Append(v%2 == 0)
			case *array.TimestampBuilder:
				fb.Append(arrow.Timestamp(1767225600000000 + int64(v%31536000000000)))
			case *array.Date32Builder:
				fb.Append(arrow.Date32(20454 + int32(v%365)))
			case *array.Decimal128Builder:
				fb.Append(decimal128.FromI64(int64(v % 100000000)))
			}
		}
	}
	return b.NewRecordBatch()
}

// completeAll makes the pending uploads visible, as the committer would.
func completeAll(t testing.TB, st objstore.Store, files []File) {
	t.Helper()
	for _, f := range files {
		if _, err := st.CompleteUpload(context.Background(), f.Upload); err != nil {
			t.Fatal(err)
		}
	}
}

func readAll(t testing.TB, st objstore.Store, key string) []byte {
	t.Helper()
	rc, _, err := st.Get(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// readParquet reads a whole Parquet object back into one record batch.
func readParquet(t testing.TB, st objstore.Store, key string, mem memory.Allocator) (arrow.RecordBatch, *file.Reader) {
	t.Helper()
	data := readAll(t, st, key)
	pf, err := file.NewParquetReader(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("%s: %v", key, err)
	}
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{}, mem)
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := fr.ReadTable(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Release()
	return tableToBatch(t, tbl, mem), pf
}

// tableToBatch concatenates a table's chunks into one batch.
func tableToBatch(t testing.TB, tbl arrow.Table, mem memory.Allocator) arrow.RecordBatch {
	t.Helper()
	cols := make([]arrow.Array, tbl.NumCols())
	for i := range cols {
		chunks := tbl.Column(i).Data().Chunks()
		if len(chunks) == 0 {
			cols[i] = array.MakeArrayOfNull(mem, tbl.Column(i).DataType(), 0)
			continue
		}
		c, err := array.Concatenate(chunks, mem)
		if err != nil {
			t.Fatal(err)
		}
		cols[i] = c
	}
	rec := array.NewRecordBatch(tbl.Schema(), cols, tbl.NumRows())
	for _, c := range cols {
		c.Release()
	}
	return rec
}

// concatBatches concatenates batches of one schema.
func concatBatches(t testing.TB, mem memory.Allocator, s *arrow.Schema, recs []arrow.RecordBatch) arrow.RecordBatch {
	t.Helper()
	cols := make([]arrow.Array, s.NumFields())
	var n int64
	for _, r := range recs {
		n += r.NumRows()
	}
	for i := range cols {
		var parts []arrow.Array
		for _, r := range recs {
			parts = append(parts, r.Column(i))
		}
		if len(parts) == 0 {
			cols[i] = array.MakeArrayOfNull(mem, s.Field(i).Type, 0)
			continue
		}
		c, err := array.Concatenate(parts, mem)
		if err != nil {
			t.Fatal(err)
		}
		cols[i] = c
	}
	rec := array.NewRecordBatch(s, cols, n)
	for _, c := range cols {
		c.Release()
	}
	return rec
}

// assertBatchesEqual compares column by column, naming the first difference.
func assertBatchesEqual(t testing.TB, want, got arrow.RecordBatch) {
	t.Helper()
	if want.NumRows() != got.NumRows() || want.NumCols() != got.NumCols() {
		t.Fatalf("shape: want %dx%d, got %dx%d", want.NumRows(), want.NumCols(), got.NumRows(), got.NumCols())
	}
	for i := 0; i < int(want.NumCols()); i++ {
		if want.ColumnName(i) != got.ColumnName(i) {
			t.Fatalf("column %d: want name %q, got %q", i, want.ColumnName(i), got.ColumnName(i))
		}
		if !array.Equal(want.Column(i), got.Column(i)) {
			t.Errorf("column %q differs:\nwant %v\ngot  %v", want.ColumnName(i), want.Column(i), got.Column(i))
		}
	}
}

func baseOptions(st objstore.Store, f spec.Format, mem memory.Allocator) Options {
	return Options{
		Store: st, Prefix: "out/", Format: f, RunID: "20261121T233000Z-abc", Task: 3,
		Version: "0.1.0-test", Alloc: mem,
		CSV: spec.CSVOptions{Header: true, Delimiter: ',', Quote: '"', NullValues: []string{""}},
	}
}

// golden compares got with testdata/name, rewriting it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(p, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(want, got) {
		t.Errorf("%s differs from the golden file (run with -update to accept):\n--- want\n%s\n--- got\n%s", name, want, got)
	}
}

// retypeUTC turns zone-less timestamp columns into UTC ones (same values):
// text output writes them in RFC 3339 with Z, which arrow's readers accept
// only for a type with a zone.
func retypeUTC(s *arrow.Schema) *arrow.Schema {
	fs := append([]arrow.Field(nil), s.Fields()...)
	for i, f := range fs {
		if tt, ok := f.Type.(*arrow.TimestampType); ok && tt.TimeZone == "" {
			fs[i].Type = &arrow.TimestampType{Unit: tt.Unit, TimeZone: "UTC"}
		}
	}
	return arrow.NewSchema(fs, nil)
}

// withSchema re-labels rec's columns with the types of s (same layouts).
func withSchema(rec arrow.RecordBatch, s *arrow.Schema) arrow.RecordBatch {
	cols := make([]arrow.Array, rec.NumCols())
	for i, c := range rec.Columns() {
		d := c.Data()
		nd := array.NewData(s.Field(i).Type, d.Len(), d.Buffers(), d.Children(), d.NullN(), d.Offset())
		cols[i] = array.MakeFromData(nd)
		nd.Release()
	}
	out := array.NewRecordBatch(s, cols, rec.NumRows())
	for _, c := range cols {
		c.Release()
	}
	return out
}

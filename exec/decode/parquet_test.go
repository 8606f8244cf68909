package decode

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/sluicedata/sluice/spec"
)

const pqRows = 35

// writeParquet builds a 35-row file in row groups of 10 rows.
func writeParquet(t *testing.T) []byte {
	t.Helper()
	mem := memory.NewGoAllocator()
	fileSchema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int32},
		{Name: "small", Type: arrow.PrimitiveTypes.Int16, Nullable: true},
		{Name: "f", Type: arrow.PrimitiveTypes.Float32, Nullable: true},
		{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "ts", Type: &arrow.TimestampType{Unit: arrow.Microsecond}, Nullable: true},
		{Name: "u", Type: arrow.PrimitiveTypes.Uint64, Nullable: true},
		{Name: "st", Type: arrow.StructOf(
			arrow.Field{Name: "a", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
			arrow.Field{Name: "b", Type: arrow.BinaryTypes.String, Nullable: true}), Nullable: true},
		{Name: "l", Type: arrow.ListOf(arrow.PrimitiveTypes.Int64), Nullable: true},
		{Name: "legacy", Type: &arrow.TimestampType{Unit: arrow.Nanosecond}, Nullable: true},
		{Name: "unread", Type: arrow.BinaryTypes.String, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(mem, fileSchema)
	defer b.Release()
	for i := range pqRows {
		b.Field(0).(*array.Int32Builder).Append(int32(i))
		b.Field(1).(*array.Int16Builder).Append(int16(-i))
		b.Field(2).(*array.Float32Builder).Append(float32(i) + 0.5)
		if i%7 == 0 {
			b.Field(3).AppendNull()
		} else {
			b.Field(3).(*array.StringBuilder).Append(fmt.Sprintf("s%d", i))
		}
		b.Field(4).(*array.TimestampBuilder).Append(arrow.Timestamp(int64(i) * 1_000_000))
		b.Field(5).(*array.Uint64Builder).Append(uint64(1)<<63 + uint64(i))
		sb := b.Field(6).(*array.StructBuilder)
		sb.Append(true)
		sb.FieldBuilder(0).(*array.Int64Builder).Append(int64(i * 10))
		sb.FieldBuilder(1).(*array.StringBuilder).Append("b")
		lb := b.Field(7).(*array.ListBuilder)
		lb.Append(true)
		lb.ValueBuilder().(*array.Int64Builder).AppendValues([]int64{int64(i), int64(i + 1)}, nil)
		b.Field(8).(*array.TimestampBuilder).Append(arrow.Timestamp(int64(i)))
		b.Field(9).(*array.StringBuilder).Append("zzz")
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	return encodeParquet(t, rec, parquet.NewWriterProperties(parquet.WithMaxRowGroupLength(10)),
		pqarrow.NewArrowWriterProperties(pqarrow.WithDeprecatedInt96Timestamps(true)))
}

// encodeParquet writes rec as one Parquet file.
func encodeParquet(t *testing.T, rec arrow.RecordBatch, props *parquet.WriterProperties, aprops pqarrow.ArrowWriterProperties) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := pqarrow.NewFileWriter(rec.Schema(), &buf, props, aprops)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func readPQ(t *testing.T, data []byte, o Options, rgs []int) ([]string, int, error) {
	t.Helper()
	o.Key = "p/x.parquet"
	r, err := NewParquet(context.Background(), bytes.NewReader(data), int64(len(data)), o, rgs)
	if err != nil {
		return nil, 0, err
	}
	return collect(t, r, o.Schema)
}

func TestParquetProjectionWideningRowGroups(t *testing.T) {
	data := writeParquet(t)
	s := sch(
		field("s", arrow.BinaryTypes.String, true),
		field("id", arrow.PrimitiveTypes.Int64, true),    // int32 → int64
		field("small", arrow.PrimitiveTypes.Int32, true), // int16 → int32 (nearest)
		field("f", arrow.PrimitiveTypes.Float64, true),   // float32 → float64
		field("ts", tsUS, true),                          // no zone → UTC
		field("u", &arrow.Decimal128Type{Precision: 20}, true),
		field("legacy", tsNS, true), // INT96
	)
	rows, batches, err := readPQ(t, data, Options{Schema: s, Alloc: checked(t), BatchRows: 4}, []int{1, 3})
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, i := range append(seq(10, 20), seq(30, 35)...) {
		sv := fmt.Sprintf("s%d", i)
		if i%7 == 0 {
			sv = "null"
		}
		want = append(want, fmt.Sprintf("%s|%d|%d|%g|%d|%d|%d", sv, i, -i, float64(i)+0.5, i*1_000_000, uint64(1)<<63+uint64(i), i))
	}
	eqRows(t, rows, want)
	if batches != 4 { // 15 rows in batches of BatchRows = 4
		t.Errorf("batches = %d, want 4", batches)
	}
}

func seq(a, b int) []int {
	var out []int
	for i := a; i < b; i++ {
		out = append(out, i)
	}
	return out
}

func TestParquetNestedAndAllRowGroups(t *testing.T) {
	data := writeParquet(t)
	s := sch(
		field("l", arrow.ListOf(arrow.PrimitiveTypes.Int64), true),
		field("st", arrow.StructOf(
			arrow.Field{Name: "a", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
			arrow.Field{Name: "b", Type: arrow.BinaryTypes.String, Nullable: true}), true),
	)
	rows, _, err := readPQ(t, data, Options{Schema: s, Alloc: checked(t)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != pqRows || rows[34] != `[34,35]|{"a":340,"b":"b"}` {
		t.Fatalf("rows = %d, last %q", len(rows), rows[len(rows)-1])
	}
}

func TestParquetStructSubset(t *testing.T) {
	data := writeParquet(t)
	for _, c := range []struct {
		name string
		st   arrow.DataType
		want string
	}{
		{"first", arrow.StructOf(arrow.Field{Name: "a", Type: arrow.PrimitiveTypes.Int64, Nullable: true}), `{"a":50}`},
		{"second", arrow.StructOf(arrow.Field{Name: "b", Type: arrow.BinaryTypes.String, Nullable: true}), `{"b":"b"}`},
		{"widened", arrow.StructOf(arrow.Field{Name: "a", Type: arrow.PrimitiveTypes.Float64, Nullable: true}), `{"a":50}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := sch(field("st", c.st, true))
			rows, _, err := readPQ(t, data, Options{Schema: s, Alloc: checked(t)}, []int{0})
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) != 10 || rows[5] != c.want {
				t.Fatalf("rows = %q", rows)
			}
		})
	}
	// A struct naming no field of the file's struct is a mismatch.
	s := sch(field("st", arrow.StructOf(arrow.Field{Name: "zz", Type: arrow.PrimitiveTypes.Int64, Nullable: true}), true))
	var mm *SchemaMismatchError
	if _, _, err := readPQ(t, data, Options{Schema: s, Alloc: checked(t)}, nil); !errors.As(err, &mm) {
		t.Fatalf("err = %v", err)
	}
}

func TestParquetNestedWidening(t *testing.T) {
	data := writeParquet(t)
	s := sch(field("l", arrow.ListOf(arrow.PrimitiveTypes.Float64), true))
	rows, _, err := readPQ(t, data, Options{Schema: s, Alloc: checked(t)}, []int{0})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 10 || rows[2] != "[2,3]" {
		t.Fatalf("rows = %q", rows)
	}
}

func TestParquetCountOnly(t *testing.T) {
	data := writeParquet(t)
	mem := checked(t)
	r, err := NewParquet(context.Background(), bytes.NewReader(data), int64(len(data)), Options{Key: "k", Schema: sch(), Alloc: mem, BatchRows: 16}, []int{0, 3})
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for {
		b, err := r.Next()
		if err != nil {
			break
		}
		n += b.NumRows()
		b.Release()
	}
	r.Close()
	if n != 15 {
		t.Fatalf("rows = %d, want 15", n)
	}
}

func TestParquetSchemaMismatch(t *testing.T) {
	data := writeParquet(t)
	missing := sch(field("id", arrow.PrimitiveTypes.Int64, true), field("nope", arrow.BinaryTypes.String, true))
	incompatible := sch(field("id", arrow.PrimitiveTypes.Int64, true), field("s", arrow.PrimitiveTypes.Int64, true))
	narrowing := sch(field("f", arrow.PrimitiveTypes.Int32, true))

	_, _, err := readPQ(t, data, Options{Schema: missing, Alloc: checked(t)}, nil)
	var mm *SchemaMismatchError
	if !errors.As(err, &mm) || err.Error() != `p/x.parquet: column "nope": not in the file (expected utf8)` {
		t.Fatalf("missing: %v", err)
	}
	_, _, err = readPQ(t, data, Options{Schema: incompatible, Alloc: checked(t)}, nil)
	if !errors.As(err, &mm) || err.Error() != `p/x.parquet: column "s": file type utf8, expected int64` {
		t.Fatalf("incompatible: %v", err)
	}
	_, _, err = readPQ(t, data, Options{Schema: narrowing, Alloc: checked(t)}, nil)
	if !errors.As(err, &mm) || mm.FileType != "float32" {
		t.Fatalf("narrowing: %v", err)
	}

	// on_schema_change = ignore: a missing column is null ...
	rows, _, err := readPQ(t, data, Options{Schema: missing, Alloc: checked(t), SchemaChange: spec.SchemaChangeIgnore}, []int{0})
	if err != nil || len(rows) != 10 || rows[3] != "3|null" {
		t.Fatalf("ignore missing: %v %v", rows, err)
	}
	// ... and a column of another type is a bad record for the whole object.
	sink := &badSink{}
	rows, _, err = readPQ(t, data, Options{Schema: incompatible, Alloc: checked(t), SchemaChange: spec.SchemaChangeIgnore, OnBad: sink.onBad}, nil)
	if err != nil || len(rows) != 0 || len(sink.recs) != 1 || sink.recs[0].Column != "s" || !strings.Contains(sink.recs[0].Reason, "file type utf8, expected int64") {
		t.Fatalf("ignore incompatible: rows %v err %v bad %+v", rows, err, sink.recs)
	}
}

func TestParquetCorrupt(t *testing.T) {
	data := writeParquet(t)
	s := sch(field("id", arrow.PrimitiveTypes.Int64, true))
	badLen := bytes.Clone(data)
	// The 4 bytes before the trailing magic are the footer length.
	badLen[len(badLen)-8], badLen[len(badLen)-7], badLen[len(badLen)-6], badLen[len(badLen)-5] = 0xff, 0xff, 0xff, 0x0f
	garbledFooter := bytes.Clone(data)
	for i := len(garbledFooter) - 200; i < len(garbledFooter)-8; i++ {
		garbledFooter[i] = 0xAB
	}
	cases := map[string][]byte{
		"wrong magic":      append(bytes.Clone(data[:len(data)-4]), 'X', 'X', 'X', 'X'),
		"footer past end":  badLen,
		"too small":        []byte("PAR1"),
		"garbled footer":   garbledFooter,
		"truncated":        data[:len(data)/2],
		"json not parquet": []byte(`{"a":1}` + strings.Repeat("\n", 20)),
	}
	for name, d := range cases {
		t.Run(name, func(t *testing.T) {
			_, _, err := readPQ(t, d, Options{Schema: s, Alloc: checked(t)}, nil)
			if err == nil || !strings.HasPrefix(err.Error(), "p/x.parquet: parquet") {
				t.Fatalf("err = %v", err)
			}
			if _, _, err := ReadParquetSchema(bytes.NewReader(d), int64(len(d)), "p/x.parquet"); err == nil || !strings.HasPrefix(err.Error(), "p/x.parquet: parquet") {
				t.Fatalf("ReadParquetSchema err = %v", err)
			}
		})
	}
	_, _, err := readPQ(t, data, Options{Schema: s, Alloc: checked(t)}, []int{9})
	if err == nil || err.Error() != "p/x.parquet: parquet: row group 9 out of range (file has 4)" {
		t.Fatalf("err = %v", err)
	}
}

func TestReadParquetSchemaAndCachedMetadata(t *testing.T) {
	data := writeParquet(t)
	sc, md, err := ReadParquetSchema(bytes.NewReader(data), int64(len(data)), "k")
	if err != nil {
		t.Fatal(err)
	}
	if md.NumRows != pqRows || md.NumRowGroups() != 4 || sc.NumFields() != 10 || sc.Field(1).Type.ID() != arrow.INT16 {
		t.Fatalf("schema %s rows %d groups %d", sc, md.NumRows, md.NumRowGroups())
	}
	cc, err := md.RowGroup(1).ColumnChunk(0)
	if err != nil {
		t.Fatal(err)
	}
	st, err := cc.Statistics()
	if err != nil || st == nil || !st.HasMinMax() {
		t.Fatalf("stats %v %v", st, err)
	}
	// Reading with the cached footer gives the same rows.
	s := sch(field("id", arrow.PrimitiveTypes.Int32, false))
	rows, _, err := readPQ(t, data, Options{Schema: s, Alloc: checked(t), ParquetMetadata: md}, []int{2})
	if err != nil || len(rows) != 10 || rows[0] != "20" {
		t.Fatalf("rows %v err %v", rows, err)
	}
}

// Large strings and binaries (files whose stored Arrow schema says
// large_string, as Polars and DuckDB write) read as the declared string
// and binary types with their bytes shared and offsets narrowed; row
// groups after the first start at non-zero offsets into their own buffers.
func TestParquetLargeStringsNarrowed(t *testing.T) {
	mem := checked(t)
	fileSchema := arrow.NewSchema([]arrow.Field{
		{Name: "s", Type: arrow.BinaryTypes.LargeString, Nullable: true},
		{Name: "b", Type: arrow.BinaryTypes.LargeBinary, Nullable: true},
	}, nil)
	rb := array.NewRecordBuilder(memory.DefaultAllocator, fileSchema)
	defer rb.Release()
	var want []string
	for i := range 25 {
		if i%4 == 0 {
			rb.Field(0).AppendNull()
			rb.Field(1).AppendNull()
			want = append(want, "(null) (null)")
			continue
		}
		s := strings.Repeat("é", i)
		rb.Field(0).(*array.LargeStringBuilder).Append(s)
		rb.Field(1).(*array.BinaryBuilder).Append([]byte{byte(i), 0})
		want = append(want, fmt.Sprintf("%s %x", s, []byte{byte(i), 0}))
	}
	rec := rb.NewRecordBatch()
	defer rec.Release()
	data := encodeParquet(t, rec, parquet.NewWriterProperties(parquet.WithMaxRowGroupLength(10)),
		pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	declared := arrow.NewSchema([]arrow.Field{
		{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "b", Type: arrow.BinaryTypes.Binary, Nullable: true},
	}, nil)
	r, err := NewParquet(context.Background(), bytes.NewReader(data), int64(len(data)), Options{Key: "large.parquet", Schema: declared, Alloc: mem, BatchRows: 7}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for {
		b, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		s, bin := b.Column(0).(*array.String), b.Column(1).(*array.Binary)
		for i := 0; i < int(b.NumRows()); i++ {
			if s.IsNull(i) {
				got = append(got, "(null) (null)")
				continue
			}
			got = append(got, fmt.Sprintf("%s %x", s.Value(i), bin.Value(i)))
		}
		b.Release()
	}
	r.Close()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// FileRow maps rows as read back to rows of the file when row groups are
// skipped or read out of order.
func TestParquetFileRow(t *testing.T) {
	data := writeParquet(t)
	s := sch(field("id", arrow.PrimitiveTypes.Int32, false))
	for _, c := range []struct {
		groups []int
		read   []int64
		want   []int64
	}{
		{nil, []int64{0, 34}, []int64{0, 34}},
		{[]int{2, 0}, []int64{0, 9, 10, 19}, []int64{20, 29, 0, 9}},
		{[]int{3}, []int64{0, 4}, []int64{30, 34}},
	} {
		r, err := NewParquet(context.Background(), bytes.NewReader(data), int64(len(data)), Options{Key: "x.parquet", Schema: s, Alloc: checked(t)}, c.groups)
		if err != nil {
			t.Fatal(err)
		}
		for i, n := range c.read {
			if got := FileRow(r, n); got != c.want[i] {
				t.Errorf("groups %v: FileRow(%d) = %d, want %d", c.groups, n, got, c.want[i])
			}
		}
		// And the ids read are those rows.
		rows, _, err := collect(t, r, s)
		if err != nil {
			t.Fatal(err)
		}
		for i, n := range c.read {
			if rows[n] != fmt.Sprint(c.want[i]) {
				t.Errorf("groups %v: row %d read is id %s, want %d", c.groups, n, rows[n], c.want[i])
			}
		}
	}
}

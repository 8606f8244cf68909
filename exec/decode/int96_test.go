package decode

import (
	"bytes"
	"context"
	"encoding/binary"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/metadata"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/apache/arrow-go/v18/parquet/schema"
)

func int96Of(t time.Time) parquet.Int96 {
	var v parquet.Int96
	days := t.Unix()/86400 + julianUnixEpoch
	nanos := t.Sub(time.Unix((days-julianUnixEpoch)*86400, 0))
	binary.LittleEndian.PutUint64(v[:8], uint64(nanos))
	binary.LittleEndian.PutUint32(v[8:], uint32(days))
	return v
}

// TestParquetInt96Range reads INT96 timestamps outside timestamp(ns)'s
// years 1677-2262, as Spark writes them (parquet-testing's
// int96_from_spark.parquet): pqarrow refused the whole file. As the
// inferred timestamp(ns), each such value is a bad record of its row, the
// other rows are read, and FileRow still finds rows after the dropped ones;
// declared timestamp(us), every value is read.
func TestParquetInt96Range(t *testing.T) {
	node, err := schema.NewPrimitiveNode("a", parquet.Repetitions.Optional, parquet.Types.Int96, -1, -1)
	if err != nil {
		t.Fatal(err)
	}
	root, err := schema.NewGroupNode("schema", parquet.Repetitions.Required, schema.FieldList{node}, -1)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w := file.NewParquetWriter(&buf, root)
	rg, err := w.AppendRowGroupChecked()
	if err != nil {
		t.Fatal(err)
	}
	cw, err := rg.NextColumn()
	if err != nil {
		t.Fatal(err)
	}
	var bad parquet.Int96 // the last day an INT96 can say: past timestamp(us) too
	binary.LittleEndian.PutUint32(bad[8:], math.MaxUint32)
	spark := int96Of(time.Date(2024, 12, 31, 0, 0, 0, 0, time.UTC)) // Spark's way: a negative time of day
	negHour := -int64(time.Hour)
	binary.LittleEndian.PutUint64(spark[:8], uint64(negHour))
	vals := []parquet.Int96{
		int96Of(time.Date(2024, 1, 1, 12, 34, 56, 123456000, time.UTC)),
		int96Of(time.Date(9999, 12, 31, 3, 0, 0, 0, time.UTC)),
		int96Of(time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)),
		bad,
		spark,
	}
	defs := []int16{1, 1, 0, 1, 1, 1}
	if _, err := cw.(*file.Int96ColumnChunkWriter).WriteBatch(vals, defs, nil); err != nil {
		t.Fatal(err)
	}
	for _, c := range []interface{ Close() error }{cw, rg, w} {
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
	}
	data := buf.Bytes()
	read := func(ts arrow.DataType) ([]string, []BadRecord, Reader) {
		var sink badSink
		s := sch(field("a", ts, true))
		r, err := NewParquet(context.Background(), bytes.NewReader(data), int64(len(data)), Options{Key: "i.parquet", Schema: s, Alloc: checked(t), OnBad: sink.onBad}, nil)
		if err != nil {
			t.Fatal(err)
		}
		rows, _, err := collect(t, r, s)
		if err != nil {
			t.Fatal(err)
		}
		return rows, sink.recs, r
	}
	rows, recs, r := read(tsNS)
	eqRows(t, rows, []string{"1704112496123456000", "null", "1735599600000000000"})
	if len(recs) != 3 || recs[0].Row != 2 || recs[1].Row != 4 || recs[2].Row != 5 ||
		!strings.Contains(recs[0].Reason, "INT96 timestamp 9999-12-31 is outside the range of timestamp(ns) (declare the column timestamp(us) to read it)") ||
		!strings.Contains(recs[2].Reason, "is outside the range of timestamp(ns)") || recs[0].Column != "a" {
		t.Fatalf("bad records %+v", recs)
	}
	if got := []int64{FileRow(r, 0), FileRow(r, 1), FileRow(r, 2)}; got[0] != 0 || got[1] != 2 || got[2] != 5 {
		t.Fatalf("FileRow: %v, want [0 2 5]", got)
	}
	rows, recs, _ = read(tsUS)
	eqRows(t, rows, []string{"1704112496123456", "253402225200000000", "null", "-62135596800000000", "1735599600000000"})
	if len(recs) != 1 || recs[0].Row != 5 || !strings.Contains(recs[0].Reason, "is outside the range of timestamp(us)") {
		t.Fatalf("bad records %+v", recs)
	}
}

// TestParquetInt96Nested converts INT96 leaves inside lists and structs.
func TestParquetInt96Nested(t *testing.T) {
	s := sch(field("l", arrow.ListOf(tsNS), true), field("st", arrow.StructOf(arrow.Field{Name: "t", Type: tsNS, Nullable: true}), true))
	b := array.NewRecordBuilder(memory.NewGoAllocator(), s)
	defer b.Release()
	lb := b.Field(0).(*array.ListBuilder)
	sb := b.Field(1).(*array.StructBuilder)
	for i := range 3 {
		lb.Append(true)
		lb.ValueBuilder().(*array.TimestampBuilder).AppendValues([]arrow.Timestamp{arrow.Timestamp(i), arrow.Timestamp(i * 1000)}, nil)
		sb.Append(true)
		sb.FieldBuilder(0).(*array.TimestampBuilder).Append(arrow.Timestamp(i * 7))
	}
	lb.AppendNull()
	sb.AppendNull()
	rec := b.NewRecordBatch()
	defer rec.Release()
	file := encodeParquet(t, rec, parquet.NewWriterProperties(), pqarrow.NewArrowWriterProperties(pqarrow.WithDeprecatedInt96Timestamps(true)))
	if int96Columns(footerMeta(t, file)) == nil {
		t.Fatal("no INT96 column written")
	}
	_, rows := readInferred(t, file)
	ts := func(ns int) string {
		return `"` + time.Unix(0, int64(ns)).UTC().Format("2006-01-02T15:04:05.999999999Z") + `"`
	}
	eqRows(t, rows, []string{
		"[" + ts(0) + "," + ts(0) + `]|{"t":` + ts(0) + "}",
		"[" + ts(1) + "," + ts(1000) + `]|{"t":` + ts(7) + "}",
		"[" + ts(2) + "," + ts(2000) + `]|{"t":` + ts(14) + "}",
		"null|null",
	})
}

func footerMeta(t *testing.T, file []byte) *metadata.FileMetaData {
	t.Helper()
	_, md, err := ReadParquetSchema(bytes.NewReader(file), int64(len(file)), "f")
	if err != nil {
		t.Fatal(err)
	}
	return md
}

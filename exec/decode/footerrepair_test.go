package decode

import (
	"bytes"
	"context"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// TestParquetUnknownLogicalType: a column annotated with a logical type
// newer than arrow-go (made here by renumbering a STRING annotation to an
// unused union member) made the footer unreadable ("invalid logical type");
// it now reads as its physical type, binary, and the other columns as
// before (parquet-testing's unknown-logical-type.parquet).
func TestParquetUnknownLogicalType(t *testing.T) {
	s := sch(field("known", arrow.BinaryTypes.String, true), field("unknown", arrow.BinaryTypes.String, true))
	b := array.NewRecordBuilder(memory.NewGoAllocator(), s)
	defer b.Release()
	b.Field(0).(*array.StringBuilder).AppendValues([]string{"a", "b"}, nil)
	b.Field(1).(*array.StringBuilder).AppendValues([]string{"x", "y"}, nil)
	rec := b.NewRecordBatch()
	defer rec.Release()
	file := encodeParquet(t, rec, parquet.NewWriterProperties(), pqarrow.DefaultWriterProps())
	file = editFooter(t, file, func(fm *tval) {
		se := fm.at(t, fmSchema, 2) // the root, then known, then unknown
		lt := se.at(t, seLogicalType)
		if len(lt.fields) != 1 || lt.fields[0].id != 1 {
			t.Fatalf("not a STRING annotation: %+v", lt.fields)
		}
		lt.fields[0].id = 20000
		kept := se.fields[:0]
		for _, f := range se.fields {
			if f.id != 6 { // converted_type UTF8: a writer that knows only the new type
				kept = append(kept, f)
			}
		}
		se.fields = kept
	})
	sc, md, err := ReadParquetSchema(bytes.NewReader(file), int64(len(file)), "u.parquet")
	if err != nil {
		t.Fatal(err)
	}
	want := sch(field("known", arrow.BinaryTypes.String, true), field("unknown", arrow.BinaryTypes.Binary, true))
	if !arrow.TypeEqual(sc.Field(1).Type, arrow.BinaryTypes.Binary) || !arrow.TypeEqual(sc.Field(0).Type, arrow.BinaryTypes.String) {
		t.Fatalf("schema %s", sc)
	}
	for _, m := range []any{nil, md} {
		o := Options{Key: "u.parquet", Schema: want, Alloc: checked(t)}
		if m != nil {
			o.ParquetMetadata = md
		}
		r, err := NewParquet(context.Background(), bytes.NewReader(file), int64(len(file)), o, nil)
		if err != nil {
			t.Fatal(err)
		}
		rows, _, err := collect(t, r, want)
		if err != nil {
			t.Fatal(err)
		}
		eqRows(t, rows, []string{"a|x", "b|y"})
	}
}

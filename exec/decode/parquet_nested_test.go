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

	"github.com/sluicedata/sluice/exec/arrowtype"
)

// readInferred reads file as a source without a schema does: the footer's
// schema mapped to sluice's types (as the planner maps it), then read.
func readInferred(t *testing.T, file []byte) (*arrow.Schema, []string) {
	t.Helper()
	sc, md, err := ReadParquetSchema(bytes.NewReader(file), int64(len(file)), "n.parquet")
	if err != nil {
		t.Fatal(err)
	}
	cols, err := arrowtype.FromArrowSchema(sc)
	if err != nil {
		t.Fatalf("schema %s: %v", sc, err)
	}
	want := arrowtype.ArrowSchema(cols)
	r, err := NewParquet(context.Background(), bytes.NewReader(file), int64(len(file)), Options{Key: "n.parquet", Schema: want, Alloc: checked(t), ParquetMetadata: md}, nil)
	if err != nil {
		t.Fatal(err)
	}
	rows, _, err := collect(t, r, want)
	if err != nil {
		t.Fatal(err)
	}
	return want, rows
}

// TestParquetRequiredMapValues: a map whose values the file declares
// required is read as sluice's map (values nullable). arrow-go has no map
// cast, so such files were refused (parquet-testing's nested_maps and
// nonnullable.impala); the cast now rebuilds the map around its cast
// children.
func TestParquetRequiredMapValues(t *testing.T) {
	inner := arrow.MapOfFields(arrow.Field{Name: "key", Type: arrow.PrimitiveTypes.Int32}, arrow.Field{Name: "value", Type: arrow.FixedWidthTypes.Boolean, Nullable: false})
	outer := arrow.MapOfFields(arrow.Field{Name: "key", Type: arrow.BinaryTypes.String}, arrow.Field{Name: "value", Type: inner, Nullable: false})
	s := sch(field("m", outer, true), field("st", arrow.StructOf(arrow.Field{Name: "x", Type: arrow.PrimitiveTypes.Int16, Nullable: false}), true))
	b := array.NewRecordBuilder(memory.NewGoAllocator(), s)
	defer b.Release()
	mb := b.Field(0).(*array.MapBuilder)
	sb := b.Field(1).(*array.StructBuilder)
	for i := range 3 {
		mb.Append(true)
		mb.KeyBuilder().(*array.StringBuilder).Append("k")
		ib := mb.ItemBuilder().(*array.MapBuilder)
		ib.Append(true)
		ib.KeyBuilder().(*array.Int32Builder).Append(int32(i))
		ib.ItemBuilder().(*array.BooleanBuilder).Append(i%2 == 0)
		sb.Append(true)
		sb.FieldBuilder(0).(*array.Int16Builder).Append(int16(i))
	}
	mb.AppendNull()
	sb.AppendNull()
	rec := b.NewRecordBatch()
	defer rec.Release()
	file := encodeParquet(t, rec, parquet.NewWriterProperties(), pqarrow.DefaultWriterProps())
	_, rows := readInferred(t, file)
	eqRows(t, rows, []string{
		`[{"key":"k","value":[{"key":0,"value":true}]}]|{"x":0}`,
		`[{"key":"k","value":[{"key":1,"value":false}]}]|{"x":1}`,
		`[{"key":"k","value":[{"key":2,"value":true}]}]|{"x":2}`,
		"null|null",
	})
}

// TestParquetNullType: a column of Parquet's null logical type (pqarrow's
// null type, which sluice has no type for) is typed by its physical type
// and read as nulls, as DuckDB reads parquet-testing's null_list.
func TestParquetNullType(t *testing.T) {
	s := sch(field("n", arrow.Null, true), field("l", arrow.ListOf(arrow.Null), true))
	b := array.NewRecordBuilder(memory.NewGoAllocator(), s)
	defer b.Release()
	b.Field(0).AppendNull()
	lb := b.Field(1).(*array.ListBuilder)
	lb.Append(true)
	lb.ValueBuilder().AppendNull()
	b.Field(0).AppendNull()
	lb.Append(true)
	rec := b.NewRecordBatch()
	defer rec.Release()
	file := encodeParquet(t, rec, parquet.NewWriterProperties(), pqarrow.DefaultWriterProps())
	want, rows := readInferred(t, file)
	if want.Field(0).Type.ID() == arrow.NULL || want.Field(1).Type.(*arrow.ListType).Elem().ID() == arrow.NULL {
		t.Fatalf("schema %s", want)
	}
	eqRows(t, rows, []string{"null|[null]", "null|[]"})
}

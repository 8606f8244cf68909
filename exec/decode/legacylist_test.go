package decode

import (
	"bytes"
	"testing"

	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/schema"
)

// TestParquetLegacyListOfLists reads a legacy two-level list whose element
// is a LIST-annotated repeated group, as parquet-testing's
// old_list_structure.parquet: list<list<int32>> with [[1, 2], [3, 4]], as
// DuckDB reads it. pqarrow made it list<struct<array: list<int32>>>, which
// sluice then wrote back in that shape.
func TestParquetLegacyListOfLists(t *testing.T) {
	inner := schema.NewInt32Node("array", parquet.Repetitions.Repeated, -1)
	mid, err := schema.NewGroupNodeLogical("array", parquet.Repetitions.Repeated, schema.FieldList{inner}, schema.NewListLogicalType(), -1)
	if err != nil {
		t.Fatal(err)
	}
	a, err := schema.NewGroupNodeLogical("a", parquet.Repetitions.Optional, schema.FieldList{mid}, schema.NewListLogicalType(), -1)
	if err != nil {
		t.Fatal(err)
	}
	root, err := schema.NewGroupNode("schema", parquet.Repetitions.Required, schema.FieldList{a}, -1)
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
	// Rows [[1, 2], [3, 4]], null, [[5], []]: max definition level 3
	// (a present, an element list, an int), max repetition level 2.
	vals := []int32{1, 2, 3, 4, 5}
	defs := []int16{3, 3, 3, 3, 0, 3, 2}
	reps := []int16{0, 2, 1, 2, 0, 0, 1}
	if _, err := cw.(*file.Int32ColumnChunkWriter).WriteBatch(vals, defs, reps); err != nil {
		t.Fatal(err)
	}
	if err := cw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := rg.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	want, rows := readInferred(t, buf.Bytes())
	if got := want.Field(0).Type.String(); got != "list<item: list<item: int32, nullable>, nullable>" {
		t.Fatalf("type %s", got)
	}
	eqRows(t, rows, []string{"[[1,2],[3,4]]", "null", "[[5],[]]"})
}

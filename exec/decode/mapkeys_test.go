package decode

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/schema"

	"github.com/sluicedata/sluice/exec/arrowtype"
)

// TestParquetMapOptionalKeys reads a map whose keys the file declares
// optional, as Presto wrote them (parquet-testing's incorrect_map_schema):
// arrow-go refused the schema ("MAP keys must be required"). It reads as
// map<string, string>; an entry whose key is null is a bad record of its row.
func TestParquetMapOptionalKeys(t *testing.T) {
	str := func(name string) schema.Node {
		n, err := schema.NewPrimitiveNodeLogical(name, parquet.Repetitions.Optional, schema.StringLogicalType{}, parquet.Types.ByteArray, -1, -1)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	kv, err := schema.NewGroupNodeConverted("key_value", parquet.Repetitions.Repeated, schema.FieldList{str("key"), str("value")}, schema.ConvertedTypes.MapKeyValue, -1)
	if err != nil {
		t.Fatal(err)
	}
	m, err := schema.NewGroupNodeConverted("my_map", parquet.Repetitions.Optional, schema.FieldList{kv}, schema.ConvertedTypes.Map, -1)
	if err != nil {
		t.Fatal(err)
	}
	root, err := schema.NewGroupNode("schema", parquet.Repetitions.Required, schema.FieldList{m}, -1)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w := file.NewParquetWriter(&buf, root)
	rg, err := w.AppendRowGroupChecked()
	if err != nil {
		t.Fatal(err)
	}
	// Rows {a: 1, b: 2}, null, {}, {null: 3}, {c: 4}.
	for _, c := range []struct {
		vals []string
		defs []int16
	}{
		{[]string{"a", "b", "c"}, []int16{3, 3, 0, 1, 2, 3}},
		{[]string{"1", "2", "3", "4"}, []int16{3, 3, 0, 1, 3, 3}},
	} {
		cw, err := rg.NextColumn()
		if err != nil {
			t.Fatal(err)
		}
		var vals []parquet.ByteArray
		for _, v := range c.vals {
			vals = append(vals, parquet.ByteArray(v))
		}
		if _, err := cw.(*file.ByteArrayColumnChunkWriter).WriteBatch(vals, c.defs, []int16{0, 1, 0, 0, 0, 0}); err != nil {
			t.Fatal(err)
		}
		if err := cw.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if err := rg.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	sc, md, err := ReadParquetSchema(bytes.NewReader(data), int64(len(data)), "m.parquet")
	if err != nil {
		t.Fatal(err)
	}
	cols, err := arrowtype.FromArrowSchema(sc)
	if err != nil {
		t.Fatal(err)
	}
	want := arrowtype.ArrowSchema(cols)
	if got := want.Field(0).Type; got.ID() != arrow.MAP {
		t.Fatalf("type %s", got)
	}
	var sink badSink
	r, err := NewParquet(context.Background(), bytes.NewReader(data), int64(len(data)), Options{Key: "m.parquet", Schema: want, Alloc: checked(t), ParquetMetadata: md, OnBad: sink.onBad}, nil)
	if err != nil {
		t.Fatal(err)
	}
	rows, _, err := collect(t, r, want)
	if err != nil {
		t.Fatal(err)
	}
	eqRows(t, rows, []string{`[{"key":"a","value":"1"},{"key":"b","value":"2"}]`, "null", "[]", `[{"key":"c","value":"4"}]`})
	if len(sink.recs) != 1 || sink.recs[0].Row != 4 || !strings.Contains(sink.recs[0].Reason, "null key") {
		t.Fatalf("bad records %v", sink.recs)
	}
}

package write

import (
	"context"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sluicedata/sluice/hive"
	"github.com/sluicedata/sluice/spec"
)

// TestTypedPartitions: an Iceberg table's writer names directories by the
// partition fields, keeps a null apart from "" (both name the default
// directory, but they are different partition values) and reports each
// file's exact values.
func TestTypedPartitions(t *testing.T) {
	mem := checked(t)
	defer mem.AssertSize(t, 0)
	st := newStore(t)
	sc := arrow.NewSchema([]arrow.Field{
		{Name: "v", Type: arrow.PrimitiveTypes.Int64},
		{Name: "\x00p0", Type: arrow.BinaryTypes.String, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(mem, sc)
	defer b.Release()
	b.Field(0).(*array.Int64Builder).AppendValues([]int64{1, 2, 3, 4}, nil)
	pb := b.Field(1).(*array.StringBuilder)
	pb.Append("")
	pb.AppendNull()
	pb.Append("a")
	pb.Append("")
	rec := b.NewRecordBatch()
	defer rec.Release()
	o := baseOptions(st, spec.FormatParquet, mem)
	o.PartitionBy, o.PartitionNames, o.TypedPartitions = []string{"\x00p0"}, []string{"name"}, true
	w, err := New(context.Background(), sc, o)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(context.Background(), rec); err != nil {
		t.Fatal(err)
	}
	files, err := w.Close(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, f := range files {
		v := "null"
		if f.Values[0] != nil {
			v = "'" + *f.Values[0] + "'"
		}
		if !strings.HasPrefix(f.PartitionPath, "name=") || f.Partition["name"] == "" {
			t.Errorf("file %s partition %v", f.Key, f.Partition)
		}
		if (f.Values[0] == nil || *f.Values[0] == "") && f.PartitionPath != "name="+hive.DefaultPartition+"/" {
			t.Errorf("%s in %s", v, f.PartitionPath)
		}
		got[v] += f.Rows
	}
	if len(files) != 3 || got["''"] != 2 || got["null"] != 1 || got["'a'"] != 1 {
		t.Fatalf("files by value %v (%d files)", got, len(files))
	}
	if err := w.Abort(context.Background()); err != nil {
		t.Fatal(err)
	}
}

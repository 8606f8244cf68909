package exec

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicedata/sluice/exec/decode"
	"github.com/sluicedata/sluice/exec/write"
	"github.com/sluicedata/sluice/hive"
	"github.com/sluicedata/sluice/spec/predicate"
)

// overwrite_partitions names the partitions it replaces from the inputs'
// typed partition values (predicate.FormatPartitionValue); the writer names the
// directories it writes from the Arrow column (write.PartitionValue). For
// every type a partition key can have, the two must give the same path.
func TestPartitionValueRenderingMatchesWriter(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	cases := []struct {
		typ arrow.DataType
		val any
	}{
		{arrow.BinaryTypes.String, "eu"},
		{arrow.BinaryTypes.String, "a/b=c%"},
		{arrow.BinaryTypes.String, "50%off"},
		{arrow.BinaryTypes.String, ""},
		{arrow.BinaryTypes.String, nil},
		{arrow.PrimitiveTypes.Int64, int64(-42)},
		{arrow.PrimitiveTypes.Int32, int64(7)},
		{arrow.FixedWidthTypes.Date32, int32(20454)}, // 2026-01-01
		{arrow.FixedWidthTypes.Date32, int32(-1)},    // 1969-12-31
	}
	empty := array.NewRecordBatch(arrow.NewSchema(nil, nil), nil, 1)
	defer empty.Release()
	for _, c := range cases {
		fields := []arrow.Field{{Name: "k", Type: c.typ, Nullable: true}}
		b, err := decode.TryAppendPartitionColumns(empty, fields, []any{c.val}, mem)
		if err != nil {
			t.Fatalf("%v %v: %v", c.typ, c.val, err)
		}
		want := hive.Dir([]string{"k"}, []string{write.PartitionValue(b.Column(0), 0)})
		got := hive.Dir([]string{"k"}, []string{predicate.FormatPartitionValue(c.val)})
		b.Release()
		if got != want {
			t.Errorf("%v %v: overwrite_partitions renders %q, the writer %q", c.typ, c.val, got, want)
		}
	}
}

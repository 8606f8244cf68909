package decode

import (
	"math/big"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

func TestAppendPartitionColumns(t *testing.T) {
	mem := checked(t)
	s := sch(field("id", arrow.PrimitiveTypes.Int64, true))
	b := array.NewRecordBuilder(mem, s)
	b.Field(0).(*array.Int64Builder).AppendValues([]int64{1, 2, 3}, nil)
	rec := b.NewRecordBatch()
	b.Release()
	defer rec.Release()

	fields := []arrow.Field{
		field("region", arrow.BinaryTypes.String, true),
		field("dt", arrow.FixedWidthTypes.Date32, true),
		field("hour", arrow.PrimitiveTypes.Int64, true),
		field("missing", arrow.BinaryTypes.String, true),
		field("amount", &arrow.Decimal128Type{Precision: 5, Scale: 2}, true),
		field("flag", arrow.FixedWidthTypes.Boolean, true),
		field("h32", arrow.PrimitiveTypes.Int32, true),
	}
	out := AppendPartitionColumns(rec, fields, []any{"eu", int32(20454), int64(7), nil, big.NewInt(1250), true, int64(3)}, mem)
	defer out.Release()
	if out.NumCols() != 8 || out.NumRows() != 3 || out.Schema().Field(1).Name != "region" {
		t.Fatalf("out = %v", out.Schema())
	}
	for i := range 3 {
		var parts []string
		for _, c := range out.Columns() {
			parts = append(parts, render(c, i))
		}
		got := strings.Join(parts, "|")
		want := []string{"1", "2", "3"}[i] + "|eu|2026-01-01|7|null|1250|true|3"
		if got != want {
			t.Errorf("row %d = %s, want %s", i, got, want)
		}
	}

	if _, err := TryAppendPartitionColumns(rec, fields[:1], []any{int64(1)}, mem); err == nil || !strings.Contains(err.Error(), `partition column "region"`) {
		t.Fatalf("err = %v", err)
	}
	if _, err := TryAppendPartitionColumns(rec, fields[:1], nil, mem); err == nil {
		t.Fatal("length mismatch accepted")
	}
	if _, err := TryAppendPartitionColumns(rec, []arrow.Field{field("x", arrow.PrimitiveTypes.Int32, true)}, []any{int64(1) << 40}, mem); err == nil {
		t.Fatal("int32 overflow accepted")
	}
	defer func() {
		if recover() == nil {
			t.Fatal("AppendPartitionColumns did not panic on a type mismatch")
		}
	}()
	AppendPartitionColumns(rec, fields[:1], []any{3.5}, mem)
}

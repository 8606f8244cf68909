package exec

import (
	"context"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// TestExplodeBatch: one row per element, the other columns repeated; a
// null or empty list gives no row, a null element a null; on a sliced
// batch (non-zero offsets) too; nothing leaks.
func TestExplodeBatch(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ctx := compute.WithAllocator(context.Background(), mem)
	in := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "items", Type: arrow.ListOf(arrow.BinaryTypes.String), Nullable: true},
	}, nil)
	out := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "items", Type: arrow.BinaryTypes.String, Nullable: true},
	}, nil)
	b, _, err := array.RecordFromJSON(mem, in, strings.NewReader(`[
		{"id": 1, "items": ["a", "b"]},
		{"id": 2, "items": []},
		{"id": 3, "items": null},
		{"id": 4, "items": ["c", null, "d"]},
		{"id": 5, "items": ["e"]}
	]`))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Release()
	render := func(r arrow.RecordBatch) string {
		var rows []string
		for i := 0; i < int(r.NumRows()); i++ {
			rows = append(rows, r.Column(0).ValueStr(i)+":"+r.Column(1).ValueStr(i))
		}
		return strings.Join(rows, " ")
	}
	got, err := explodeBatch(ctx, b, 1, out)
	if err != nil {
		t.Fatal(err)
	}
	if s := render(got); s != "1:a 1:b 4:c 4:(null) 4:d 5:e" {
		t.Errorf("exploded %s", s)
	}
	got.Release()
	sl := b.NewSlice(2, 5)
	defer sl.Release()
	got, err = explodeBatch(ctx, sl, 1, out)
	if err != nil {
		t.Fatal(err)
	}
	if s := render(got); s != "4:c 4:(null) 4:d 5:e" {
		t.Errorf("exploded slice %s", s)
	}
	got.Release()
}

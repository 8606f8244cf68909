package eval

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicedata/sluice/spec/predicate"
	"github.com/sluicedata/sluice/spec/schema"
)

func nestedRef(t schema.Type, name string, path ...string) *predicate.ColumnRef {
	return &predicate.ColumnRef{Name: name, Path: path, ColType: t}
}

// TestNestedField reads struct fields by path: a null struct on the way
// makes the field null even where the child array holds a value (the
// last test builds a value under a null parent), on whole and sliced
// batches, and agrees with the reference evaluator.
func TestNestedField(t *testing.T) {
	mem, ctx := checkedCtx(t)
	defer mem.AssertSize(t, 0)
	user := arrow.StructOf(
		arrow.Field{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		arrow.Field{Name: "country", Type: arrow.BinaryTypes.String, Nullable: true},
	)
	payload := arrow.StructOf(arrow.Field{Name: "user", Type: user, Nullable: true}, arrow.Field{Name: "n", Type: arrow.PrimitiveTypes.Int32, Nullable: true})
	b := batchOf(t, mem, []arrow.Field{{Name: "payload", Type: payload, Nullable: true}}, `[
		{"payload": {"user": {"id": 5, "country": "FR"}, "n": 1}},
		{"payload": {"user": {"id": 1, "country": "DE"}, "n": 2}},
		{"payload": {"user": null, "n": 3}},
		{"payload": null},
		{"payload": {"user": {"id": null, "country": "FR"}, "n": null}},
		{"payload": {"user": {"id": 9, "country": null}, "n": 4}}
	]`)
	defer b.Release()
	id := nestedRef(schema.Int64Type, "payload", "user", "id")
	country := nestedRef(schema.StringType, "payload", "user", "country")
	expect(t, ctx, cmp(predicate.Gt, id, lit(int64(3), schema.Int64Type)), b, "TFNNNT")
	expect(t, ctx, cmp(predicate.Eq, country, lit("FR", schema.StringType)), b, "TFNNTN")
	expect(t, ctx, &predicate.IsNull{X: id}, b, "FFTTTF")
	expect(t, ctx, cmp(predicate.Lt, nestedRef(schema.Int32Type, "payload", "n"), lit(int64(3), schema.Int64Type)), b, "TTFNNF")
	s := b.NewSlice(2, 6)
	defer s.Release()
	expect(t, ctx, cmp(predicate.Gt, id, lit(int64(3), schema.Int64Type)), s, "NNNT")
	expect(t, ctx, &predicate.IsNull{X: country}, s, "TTFT")
}

func TestNestedFieldUnderNullParent(t *testing.T) {
	mem, ctx := checkedCtx(t)
	defer mem.AssertSize(t, 0)
	ib := array.NewInt64Builder(mem)
	ib.AppendValues([]int64{7, 8, 9, 10}, nil) // every child value set
	ids := ib.NewArray()
	ib.Release()
	defer ids.Release()
	valid := memory.NewBufferBytes([]byte{0b1101}) // row 1 is a null struct
	st, err := array.NewStructArrayWithNulls([]arrow.Array{ids}, []string{"id"}, valid, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Release()
	b := array.NewRecordBatch(arrow.NewSchema([]arrow.Field{{Name: "u", Type: st.DataType(), Nullable: true}}, nil), []arrow.Array{st}, 4)
	defer b.Release()
	id := nestedRef(schema.Int64Type, "u", "id")
	expect(t, ctx, cmp(predicate.Gt, id, lit(int64(0), schema.Int64Type)), b, "TNTT")
	s := b.NewSlice(1, 3)
	defer s.Release()
	expect(t, ctx, &predicate.IsNull{X: id}, s, "TF")
}

func TestNestedFieldCompileErrors(t *testing.T) {
	user := arrow.StructOf(arrow.Field{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true})
	s := arrow.NewSchema([]arrow.Field{{Name: "payload", Type: arrow.StructOf(arrow.Field{Name: "user", Type: user})}, {Name: "x", Type: arrow.PrimitiveTypes.Int64}}, nil)
	for _, e := range []*predicate.ColumnRef{
		nestedRef(schema.Int64Type, "payload", "user", "nope"),
		nestedRef(schema.StringType, "payload", "user", "id"),
		nestedRef(schema.Int64Type, "x", "y"),
	} {
		if _, err := Compile(&predicate.IsNull{X: e}, s); err == nil {
			t.Errorf("Compile(%s): no error", e)
		} else {
			t.Log(err)
		}
	}
}

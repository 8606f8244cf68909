package eval

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sluicedata/sluice/spec/predicate"
	"github.com/sluicedata/sluice/spec/schema"
)

// compileValueSrc compiles src against the columns of b's schema (the
// types the generator uses) with spec's front end.
func compileValueSrc(t *testing.T, src string, s *arrow.Schema) *Value {
	t.Helper()
	var cols []schema.Column
	for _, f := range s.Fields() {
		for _, g := range genColumns {
			if g.name == f.Name {
				cols = append(cols, schema.Column{Name: f.Name, Type: g.typ})
			}
		}
	}
	e, errs := predicate.CompileValue(src, predicate.Env{Columns: cols})
	if errs != nil {
		t.Fatalf("CompileValue(%q): %v", src, errs)
	}
	v, err := CompileValue(e, s)
	if err != nil {
		t.Fatalf("CompileValue(%s): %v", e, err)
	}
	return v
}

func TestValueEval(t *testing.T) {
	mem, ctx := checkedCtx(t)
	defer mem.AssertSize(t, 0)
	b := batchOf(t, mem, []arrow.Field{
		{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "i64", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	}, `[{"s": " 12 ", "i64": 1}, {"s": "x7", "i64": null}, {"s": null, "i64": 3}, {"s": "-4", "i64": 4}]`)
	defer b.Release()
	tests := []struct {
		src  string
		want string // ValueStr of each row, joined by |
		errs string // "row: msg" joined by |
	}{
		{"int(s)", "12|(null)|(null)|-4", "1: int('x7'): not an integer"},
		{"try_int(s)", "12|(null)|(null)|-4", ""},
		{"coalesce(try_int(s), i64, 0)", "12|0|3|-4", ""},
		{"i64 > 2 ? int(s) : 0", "0|0|(null)|-4", ""},
		{"concat(trim(s), '/', i64)", "12/1|x7/|/3|-4/4", ""},
		{"i64 * 2 + 1", "3|(null)|7|9", ""},
	}
	for _, tt := range tests {
		v := compileValueSrc(t, tt.src, b.Schema())
		arr, rerrs, err := v.Eval(ctx, b)
		if err != nil {
			t.Fatalf("%s: %v", tt.src, err)
		}
		var got []string
		for i := 0; i < arr.Len(); i++ {
			got = append(got, arr.ValueStr(i))
		}
		var gotErrs []string
		for _, e := range rerrs {
			gotErrs = append(gotErrs, strconv.Itoa(e.Row)+": "+e.Msg)
		}
		if g := strings.Join(got, "|"); g != tt.want {
			t.Errorf("%s = %s, want %s", tt.src, g, tt.want)
		}
		if g := strings.Join(gotErrs, "|"); g != tt.errs {
			t.Errorf("%s: row errors %q, want %q", tt.src, g, tt.errs)
		}
		if !arrow.TypeEqual(arr.DataType(), v.DataType()) {
			t.Errorf("%s: array type %s, DataType %s", tt.src, arr.DataType(), v.DataType())
		}
		arr.Release()
	}
	// In a predicate, a failed cast fails the batch, naming the row.
	e, errs := predicate.Compile("int(s) > 0", predicate.Env{Columns: []schema.Column{{Name: "s", Type: schema.StringType}}})
	if errs != nil {
		t.Fatal(errs)
	}
	p, err := Compile(e.Root, b.Schema())
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Filter(ctx, b)
	var bad *BadRowsError
	if !errors.As(err, &bad) || !strings.HasPrefix(err.Error(), "row 1 of a batch: int('x7'): not an integer (") {
		t.Errorf("Filter: %v, want a BadRowsError on row 1", err)
	}
}
